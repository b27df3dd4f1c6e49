"""What the kiosk believes: the mirror with the journal's unreflected entries laid over it.

An item lent a moment ago is on loan here before the server knows; a fine
charged at this drop station is owed before the next sync. Callers open the
journal transaction *before* the mirror snapshot, so no entry can be purged
between the two readings and be missed by both.

Every scan runs these reads, so they are plain SQL through the driver: the
ORM's per-statement bookkeeping would cost more than SQLite itself. The tables
are those of ``kiosk.store.mirror`` and ``kiosk.store.journal``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from kiosk.common.money import from_cents
from kiosk.rules import Due, Item, Loan, Patron

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
class LastEntry:
    """The newest unreflected journal entry about an item."""

    id: str
    kind: str
    payload: str

    def details(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.payload)
        return data


@dataclass(frozen=True, slots=True)
class ItemState:
    barcode: str
    title: str
    publication_type: str
    price: Decimal
    status: str
    holds: tuple[str, ...]  # patron ids in queue order
    loan: CurrentLoan | None
    last_entry: LastEntry | None = None

    def as_rules_item(self) -> Item:
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


@dataclass(frozen=True, slots=True)
class HoldState:
    item_barcode: str
    title: str
    position: int
    ready: bool


def _marks(count: int) -> str:
    return ", ".join("?" * count)


_PATRON_COLUMNS = "patron_id, first_name, member_type, expires, barred, owed, pin_verifier"


class World:
    """One consistent reading of mirror + journal, for one decision."""

    def __init__(self, mirror: Connection, journal: Connection) -> None:
        self._mirror_sql = mirror.exec_driver_sql
        self._journal_sql = journal.exec_driver_sql
        row = self._mirror_sql("SELECT reflected_through FROM sync_cursor WHERE id = 1").first()
        self.reflected_through: int = row[0] if row else 0

    # --- the kiosk's own state ---------------------------------------------------------

    def latest_time(self) -> datetime | None:
        row = self._journal_sql("SELECT latest_time FROM kiosk_state WHERE id = 1").first()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def policy_version(self) -> str | None:
        row = self._mirror_sql("SELECT version FROM policy WHERE id = 1").first()
        return row[0] if row else None

    def policy_document(self) -> str:
        row = self._mirror_sql("SELECT document FROM policy WHERE id = 1").first()
        return str(row[0]) if row else "{}"

    def record(self, values: dict[str, Any], now: datetime) -> None:
        """Append one entry and move the kiosk's latest recorded time forward."""
        columns = list(values)
        self._journal_sql(
            f"INSERT INTO entries ({', '.join(columns)}) VALUES ({_marks(len(columns))})",
            tuple(values.values()),
        )
        self._journal_sql("UPDATE kiosk_state SET latest_time = ? WHERE id = 1", (now.isoformat(),))

    # --- patrons -----------------------------------------------------------------------

    def patron_by_card(self, card: str) -> PatronState | None:
        row = self._mirror_sql(
            f"SELECT {_PATRON_COLUMNS} FROM patrons WHERE card = ?", (card,)
        ).first()
        return None if row is None else self._patron(row)

    def patron(self, patron_id: str) -> PatronState | None:
        row = self._mirror_sql(
            f"SELECT {_PATRON_COLUMNS} FROM patrons WHERE patron_id = ?", (patron_id,)
        ).first()
        return None if row is None else self._patron(row)

    def _patron(self, row: Any) -> PatronState:
        patron_id, first_name, member_type, expires, barred, owed, verifier = row
        (charged,) = self._journal_sql(
            "SELECT coalesce(sum(charged), 0) FROM entries WHERE patron_id = ? AND seq > ?",
            (patron_id, self.reflected_through),
        ).one()
        return PatronState(
            patron_id,
            first_name,
            member_type,
            date.fromisoformat(expires) if expires else None,
            bool(barred),
            from_cents(owed) + from_cents(charged),
            verifier,
        )

    # --- items -------------------------------------------------------------------------

    def items(self, barcodes: Sequence[str]) -> dict[str, ItemState]:
        """The current state of each known item among ``barcodes``."""
        if not barcodes:
            return {}
        marks = _marks(len(barcodes))
        rows = self._mirror_sql(
            "SELECT i.barcode, r.title, r.publication_type, i.price, i.status, "
            "l.patron_id, l.member_type, l.due, l.renewals "
            "FROM items i JOIN records r ON r.brn = i.brn "
            f"LEFT JOIN loans l ON l.item_barcode = i.barcode WHERE i.barcode IN ({marks})",
            tuple(barcodes),
        ).all()
        if not rows:
            return {}
        entries = self._journal_sql(
            "SELECT item_barcode, id, kind, payload, status_after, loan_patron_id, "
            "loan_member_type, loan_due, loan_renewals, fulfilled_hold_of FROM entries "
            f"WHERE item_barcode IN ({marks}) AND seq > ? ORDER BY seq",
            (*barcodes, self.reflected_through),
        ).all()
        fulfilled = {(entry[0], entry[9]) for entry in entries if entry[9]}
        newest = {entry[0]: entry for entry in entries}
        holds: dict[str, list[str]] = {}
        for barcode, patron_id in self._mirror_sql(
            f"SELECT item_barcode, patron_id FROM holds WHERE item_barcode IN ({marks}) "
            "ORDER BY item_barcode, position",
            tuple(barcodes),
        ):
            if (barcode, patron_id) not in fulfilled:
                holds.setdefault(barcode, []).append(patron_id)
        states = {}
        for barcode, title, kind, price, status, borrower, member_type, due, renewals in rows:
            loan = None
            if borrower is not None:
                loan = CurrentLoan(borrower, member_type, parse_due(due), renewals)
            state = ItemState(
                barcode=barcode,
                title=title,
                publication_type=kind,
                price=from_cents(price),
                status=ON_LOAN if loan is not None else status,
                holds=tuple(holds.get(barcode, ())),
                loan=loan,
            )
            if barcode in newest:
                state = _after(state, newest[barcode])
            states[barcode] = state
        return states

    def item(self, barcode: str) -> ItemState | None:
        return self.items([barcode]).get(barcode)

    def loans_of(self, patron_id: str) -> list[ItemState]:
        """The items on loan to this patron now, soonest due first."""
        barcodes = {
            row[0]
            for row in self._mirror_sql(
                "SELECT item_barcode FROM loans WHERE patron_id = ?", (patron_id,)
            )
        }
        # Items lent here since the last sync whose newest entry still leaves them with
        # this patron (a later entry about the same item would say otherwise).
        barcodes.update(
            row[0]
            for row in self._journal_sql(
                "SELECT e.item_barcode FROM entries e WHERE e.seq > ? AND e.loan_patron_id = ? "
                "AND NOT EXISTS (SELECT 1 FROM entries later "
                "WHERE later.item_barcode = e.item_barcode AND later.seq > e.seq)",
                (self.reflected_through, patron_id),
            )
        )
        states = self.items(sorted(barcodes))
        on_loan = [
            state
            for state in states.values()
            if state.loan is not None and state.loan.patron_id == patron_id
        ]
        return sorted(on_loan, key=lambda state: state.loan.due.day if state.loan else date.min)

    def holds_of(self, patron_id: str) -> list[tuple[HoldState, ItemState | None]]:
        holds = [
            HoldState(barcode, title, position, bool(ready))
            for barcode, title, position, ready in self._mirror_sql(
                "SELECT item_barcode, title, position, ready FROM holds WHERE patron_id = ? "
                "ORDER BY id",
                (patron_id,),
            )
        ]
        states = self.items([hold.item_barcode for hold in holds])
        return [(hold, states.get(hold.item_barcode)) for hold in holds]

    # --- PIN failures ------------------------------------------------------------------

    def pin_failures(self, patron_id: str) -> tuple[int, datetime | None]:
        row = self._journal_sql(
            "SELECT count, locked_until FROM pin_failures WHERE patron_id = ?", (patron_id,)
        ).first()
        if row is None:
            return 0, None
        return row[0], datetime.fromisoformat(row[1]) if row[1] else None

    def set_pin_failures(self, patron_id: str, count: int, locked_until: datetime | None) -> None:
        if count == 0 and locked_until is None:
            self._journal_sql("DELETE FROM pin_failures WHERE patron_id = ?", (patron_id,))
            return
        self._journal_sql(
            "INSERT INTO pin_failures (patron_id, count, locked_until) VALUES (?, ?, ?) "
            "ON CONFLICT (patron_id) DO UPDATE SET count = excluded.count, "
            "locked_until = excluded.locked_until",
            (patron_id, count, locked_until.isoformat() if locked_until else None),
        )


def _after(state: ItemState, entry: Any) -> ItemState:
    """The item as the newest entry left it: each entry records the whole state."""
    _, entry_id, kind, payload, status, borrower, member_type, due, renewals, _ = entry
    loan = None
    if borrower is not None and due is not None:
        loan = CurrentLoan(borrower, member_type or "", parse_due(due), renewals or 0)
    return replace(state, status=status, loan=loan, last_entry=LastEntry(entry_id, kind, payload))
