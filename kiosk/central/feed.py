"""What kiosks read: the initial snapshot in pages, then the change log since a cursor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.central.changes import hold_row, item_row, loan_row, patron_row, record_row
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
from kiosk.sync.protocol import (
    SNAPSHOT_ORDER,
    ChangesPage,
    Entity,
    PolicyRow,
    SnapshotPage,
    Wire,
)
from kiosk.sync.protocol import (
    Change as WireChange,
)

_Table = tuple[Any, Any, Callable[[Any], Wire], Callable[[str], Any]]

# entity -> (model, its key column, its wire row, how a key in a token is read back)
TABLES: dict[Entity, _Table] = {
    Entity.POLICY: (
        PolicyVersion,
        PolicyVersion.id,
        lambda row: PolicyRow(version=row.version, document=row.document),
        int,
    ),
    Entity.RECORD: (Record, Record.brn, record_row, int),
    Entity.ITEM: (Item, Item.barcode, item_row, str),
    Entity.PATRON: (Patron, Patron.patron_id, patron_row, str),
    Entity.LOAN: (Loan, Loan.item_barcode, loan_row, str),
    Entity.HOLD: (Hold, Hold.id, hold_row, int),
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


def snapshot_page(db: Session, after: str | None, limit: int) -> SnapshotPage:
    """One page of the snapshot. The first page (``after`` None) fixes the cursor to
    follow afterwards and carries the totals; each page carries one entity's rows."""
    totals: dict[Entity, int] = {}
    if after is None:
        cursor, entity, key = current_cursor(db), SNAPSHOT_ORDER[0], ""
        for counted in SNAPSHOT_ORDER:
            model = TABLES[counted][0]
            totals[counted] = db.scalar(select(func.count()).select_from(model)) or 0
    else:
        cursor, entity, key = _parse_after(after)
    position = SNAPSHOT_ORDER.index(entity)
    while True:
        model, column, to_wire, read_key = TABLES[entity]
        query = select(model).order_by(column).limit(limit)
        if key:
            query = query.where(column > read_key(key))
        rows: Sequence[Any] = db.scalars(query).all()
        if rows or position == len(SNAPSHOT_ORDER) - 1:
            break
        position += 1
        entity, key = SNAPSHOT_ORDER[position], ""
    wire_rows = [to_wire(row).model_dump(mode="json") for row in rows]
    if len(rows) == limit:
        last = getattr(rows[-1], column.key)
        next_after: str | None = f"{cursor}:{entity.value}:{last}"
    elif position < len(SNAPSHOT_ORDER) - 1:
        next_after = f"{cursor}:{SNAPSHOT_ORDER[position + 1].value}:"
    else:
        next_after = None
    return SnapshotPage(
        cursor=cursor, entity=entity, rows=wire_rows, after=next_after, totals=totals
    )


def changes_page(db: Session, kiosk_id: int, since: int, limit: int) -> ChangesPage:
    """Changes after ``since``. Markers of journal entries go only to the kiosk that
    made them (as ``reflected``); other kiosks skip them but advance their cursor."""
    rows = db.scalars(
        select(Change).where(Change.seq > since).order_by(Change.seq).limit(limit)
    ).all()
    changes = []
    reflected = []
    for row in rows:
        if row.entity == Entity.ENTRY.value:
            if row.kiosk_id == kiosk_id:
                reflected.append(row.key)
            continue
        changes.append(
            WireChange(seq=row.seq, entity=Entity(row.entity), key=row.key, data=row.data)
        )
    return ChangesPage(
        changes=changes,
        cursor=rows[-1].seq if rows else since,
        more=len(rows) == limit,
        reflected=reflected,
    )
