"""What the decision path recorded, for staff: the transactions applied, and the
exceptions (physical facts the rules would have refused) until a person resolves them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central.errors import CentralError
from kiosk.central.models import AppliedTransaction, StaffException


def transactions(db: Session, limit: int = 100) -> list[AppliedTransaction]:
    """The latest transactions applied, newest first."""
    return list(
        db.scalars(
            select(AppliedTransaction).order_by(AppliedTransaction.applied_at.desc()).limit(limit)
        )
    )


def open_exceptions(db: Session) -> list[StaffException]:
    """The exceptions no one has resolved yet, oldest first."""
    return list(
        db.scalars(
            select(StaffException)
            .where(StaffException.resolved_at.is_(None))
            .order_by(StaffException.created_at)
        )
    )


def resolve_exception(db: Session, exception_id: int, note: str, now: datetime) -> None:
    found = db.get(StaffException, exception_id)
    if found is None:
        raise CentralError(f"no exception number {exception_id}")
    found.resolved_at, found.resolution = now, note
    db.commit()
