"""The sync agent's writes to ``mirror.db``: a snapshot loaded page by page, the server's
changes applied a page per transaction, and the cursor that says how far it has come.

Only the sync agent writes the mirror. Readers never wait for it (WAL), and each write
is a short transaction of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.sql.schema import Table

from kiosk.store import loading
from kiosk.store.database import scrub
from kiosk.store.mirror import (
    MirrorBase,
    MirrorHold,
    MirrorLoan,
    SyncCursor,
    branch_codes,
    kept_branch_names,
)
from kiosk.store.store import Store

# The tables that tie a member to an item: who has it, and who waits for it.
LENDING: tuple[type[MirrorBase], ...] = (MirrorLoan, MirrorHold)


@dataclass(frozen=True, slots=True)
class TableChanges:
    """What changed in one mirror table: every changed row's key (as the server wrote it),
    and the rows as they are now (those not deleted), by column name."""

    model: type[MirrorBase]
    keys: Sequence[str]
    rows: Sequence[Mapping[str, Any]]


def cursor(store: Store) -> int | None:
    """Where in the server's change log the mirror stands; None before a whole snapshot."""
    with store.mirror.connect() as mirror:
        value = mirror.scalar(select(SyncCursor.cursor))
    return None if value is None else int(value)


def clear(store: Store) -> None:
    """Empty the mirror before a snapshot; it is out of service until ``finish_snapshot``."""
    with loading.writing(store) as mirror:
        loading.clear_mirror(mirror)


def load_policies(store: Store, rows: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
    """A snapshot page of policies, each ``(version, document)``: the last is in force."""
    with loading.writing(store) as mirror:
        for version, document in rows:
            loading.put_policy(mirror, document, version)


def load_rows(store: Store, model: type[MirrorBase], rows: Sequence[tuple[Any, ...]]) -> int:
    """A snapshot page: rows in the table's column order and stored form, in one
    transaction."""
    with loading.writing(store) as mirror:
        return loading.put_stored(mirror, model, rows)


def finish_snapshot(
    store: Store, cursor: int, synced_at: datetime, reflected_through: int, *, row_fields: int
) -> None:
    """Written last: the mirror counts as complete only with its cursor. ``row_fields``:
    the version of the rows the kiosk asked for (kiosk.sync.protocol.ROW_FIELDS_VERSION)."""
    with loading.writing(store) as mirror:
        loading.put_cursor(
            mirror, cursor, synced_at, reflected_through=reflected_through, row_fields=row_fields
        )


def row_fields(store: Store) -> int | None:
    """The version of the rows the mirror was built from (None: none yet, or a mirror
    from before it was kept)."""
    with store.mirror.connect() as mirror:
        value = mirror.scalar(select(SyncCursor.row_fields))
    return None if value is None else int(value)


def apply_changes(
    store: Store,
    *,
    policies: Sequence[tuple[Mapping[str, Any], str]],
    tables: Sequence[TableChanges],
    cursor: int,
    synced_at: datetime,
    reflected: Sequence[int],
) -> None:
    """One page of the server's changes, in one transaction: the policies (``(document,
    version)``, the last in force), then each table's changed rows deleted and their
    current form inserted, then the cursor moved on with the journal sequence the mirror
    now reflects (the newest of ``reflected`` and what it reflected already)."""
    with loading.writing(store) as mirror:
        for document, version in policies:
            loading.put_policy(mirror, document, version)
        for changes in tables:
            table: Table = changes.model.__table__  # type: ignore[assignment]
            (key,) = table.primary_key.columns
            convert = key.type.python_type
            mirror.exec_driver_sql(
                f"DELETE FROM {table.name} WHERE {key.name} = ?",
                [(convert(value),) for value in changes.keys],
            )
            if changes.rows:
                mirror.execute(insert(table), list(changes.rows))
        current = mirror.execute(select(SyncCursor.reflected_through)).scalar_one()
        mirror.execute(
            update(SyncCursor).values(
                cursor=cursor,
                synced_at=synced_at.isoformat(),
                reflected_through=max([current, *reflected]),
            )
        )


def set_branch(
    store: Store,
    branch: str | None,
    codes: frozenset[str] | None = None,
    names: Mapping[str, str] | None = None,
) -> None:
    """The branch the server says this kiosk stands in (None: none), the library's
    branch codes (None: it named none) and their names (None: it named none), kept
    beside the cursor they came with."""
    kept = None if codes is None else ",".join(sorted(codes))
    named = None if names is None else json.dumps(dict(sorted(names.items())))
    with loading.writing(store) as mirror:
        mirror.execute(update(SyncCursor).values(branch=branch, branches=kept, branch_names=named))


def branch(store: Store) -> str | None:
    with store.mirror.connect() as mirror:
        value = mirror.scalar(select(SyncCursor.branch))
    return None if value is None else str(value)


def branch_names(store: Store) -> dict[str, str] | None:
    """The branches' names by code, as kept (None: the server named none)."""
    with store.mirror.connect() as mirror:
        return kept_branch_names(mirror.scalar(select(SyncCursor.branch_names)))


def branches(store: Store) -> frozenset[str] | None:
    """The library's branch codes, as kept (None: the server named none)."""
    with store.mirror.connect() as mirror:
        return branch_codes(mirror.scalar(select(SyncCursor.branches)))


def scrub_lending(store: Store) -> None:
    """Rebuild the loans and holds tables from the rows they hold now, so that no loan or
    hold the server has since ended can be read back from the card.

    Deleting a row zeroes it (``secure_delete``), but SQLite leaves copies of rows in
    the unused gap of a page it rebalanced, and a rebuilt mirror would cost minutes at
    two million items. These two tables are a small part of it: their live rows are
    copied aside, the tables emptied (every page freed, so zeroed) and filled again, the
    copy dropped (zeroed too), and the write-ahead log folded in and truncated. Readers
    are not held up (WAL); at 200,000 loans it takes a fraction of a second."""
    with loading.writing(store) as mirror:
        for model in LENDING:
            name = model.__tablename__
            mirror.exec_driver_sql(f"CREATE TABLE scrub_{name} AS SELECT * FROM {name}")
            mirror.exec_driver_sql(f"DELETE FROM {name}")
            mirror.exec_driver_sql(f"INSERT INTO {name} SELECT * FROM scrub_{name}")
            mirror.exec_driver_sql(f"DROP TABLE scrub_{name}")
    scrub(store.mirror)
