"""The catalogue as staff search and grow it: finding items by barcode, ISBN, title or
author; an item's page (its record, status, current loan, hold queue and last
transactions); and a catalogue record or an item added by hand.

A search is one of four, tried in turn until one finds something: the barcode exactly
(the items' primary key), the ISBN exactly (hyphens and spaces dropped; an ISBN-10 also
finds its ISBN-13 and back), then a prefix of the title, then of the author. A prefix is
compared case-folded as a *range* on migration 0005's indexes on ``lower(title)`` and
``lower(author)`` (bytewise: PostgreSQL's "C" collation, SQLite's default): ``>=`` the
folded prefix and ``<`` the prefix with its last character's code point + 1. No LIKE,
so a quote, ``%`` or ``_`` typed is only a character. The prefix is folded by the
database's own ``lower()``, as the index was: SQLite's folds ASCII letters only.

A record or an item added by hand is checked as an import checks a CSV row
(``importers.check_fields``), with every bad field reported at once, then written under
the staff's lock (``ChangeLog.lock``), entered in the change log so that every kiosk
mirrors it, and audited, in one commit. The form's transaction id (made when the page
was drawn, ``desk.new_transaction_id``) makes a form sent twice add once: the second
sending finds the first's audit entry and answers as the first did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, String, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from kiosk.central import audit
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import branch_codes, branch_problem
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.circulation.desk import new_transaction_id
from kiosk.central.circulation.holds import QueuedHold, queue
from kiosk.central.circulation.importers import check_fields
from kiosk.central.errors import CentralError
from kiosk.central.models import (
    AppliedTransaction,
    AuditEntry,
    Item,
    Kiosk,
    Loan,
    Patron,
    PolicyVersion,
    Record,
)
from kiosk.common.check_digits import isbn13
from kiosk.rules import Due

SearchBy = Literal["barcode", "isbn", "title", "author"]

MAX_SEARCH = 200  # characters of a search that count: a title has at most 400
ITEMS_PER_RECORD = 20  # items shown under each record found
LAST_TRANSACTIONS = 10
# Statuses an item comes to by lending or by a return, never by hand.
NOT_BY_HAND = ("on_loan", "on_hold_shelf", "in_transit")
# An item's barcode as the desk reads one (desk._CODE): printable ASCII, no space.
_BARCODE = re.compile(r"[\x21-\x7e]{1,32}")
_TRANSACTION = re.compile(r"[A-Za-z0-9:._-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ISBN = re.compile(r"\d{13}|\d{9}[\dX]")
_SURROGATES = range(0xD800, 0xE000)
# A form sent twice is recognised for this long (the audit's index on time bounds the look).
SENT_TWICE_WITHIN = timedelta(days=1)

RECORD_FIELDS = ("brn", "title", "author", "isbn", "publication_type")
ITEM_FIELDS = ("barcode", "brn", "price", "status", "home_location")


class InvalidFields(CentralError):
    """A record or an item typed in by hand has bad fields; nothing was added.
    ``problems`` holds each bad field's problem, by field name."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        count = len(self.problems)
        super().__init__(f"{count} field{'' if count == 1 else 's'} to correct; nothing was added")


# --- searching -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundItem:
    barcode: str
    status: str
    home_location: str
    on_loan: bool
    due: str | None  # the loan's due date, as the kiosks write it


@dataclass(frozen=True, slots=True)
class FoundRecord:
    brn: int
    title: str
    author: str
    isbn: str | None
    publication_type: str
    items: tuple[FoundItem, ...]
    item_count: int  # all its items, of which the first ITEMS_PER_RECORD are in ``items``


@dataclass(frozen=True, slots=True)
class Found:
    text: str  # what was searched for, tidied
    by: SearchBy | None  # what found the records; None when nothing did (or nothing to find)
    records: tuple[FoundRecord, ...]
    more: bool  # more records matched than were returned


def _tidy(text: str) -> str:
    """The search as typed, without control characters (PostgreSQL refuses a NUL) and with
    runs of spaces as one."""
    return " ".join(_CONTROL.sub(" ", text[: MAX_SEARCH * 2]).split())[:MAX_SEARCH]


def _isbn10_digit(payload: str) -> str:
    total = sum(
        weight * int(digit) for weight, digit in zip(range(10, 1, -1), payload, strict=True)
    )
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def isbn_forms(text: str) -> list[str]:
    """The ISBNs ``text`` may be stored as (importers store the digits, no hyphens): itself,
    and an ISBN-10's ISBN-13 or a 978 ISBN-13's ISBN-10. Empty when it is no ISBN's shape."""
    digits = re.sub(r"[\s-]", "", text).upper()
    if not _ISBN.fullmatch(digits):
        return []
    forms = [digits]
    if len(digits) == 10:
        forms.append(isbn13("978" + digits[:9]))
    elif digits.startswith("978"):
        forms.append(digits[3:12] + _isbn10_digit(digits[3:12]))
    return forms


