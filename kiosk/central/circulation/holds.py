"""Holds: a patron waiting for an item, in the order they asked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.errors import CentralError
from kiosk.central.models import Hold, Item, Loan, Patron, Record


def place_hold(db: Session, card: str, barcode: str, now: datetime) -> Hold:
    """Put the patron with ``card`` at the end of the item's hold queue; a hold on an item
    on the shelf with no queue is ready at once."""
    patron = db.scalar(select(Patron).where(Patron.card == card))
    if patron is None:
        raise CentralError("no patron has that card")
    item = db.get(Item, barcode)
    if item is None:
        raise CentralError(f"no item has barcode {barcode}")
    record = db.get(Record, item.brn)
    log = ChangeLog(db)
    log.lock()
    last = db.scalar(select(func.max(Hold.position)).where(Hold.item_barcode == barcode)) or 0
    on_shelf = db.get(Loan, barcode) is None and last == 0
    hold = Hold(
        item_barcode=barcode,
        patron_id=patron.patron_id,
        position=last + 1,
        ready=on_shelf,
        title=record.title if record else "",
        placed_at=now,
    )
    db.add(hold)
    db.flush()
    log.hold(hold)
    db.commit()
    return hold
