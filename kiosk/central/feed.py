"""What kiosks read: the initial snapshot in pages, then the change log since a cursor."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Integer, Text, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from kiosk.central.models import (
    Change,
    ChangeCounter,
    Hold,
    Item,
    Loan,
    Patron,
    PolicyVersion,
    Record,
)
from kiosk.store.types import Money
from kiosk.sync.protocol import (
    SNAPSHOT_COLUMNS,
    SNAPSHOT_ORDER,
    Entity,
)

# entity -> (model, key column, how a key in an ``after`` token is read back)
TABLES: dict[Entity, tuple[Any, Any, Callable[[str], Any]]] = {
    Entity.POLICY: (PolicyVersion, PolicyVersion.id, int),
    Entity.RECORD: (Record, Record.brn, int),
    Entity.ITEM: (Item, Item.barcode, str),
    Entity.PATRON: (Patron, Patron.patron_id, str),
    Entity.LOAN: (Loan, Loan.item_barcode, str),
    Entity.HOLD: (Hold, Hold.id, int),
}


def _money(cents: int) -> str:
    """Stored cents as the wire's decimal string, without making a Decimal per row."""
    return f"{cents // 100}.{cents % 100:02d}"


def _day(value: Any) -> str | None:
    return None if value is None else str(value)  # str(date) and SQLite's text agree


def _columns(entity: Entity) -> list[Any]:
    """The snapshot's columns of ``entity``; money read as raw cents (see _money)."""
    model = TABLES[entity][0]
    return [
        type_coerce(getattr(model, name), Integer)
        if isinstance(getattr(model, name).type, Money)
        else getattr(model, name)
        for name in SNAPSHOT_COLUMNS[entity]
    ]


# How each entity's selected row becomes its wire row (same column order).
_WIRE: dict[Entity, Callable[[Any], list[Any]]] = {
    Entity.POLICY: list,
    Entity.RECORD: list,
    Entity.ITEM: lambda r: [r[0], r[1], _money(r[2]), r[3], r[4]],
    Entity.PATRON: lambda r: [r[0], r[1], r[2], r[3], _day(r[4]), bool(r[5]), _money(r[6]), r[7]],
    Entity.LOAN: list,
    Entity.HOLD: lambda r: [r[0], r[1], r[2], r[3], bool(r[4]), r[5]],
}


def current_cursor(db: Session) -> int:
    counter = db.get(ChangeCounter, 1)
    return counter.value if counter else 0


def _parse_after(after: str) -> tuple[int, Entity, str]:
    try:
        cursor, entity, key = after.split(":", 2)
        return int(cursor), Entity(entity), key
    except ValueError:
        raise ValueError(f"after: not a token this server gave out: {after!r}") from None


def snapshot_page(db: Session, after: str | None, limit: int) -> dict[str, Any]:
    """One page of the snapshot, as the JSON of a SnapshotPage (built directly: a page
    holds up to fifty thousand rows). The first page (``after`` None) fixes the cursor
    to follow afterwards and carries the totals; each page carries one entity's rows."""
    totals: dict[str, int] = {}
    if after is None:
        cursor, entity, key = current_cursor(db), SNAPSHOT_ORDER[0], ""
        for counted in SNAPSHOT_ORDER:
            model = TABLES[counted][0]
            totals[counted.value] = db.scalar(select(func.count()).select_from(model)) or 0
    else:
        cursor, entity, key = _parse_after(after)
    position = SNAPSHOT_ORDER.index(entity)
    while True:
        _, key_column, read_key = TABLES[entity]
        query = select(*_columns(entity)).order_by(key_column).limit(limit)
        if key:
            query = query.where(key_column > read_key(key))
        to_wire = _WIRE[entity]
        rows = [to_wire(row) for row in db.execute(query)]
        if rows or position == len(SNAPSHOT_ORDER) - 1:
            break
        position += 1
        entity, key = SNAPSHOT_ORDER[position], ""
    if len(rows) == limit and entity is not Entity.POLICY:  # one policy: never a full page
        last = rows[-1][SNAPSHOT_COLUMNS[entity].index(key_column.key)]
        next_after: str | None = f"{cursor}:{entity.value}:{last}"
    elif position < len(SNAPSHOT_ORDER) - 1:
        next_after = f"{cursor}:{SNAPSHOT_ORDER[position + 1].value}:"
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


def changes_page(db: Session, kiosk_id: int, since: int, limit: int) -> str:
    """Changes after ``since``, as the JSON of a ChangesPage. Markers of journal entries
    go only to the kiosk that made them (as ``reflected``); other kiosks skip them but
    advance their cursor.

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
    for seq, entity, key, data, marker_of in rows:
        if entity == entry:
            if marker_of == kiosk_id:
                reflected.append(key)
            continue
        changes.append(
            f'{{"seq":{seq},"entity":"{Entity(entity).value}","key":{json.dumps(key)},'
            f'"data":{data or "null"}}}'
        )
    return (
        f'{{"changes":[{",".join(changes)}],"cursor":{rows[-1][0] if rows else since},'
        f'"more":{json.dumps(len(rows) == limit)},"reflected":{json.dumps(reflected)}}}'
    )
