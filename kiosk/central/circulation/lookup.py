"""What the staff desk and the holds pages read: a patron found by the card scanned, a
patron's standing and loans at a glance, an item and the names in its hold queue.

Reads only: the desk's decisions are ``desk``'s and ``holds``'s. A card number is looked
up here and goes no further than the answer (a patron id, never the card, goes in a URL).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from kiosk.central.models import Hold, Item, Loan, Patron, Record
from kiosk.rules import Due, Policy

MAX_CARD = 32  # the column's width: a longer scan is no card of ours


@dataclass(frozen=True, slots=True)
class DeskLoan:
    barcode: str
    title: str
    due: str  # as the kiosks write it: YYYY-MM-DD, or YYYY-MM-DDTHH:MM for a short loan
    overdue: bool
    renewals: int
    renewals_allowed: int | None  # None: no limit, or no privilege to say


@dataclass(frozen=True, slots=True)
class DeskPatron:
    patron_id: str
    first_name: str
    surname: str
    member_type: str  # the code
    member_type_name: str  # as the policy in force names it (the code if it does not)
    expires: date | None
    expired: bool
    barred: bool
    barred_reason: str | None
    owed: Decimal
    fine_limit: Decimal | None
    loans: tuple[DeskLoan, ...]

    @property
    def name(self) -> str:
        return f"{self.surname}, {self.first_name}"


@dataclass(frozen=True, slots=True)
class ItemSummary:
    barcode: str
    title: str
    author: str
    status: str
    borrower: str | None  # the patron id of its loan
    due: str | None
    brn: int | None = None  # its record, for a hold on any copy of it


@dataclass(frozen=True, slots=True)
class HoldRef:
    """Whose hold and on which item (or, for a title hold waiting for a copy, which
    record): where to go back to once it has changed."""

    hold_id: int
    item_barcode: str | None
    patron_id: str
    brn: int | None = None


def could_be_card(card: str) -> bool:
    """Whether ``card`` (scanned or typed) is worth looking up: a card is printable, and
    PostgreSQL refuses a NUL outright (a DataError, not "none")."""
    card = card.strip()
    return bool(card) and len(card) <= MAX_CARD and card.isprintable()


def patron_by_card(db: Session, card: str) -> str | None:
    """The patron id of the card scanned or typed, if any patron has it."""
    if not could_be_card(card):
        return None
    found: str | None = db.scalar(select(Patron.patron_id).where(Patron.card == card.strip()))
    return found


def patron_exists(db: Session, patron_id: str) -> bool:
    return db.scalar(select(Patron.patron_id).where(Patron.patron_id == patron_id)) is not None


def _overdue(due: str, now: datetime) -> bool:
    try:
        return Due.fromisoformat(due).overdue_days(now) > 0
    except ValueError:
        return False


def desk_patron(
    db: Session, patron_id: str, now: datetime, policy: Policy | None
) -> DeskPatron | None:
    """The patron as the desk shows them, with their loans (soonest due first)."""
    patron = db.get(Patron, patron_id)
    if patron is None:
        return None
    rows = db.execute(
        select(Loan, Record.title, Record.publication_type)
        .join(Item, Item.barcode == Loan.item_barcode, isouter=True)
        .join(Record, Record.brn == Item.brn, isouter=True)
        .where(Loan.patron_id == patron_id)
        .order_by(Loan.due, Loan.item_barcode)
    ).all()
    loans = []
    for loan, title, publication_type in rows:
        privilege = (
            policy.privilege(loan.member_type, publication_type)
            if policy is not None and publication_type is not None
            else None
        )
        loans.append(
            DeskLoan(
                loan.item_barcode,
                title or "",
                loan.due,
                _overdue(loan.due, now),
                loan.renewals,
                privilege.renewals if privilege is not None else None,
            )
        )
    member = policy.member_types.get(patron.member_type) if policy is not None else None
    return DeskPatron(
        patron.patron_id,
        patron.first_name,
        patron.surname,
        patron.member_type,
        member.name if member is not None else patron.member_type,
        patron.expires,
        patron.expires is not None and patron.expires < now.date(),
        patron.barred,
        patron.barred_reason,
        patron.owed,
        member.fine_limit if member is not None else None,
        tuple(loans),
    )


def patron_names(db: Session, patron_ids: Iterable[str]) -> dict[str, str]:
    """Each patron's name as staff read it ("Surname, First name")."""
    wanted = sorted(set(patron_ids))
    if not wanted:
        return {}
    rows = db.execute(
        select(Patron.patron_id, Patron.first_name, Patron.surname).where(
            Patron.patron_id.in_(wanted)
        )
    ).all()
    return {patron_id: f"{surname}, {first}" for patron_id, first, surname in rows}


def item_summary(db: Session, barcode: str) -> ItemSummary | None:
    barcode = barcode.strip()
    row = db.execute(
        select(Item, Record.title, Record.author)
        .join(Record, Record.brn == Item.brn, isouter=True)
        .where(Item.barcode == barcode)
    ).first()
    if row is None:
        return None
    item, title, author = row
    loan = db.get(Loan, item.barcode)
    return ItemSummary(
        item.barcode,
        title or "",
        author or "",
        item.status,
        loan.patron_id if loan is not None else None,
        loan.due if loan is not None else None,
        item.brn,
    )


def hold_ref(db: Session, hold_id: int) -> HoldRef | None:
    hold = db.get(Hold, hold_id)
    if hold is None:
        return None
    return HoldRef(hold.id, hold.item_barcode, hold.patron_id, hold.brn)


@dataclass(frozen=True, slots=True)
class RecordSummary:
    brn: int
    title: str
    author: str
    copies: int


def record_summary(db: Session, brn: int) -> RecordSummary | None:
    record = db.get(Record, brn)
    if record is None:
        return None
    copies = db.scalar(select(func.count()).select_from(Item).where(Item.brn == brn)) or 0
    return RecordSummary(record.brn, record.title, record.author, copies)


def item_record(db: Session, barcode: str) -> int | None:
    """The record (BRN) of the copy ``barcode``."""
    return db.scalar(select(Item.brn).where(Item.barcode == barcode.strip()))


def record_named(db: Session, named: str) -> int | None:
    """The one record a device's title identifier names: its record number, its ISBN, or
    its exact title (any case); None when none or several match."""
    if not named:
        return None
    # A record number fits the column; a longer run of digits is an ISBN.
    if named.isdigit() and len(named) < 10 and db.get(Record, int(named)) is not None:
        return int(named)
    for query in (select(Record.brn).where(Record.isbn == named), titled(db, named)):
        found = list(db.scalars(query.limit(2)))
        if len(found) == 1:
            return found[0]
    return None


def titled(db: Session, title: str) -> Select[int]:
    """The records of exactly this title, in any case: on records_by_title, whose key on
    PostgreSQL is compared bytewise (COLLATE "C", as catalogue.folded has it)."""
    key: ColumnElement[str] = func.lower(Record.title)
    if db.get_bind().dialect.name == "postgresql":
        key = key.collate("C")
    return select(Record.brn).where(key == func.lower(title))
