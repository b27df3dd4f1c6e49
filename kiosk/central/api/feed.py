"""What kiosks read: the initial snapshot in pages, then the change log since a cursor."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Text, cast, func, select, text
from sqlalchemy.orm import Session

from kiosk.central.models import (
    Change,
    ChangeCounter,
    Hold,
    Item,
    LibraryMessage,
    Loan,
    Patron,
    PolicyVersion,
    Record,
)
from kiosk.sync.protocol import (
    ROW_FIELDS_VERSION,
    SNAPSHOT_COLUMNS,
    SNAPSHOT_ORDER,
    Entity,
    entities_unknown_to,
    fields_unknown_to,
)

# entity -> (model, key column, how a key in an ``after`` token is read back)
TABLES: dict[Entity, tuple[Any, Any, Callable[[str], Any]]] = {
    Entity.POLICY: (PolicyVersion, PolicyVersion.id, int),
    Entity.RECORD: (Record, Record.brn, int),
    Entity.ITEM: (Item, Item.barcode, str),
    Entity.PATRON: (Patron, Patron.patron_id, str),
    Entity.LOAN: (Loan, Loan.item_barcode, str),
    Entity.HOLD: (Hold, Hold.id, int),
    Entity.MESSAGE: (LibraryMessage, LibraryMessage.language, str),
}


def _money_text(column: str) -> str:
    """SQL writing stored cents as the wire's decimal string ("-2.50"), in both SQLite and
    PostgreSQL: done by the database, as a Python call per value was a sixth of the
    server's work in a snapshot."""
    return (
        f"CASE WHEN {column} < 0 THEN '-' ELSE '' END || CAST(ABS({column}) / 100 AS TEXT)"
        f" || '.' || SUBSTR(CAST(100 + ABS({column}) % 100 AS TEXT), 2)"
    )


# What each snapshot column is selected as, when its stored form is not its wire form.
_SELECTED: dict[Entity, dict[str, str]] = {
    Entity.ITEM: {"price": _money_text("price")},
    Entity.PATRON: {
        "expires": "CAST(expires AS TEXT)",
        "owed": _money_text("owed"),
        "pin_locked_until": "CAST(pin_locked_until AS TEXT)",
        # A yes or no: the address itself never leaves the server.
        "has_email": "CASE WHEN email IS NOT NULL AND email <> '' THEN 1 ELSE 0 END",
    },
}
# Flags that SQLite stores as 0 or 1 and the wire writes as true or false, by position.
_FLAGS: dict[Entity, tuple[int, ...]] = {
    Entity.PATRON: (5, SNAPSHOT_COLUMNS[Entity.PATRON].index("has_email")),
    Entity.HOLD: (4,),
}


# Rows kiosks are not sent: registrations staff have not approved (ChangeLog.patron
# leaves them out of the change log too).
_KEPT_FROM_KIOSKS: dict[Entity, str] = {Entity.PATRON: "pending_loans IS NULL"}


def _page_sql(entity: Entity, after: bool, dialect: str) -> str:
    model, key_column, _ = TABLES[entity]
    selected = _SELECTED.get(entity, {})
    columns = ", ".join(selected.get(name, name) for name in SNAPSHOT_COLUMNS[entity])
    mark = "?"
    if dialect != "sqlite":  # psycopg's placeholders: a literal % (modulo) is written %%
        columns, mark = columns.replace("%", "%%"), "%s"
    conditions = [f"{key_column.key} > {mark}"] if after else []
    if entity in _KEPT_FROM_KIOSKS:
        conditions.append(_KEPT_FROM_KIOSKS[entity])
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return (
        f"SELECT {columns} FROM {model.__tablename__}{where} ORDER BY {key_column.key} LIMIT {mark}"
    )


def _page_rows(db: Session, entity: Entity, after: Any, limit: int) -> list[Any]:
    """A page of ``entity``'s snapshot rows after the key ``after`` (None: from the first),
    in their wire form. On the driver's own cursor, not the ORM: at two million items the
    ORM's rows and type conversions (a date parsed only to be written out again) were
    most of the server's work in a snapshot."""
    model, key_column, _ = TABLES[entity]
    if entity is Entity.POLICY:  # one row, its document a JSON column: typed on the way
        query = select(*(getattr(model, name) for name in SNAPSHOT_COLUMNS[entity]))
        if after is not None:
            query = query.where(key_column > after)
        return [list(row) for row in db.execute(query.order_by(key_column).limit(limit))]
    connection = db.connection()
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(
            _page_sql(entity, after is not None, connection.dialect.name),
            (limit,) if after is None else (after, limit),
        )
        rows: list[Any] = cursor.fetchall()
    finally:
        cursor.close()
    flags = _FLAGS.get(entity)
    if rows and flags:
        columns: list[Any] = list(zip(*rows, strict=True))
        for position in flags:
            columns[position] = map(bool, columns[position])
        rows = list(zip(*columns, strict=True))
    return rows


