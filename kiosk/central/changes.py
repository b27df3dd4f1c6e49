"""Writing the change log: every change to what kiosks mirror gets the next sequence number."""

from __future__ import annotations

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from kiosk.central.models import Change, ChangeCounter, Hold, Item, Loan, Patron, Record
from kiosk.sync.protocol import (
    Entity,
    HoldRow,
    ItemRow,
    LoanRow,
    PatronRow,
    RecordRow,
    Wire,
)


class ChangeLog:
    """The change log within one transaction of ``session``.

    ``lock()`` bumps the counter row, whose lock then serialises this transaction
    with every other writer until it commits (see ChangeCounter); call it before
    reading what a decision depends on. Later numbers are counted here and the
    counter is written once, just before the transaction commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.last_seq: int | None = None

    def lock(self) -> int:
        if self.last_seq is None:
            self.last_seq = self.session.execute(
                update(ChangeCounter)
                .where(ChangeCounter.id == 1)
                .values(value=ChangeCounter.value + 1)
                .returning(ChangeCounter.value)
            ).scalar_one()
            self._written = self.last_seq
            event.listen(self.session, "before_commit", self._write_counter, once=True)
        return self.last_seq

    def _next(self) -> int:
        self.last_seq = self.lock() + 1
        return self.last_seq

    def _write_counter(self, _session: Session) -> None:
        if self.last_seq is not None and self.last_seq != self._written:
            self.session.execute(
                update(ChangeCounter).where(ChangeCounter.id == 1).values(value=self.last_seq)
            )

    def _add(self, entity: Entity, key: str, row: Wire | None, kiosk_id: int | None = None) -> int:
        seq = self._next()
        self.session.add(
            Change(
                seq=seq,
                entity=entity.value,
                key=key,
                data=None if row is None else row.model_dump(mode="json"),
                kiosk_id=kiosk_id,
            )
        )
        return seq

    def put(self, entity: Entity, key: str, row: Wire) -> int:
        return self._add(entity, key, row)

    def remove(self, entity: Entity, key: str) -> int:
        return self._add(entity, key, None)

    def entry_applied(self, entry_id: str, kiosk_id: int) -> int:
        return self._add(Entity.ENTRY, entry_id, None, kiosk_id)

    # The wire form of each mirrored row, in one place.
    def item(self, item: Item) -> int:
        return self.put(Entity.ITEM, item.barcode, item_row(item))

    def patron(self, patron: Patron) -> int:
        return self.put(Entity.PATRON, patron.patron_id, patron_row(patron))

    def loan(self, loan: Loan) -> int:
        return self.put(Entity.LOAN, loan.item_barcode, loan_row(loan))

    def hold(self, hold: Hold) -> int:
        return self.put(Entity.HOLD, str(hold.id), hold_row(hold))

    def record(self, record: Record) -> int:
        return self.put(Entity.RECORD, str(record.brn), record_row(record))


def record_row(record: Record) -> RecordRow:
    return RecordRow.model_validate(record, from_attributes=True)


def item_row(item: Item) -> ItemRow:
    return ItemRow.model_validate(item, from_attributes=True)


def patron_row(patron: Patron) -> PatronRow:
    return PatronRow.model_validate(patron, from_attributes=True)


def loan_row(loan: Loan) -> LoanRow:
    return LoanRow.model_validate(loan, from_attributes=True)


def hold_row(hold: Hold) -> HoldRow:
    return HoldRow.model_validate(hold, from_attributes=True)
