"""Online registration (the portal's ``/my/register``) and staff's decision on it.

A registration is a patron row with ``pending_loans`` set: how many loans it may hold
until staff approve it (``[registration] pending_loans`` when it came; the rules refuse
the rest, ``Patron.pending_loans``). It has a temporary card at once and the PIN the
patron chose, kept only as the kiosks' verifier, so it signs in to the portal. Kiosks are
not sent it (``ChangeLog.patron``, the snapshot) until staff approve it.

Staff approve it, choosing the member type and perhaps a permanent card, or reject it:
a rejected registration is deleted with its notices, and only an audit line naming its
random id stays. Each decision carries the form's transaction id, which the audit line
keeps; a form sent again finds the registration decided already and changes nothing.
The audit never names the patron, their card, email or phone.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import branch_codes
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.circulation.desk import new_transaction_id
from kiosk.central.circulation.lookup import MAX_CARD, patron_by_card
from kiosk.central.circulation.patrons import (
    _audit,
    changing,
    check_contact,
    member_types,
    pin_problems,
)
from kiosk.central.config.model import RegistrationSection
from kiosk.central.errors import CentralError
from kiosk.central.models import Hold, LedgerEntry, Loan, Notice, Patron, PatronSession
from kiosk.central.notices import outbox
from kiosk.central.notices.finding import Found
from kiosk.common.pins import pin_verifier
from kiosk.sync.protocol import Entity

RECEIVED, APPROVED = "registration_received", "registration_approved"
CARD_DIGITS = 9
MAX_REASON = 200
OLDEST_BIRTH_YEAR = 1900
_TRIES = 20  # random numbers drawn before giving up: taken ones are vanishingly rare


class RegistrationRefused(CentralError):
    """The form has mistakes: the fields that are wrong, each with what to do (staff's
    words; the portal says its own)."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems.values()))


class MaybeKnown(CentralError):
    """The library may know this person already (a patron or a registration with the
    same name and date of birth, email or phone): which record it is is not said."""

    def __init__(self) -> None:
        super().__init__("the library may already know this person: ask staff")


class RegistrationDecided(CentralError):
    """No registration is pending with this id: decided already (the form sent twice)
    or never made."""

    def __init__(self) -> None:
        super().__init__(
            "this registration is no longer waiting: it was approved or rejected already"
        )


@dataclass(frozen=True, slots=True)
class RegistrationForm:
    """What the patron typed, as typed."""

    first_name: str = ""
    surname: str = ""
    email: str = ""
    phone: str = ""
    date_of_birth: str = ""
    pin: str = ""
    pin_again: str = ""
    consent: bool = False
    language: str = ""
    home_branch: str = ""  # a branch's code: where their holds are kept (empty: none)


@dataclass(frozen=True, slots=True)
class Registered:
    patron_id: str
    card: str  # the temporary card, shown once on the confirmation page
    emailed: bool  # a confirmation is queued


@dataclass(frozen=True, slots=True)
class Pending:
    """A registration as staff see it on the pending list."""

    patron_id: str
    first_name: str
    surname: str
    email: str | None
    phone: str | None
    date_of_birth: date | None
    card: str
    registered_at: datetime | None
    pending_loans: int
    home_branch: str | None = None  # the library they chose (a branch's code)


@dataclass(frozen=True, slots=True)
class Approved:
    patron_id: str
    card: str
    member_type: str
    emailed: bool


def _birth(text: str, today: date) -> date:
    try:
        born = date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
    except ValueError:
        born = None
    if born is None or born.year < OLDEST_BIRTH_YEAR or born > today:
        raise ValueError("Enter the date of birth as a real date in the past, like 1990-03-31")
    return born


