"""Writing the change log: every change to what kiosks mirror gets the next sequence number.

Kiosks read "changes after N", so a change must never commit after another with
a higher number: the reader would have moved past it. Numbers are therefore
handed out at the very end of a writing transaction, by bumping the counter row,
whose row lock is then held until the commit: numbering and committing happen
in one order, and only that short end is serialised.

What a writer decides on is guarded by narrower locks taken before it reads
(see ``lock_items`` and ``lock_patrons``), so pushes that touch different items
and patrons run side by side on PostgreSQL. SQLite has one writer at a time
anyway; there every writer takes the database's write lock first.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, TextClause, bindparam, event, insert, text, update
from sqlalchemy.engine import Compiled
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction

from kiosk.central import database
from kiosk.central.errors import LockOrderError
from kiosk.central.models import Change, ChangeCounter, Hold, Item, Loan, Patron, Record, table
from kiosk.sync.protocol import (
    PIN_STATE_FIELDS,
    Entity,
    HoldRow,
    ItemRow,
    LoanRow,
    PatronRow,
    RecordRow,
    Wire,
)

# PostgreSQL advisory lock classes (the first of the two int4 keys). Advisory locks
# belong to the database, not the schema: schemas sharing one database (tests,
# benchmarks) may wait on each other's locks now and then, but never miscount.
WRITERS, ITEMS, PATRONS, RECORDS = 0x6B10_0000, 0x6B10_0001, 0x6B10_0002, 0x6B10_0003


# Built once: every writer runs it (see apply._READ_ITEMS).
_BUMP_COUNTER = (
    update(table(ChangeCounter))
    .where(table(ChangeCounter).c.id == 1)
    .values(value=table(ChangeCounter).c.value + bindparam("count"))
    .returning(table(ChangeCounter).c.value)
)

_INSERT_CHANGES = insert(table(Change))


# Compiled once, for PostgreSQL: the statement a pipelined write runs on psycopg itself.
_BUMP_COMPILED: dict[str, Compiled] = {}


def _bump_counter(connection: Connection, count: int) -> int:
    """The change counter raised by ``count``: its new value."""
    pipeline = database.pipeline_of(connection)
    if pipeline is None:
        last: int = connection.execute(_BUMP_COUNTER, {"count": count}).scalar_one()
        return last
    dialect = connection.dialect
    compiled = _BUMP_COMPILED.get(dialect.name)
    if compiled is None:
        compiled = _BUMP_COMPILED[dialect.name] = _BUMP_COUNTER.compile(dialect=dialect)
    statement, parameters = str(compiled), compiled.construct_params({"count": count})
    try:
        with pipeline.cursor() as cursor:
            cursor.execute(statement, parameters)
            # Sends what was queued before it and reads it all: a write of those that
            # failed (a key taken, a deadlock) fails here.
            found = cursor.fetchone()
    except dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy raises it for its own statements (IntegrityError, ...).
        raise DBAPIError.instance(
            statement, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect
        ) from error
    assert found is not None
    return int(found[0])


_LOCK_STATEMENTS: dict[tuple[str | None, int], TextClause] = {}


def _lock_statement(writers: str | None, count: int) -> TextClause:
    """A SELECT of the writers' lock (``writers``, the function: shared or exclusive; None
    when held already) and then ``count`` locks of a class and a key (parameters
    ``class_N`` and ``key_N``). Built once for each shape: every writer takes its locks
    with one, and building it anew cost more than running it."""
    shape = (writers, count)
    statement = _LOCK_STATEMENTS.get(shape)
    if statement is None:
        calls = [f"{writers}({WRITERS}, 0)"] if writers is not None else []
        calls += [
            f"pg_advisory_xact_lock(CAST(:class_{n} AS INTEGER), CAST(:key_{n} AS INTEGER))"
            for n in range(count)
        ]
        statement = _LOCK_STATEMENTS[shape] = text("SELECT " + ", ".join(calls))
    return statement


def _named(n: int, lock: tuple[int, int]) -> tuple[tuple[str, int], tuple[str, int]]:
    return (f"class_{n}", lock[0]), (f"key_{n}", lock[1])


def _key(name: str) -> int:
    """A stable int4 for ``name``; two names sharing one only share a lock."""
    value = zlib.crc32(name.encode())
    return value - 2**32 if value >= 2**31 else value


class ChangeLog:
    """The change log within one transaction of ``session``.

    A writer first takes its locks: ``lock()`` for staff's writes (nothing else writes
    until the commit), or ``lock_items`` then ``lock_patrons`` for a push (only what
    those touch). Changes are collected as they happen and numbered by ``write()``,
    which the session also calls just before it commits; ``write()`` returns the
    first number, so the i-th change collected (as returned by ``put``) has number
    first + i.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._pending: list[dict[str, Any]] = []
        self._postgres = session.get_bind().dialect.name == "postgresql"
        self._writing = False  # this transaction holds its writer's lock (or the database's)
        self._held: set[tuple[int, int]] = set()
        self._last: tuple[int, int] | None = None
        self._transaction: SessionTransaction | None = None  # the one this log writes in
        event.listen(session, "before_commit", self._before_commit)

    # --- locks ---------------------------------------------------------------------------

    def lock(self) -> None:
        """Staff's writes (imports, policy, holds): every push waits until this commits."""
        self._take(exclusive=True)

    def lock_items(self, barcodes: Iterable[str]) -> None:
        """Guard the items (their loans, holds and status) a push reads and writes."""
        self._take(exclusive=False, names={ITEMS: barcodes})

    def lock_patrons(self, patron_ids: Iterable[str], brns: Iterable[int] = ()) -> None:
        """Guard the patrons (their balance and loans) a push reads and writes, and the
        title-hold queues of the records ``brns`` (two copies of one record returned at
        once must not both be trapped for its first title hold). Call it after
        ``lock_items``, once, with every patron the push's entries or the loans of its
        items name and the records of its items. One statement takes both."""
        self._take(
            exclusive=False, names={PATRONS: patron_ids, RECORDS: (str(brn) for brn in brns)}
        )

    def _take(self, *, exclusive: bool, names: dict[int, Iterable[str]] | None = None) -> None:
        writers: str | None = None
        if not self._writing:
            self._writing = True
            if not self._postgres:
                # SQLite: a write first takes the database's write lock for the whole
                # transaction, so no reader has to upgrade (and fail) later.
                self.session.execute(
                    update(ChangeCounter)
                    .where(ChangeCounter.id == 1)
                    .values(value=ChangeCounter.value)
                )
                return
            writers = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        if not self._postgres:
            return
        wanted = {(space, _key(name)) for space, some in (names or {}).items() for name in some}
        keys = sorted(wanted - self._held)
        # One order for every writer (class, then key), so two writers never wait on
        # each other in a circle.
        if keys and self._last is not None and keys[0] < self._last:
            raise LockOrderError(
                f"locks taken out of order ({keys[0]} after {self._last}): "
                "lock_items must come before lock_patrons, each once"
            )
        if writers is not None or keys:
            # One statement; its calls run left to right, so the locks come in that order.
            self.session.connection().execute(
                _lock_statement(writers, len(keys)),
                {name: value for n, key in enumerate(keys) for name, value in _named(n, key)},
            )
        if keys:
            self._held.update(keys)
            self._last = keys[-1]

    # --- numbering -----------------------------------------------------------------------

    def write(self) -> int | None:
        """Number the changes collected and write them; None when there were none.

        The counter row's lock, taken here, is held until the commit: call it last,
        just before committing."""
        if not self._pending:
            return None
        count = len(self._pending)
        # Core statements on the transaction's connection: no ORM state is involved.
        connection = self.session.connection()
        first = _bump_counter(connection, count) - count + 1
        connection.execute(
            _INSERT_CHANGES,
            [{**change, "seq": first + n} for n, change in enumerate(self._pending)],
        )
        self._pending = []
        return first

    def _before_commit(self, session: Session) -> None:
        # Changes collected in a transaction that was rolled back are not written later.
        if self._transaction is not None and session.get_transaction() is self._transaction:
            self.write()

    def _add(self, entity: Entity, key: str, row: Wire | None, kiosk_id: int | None = None) -> int:
        if self._transaction is None:
            self._transaction = self.session.get_transaction() or self.session.begin()
        self._pending.append(
            {
                "entity": entity.value,
                "key": key,
                "data": None if row is None else _wire_data(entity, row),
                "kiosk_id": kiosk_id,
            }
        )
        return len(self._pending) - 1

    def put(self, entity: Entity, key: str, row: Wire) -> int:
        return self._add(entity, key, row)

    def remove(self, entity: Entity, key: str) -> int:
        return self._add(entity, key, None)

    def pending(self) -> int:
        """How many changes are collected and not yet numbered."""
        return len(self._pending)

    def last_index(self) -> int:
        """The index of the change collected last (numbered first + index at the end)."""
        if not self._pending:
            raise ValueError("no change collected yet")
        return len(self._pending) - 1

    def entry_applied(self, entry_id: str, kiosk_id: int) -> int:
        return self._add(Entity.ENTRY, entry_id, None, kiosk_id)

    # The wire form of each mirrored row, in one place.
    def item(self, item: Item) -> int:
        return self.put(Entity.ITEM, item.barcode, item_row(item))

    def patron(self, patron: Patron) -> int | None:
        return self.patron_row(patron_row(patron), pending=patron.pending_loans is not None)

    def patron_row(self, row: PatronRow, *, pending: bool) -> int | None:
        """None, and nothing entered, for a registration staff have not approved
        (``pending``): kiosks are sent a patron once approved (a kiosk then knows the
        card; until then it answers as for any card it does not know). Every patron
        change comes through here."""
        if pending:
            return None
        return self.put(Entity.PATRON, row.patron_id, row)

    def marker(self, key: str) -> int:
        """A change no kiosk is sent (a journal entry's marker, of no kiosk): a place in
        the log for something that changes nothing kiosks mirror."""
        return self._add(Entity.ENTRY, key, None)

    def loan(self, loan: Loan) -> int:
        return self.put(Entity.LOAN, loan.item_barcode, loan_row(loan))

    def hold(self, hold: Hold) -> int:
        return self.put(Entity.HOLD, str(hold.id), hold_row(hold))

    def record(self, record: Record) -> int:
        return self.put(Entity.RECORD, str(record.brn), record_row(record))


def _wire_data(entity: Entity, row: Wire) -> dict[str, Any]:
    """A change's row as kiosks read it. A hold leaves out ``brn`` and ``pickup`` when
    null (an item hold's; one in a library without branches), and a patron with no wrong
    PINs their PIN state, with no email ``has_email``: the change is then what a kiosk
    one version older, which knows none of them, expects."""
    data = row.model_dump(mode="json")
    if entity is Entity.HOLD:
        for name in ("brn", "pickup"):
            if data.get(name) is None:
                data.pop(name, None)
    if (
        entity is Entity.PATRON
        and not data.get("pin_failures")
        and not data.get("pin_locked_until")
    ):
        for name in PIN_STATE_FIELDS:
            data.pop(name, None)
    if entity is Entity.PATRON and not data.get("has_email"):
        data.pop("has_email", None)
    return data


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