def _successor(prefix: str) -> str | None:
    """The least text above every text that starts with ``prefix`` (bytewise in UTF-8,
    which is code point order): the prefix with its last character's code point + 1.
    None when there is none (the prefix is all U+10FFFF)."""
    stripped = prefix.rstrip(chr(0x10FFFF))
    if not stripped:
        return None
    following = ord(stripped[-1]) + 1
    if following in _SURROGATES:  # not characters: UTF-8 cannot hold them
        following = _SURROGATES.stop
    return stripped[:-1] + chr(following)


def folded(db: Session, column: InstrumentedAttribute[str]) -> ColumnElement[str]:
    """``column`` case-folded and compared bytewise, as migration 0005's index has it."""
    expression: ColumnElement[str] = func.lower(column)
    if db.get_bind().dialect.name == "postgresql":
        expression = expression.collate("C")
    return expression


def prefix_query(
    db: Session, column: InstrumentedAttribute[str], prefix: str, limit: int
) -> Select[Record]:
    """The records whose ``column`` starts with ``prefix`` in any case, in that order: a
    range on the column's case-folded index. ``prefix`` must be folded already
    (``fold``)."""
    key = folded(db, column)
    query = select(Record).where(key >= prefix)
    upper = _successor(prefix)
    if upper is not None:
        query = query.where(key < upper)
    return query.order_by(key, Record.brn).limit(limit)


def isbn_query(forms: Sequence[str], limit: int) -> Select[Record]:
    """The records with one of these ISBNs (``isbn_forms``): on the ISBN's index."""
    return select(Record).where(Record.isbn.in_(forms)).order_by(Record.brn).limit(limit)


def fold(db: Session, text: str) -> str:
    """``text`` case-folded by the database's own ``lower()``, as its indexes are."""
    folded_text = db.scalar(select(func.lower(literal(text, String()))))
    return str(folded_text) if folded_text is not None else text.lower()


_PREFIXES: tuple[tuple[SearchBy, InstrumentedAttribute[str]], ...] = (
    ("title", Record.title),
    ("author", Record.author),
)


def _records(db: Session, text: str, limit: int) -> tuple[SearchBy | None, list[Record]]:
    item = db.get(Item, text)
    if item is not None:
        record = db.get(Record, item.brn)
        return "barcode", [record] if record is not None else []
    forms = isbn_forms(text)
    if forms:
        found = list(db.scalars(isbn_query(forms, limit)))
        if found:
            return "isbn", found
    prefix = fold(db, text)
    for by, column in _PREFIXES:
        found = list(db.scalars(prefix_query(db, column, prefix, limit)))
        if found:
            return by, found
    return None, []


def _items(db: Session, brns: Sequence[int]) -> dict[int, tuple[list[FoundItem], int]]:
    """Each record's first items, with whether each is on loan, and how many it has."""
    if not brns:
        return {}
    numbered = (
        select(
            Item.barcode,
            Item.brn,
            Item.status,
            Item.home_location,
            func.row_number().over(partition_by=Item.brn, order_by=Item.barcode).label("n"),
            func.count().over(partition_by=Item.brn).label("total"),
        )
        .where(Item.brn.in_(brns))
        .subquery()
    )
    rows = db.execute(
        select(numbered, Loan.due)
        .outerjoin(Loan, Loan.item_barcode == numbered.c.barcode)
        .where(numbered.c.n <= ITEMS_PER_RECORD)
        .order_by(numbered.c.brn, numbered.c.barcode)
    ).all()
    found: dict[int, tuple[list[FoundItem], int]] = {}
    for row in rows:
        items, _ = found.setdefault(row.brn, ([], row.total))
        items.append(
            FoundItem(row.barcode, row.status, row.home_location, row.due is not None, row.due)
        )
    return found


def _scanned_first(db: Session, barcode: str, items: list[FoundItem]) -> None:
    """The item scanned first in its record's list, even when it was not among the first."""
    found = next((item for item in items if item.barcode == barcode), None)
    if found is None:
        item, loan = db.get(Item, barcode), db.get(Loan, barcode)
        if item is None:
            return
        due = loan.due if loan is not None else None
        found = FoundItem(item.barcode, item.status, item.home_location, loan is not None, due)
        del items[ITEMS_PER_RECORD - 1 :]
    else:
        items.remove(found)
    items.insert(0, found)


