"""What the kiosk believes: the mirror with the journal's unreflected entries laid over it.

An item lent a moment ago is on loan here before the server knows; a fine
charged at this drop station is owed before the next sync. Callers open the
journal transaction *before* the mirror snapshot, so no entry can be purged
between the two readings and be missed by both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from kiosk.rules import Due, Item, Loan, Patron
from kiosk.rules.model import AVAILABLE
from kiosk.store.journal import Entry
from kiosk.store.mirror import (
    MirrorHold,
    MirrorLoan,
    MirrorPatron,
    Record,
    StockItem,
    SyncCursor,
)

ON_LOAN = "on_loan"
CHECKOUT, RETURN, RENEW, FAULT = "checkout", "return", "renew", "fault"


def parse_due(text: str) -> Due:
    if "T" in text:
        return Due.at_time(datetime.fromisoformat(text))
    return Due.end_of(date.fromisoformat(text))


@dataclass(frozen=True, slots=True)
class CurrentLoan:
    patron_id: str
    member_type: str
    due: Due
    renewals: int

    def as_rules_loan(self) -> Loan:
        return Loan(self.member_type, self.due, self.renewals)


@dataclass(frozen=True, slots=True)
class ItemState:
    barcode: str
    title: str
    publication_type: str
    price: Decimal
    status: str
    holds: tuple[str, ...]  # patron ids in queue order
    loan: CurrentLoan | None
    last_entry: Entry | None = None  # the newest unreflected entry about this item

    def as_rules_item(self) -> Item:
        # On the kiosk, "on loan" comes from the loan itself; the rules read the status.
        return Item(self.publication_type, self.status, self.holds, self.price)


@dataclass(frozen=True, slots=True)
class PatronState:
    patron_id: str
    first_name: str
    member_type: str
    expires: date | None
    barred: bool
    owed: Decimal
    pin_verifier: str | None

    def as_rules_patron(self) -> Patron:
        return Patron(self.patron_id, self.member_type, self.expires, self.barred, self.owed)


def payload(entry: Entry) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(entry.payload)
    return data


def apply_entry(item: ItemState, entry: Entry) -> ItemState:
    """The item after ``entry``, as the server will see it once it applies it."""
    data = payload(entry)
    if entry.kind == CHECKOUT:
        holds = item.holds[1:] if data.get("hold_fulfilled") else item.holds
        loan = CurrentLoan(data["patron_id"], data["member_type"], parse_due(data["due"]), 0)
        return replace(item, status=ON_LOAN, loan=loan, holds=holds, last_entry=entry)
    if entry.kind == RENEW and item.loan is not None:
        loan = replace(item.loan, due=parse_due(data["due"]), renewals=item.loan.renewals + 1)
        return replace(item, loan=loan, last_entry=entry)
    if entry.kind == RETURN:
        return replace(item, status=AVAILABLE, loan=None, last_entry=entry)
    if entry.kind == FAULT:
        return replace(item, status=data["status"], last_entry=entry)
    return replace(item, last_entry=entry)


class World:
    """One consistent reading of mirror + journal, for one decision."""

    def __init__(self, mirror: Session, journal: Session) -> None:
        self.mirror = mirror
        self.journal = journal
        cursor = mirror.get(SyncCursor, 1)
        self.reflected_through = cursor.reflected_through if cursor else 0

    def unreflected(
        self, *, items: Iterable[str] = (), patron_id: str | None = None
    ) -> list[Entry]:
        """Journal entries about these items or this patron that the mirror does not yet show."""
        conditions: list[ColumnElement[bool]] = []
        barcodes = list(items)
        if barcodes:
            conditions.append(Entry.item_barcode.in_(barcodes))
        if patron_id is not None:
            conditions.append(Entry.patron_id == patron_id)
        if not conditions:
            return []
        entries = self.journal.scalars(
            select(Entry)
            .where(Entry.seq > self.reflected_through, or_(*conditions))
            .order_by(Entry.seq)
        ).all()
        return list(entries)

    def patron_by_card(self, card: str) -> PatronState | None:
        row = self.mirror.scalar(select(MirrorPatron).where(MirrorPatron.card == card))
        return None if row is None else self._patron(row)

    def patron(self, patron_id: str) -> PatronState | None:
        row = self.mirror.get(MirrorPatron, patron_id)
        return None if row is None else self._patron(row)

    def _patron(self, row: MirrorPatron) -> PatronState:
        owed = row.owed
        for entry in self.unreflected(patron_id=row.patron_id):
            owed += Decimal(payload(entry).get("charged", "0.00"))
        return PatronState(
            row.patron_id,
            row.first_name,
            row.member_type,
            row.expires,
            row.barred,
            owed,
            row.pin_verifier,
        )

    def items(self, barcodes: Sequence[str]) -> dict[str, ItemState]:
        """The current state of each known item among ``barcodes``."""
        if not barcodes:
            return {}
        rows = self.mirror.execute(
            select(StockItem, Record)
            .join(Record, Record.brn == StockItem.brn)
            .where(StockItem.barcode.in_(barcodes))
        ).all()
        loans = {
            loan.item_barcode: loan
            for loan in self.mirror.scalars(
                select(MirrorLoan).where(MirrorLoan.item_barcode.in_(barcodes))
            )
        }
        holds: dict[str, list[str]] = {}
        for hold in self.mirror.scalars(
            select(MirrorHold)
            .where(MirrorHold.item_barcode.in_(barcodes))
            .order_by(MirrorHold.item_barcode, MirrorHold.position)
        ):
            holds.setdefault(hold.item_barcode, []).append(hold.patron_id)
        states = {}
        for stock, record in rows:
            loan = loans.get(stock.barcode)
            states[stock.barcode] = ItemState(
                barcode=stock.barcode,
                title=record.title,
                publication_type=record.publication_type,
                price=stock.price,
                status=ON_LOAN if loan is not None else stock.status,
                holds=tuple(holds.get(stock.barcode, ())),
                loan=None
                if loan is None
                else CurrentLoan(
                    loan.patron_id, loan.member_type, parse_due(loan.due), loan.renewals
                ),
            )
        for entry in self.unreflected(items=barcodes):
            if entry.item_barcode in states:
                states[entry.item_barcode] = apply_entry(states[entry.item_barcode], entry)
        return states

    def item(self, barcode: str) -> ItemState | None:
        return self.items([barcode]).get(barcode)

    def loans_of(self, patron_id: str) -> list[ItemState]:
        """The items on loan to this patron now, oldest first."""
        barcodes = set(
            self.mirror.scalars(
                select(MirrorLoan.item_barcode).where(MirrorLoan.patron_id == patron_id)
            )
        )
        barcodes.update(entry.item_barcode for entry in self.unreflected(patron_id=patron_id))
        states = self.items(sorted(barcodes))
        on_loan = [
            state
            for state in states.values()
            if state.loan is not None and state.loan.patron_id == patron_id
        ]
        return sorted(on_loan, key=lambda state: state.loan.due.day if state.loan else date.min)

    def holds_of(self, patron_id: str) -> list[tuple[MirrorHold, ItemState | None]]:
        rows = list(
            self.mirror.scalars(
                select(MirrorHold).where(MirrorHold.patron_id == patron_id).order_by(MirrorHold.id)
            )
        )
        states = self.items([row.item_barcode for row in rows])
        return [(row, states.get(row.item_barcode)) for row in rows]
