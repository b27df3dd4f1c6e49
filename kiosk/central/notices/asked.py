"""A receipt a patron asks for at the desk (issue 16: a receipt when they asked for it
at a kiosk, the desk or the portal): their latest visit's loans and renewals there, by
email whatever their preferences, queued in the outbox that sends every notice, and
audited as asked for (the number of lines, never a title)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import audit
from kiosk.central.circulation.actor import Actor
from kiosk.central.errors import CentralError
from kiosk.central.models import Notice, Patron
from kiosk.central.notices import outbox
from kiosk.central.notices.finding import asked_receipts


def can_email_receipt(db: Session, patron_id: str, now: datetime) -> bool:
    """Whether the desk may offer the patron an emailed receipt: they have an email
    address and borrowed or renewed something at the desk in the last day."""
    patron = db.get(Patron, patron_id)
    return bool(patron is not None and patron.email and asked_receipts(db, patron_id, "desk", now))


def email_desk_receipt(db: Session, patron_id: str, now: datetime, actor: Actor) -> int:
    """Queue the receipts of the patron's latest visit at the desk; returns how many
    lines they list. Refused (CentralError, nothing queued) for a patron with no email
    address, for a visit with nothing borrowed or renewed, and for one whose receipt is
    queued already."""
    patron = db.get(Patron, patron_id)
    if patron is None:
        raise CentralError("no such patron: find them again with the search")
    if not patron.email:
        raise CentralError(
            "the patron has no email address: add one in Edit details and contact, or print"
        )
    found = asked_receipts(db, patron_id, "desk", now)
    if not found:
        raise CentralError("nothing was lent or renewed at the desk in the last day")
    queued = set(db.scalars(select(Notice.key).where(Notice.key.in_([n.key for n in found]))))
    if len(queued) == len(found):
        raise CentralError("this visit's receipt is queued already: nothing was added since")
    outbox.enqueue(db, found, now, digest_hour=0)
    lines = sum(len(notice.facts["items"]) for notice in found)
    audit.record(
        db,
        now,
        actor=actor.username,
        action="notice.receipt",
        target=f"patron {patron_id}",
        origin=actor.origin,
        detail=f"asked at the desk: {lines} line{'' if lines == 1 else 's'}",
    )
    db.commit()
    return lines