def search_items(db: Session, text: str, limit: int = 50) -> Found:
    """The records ``text`` finds (a barcode, then an ISBN, then a title's start, then an
    author's: the first that finds any), each with its first items and whether each is
    on loan. At most ``limit`` records; ``more`` says there were others."""
    text = _tidy(text)
    if not text:
        return Found(text, None, (), more=False)
    by, records = _records(db, text, limit + 1)
    shown = records[:limit]
    items = _items(db, [record.brn for record in shown])
    if by == "barcode" and shown:
        _scanned_first(db, text, items.get(shown[0].brn, ([], 0))[0])
    return Found(
        text,
        by,
        tuple(
            FoundRecord(
                record.brn,
                record.title,
                record.author,
                record.isbn,
                record.publication_type,
                tuple(items.get(record.brn, ([], 0))[0]),
                items.get(record.brn, ([], 0))[1],
            )
            for record in shown
        ),
        more=len(records) > limit,
    )


# --- an item's page -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrentLoan:
    patron_id: str
    patron_name: str | None  # None: the borrower is not (or no longer) registered
    due: str  # as the kiosks write it: YYYY-MM-DD, or YYYY-MM-DDTHH:MM for a short loan
    overdue: bool
    lent_at: datetime
    renewals: int
    kiosk_id: int | None  # None: lent at the desk


@dataclass(frozen=True, slots=True)
class Waiting:
    """One hold in the item's queue, with the patron's name."""

    hold: QueuedHold
    patron_name: str | None


@dataclass(frozen=True, slots=True)
class ItemView:
    item: Item
    record: Record
    loan: CurrentLoan | None
    holds: tuple[Waiting, ...]
    transactions: tuple[AppliedTransaction, ...]  # the last few, newest first
    kiosks: dict[int, str]  # the name of each kiosk the loan or a transaction names


def is_overdue(due: str, now: datetime) -> bool:
    """Past its due date: after the due day for a day loan, the due time for a short one."""
    try:
        parsed = Due.fromisoformat(due)
    except ValueError:
        return False
    if parsed.at is None:
        return now.date() > parsed.day
    return now > datetime.combine(parsed.day, parsed.at)


def _names(db: Session, patron_ids: set[str]) -> dict[str, str]:
    if not patron_ids:
        return {}
    return {
        patron_id: f"{first_name} {surname}"
        for patron_id, first_name, surname in db.execute(
            select(Patron.patron_id, Patron.first_name, Patron.surname).where(
                Patron.patron_id.in_(sorted(patron_ids))
            )
        )
    }


def item_view(db: Session, barcode: str, now: datetime) -> ItemView | None:
    """What the item's page shows, or None when no item has ``barcode``."""
    item = db.get(Item, barcode)
    if item is None:
        return None
    record = db.get(Record, item.brn)
    if record is None:  # the foreign key forbids it; kept for the type checker
        return None
    loan = db.get(Loan, barcode)
    holds = queue(db, barcode)
    names = _names(db, {hold.patron_id for hold in holds} | ({loan.patron_id} if loan else set()))
    transactions = tuple(
        db.scalars(
            select(AppliedTransaction)
            .where(AppliedTransaction.item_barcode == barcode)
            .order_by(AppliedTransaction.decided_at.desc(), AppliedTransaction.applied_at.desc())
            .limit(LAST_TRANSACTIONS)
        )
    )
    kiosk_ids = {found.kiosk_id for found in transactions if found.kiosk_id is not None}
    if loan is not None and loan.kiosk_id is not None:
        kiosk_ids.add(loan.kiosk_id)
    kiosks: dict[int, str] = {}
    if kiosk_ids:
        for kiosk_id, name in db.execute(
            select(Kiosk.id, Kiosk.name).where(Kiosk.id.in_(sorted(kiosk_ids)))
        ):
            kiosks[kiosk_id] = name
    return ItemView(
        item,
        record,
        None
        if loan is None
        else CurrentLoan(
            loan.patron_id,
            names.get(loan.patron_id),
            loan.due,
            is_overdue(loan.due, now),
            loan.lent_at,
            loan.renewals,
            loan.kiosk_id,
        ),
        tuple(Waiting(hold, names.get(hold.patron_id)) for hold in holds),
        transactions,
        kiosks,
    )


# --- adding by hand ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddedRecord:
    record: Record
    duplicate: bool = False  # the same form, sent before: added then, not again now


@dataclass(frozen=True, slots=True)
class AddedItem:
    item: Item
    duplicate: bool = False


