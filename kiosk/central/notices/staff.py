"""The outbox as staff see it in the console: what waits, what went, what failed (with
the server's words, never the patron's address), resending one, and the notices to
print for patrons with no email or phone. Each change is audited with who made it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kiosk.central import audit
from kiosk.central.models import Notice, Patron
from kiosk.central.notices import outbox

# What each filter shows, in the console's words.
SHOWN = {
    "attention": "Failed or interrupted",
    "waiting": "Waiting",
    "sent": "Sent",
    "print": "To print",
    "all": "All",
}
_STATUSES = {
    "attention": (outbox.FAILED, outbox.INTERRUPTED),
    "waiting": (outbox.WAITING, outbox.CLAIMED, outbox.SENDING),
    "sent": (outbox.SENT,),
    "print": (outbox.PRINT,),
    "all": outbox.STATUSES,
}
RESENDABLE = (outbox.SENT, outbox.FAILED, outbox.INTERRUPTED, outbox.PRINTED)


@dataclass(frozen=True, slots=True)
class OutboxLine:
    notice_id: int
    patron_id: str
    patron: str  # "Surname, First", or the id when the patron is gone
    kind: str
    day: date
    channel: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    forgotten: bool  # what it said is no longer kept (outbox.forget): no resend


def listing(
    db: Session, shown: str, *, limit: int, offset: int = 0
) -> tuple[int, list[OutboxLine]]:
    """How many notices ``shown`` names (a key of SHOWN), and a page of them, newest
    first."""
    statuses = _STATUSES.get(shown, _STATUSES["attention"])
    total = db.scalar(select(func.count()).select_from(Notice).where(Notice.status.in_(statuses)))
    rows = db.execute(
        select(Notice, Patron.surname, Patron.first_name)
        .outerjoin(Patron, Patron.patron_id == Notice.patron_id)
        .where(Notice.status.in_(statuses))
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    lines = [
        OutboxLine(
            notice.id,
            notice.patron_id,
            f"{surname}, {first}" if surname is not None else notice.patron_id,
            notice.kind,
            notice.day,
            notice.channel,
            notice.status,
            notice.attempts,
            notice.created_at,
            notice.sent_at,
            notice.last_error,
            not notice.facts,
        )
        for notice, surname, first in rows
    ]
    return int(total or 0), lines


def resend(db: Session, notice_id: int, now: datetime, *, actor: str, origin: str) -> bool:
    """Put the notice back to go at once, on its own; audited. False when there is no
    such notice or it is not one to resend (waiting, or being sent)."""
    notice = outbox.resend(db, notice_id, now)
    if notice is None:
        db.rollback()
        return False
    audit.record(
        db,
        now,
        actor=actor,
        action="notice.resend",
        target=f"notice {notice_id}",
        origin=origin,
        detail=notice.kind,
    )
    db.commit()
    return True


def mark_printed(db: Session, ids: list[int], now: datetime, *, actor: str, origin: str) -> int:
    """The notices to print among ``ids``, marked printed; audited. Returns how many."""
    result = db.execute(
        update(Notice)
        .where(Notice.id.in_(ids), Notice.status == outbox.PRINT)
        .values(status=outbox.PRINTED, sent_at=now)
    )
    count = int(result.rowcount)  # type: ignore[attr-defined]
    if count:
        audit.record(
            db,
            now,
            actor=actor,
            action="notice.printed",
            target="notices",
            origin=origin,
            detail=f"{count} marked printed",
        )
    db.commit()
    return count


def facts(db: Session, ids: list[int]) -> dict[int, dict[str, object]]:
    """What each notice says, for the printed list."""
    if not ids:
        return {}
    return dict(db.execute(select(Notice.id, Notice.facts).where(Notice.id.in_(ids))).all())
