"""Writing a library into the mirror in bulk: the sync agent's snapshot, demo data, tests.

Plain dictionaries in, Core ``INSERT``s out: at two million items the ORM's
per-object bookkeeping would cost minutes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import Connection, delete, insert
from sqlalchemy.sql.schema import ScalarElementColumnDefault, Table

from kiosk.store.mirror import (
    MirrorBase,
    MirrorHold,
    MirrorLoan,
    MirrorPatron,
    PolicyDocument,
    Record,
    StockItem,
    SyncCursor,
)
from kiosk.store.store import Store

BATCH = 20_000


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def writing(store: Store) -> AbstractContextManager[Connection]:
    """One transaction on the mirror, for the bulk writes below; committed when the block
    ends."""
    return store.mirror.begin()


def clear_mirror(connection: Connection) -> None:
    """Empty every table of the mirror: a snapshot is about to replace the library."""
    for table in reversed(MirrorBase.metadata.sorted_tables):
        connection.execute(delete(table))


def put_policy(connection: Connection, document: Mapping[str, Any], version: str) -> None:
    """Replace the policy in force with ``document`` (the contract's JSON policy shape)."""
    connection.execute(delete(_table(PolicyDocument)))
    connection.execute(
        insert(_table(PolicyDocument)),
        {"id": 1, "document": json.dumps(document, default=str), "version": version},
    )


def _insert_all(connection: Connection, model: Any, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert rows given by column name: each value is converted with its column type's
    own bind processor (money to cents, dates to text), then stored as ``put_stored`` does."""
    columns = list(_table(model).columns)
    converters = [
        (column.name, column.type.bind_processor(connection.dialect)) for column in columns
    ]
    # A column the rows leave out takes its default (a patron's PIN count: none yet).
    defaults = {
        column.name: column.default.arg
        for column in columns
        if isinstance(column.default, ScalarElementColumnDefault)
    }

    def stored(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(
            value if convert is None or value is None else convert(value)
            for name, convert in converters
            for value in (row.get(name, defaults.get(name)),)
        )

    return put_stored(connection, model, (stored(row) for row in rows))


def put_stored(connection: Connection, model: Any, rows: Iterable[tuple[Any, ...]]) -> int:
    """The fast path for bulk snapshots: tuples already in column order and in their
    stored form (money in cents, dates as ISO text, booleans as 0 or 1), inserted through
    the driver's ``executemany`` in batches."""
    table = _table(model)
    names = [column.name for column in table.columns]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
    count = 0
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        connection.exec_driver_sql(sql, batch)
        count += len(batch)
    return count


def put_records(connection: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    return _insert_all(connection, Record, rows)


def put_items(connection: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    return _insert_all(connection, StockItem, rows)


def put_patrons(connection: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    return _insert_all(connection, MirrorPatron, rows)


def put_loans(connection: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    return _insert_all(connection, MirrorLoan, rows)


def put_holds(connection: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    return _insert_all(connection, MirrorHold, rows)


def put_cursor(
    connection: Connection,
    cursor: int,
    synced_at: datetime,
    reflected_through: int = 0,
    row_fields: int | None = None,
) -> None:
    """The mirror's cursor, written last; ``row_fields``: the version of the rows it was
    built from (None: not known, and the sync agent replaces it with a snapshot)."""
    connection.execute(delete(_table(SyncCursor)))
    connection.execute(
        insert(_table(SyncCursor)),
        {
            "id": 1,
            "cursor": cursor,
            "synced_at": synced_at.isoformat(),
            "reflected_through": reflected_through,
            "row_fields": row_fields,
        },
    )