def checked(
    form: RegistrationForm,
    settings: RegistrationSection,
    today: date,
    branches: Collection[str] = (),
) -> dict[str, object]:
    """The form's values, or RegistrationRefused naming every field that is wrong.
    ``branches``: the codes of the library's branches, one of which the home branch
    chosen must be (none chosen: none)."""
    problems: dict[str, str] = {}
    values: dict[str, object] = {}
    for name in ("first_name", "surname", "email", "phone", "language"):
        try:
            values[name] = check_contact(name, getattr(form, name))
        except ValueError as bad:
            problems[name] = str(bad)
    if "email" not in problems and "phone" not in problems:
        needed = {
            "email": ("email",),
            "phone": ("phone",),
            "email_or_phone": ("email", "phone"),
        }[settings.contact]
        if not any(values.get(name) for name in needed):
            problems["contact"] = "Enter how the library can reach you"
    if settings.contact == "email":
        values["phone"] = None  # not asked: not kept
    elif settings.contact == "phone":
        values["email"] = None
    values["date_of_birth"] = None
    if settings.date_of_birth:
        try:
            values["date_of_birth"] = _birth(form.date_of_birth, today)
        except ValueError as bad:
            problems["date_of_birth"] = str(bad)
    values["home_branch"] = form.home_branch.strip() or None
    if values["home_branch"] is not None and values["home_branch"] not in branches:
        problems["home_branch"] = "Choose one of the library's branches"
    problems |= pin_problems(form.pin, form.pin_again)
    if not form.consent:
        problems["consent"] = "Agree to the privacy notice to register"
    if problems:
        raise RegistrationRefused(problems)
    return values


def _known(db: Session, values: dict[str, object]) -> bool:
    """A patron or registration with the same name and date of birth, or the same email
    address or phone number. Case and spacing aside; a phone typed with other spacing
    than the record's is not matched."""
    same: list[ColumnElement[bool]] = []
    if values["date_of_birth"] is not None:
        same.append(
            and_(
                func.lower(Patron.first_name) == str(values["first_name"]).lower(),
                func.lower(Patron.surname) == str(values["surname"]).lower(),
                Patron.date_of_birth == values["date_of_birth"],
            )
        )
    if values["email"]:
        same.append(func.lower(Patron.email) == str(values["email"]).lower())
    if values["phone"]:
        phone = str(values["phone"])
        same.append(Patron.phone.in_({phone, "".join(c for c in phone if c in "+0123456789")}))
    if not same:
        return False
    return db.scalar(select(Patron.patron_id).where(or_(*same)).limit(1)) is not None


def _identities(values: dict[str, object]) -> list[str]:
    """Lock names for what ``_known`` matches a person by (the phone by its digits, so
    that it covers either spelling); a patron id that happens to share one only shares
    a lock."""
    names = []
    if values["date_of_birth"] is not None:
        first, surname = str(values["first_name"]).lower(), str(values["surname"]).lower()
        names.append(f"registration name {first} {surname} {values['date_of_birth']}")
    if values["email"]:
        names.append(f"registration email {str(values['email']).lower()}")
    if values["phone"]:
        digits = "".join(c for c in str(values["phone"]) if c in "+0123456789")
        names.append(f"registration phone {digits}")
    return names


def _drawn(db: Session, column: InstrumentedAttribute[str], prefix: str) -> str:
    """A random number after ``prefix`` no patron has in ``column``: a registration's id
    and temporary card say nothing of who or how many came before."""
    for _ in range(_TRIES):
        candidate = f"{prefix}{secrets.randbelow(10**CARD_DIGITS):0{CARD_DIGITS}d}"
        if db.scalar(select(Patron.patron_id).where(column == candidate)) is None:
            return candidate
    raise CentralError("no free number could be drawn: try again")


def _email_notice(
    db: Session, patron: Patron, kind: str, now: datetime, facts: dict[str, object]
) -> bool:
    """Queue ``kind`` to the patron's email in the caller's transaction; False when
    they gave none. Sent whatever the patron's preferences: it answers their request."""
    if not patron.email:
        return False
    found = Found(patron.patron_id, kind, "registration", now.date(), "email", False, facts)
    outbox.enqueue(db, [found], now, digest_hour=0)
    return True


