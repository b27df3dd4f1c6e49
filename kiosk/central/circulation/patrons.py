"""Patrons' records at the desk: finding a patron, what they have (loans, holds, the
ledger), and each change staff make to them: details and contact, member type and
expiry, barring, a new PIN, renewing the membership.

Every change is a staff write: taken under ``ChangeLog.lock`` (nothing else writes
until it commits), entered in the change log when it touches what kiosks mirror of a
patron (``PatronRow``: card, first name, member type, expiry, barred, owed, PIN
verifier; never the surname or contact details), audited with who made it, and
committed once. The audit log names the fields that changed, never their values: no
name, card, email, phone or PIN is written there.

Searches use the case-folded prefix indexes of migration 0005: ``lower(column)``
compared with a range (``>= prefix`` and ``< the prefix with its last character
incremented``), never ``LIKE``, so a quote, ``%`` or ``_`` typed is only a character.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from kiosk.central import audit
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import branch_codes, branch_problem
from kiosk.central.circulation.changes import ChangeLog, patron_row
from kiosk.central.circulation.holds import QueuedHold, patron_holds
from kiosk.central.circulation.policy import policy_in_force
from kiosk.central.errors import CentralError
from kiosk.central.models import Item, LedgerEntry, Loan, Patron, PatronSession, Record
from kiosk.central.notices import preferences
from kiosk.common.pins import pin_verifier
from kiosk.rules import Due, MembershipRenewalDecision, decide_membership_renewal
from kiosk.rules import Patron as RulesPatron

# The languages a kiosk speaks (kiosk.session.i18n.LANGUAGE_NAMES, which central may
# not import: a test keeps the two the same), each named in itself.
LANGUAGES = {"en": "English", "es": "Español", "fr": "Français"}

# The messaging preferences (kiosk.central.notices.preferences), as the patron's columns.
PREFERENCES = ("notify_by", "notices", "due_soon_days", "digest", "arrivals", "arrival_subjects")
# What staff may change with ``update_patron``, in the form's order.
FIELDS = (
    "first_name",
    "surname",
    "email",
    "phone",
    "language",
    "home_branch",
    "member_type",
    "expires",
    *PREFERENCES,
)
FIELD_NAMES = {
    "first_name": "first name",
    "surname": "surname",
    "email": "email address",
    "phone": "phone number",
    "language": "language",
    "home_branch": "home branch",
    "member_type": "member type",
    "expires": "membership expiry",
    "notify_by": "notices' channel",
    "notices": "notices chosen",
    "due_soon_days": "days before a due date",
    "digest": "daily digest",
    "arrivals": "new arrivals chosen",
    "arrival_subjects": "subjects of the new arrivals",
}
# The subjects patrons may choose for their new arrivals: the broad subjects of the
# records that entered the catalogue in this many days, the most common of them.
SUBJECTS_FROM_DAYS = 365
MOST_SUBJECTS = 100
# PatronRefused.codes: more subjects chosen than preferences.MAX_SUBJECTS.
TOO_MANY_SUBJECTS = "too_many_subjects"
MAX_REASON = 200  # patrons.barred_reason, ledger.note
MAX_SEARCH = 64
ONE_TIME_PIN_DIGITS = 6
LEDGER_SHOWN = 200
# SQLite's lower() folds only A-Z: a prefix with other letters is looked up as each
# case of each of them, at most this many ranges.
MAX_SPELLINGS = 16

_PIN = re.compile(r"[0-9]{4,8}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_PHONE = re.compile(r"\+?[0-9 ()-]+")
_MASK = "••••"


class UnknownPatron(CentralError):
    """No patron has that id (a mistyped or stale page): the argument is the id."""

    def __init__(self, patron_id: str) -> None:
        super().__init__("no such patron: find them again with the search")
        self.patron_id = patron_id


class PatronRefused(CentralError):
    """A change refused, with a message for each field that is wrong (all at once), and
    ``codes``: the fields whose problem is not the field's usual one (a value it may
    hold, but more of them than it may: TOO_MANY_SUBJECTS), for words of their own."""

    def __init__(self, problems: Mapping[str, str], codes: Mapping[str, str] | None = None) -> None:
        self.problems = dict(problems)
        self.codes = dict(codes or {})
        super().__init__("; ".join(self.problems.values()))


# --- reading --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PatronMatch:
    """One patron a search found: enough to tell them apart, the card masked."""

    patron_id: str
    first_name: str
    surname: str
    card: str  # masked but for its last four characters
    member_type: str
    expires: date | None
    barred: bool
    owed: Decimal


@dataclass(frozen=True, slots=True)
class PatronDetails:
    """A patron as staff see them: never the card in full, never the PIN's verifier."""

    patron_id: str
    first_name: str
    surname: str
    card: str  # masked
    member_type: str
    expires: date | None
    expired: bool
    barred: bool
    barred_reason: str | None
    owed: Decimal
    email: str | None
    phone: str | None
    language: str | None
    home_branch: str | None  # a branch's code: where their holds are collected by default
    has_pin: bool
    pin_version: str  # see ``pin_version``: what a PIN form was made for
    preferences: preferences.Preferences  # what notices they receive, and how
    keep_loan_history: bool = False  # chosen in the portal (circulation.loan_history)


