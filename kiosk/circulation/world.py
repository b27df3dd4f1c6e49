"""What the kiosk believes: the mirror with the journal's unreflected entries laid over it.

An item lent a moment ago is on loan here before the server knows; a fine
charged at this drop station is owed before the next sync. Callers open the
journal transaction *before* the mirror snapshot, so no entry can be purged
between the two readings and be missed by both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from kiosk.rules import Due, Item, Loan, Patron
from kiosk.store.journal import Entry
from kiosk.store.mirror import (
    MirrorHold,
    MirrorLoan,
    MirrorPatron,
    Record,
    StockItem,
    SyncCursor,
)
from kiosk.store.types import Money

ON_LOAN = "on_loan"
UNKNOWN = "unknown"
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


def loan_after(entry: Entry) -> CurrentLoan | None:
    """Who has the item once ``entry`` is applied (each entry records the whole state)."""
    if entry.loan_patron_id is None or entry.loan_due is None:
        return None
    return CurrentLoan(
        entry.loan_patron_id,
        entry.loan_member_type or "",
        parse_due(entry.loan_due),
        entry.loan_renewals or 0,
    )


class World:
    """One consistent reading of mirror + journal, for one decision."""

    def __init__(self, mirror: Session, journal: Session) -> None:
        self.mirror = mirror
        self.journal = journal
        cursor = mirror.get(SyncCursor, 1)
        self.reflected_through = cursor.reflected_through if cursor else 0

    def _latest_entries(self, barcodes: Sequence[str]) -> dict[str, Entry]:
        """The newest unreflected entry of each item: it holds the item's whole state."""
        newest = (
            select(func.max(Entry.seq))
            .where(Entry.item_barcode.in_(barcodes), Entry.seq > self.reflected_through)
            .group_by(Entry.item_barcode)
        )
        return {
            entry.item_barcode: entry
            for entry in self.journal.scalars(select(Entry).where(Entry.seq.in_(newest)))
        }

    def _fulfilled_holds(self, barcodes: Sequence[str]) -> set[tuple[str, str]]:
        """(item, patron) holds fulfilled here that the mirror still lists."""
        rows = self.journal.execute(
            select(Entry.item_barcode, Entry.fulfilled_hold_of).where(
                Entry.item_barcode.in_(barcodes),
                Entry.seq > self.reflected_through,
                Entry.fulfilled_hold_of.is_not(None),
            )
        )
        return {(barcode, patron_id) for barcode, patron_id in rows if patron_id}

    def patron_by_card(self, card: str) -> PatronState | None:
        row = self.mirror.scalar(select(MirrorPatron).where(MirrorPatron.card == card))
        return None if row is None else self._patron(row)

    def patron(self, patron_id: str) -> PatronState | None:
        row = self.mirror.get(MirrorPatron, patron_id)
        return None if row is None else self._patron(row)

    def _patron(self, row: MirrorPatron) -> PatronState:
        charged = self.journal.scalar(
            select(func.coalesce(func.sum(Entry.charged), 0, type_=Money())).where(
                Entry.patron_id == row.patron_id, Entry.seq > self.reflected_through
            )
        )
        owed = row.owed + (charged or Decimal(0))
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
        fulfilled = self._fulfilled_holds(barcodes)
        holds: dict[str, list[str]] = {}
        for hold in self.mirror.scalars(
            select(MirrorHold)
            .where(MirrorHold.item_barcode.in_(barcodes))
            .order_by(MirrorHold.item_barcode, MirrorHold.position)
        ):
            if (hold.item_barcode, hold.patron_id) not in fulfilled:
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
        for barcode, entry in self._latest_entries(barcodes).items():
            if barcode in states:
                states[barcode] = replace(
                    states[barcode],
                    status=entry.status_after,
                    loan=loan_after(entry),
                    last_entry=entry,
                )
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
        later = aliased(Entry)
        barcodes.update(
            self.journal.scalars(
                select(Entry.item_barcode).where(
                    Entry.seq > self.reflected_through,
                    Entry.loan_patron_id == patron_id,
                    ~exists().where(
                        later.item_barcode == Entry.item_barcode, later.seq > Entry.seq
                    ),
                )
            )
        )
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