def register(
    db: Session,
    form: RegistrationForm,
    settings: RegistrationSection,
    now: datetime,
    actor: Actor,
) -> Registered:
    """Make a pending patron from the form (RegistrationRefused: its mistakes, every one;
    MaybeKnown: the library may know them already; nothing is kept then). The temporary
    card's confirmation is queued for their email in the same transaction."""
    if not settings.open:
        raise CentralError("online registration is closed")
    values = checked(form, settings, now.date(), branch_codes(db))
    # The branches were read in a transaction of their own: on SQLite the lock below
    # must begin the writing one, not upgrade a reader (which fails at once when another
    # registration writes meanwhile).
    db.rollback()
    verifier = pin_verifier(form.pin)  # slow on purpose: before the lock, not under it
    log = ChangeLog(db)
    try:
        # Two registrations of one person at once cannot both pass the check for the
        # other: they share a lock on what makes them the same person. Not staff's
        # writers' lock: anyone may send the form, and kiosks' pushes go on meanwhile.
        log.lock_patrons(_identities(values))
        if _known(db, values):
            raise MaybeKnown
        patron = Patron(
            patron_id=_drawn(db, Patron.patron_id, "R"),
            card=_drawn(db, Patron.card, settings.card_prefix),
            first_name=values["first_name"],
            surname=values["surname"],
            email=values["email"],
            phone=values["phone"],
            language=values["language"],
            date_of_birth=values["date_of_birth"],
            home_branch=values["home_branch"],
            member_type=settings.member_type,
            expires=None,
            barred=False,
            owed=Decimal("0.00"),
            pin_verifier=verifier,
            notify_by="email" if values["email"] else ("sms" if values["phone"] else "none"),
            pending_loans=settings.pending_loans,
            registered_at=now,
        )
        db.add(patron)
        db.flush()
        emailed = _email_notice(db, patron, RECEIVED, now, {"card": patron.card})
        _audit(
            db,
            now,
            actor,
            action="registration.received",
            patron_id=patron.patron_id,
            detail="online registration",
        )
    except BaseException:
        db.rollback()
        raise
    db.commit()
    return Registered(patron.patron_id, patron.card, emailed)


def pending(db: Session, limit: int = 200) -> list[Pending]:
    """The registrations waiting for staff, oldest first."""
    rows = db.scalars(
        select(Patron)
        .where(Patron.pending_loans.is_not(None))
        .order_by(Patron.registered_at, Patron.patron_id)
        .limit(limit)
    )
    return [_pending(patron) for patron in rows]


def _pending(patron: Patron) -> Pending:
    assert patron.pending_loans is not None
    return Pending(
        patron.patron_id,
        patron.first_name,
        patron.surname,
        patron.email,
        patron.phone,
        patron.date_of_birth,
        patron.card,
        patron.registered_at,
        patron.pending_loans,
        patron.home_branch,
    )


def one(db: Session, patron_id: str) -> Pending | None:
    """One pending registration, None when none has the id."""
    patron = db.get(Patron, patron_id)
    if patron is None or patron.pending_loans is None:
        return None
    return _pending(patron)


def count(db: Session) -> int:
    return db.scalar(select(func.count()).where(Patron.pending_loans.is_not(None))) or 0


def _transaction(transaction_id: str) -> str:
    return transaction_id if transaction_id.startswith("desk-") else new_transaction_id()


def approve(
    db: Session,
    patron_id: str,
    *,
    member_type: str,
    card: str,
    now: datetime,
    actor: Actor,
    transaction_id: str,
) -> Approved:
    """Make the registration a member of ``member_type`` (a code of the policy in
    force), with ``card`` when staff typed one (else the temporary card stays): kiosks
    are sent the patron from now on. A card another patron has, or a member type the
    policy lacks, is RegistrationRefused; a registration no longer pending is
    RegistrationDecided. The approval's email (with the card) is queued in the same
    transaction when the patron gave an address."""
    problems: dict[str, str] = {}
    types = member_types(db)
    if member_type not in types:
        problems["member_type"] = "Choose a member type of the lending policy in force"
    card = card.strip()
    if card and (len(card) > MAX_CARD or not card.isalnum()):
        problems["card"] = f"A card number is letters and digits, {MAX_CARD} at most"
    if problems:
        raise RegistrationRefused(problems)
    with changing(db, patron_id) as (log, patron):
        if patron.pending_loans is None:
            raise RegistrationDecided
        if card and card != patron.card:
            if patron_by_card(db, card) is not None:
                raise RegistrationRefused({"card": "Another patron has this card number"})
            patron.card = card
            # Signed in with the temporary card: that card opens nothing now.
            db.execute(delete(PatronSession).where(PatronSession.patron_id == patron_id))
        patron.member_type = member_type
        patron.pending_loans = None
        log.patron(patron)
        emailed = _email_notice(db, patron, APPROVED, now, {"card": patron.card})
        _audit(
            db,
            now,
            actor,
            action="registration.approve",
            patron_id=patron_id,
            detail=f"approved as {member_type}"
            + (", permanent card given" if card else "")
            + f"; transaction {_transaction(transaction_id)}",
        )
    db.commit()
    return Approved(patron_id, patron.card, member_type, emailed)