@dataclass(frozen=True, slots=True)
class LoanLine:
    item_barcode: str
    title: str
    due: str  # as stored: YYYY-MM-DD, or YYYY-MM-DDTHH:MM for a short loan
    overdue: bool
    renewals: int


@dataclass(frozen=True, slots=True)
class LedgerLine:
    entry_id: int
    at: datetime
    kind: str  # fine, fault, payment, waiver
    amount: Decimal  # a charge positive, a payment or waiver negative
    note: str


@dataclass(frozen=True, slots=True)
class PatronView:
    patron: PatronDetails
    loans: tuple[LoanLine, ...]
    holds: tuple[QueuedHold, ...]  # each with its place in its item's queue
    ledger: tuple[LedgerLine, ...]  # newest first, the latest LEDGER_SHOWN
    balance: Decimal  # what the patron owes (the ledger's sum for a patron made here)


def mask_card(card: str) -> str:
    """The card as the console shows it: its last four characters only."""
    return _MASK + card[-4:] if len(card) > 4 else _MASK


def pin_version(patron: Patron) -> str:
    """A short digest of the patron's PIN verifier (nothing about the PIN can be learnt
    from it): a PIN form carries the one it was made for, so a form sent twice, or
    after someone else changed the PIN, changes nothing."""
    return hashlib.sha256((patron.pin_verifier or "").encode()).hexdigest()[:16]


