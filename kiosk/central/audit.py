"""The audit log: who changed what, when and from where.

:func:`record` adds the entry to the caller's session, so it is committed with the change
it describes, or not at all. Every change made through the console or the staff
commands writes one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central.models import AuditEntry


def record(
    db: Session,
    at: datetime,
    *,
    actor: str,
    action: str,
    target: str,
    origin: str,
    detail: str = "",
) -> None:
    """Add one entry to ``db``'s transaction (the caller commits it with the change)."""
    db.add(
        AuditEntry(
            at=at,
            actor=actor[:80],
            action=action[:40],
            target=target[:120],
            origin=origin[:80],
            detail=detail[:400],
        )
    )


def entries(db: Session, limit: int = 200) -> list[AuditEntry]:
    """The latest entries, newest first."""
    return list(
        db.scalars(
            select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        )
    )