# What a registration may have that must not be left without its patron, and what
# staff do about it first.
_HELD_BY: tuple[tuple[type[Loan | Hold | LedgerEntry], str], ...] = (
    (Loan, "It has items on loan: check them in first"),
    (Hold, "It has holds: cancel them first"),
    (
        LedgerEntry,
        "It has fines or payments on record, which stay with a patron: approve it instead",
    ),
)


def unheld(patron_id: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """True for a patron with no loan, hold or ledger entry: one that can be deleted
    without leaving any of those behind it."""
    return and_(*(~exists().where(model.patron_id == patron_id) for model, _ in _HELD_BY))


def reject(
    db: Session,
    patron_id: str,
    *,
    reason: str,
    now: datetime,
    actor: Actor,
    transaction_id: str,
) -> None:
    """Delete the registration with its notices and sessions: nothing of the person is
    kept. Refused while it has loans, holds or ledger entries, which would be left
    without their patron. The audit line keeps the random id and ``reason`` (staff's
    words: they must not write the person's name there, which the form says)."""
    text = " ".join(reason.split())
    if not text:
        raise RegistrationRefused({"reason": "Say why the registration is rejected"})
    if len(text) > MAX_REASON:
        raise RegistrationRefused(
            {"reason": f"The reason must be {MAX_REASON} characters or fewer"}
        )
    with changing(db, patron_id) as (log, patron):
        if patron.pending_loans is None:
            raise RegistrationDecided
        held = [
            words
            for model, words in _HELD_BY
            if db.scalar(select(exists().where(model.patron_id == patron_id)))
        ]
        if held:
            raise RegistrationRefused({"reason": "; ".join(held) + "."})
        db.execute(delete(Notice).where(Notice.patron_id == patron_id))
        db.execute(delete(PatronSession).where(PatronSession.patron_id == patron_id))
        db.delete(patron)
        # Kiosks never had it; the entry keeps the log's record of every decision.
        log.remove(Entity.PATRON, patron_id)
        _audit(
            db,
            now,
            actor,
            action="registration.reject",
            patron_id=patron_id,
            detail=f"rejected: {text}; transaction {_transaction(transaction_id)}",
        )
    db.commit()


# The audit's actor for what the server does of itself, on no one's request.
_EXPIRY = Actor("-", "server")


def expire(db: Session, now: datetime, after_days: int) -> int:
    """Delete the registrations staff have not decided on within ``after_days`` of their
    arrival, with their notices and sessions, as a rejection does: the person's details
    and the address on the ``registration.received`` line are not kept for a decision
    that never comes. One with loans, holds or ledger entries waits for staff. The audit
    keeps the random id and "expired". Returns how many; the caller commits."""
    # Staff's writers' lock: an approval or a loan at the desk cannot slip in between
    # choosing a registration and deleting it.
    ChangeLog(db).lock()
    expired = list(
        db.scalars(
            select(Patron.patron_id).where(
                Patron.pending_loans.is_not(None),
                Patron.registered_at < now - timedelta(days=after_days),
                unheld(Patron.patron_id),
            )
        )
    )
    if not expired:
        return 0
    db.execute(delete(Notice).where(Notice.patron_id.in_(expired)))
    db.execute(delete(PatronSession).where(PatronSession.patron_id.in_(expired)))
    db.execute(delete(Patron).where(Patron.patron_id.in_(expired)))
    for patron_id in expired:
        _audit(
            db,
            now,
            _EXPIRY,
            action="registration.expire",
            patron_id=patron_id,
            detail=f"expired: not decided within {after_days} days",
        )
    return len(expired)