def _postgres(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def _folded(db: Session, column: InstrumentedAttribute[str]) -> ColumnElement[str]:
    """The expression migration 0005 indexes: lower(column), bytewise on PostgreSQL."""
    folded = func.lower(column)
    return folded.collate("C") if _postgres(db) else folded


def _after(prefix: str) -> str | None:
    """The least text after every text that starts with ``prefix``: its last character
    incremented (None when there is none)."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if last == 0xD800:  # surrogates are not text: skip past them
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def _spellings(db: Session, prefix: str) -> list[str]:
    """The prefix as the index holds it. PostgreSQL's lower() folds every letter, as
    Python's does; SQLite's folds only A-Z, so a name's other letters are indexed as
    they were typed, and each case of them is looked up."""
    folded = prefix.lower()
    if _postgres(db):
        return [folded]
    choices = [
        [c.lower()]
        if c.isascii()
        else sorted({v for v in (c, c.lower(), c.upper()) if len(v) == 1})
        for c in prefix
    ]
    return [
        "".join(spelling)
        for spelling in itertools.islice(itertools.product(*choices), MAX_SPELLINGS)
    ]


def _starts(db: Session, column: InstrumentedAttribute[str], prefix: str) -> ColumnElement[bool]:
    key = _folded(db, column)
    ranges = []
    for low in _spellings(db, prefix):
        high = _after(low)
        ranges.append(key >= low if high is None else and_(key >= low, key < high))
    return or_(*ranges) if len(ranges) > 1 else ranges[0]


def _match(patron: Patron) -> PatronMatch:
    return PatronMatch(
        patron.patron_id,
        patron.first_name,
        patron.surname,
        mask_card(patron.card),
        patron.member_type,
        patron.expires,
        patron.barred,
        patron.owed,
    )


def _clean(text: str) -> str:
    return " ".join("".join(c for c in text if c.isprintable()).split())[:MAX_SEARCH]


def search_patrons(db: Session, text: str, limit: int = 50) -> list[PatronMatch]:
    """The patrons ``text`` finds, at most ``limit``, by surname then first name.

    A card number finds its patron alone (an exact match). Otherwise the text is the
    start of a surname or of a first name, in any case; "surname, first" narrows to
    both, and so does "first surname". Empty text finds nobody."""
    text = _clean(text)
    if not text or limit <= 0:
        return []
    by_card = db.scalar(select(Patron).where(Patron.card == text))
    if by_card is not None:
        return [_match(by_card)]
    surname, first = _folded(db, Patron.surname), _folded(db, Patron.first_name)
    wheres: list[tuple[ColumnElement[bool], ColumnElement[str]]] = []
    if "," in text:
        last, _, given = (part.strip() for part in text.partition(","))
        if last and given:
            wheres.append(
                (
                    and_(_starts(db, Patron.surname, last), _starts(db, Patron.first_name, given)),
                    surname,
                )
            )
        elif last:
            wheres.append((_starts(db, Patron.surname, last), surname))
        elif given:
            wheres.append((_starts(db, Patron.first_name, given), first))
    else:
        wheres.append((_starts(db, Patron.surname, text), surname))
        wheres.append((_starts(db, Patron.first_name, text), first))
        given, _, last = text.partition(" ")
        if last:
            wheres.append(
                (
                    and_(_starts(db, Patron.first_name, given), _starts(db, Patron.surname, last)),
                    surname,
                )
            )
    found: dict[str, Patron] = {}
    for where, key in wheres:
        # Each query is one range of one index, read in its order and cut at the limit.
        order = (
            (key, surname, first, Patron.patron_id)
            if key is first
            else (surname, first, Patron.patron_id)
        )
        for patron in db.scalars(select(Patron).where(where).order_by(*order).limit(limit)):
            found.setdefault(patron.patron_id, patron)
    ordered = sorted(
        found.values(), key=lambda p: (p.surname.lower(), p.first_name.lower(), p.patron_id)
    )
    return [_match(patron) for patron in ordered[:limit]]


def _details(patron: Patron, now: datetime) -> PatronDetails:
    return PatronDetails(
        patron_id=patron.patron_id,
        first_name=patron.first_name,
        surname=patron.surname,
        card=mask_card(patron.card),
        member_type=patron.member_type,
        expires=patron.expires,
        expired=patron.expires is not None and patron.expires < now.date(),
        barred=patron.barred,
        barred_reason=patron.barred_reason,
        owed=patron.owed,
        email=patron.email,
        phone=patron.phone,
        language=patron.language,
        home_branch=patron.home_branch,
        has_pin=patron.pin_verifier is not None,
        pin_version=pin_version(patron),
        preferences=preferences.of_patron(patron),
        keep_loan_history=patron.keep_loan_history,
    )


def _overdue(due: str, now: datetime) -> bool:
    try:
        return Due.fromisoformat(due).overdue_days(now) > 0
    except ValueError:
        return False


def patron_view(db: Session, patron_id: str, now: datetime) -> PatronView:
    """The patron, their loans (oldest due first), holds, ledger (newest first) and
    balance. Raises UnknownPatron."""
    patron = db.get(Patron, patron_id)
    if patron is None:
        raise UnknownPatron(patron_id)
    loans = db.execute(
        select(Loan, Record.title)
        .outerjoin(Item, Item.barcode == Loan.item_barcode)
        .outerjoin(Record, Record.brn == Item.brn)
        .where(Loan.patron_id == patron_id)
        .order_by(Loan.due, Loan.item_barcode)
    ).all()
    ledger = db.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.patron_id == patron_id)
        .order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc())
        .limit(LEDGER_SHOWN)
    )
    return PatronView(
        patron=_details(patron, now),
        loans=tuple(
            LoanLine(
                loan.item_barcode, title or "", loan.due, _overdue(loan.due, now), loan.renewals
            )
            for loan, title in loans
        ),
        holds=tuple(patron_holds(db, patron_id)),
        ledger=tuple(
            LedgerLine(entry.id, entry.at, entry.kind, entry.amount, entry.note) for entry in ledger
        ),
        balance=patron.owed,
    )


def member_types(db: Session) -> dict[str, str]:
    """The member types of the policy in force, code to name (none without a policy)."""
    found = policy_in_force(db)
    if found is None:
        return {}
    return {code: member.name for code, member in found.policy.member_types.items()}


def publication_types(db: Session) -> dict[str, str]:
    """The publication types of the policy in force, code to name (none without one)."""
    found = policy_in_force(db)
    if found is None:
        return {}
    return {code: kind.name for code, kind in found.policy.publication_types.items()}


def arrival_subjects(db: Session, today: date) -> list[str]:
    """The subjects patrons may choose for the weekly new arrivals, in alphabetical
    order: the broad subjects ("History" of "History -- Europe") of the records that
    entered the catalogue in the last SUBJECTS_FROM_DAYS, the MOST_SUBJECTS most common,
    each as the catalogue first spells it."""
    counted: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    rows = db.scalars(
        select(Record.subjects).where(
            Record.added_on >= today - timedelta(days=SUBJECTS_FROM_DAYS), Record.subjects != ""
        )
    )
    for text in rows:
        for heading in preferences.headings(text):
            subject = preferences.broad(heading)
            if subject:
                counted[subject.casefold()] += 1
                spelled.setdefault(subject.casefold(), subject)
    common = [folded for folded, _ in counted.most_common(MOST_SUBJECTS)]
    return sorted((spelled[folded] for folded in common), key=str.casefold)


# The subjects of new arrivals offered on a day: ``arrival_subjects``, or the app's
# cache of it (``subject_cache.ArrivalSubjects``).
SubjectsOffered = Callable[[Session, date], list[str]]


def subject_choices(
    db: Session, today: date, chosen_before: str, offered: SubjectsOffered = arrival_subjects
) -> list[str]:
    """The subjects of new arrivals a patron's form offers, in alphabetical order, each
    once: those ``offered`` today and those the patron chose before (``chosen_before``,
    as ``patrons.arrival_subjects`` stores them, each spelled so), as ``update_patron``
    accepts them: the portal's *Your details* and the console's patron edit."""
    subjects = {
        subject.casefold(): subject
        for subject in [*offered(db, today), *preferences.headings(chosen_before)]
    }
    return sorted(subjects.values(), key=str.casefold)


# --- changing -------------------------------------------------------------------------


@contextmanager
def changing(db: Session, patron_id: str) -> Iterator[tuple[ChangeLog, Patron]]:
    """The patron read afresh under the staff writers' lock, with the change log to
    enter the change in; anything raised rolls the transaction back (and frees the
    lock). The caller commits."""
    log = ChangeLog(db)
    try:
        log.lock()
        patron = db.get(Patron, patron_id, populate_existing=True)
        if patron is None:
            raise UnknownPatron(patron_id)
        yield log, patron
    except BaseException:
        db.rollback()
        raise


def _audit(
    db: Session, now: datetime, actor: Actor, *, action: str, patron_id: str, detail: str
) -> None:
    audit.record(
        db,
        now,
        actor=actor.username,
        action=action,
        target=f"patron {patron_id}",
        origin=actor.origin,
        detail=detail,
    )


def _mirror(log: ChangeLog, patron: Patron, before: object) -> None:
    """Enter the patron in the change log when what kiosks mirror of them changed."""
    if patron_row(patron) != before:
        log.patron(patron)


class _Bad(ValueError):
    """One field's problem, in words for staff; ``code`` for PatronRefused.codes."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def _words(value: str, name: str, limit: int, *, required: bool) -> str | None:
    text = " ".join(value.split())
    if not text:
        if required:
            raise _Bad(f"Enter the {FIELD_NAMES[name]}")
        return None
    if len(text) > limit:
        raise _Bad(f"The {FIELD_NAMES[name]} must be {limit} characters or fewer")
    return text


def _first_name(_db: object, value: str) -> str | None:
    return _words(value, "first_name", 64, required=True)


def _surname(_db: object, value: str) -> str | None:
    return _words(value, "surname", 64, required=True)


def _email(_db: object, value: str) -> str | None:
    email = _words(value, "email", 254, required=False)
    if email is not None and not _EMAIL.fullmatch(email):
        raise _Bad("Enter an email address like name@example.org")
    return email


def _phone(_db: object, value: str) -> str | None:
    phone = _words(value, "phone", 32, required=False)
    if phone is not None and (
        not _PHONE.fullmatch(phone) or not 6 <= sum(c.isdigit() for c in phone) <= 15
    ):
        raise _Bad("Enter a phone number of 6 to 15 digits, like 01632 960 001 or +44 1632 960001")
    return phone


def _language(_db: object, value: str) -> str | None:
    language = value.strip() or None
    if language is not None and language not in LANGUAGES:
        known = ", ".join(f"{name} ({code})" for code, name in LANGUAGES.items())
        raise _Bad(f"Choose a language the kiosks speak: {known}")
    return language


def _home_branch(db: Session, value: str) -> str | None:
    code = value.strip() or None
    problem = None if code is None else branch_problem(code, branch_codes(db))
    if problem is not None:
        raise _Bad(f"Choose one of the library's branches as the home branch: {problem}")
    return code


def _member_type(db: Session, value: str) -> str:
    code = value.strip()
    types = member_types(db)
    if not types:
        raise _Bad("There is no lending policy yet: import one first")
    if code not in types:
        raise _Bad("Choose a member type of the lending policy in force")
    return code


def _expires(_db: Session, value: str) -> date | None:
    text = value.strip()
    if not text:
        return None
    try:
        expires = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        expires = None
    if expires is None or expires.year < 1900:
        raise _Bad("Enter the membership expiry as a real date: year-month-day, like 2027-03-31")
    return expires


def _preference(check: Callable[[str], Any]) -> Callable[[Session, str], Any]:
    def checked(_db: Session, value: str) -> Any:
        try:
            return check(value)
        except preferences.BadPreference as bad:
            raise _Bad(f"{{}}: {bad}") from None

    return checked


def _arrivals(db: Session, value: str) -> str:
    try:
        return preferences.arrivals(value, publication_types(db))
    except preferences.BadPreference as bad:
        raise _Bad(f"{{}}: {bad}") from None


def check_contact(name: str, value: str) -> str | None:
    """A first name, surname, email address, phone number or language (``name``) as
    typed, checked as staff's edit checks it; ValueError when it is not one."""
    checked: str | None = _CONTACT[name](value)
    return checked


_CONTACT: dict[str, Callable[[str], str | None]] = {
    "first_name": lambda value: _first_name(None, value),
    "surname": lambda value: _surname(None, value),
    "email": lambda value: _email(None, value),
    "phone": lambda value: _phone(None, value),
    "language": lambda value: _language(None, value),
}
_CHECKS: dict[str, Callable[[Session, str], Any]] = {
    "first_name": _first_name,
    "surname": _surname,
    "email": _email,
    "phone": _phone,
    "language": _language,
    "home_branch": _home_branch,
    "member_type": _member_type,
    "expires": _expires,
    "notify_by": _preference(preferences.channel),
    "notices": _preference(preferences.kinds),
    "due_soon_days": _preference(preferences.due_soon_days),
    "digest": _preference(preferences.flag),
    "arrivals": _arrivals,
}


def _arrival_subjects(
    db: Session, value: str, patron: Patron, today: date, subjects: SubjectsOffered
) -> str:
    """The subjects chosen, among those offered today and those the patron chose
    before (a subject that has had no new record for a while stays chosen)."""
    offered = [*subjects(db, today), *preferences.headings(patron.arrival_subjects)]
    try:
        return preferences.subjects(preferences.headings(value), offered)
    except preferences.TooManySubjects as bad:
        raise _Bad(f"{{}}: {bad}", TOO_MANY_SUBJECTS) from None
    except preferences.BadPreference as bad:
        raise _Bad(f"{{}}: {bad}") from None


def _checked(
    db: Session,
    changes: Mapping[str, str | None],
    patron: Patron,
    today: date,
    subjects: SubjectsOffered,
) -> dict[str, Any]:
    """Each field of ``changes`` read and checked, every problem found at once. A member
    type left as it is stands, even one the policy in force no longer has: the rest of
    the record can still be changed."""
    problems: dict[str, str] = {}
    codes: dict[str, str] = {}
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        problems["fields"] = f"These cannot be changed here: {', '.join(unknown)}"
    values: dict[str, Any] = {}
    for name in FIELDS:
        if name == "member_type" and (changes.get(name) or "").strip() == patron.member_type:
            values[name] = patron.member_type
        elif name == "arrival_subjects" and name in changes:
            try:
                values[name] = _arrival_subjects(db, changes[name] or "", patron, today, subjects)
            except _Bad as bad:
                problems[name] = str(bad).replace("{}", FIELD_NAMES[name].capitalize())
                if bad.code:
                    codes[name] = bad.code
        elif name in changes:
            try:
                values[name] = _CHECKS[name](db, changes[name] or "")
            except _Bad as bad:
                problems[name] = str(bad).replace("{}", FIELD_NAMES[name].capitalize())
    if problems:
        raise PatronRefused(problems, codes)
    return values


def update_patron(
    db: Session,
    patron_id: str,
    changes: Mapping[str, str | None],
    now: datetime,
    actor: Actor,
    *,
    subjects: SubjectsOffered = arrival_subjects,
) -> tuple[str, ...]:
    """Change the patron's fields named in ``changes`` (``FIELDS``), each as typed: an
    empty email, phone, language or expiry clears it. Every problem is reported at once
    (PatronRefused, by field); nothing changes then. Returns the fields that changed
    (none: nothing written). ``subjects``: the subjects of new arrivals offered on a day
    (the app's ``subject_cache.ArrivalSubjects``; counted afresh without one)."""
    with changing(db, patron_id) as (log, patron):
        values = _checked(db, changes, patron, now.date(), subjects)
        before = patron_row(patron)
        changed = tuple(
            name for name in FIELDS if name in values and getattr(patron, name) != values[name]
        )
        if not changed:
            db.rollback()
            return ()
        for name in changed:
            setattr(patron, name, values[name])
        _mirror(log, patron, before)
        _audit(
            db,
            now,
            actor,
            action="patron.edit",
            patron_id=patron_id,
            detail="changed " + ", ".join(FIELD_NAMES[name] for name in changed),
        )
    db.commit()
    return changed


def _reason(reason: str, what: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise PatronRefused({"reason": f"Say why the patron is {what}"})
    if len(text) > MAX_REASON:
        raise PatronRefused({"reason": f"The reason must be {MAX_REASON} characters or fewer"})
    return text


def bar(db: Session, patron_id: str, reason: str, now: datetime, actor: Actor) -> None:
    """Bar the patron (no kiosk lends to them) for ``reason``, kept with them."""
    text = _reason(reason, "barred")
    with changing(db, patron_id) as (log, patron):
        if patron.barred:
            raise PatronRefused({"reason": "The patron is barred already"})
        patron.barred, patron.barred_reason = True, text
        log.patron(patron)
        _audit(db, now, actor, action="patron.bar", patron_id=patron_id, detail=f"barred: {text}")
    db.commit()


def unbar(db: Session, patron_id: str, reason: str, now: datetime, actor: Actor) -> None:
    """Lift the bar, for ``reason`` (kept in the audit log)."""
    text = _reason(reason, "no longer barred")
    with changing(db, patron_id) as (log, patron):
        if not patron.barred:
            raise PatronRefused({"reason": "The patron is not barred"})
        patron.barred, patron.barred_reason = False, None
        log.patron(patron)
        _audit(
            db,
            now,
            actor,
            action="patron.unbar",
            patron_id=patron_id,
            detail=f"no longer barred: {text}",
        )
    db.commit()


def _set_verifier(
    db: Session,
    patron_id: str,
    verifier: str,
    now: datetime,
    actor: Actor,
    *,
    action: str,
    detail: str,
    version: str | None,
    stale: str,
) -> None:
    with changing(db, patron_id) as (log, patron):
        if version is not None and version != pin_version(patron):
            raise PatronRefused({"pin": stale})
        patron.pin_verifier = verifier
        log.patron(patron)
        # Whoever signed in to the portal with the old PIN is signed in no longer: a PIN
        # changed because someone else knew it would otherwise leave them in.
        db.execute(delete(PatronSession).where(PatronSession.patron_id == patron_id))
        _audit(db, now, actor, action=action, patron_id=patron_id, detail=detail)
    db.commit()


def pin_problems(pin: str, again: str | None = None) -> dict[str, str]:
    """What is wrong with a new PIN as typed (``again``, when given, typed a second time),
    by field: none when it may be kept. No message repeats a PIN."""
    if not _PIN.fullmatch(pin):
        return {"pin": "The PIN must be 4 to 8 digits"}
    if again is not None and again != pin:
        return {"pin_again": "The two PINs typed are not the same: type it again"}
    return {}


def set_pin(
    db: Session,
    patron_id: str,
    pin: str,
    now: datetime,
    actor: Actor,
    *,
    again: str | None = None,
    version: str | None = None,
) -> None:
    """Give the patron the PIN they typed (4 to 8 digits; ``again``, when given, must be
    the same), kept only as a verifier. ``version`` (``pin_version``) is what the form
    was made for: a second use is refused. No message ever repeats a PIN."""
    if problems := pin_problems(pin, again):
        raise PatronRefused(problems)
    verifier = pin_verifier(pin)  # slow on purpose: before the lock, not under it
    _set_verifier(
        db,
        patron_id,
        verifier,
        now,
        actor,
        action="patron.pin",
        detail="new PIN typed by the patron",
        version=version,
        stale="The PIN was changed already since this page was opened: "
        "open the patron's page again",
    )


def one_time_pin(
    db: Session, patron_id: str, now: datetime, actor: Actor, *, version: str | None = None
) -> str:
    """Give the patron a new random PIN of ``ONE_TIME_PIN_DIGITS`` digits and return it,
    to be shown once: only its verifier is kept. ``version`` as for ``set_pin``."""
    pin = "".join(secrets.choice("0123456789") for _ in range(ONE_TIME_PIN_DIGITS))
    verifier = pin_verifier(pin)
    _set_verifier(
        db,
        patron_id,
        verifier,
        now,
        actor,
        action="patron.pin",
        detail="one-time PIN made",
        version=version,
        # Sent again (a reload, a second click): nothing is made, and nothing shown.
        stale="The PIN was changed already since this page was opened, and a one-time "
        "PIN is shown only once: make another if it was lost",
    )
    return pin


def renewal_period(db: Session, member_type: str) -> int | None:
    """The days the policy in force renews a membership of ``member_type`` by, if any."""
    found = policy_in_force(db)
    member = None if found is None else found.policy.member_types.get(member_type)
    return None if member is None else member.renewal_period_days


def renew_membership(
    db: Session,
    patron_id: str,
    now: datetime,
    actor: Actor,
    *,
    seen: str | None = None,
) -> date:
    """Renew the patron's membership as staff, by the policy's ``renewal_period_days``
    for their member type from the later of their expiry and today; returns the new
    expiry. Where the policy gives no period (or the membership has no end date), it is
    refused: staff set the date by hand with ``update_patron``. ``seen``, when given, is
    the expiry the page showed (YYYY-MM-DD, or empty for none): a second use of the
    form changes nothing."""
    found = policy_in_force(db)
    if found is None:
        raise PatronRefused({"expires": "There is no lending policy yet: import one first"})
    policy = found.policy
    with changing(db, patron_id) as (log, patron):
        if seen is not None and seen != (patron.expires.isoformat() if patron.expires else ""):
            raise PatronRefused(
                {
                    "expires": "The membership was renewed or changed already "
                    "since this page was opened"
                }
            )
        if patron.member_type not in policy.member_types:
            raise PatronRefused(
                {
                    "expires": "The patron's member type is not in the lending policy: "
                    "change it first"
                }
            )
        if patron.expires is None:
            raise PatronRefused(
                {"expires": "The membership has no end date: there is nothing to renew"}
            )
        decision = decide_membership_renewal(
            policy,
            rules_patron(patron),
            now,
            by_staff=True,
        )
        if decision.expires is None:
            raise PatronRefused(
                {
                    "expires": "The lending policy gives this member type no renewal period: "
                    "set the new expiry date by hand in the patron's details"
                }
            )
        _renewed(db, log, patron, decision.expires, now, actor)
    db.commit()
    return decision.expires


def _renewed(  # noqa: PLR0917 - a renewal's own six things
    db: Session,
    log: ChangeLog,
    patron: Patron,
    expires: date,
    now: datetime,
    actor: Actor,
    by: str = "",
) -> None:
    """The patron's membership runs until ``expires``: entered in the change log and
    audited (``by``: who asked, when not staff)."""
    previous = patron.expires.isoformat() if patron.expires else "none"
    patron.expires = expires
    log.patron(patron)
    _audit(
        db,
        now,
        actor,
        action="patron.renew",
        patron_id=patron.patron_id,
        detail=f"expiry {previous} renewed to {expires.isoformat()}{by}",
    )


def _date_or(text: str, otherwise: date) -> date:
    """The YYYY-MM-DD date ``text`` names, else ``otherwise``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return otherwise


def rules_patron(patron: Patron) -> RulesPatron:
    """The patron as the rules read them, from their row."""
    return RulesPatron(
        patron.patron_id,
        patron.member_type,
        patron.expires,
        patron.barred,
        patron.owed,
        patron.pending_loans,
    )


def own_membership_renewal(
    db: Session, patron_id: str, now: datetime
) -> MembershipRenewalDecision | None:
    """Whether the patron may renew their own membership now (the portal asks before
    offering it), by the rules' ``decide_membership_renewal``; None when no policy in
    force knows their member type. Reads only."""
    found = policy_in_force(db)
    patron = db.get(Patron, patron_id)
    if found is None or patron is None or patron.member_type not in found.policy.member_types:
        return None
    return decide_membership_renewal(found.policy, rules_patron(patron), now)


def renew_own_membership(
    db: Session, patron_id: str, now: datetime, actor: Actor, *, seen: str
) -> MembershipRenewalDecision | None:
    """The patron renews their own membership (the portal), as the kiosks' renewal is
    decided: by ``decide_membership_renewal`` for a patron, never staff's leave; the
    decision's refusals, or the new expiry once committed. ``seen`` is the expiry the
    page showed (YYYY-MM-DD): a form sent again after the renewal answers with the date
    it gave and renews nothing more. None when no policy in force knows the member
    type."""
    found = policy_in_force(db)
    if found is None:
        return None
    with changing(db, patron_id) as (log, patron):
        if patron.expires is not None and patron.expires > _date_or(seen, patron.expires):
            # Renewed since the page was drawn (this form sent twice, or staff): the
            # membership runs to the later date already. A ``seen`` that is no date, or
            # not before the expiry, is decided afresh, never reported as a renewal.
            db.rollback()
            return MembershipRenewalDecision((), patron.expires)
        if patron.member_type not in found.policy.member_types:
            db.rollback()
            return None
        decision = decide_membership_renewal(found.policy, rules_patron(patron), now)
        if not decision.allowed or decision.expires is None or patron.expires is None:
            db.rollback()
            return decision
        _renewed(db, log, patron, decision.expires, now, actor, " by the patron")
    db.commit()
    return decision