def current_cursor(db: Session) -> int:
    counter = db.get(ChangeCounter, 1)
    return counter.value if counter else 0


def _parse_after(after: str) -> tuple[int, Entity, str]:
    try:
        cursor, entity, key = after.split(":", 2)
        return int(cursor), Entity(entity), key
    except ValueError:
        raise ValueError(f"after: not a token this server gave out: {after!r}") from None


def snapshot_page(
    db: Session, after: str | None, limit: int, *, rows_version: int = ROW_FIELDS_VERSION
) -> dict[str, Any]:
    """One page of the snapshot, as the JSON of a SnapshotPage (built directly: a page
    holds up to fifty thousand rows). The first page (``after`` None) fixes the cursor
    to follow afterwards and carries the totals; each page carries one entity's rows. A
    kiosk that knows older rows (``rows_version``) is sent none of the entities it does
    not know."""
    unknown = entities_unknown_to(rows_version)
    order = tuple(entity for entity in SNAPSHOT_ORDER if entity not in unknown)
    totals: dict[str, int] = {}
    if after is None:
        cursor, entity, key = current_cursor(db), order[0], ""
        for counted in order:
            model = TABLES[counted][0]
            counting = select(func.count()).select_from(model)
            if counted in _KEPT_FROM_KIOSKS:
                counting = counting.where(text(_KEPT_FROM_KIOSKS[counted]))
            totals[counted.value] = db.scalar(counting) or 0
    else:
        cursor, entity, key = _parse_after(after)
        if entity not in order:
            raise ValueError(f"after: not a token this server gave out: {after!r}")
    position = order.index(entity)
    while True:
        _, key_column, read_key = TABLES[entity]
        rows = _page_rows(db, entity, read_key(key) if key else None, limit)
        if rows or position == len(order) - 1:
            break
        position += 1
        entity, key = order[position], ""
    if len(rows) == limit and entity is not Entity.POLICY:  # one policy: never a full page
        last = rows[-1][SNAPSHOT_COLUMNS[entity].index(key_column.key)]
        next_after: str | None = f"{cursor}:{entity.value}:{last}"
    elif position < len(order) - 1:
        next_after = f"{cursor}:{order[position + 1].value}:"
    else:
        next_after = None
    return {
        "cursor": cursor,
        "entity": entity.value,
        "columns": list(SNAPSHOT_COLUMNS[entity]),
        "rows": rows,
        "after": next_after,
        "totals": totals,
    }


def _without(data: str, names: tuple[str, ...]) -> str:
    row = json.loads(data)
    for name in names:
        row.pop(name, None)
    return json.dumps(row, separators=(",", ":"))


def changes_page(
    db: Session,
    kiosk_id: int,
    since: int,
    limit: int,
    *,
    rows_version: int = ROW_FIELDS_VERSION,
) -> str:
    """Changes after ``since``, as the JSON of a ChangesPage. Markers of journal entries
    go only to the kiosk that made them (as ``reflected``); other kiosks skip them but
    advance their cursor. A kiosk that knows older rows (``rows_version``,
    kiosk.sync.protocol.ROW_FIELDS_SINCE) gets them without the later fields.

    Built as text, each row's data as stored: every kiosk pulls every other kiosk's
    changes, so this is the server's busiest loop, and parsing each row's JSON only to
    write it out again (and checking it against the wire model on the way) cost more
    than the rest of a pull."""
    rows = db.execute(
        select(Change.seq, Change.entity, Change.key, cast(Change.data, Text), Change.kiosk_id)
        .where(Change.seq > since)
        .order_by(Change.seq)
        .limit(limit)
    ).all()
    changes = []
    reflected = []
    entry = Entity.ENTRY.value
    unknown = fields_unknown_to(rows_version)
    marks = {entity: tuple(f'"{name}"' for name in names) for entity, names in unknown.items()}
    # Entities this kiosk does not know: passed over, as other kiosks' markers are.
    passed_over = {entity.value for entity in entities_unknown_to(rows_version)}
    for seq, entity, key, data, marker_of in rows:
        if entity == entry:
            if marker_of == kiosk_id:
                reflected.append(key)
            continue
        if entity in passed_over:
            continue
        if data and entity in marks and any(mark in data for mark in marks[entity]):
            data = _without(data, unknown[entity])  # noqa: PLW2901 - as this kiosk reads it
        changes.append(
            f'{{"seq":{seq},"entity":"{Entity(entity).value}","key":{json.dumps(key)},'
            f'"data":{data or "null"}}}'
        )
    return (
        f'{{"changes":[{",".join(changes)}],"cursor":{rows[-1][0] if rows else since},'
        f'"more":{json.dumps(len(rows) == limit)},"reflected":{json.dumps(reflected)}}}'
    )