def _values(fields: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
    return {name: str(fields.get(name) or "") for name in names}


def _transaction(transaction_id: str | None) -> str:
    if transaction_id is None:
        return new_transaction_id()
    if not _TRANSACTION.fullmatch(transaction_id):
        raise CentralError("the form's transaction id is not valid: reload the page")
    return transaction_id


def _sent_before(db: Session, action: str, transaction_id: str, now: datetime) -> str | None:
    """The target (``record 12``, ``item 3999...``) of the entry this transaction was
    audited as, if it was applied before."""
    return db.scalar(
        select(AuditEntry.target)
        .where(
            AuditEntry.at >= now - SENT_TWICE_WITHIN,
            AuditEntry.action == action,
            AuditEntry.detail.startswith(f"{transaction_id}: ", autoescape=True),
        )
        .limit(1)
    )


def _publication_types(db: Session) -> set[str]:
    policy = db.get(PolicyVersion, 1)
    if policy is None:
        raise CentralError("no lending policy is in force: import one first")
    return set(policy.document.get("publication_types", {}))


def _no_control_characters(values: Mapping[str, str], problems: dict[str, str]) -> None:
    for name, value in values.items():
        if _CONTROL.search(value):
            problems.setdefault(name, "has a control character (a tab or a line break?)")


def add_record(
    db: Session,
    fields: Mapping[str, Any],
    now: datetime,
    actor: Actor,
    *,
    transaction_id: str | None = None,
) -> AddedRecord:
    """Add a catalogue record: ``fields`` are ``brn`` (empty: the next free number),
    ``title``, ``author``, ``isbn`` (may be empty) and ``publication_type`` (one the
    policy in force names), as text. Raises InvalidFields naming every bad field."""
    transaction_id = _transaction(transaction_id)
    values = _values(fields, RECORD_FIELDS)
    log = ChangeLog(db)
    log.lock()
    try:
        if (target := _sent_before(db, "record.add", transaction_id, now)) is not None:
            found = db.get(Record, int(target.removeprefix("record ")))
            if found is not None:
                db.rollback()
                return AddedRecord(found, duplicate=True)
        publication_types = _publication_types(db)
        chosen_brn = bool(values["brn"].strip())
        if not chosen_brn:
            values["brn"] = str((db.scalar(select(func.max(Record.brn))) or 0) + 1)
        parsed, problems = check_fields("catalogue", values, set(), publication_types)
        _no_control_characters(values, problems)
        if "brn" not in problems and (existing := db.get(Record, parsed["brn"])) is not None:
            problems["brn"] = f"is record {existing.brn}'s already: leave it empty for a new number"
        if problems:
            if not chosen_brn:
                problems.pop("brn", None)
            raise InvalidFields(problems)
        record = Record(**parsed, added_on=now.date())
        db.add(record)
        db.flush()
        log.record(record)
        audit.record(
            db,
            now,
            actor=actor.username,
            action="record.add",
            target=f"record {record.brn}",
            origin=actor.origin,
            detail=f"{transaction_id}: {record.publication_type}, {record.title[:200]}",
        )
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return AddedRecord(record)


def add_item(
    db: Session,
    fields: Mapping[str, Any],
    now: datetime,
    actor: Actor,
    *,
    transaction_id: str | None = None,
) -> AddedItem:
    """Add an item to an existing catalogue record: ``fields`` are ``barcode`` (a new
    one), ``brn``, ``price`` (0 or more, two decimals at most), ``status`` (a standard
    status but on loan or on the hold shelf; empty: available) and ``home_location``, as
    text. Raises InvalidFields naming every bad field."""
    transaction_id = _transaction(transaction_id)
    values = _values(fields, ITEM_FIELDS)
    values["status"] = values["status"].strip() or "available"
    log = ChangeLog(db)
    log.lock()
    try:
        if (target := _sent_before(db, "item.add", transaction_id, now)) is not None:
            found = db.get(Item, target.removeprefix("item "))
            if found is not None:
                db.rollback()
                return AddedItem(found, duplicate=True)
        _publication_types(db)  # an item is added under the policy, as a record is
        parsed, problems = check_fields("items", values, set(), set())
        _no_control_characters(values, problems)
        barcode = parsed["barcode"]
        if "barcode" not in problems:
            if not _BARCODE.fullmatch(barcode):
                problems["barcode"] = "must be letters, digits and signs, with no space"
            elif db.get(Item, barcode) is not None:
                problems["barcode"] = f"is item {barcode}'s already: each item has its own"
        if "brn" not in problems and db.get(Record, parsed["brn"]) is None:
            problems["brn"] = f"no catalogue record {parsed['brn']}: add the record first"
        if "status" not in problems and parsed["status"] in NOT_BY_HAND:
            problems["status"] = "comes from lending or a return, not by hand"
        # Once the library has branches, an item's home is one of them.
        codes, home = branch_codes(db), parsed["home_location"]
        problem = branch_problem(home, codes) if codes and home else None
        if "home_location" not in problems and problem is not None:
            problems["home_location"] = problem
        if problems:
            raise InvalidFields(problems)
        item = Item(**parsed)
        db.add(item)
        db.flush()
        log.item(item)
        audit.record(
            db,
            now,
            actor=actor.username,
            action="item.add",
            target=f"item {item.barcode}",
            origin=actor.origin,
            detail=f"{transaction_id}: record {item.brn}, {item.status}, price {item.price}",
        )
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return AddedItem(item)
