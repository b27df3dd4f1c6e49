"""The audit log: who changed what, when and from where.

:func:`record` adds the entry to the caller's session, so it is committed with the change
it describes, or not at all. Every change made through the console or the staff
commands writes one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kiosk.central.models import AuditEntry, table

# Built once, on the Core table: the ORM's insert path costs more than the row. Inline:
# its new id is not read back, so the insert can be pipelined (database.pipelined).
_INSERT = insert(table(AuditEntry)).inline()


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
    """Add one entry to ``db``'s transaction (the caller commits it with the change).
    Written at once, without the ORM's unit of work: it is on every change's path."""
    db.connection().execute(
        _INSERT,
        {
            "at": at,
            "actor": actor[:80],
            "action": action[:40],
            "target": target[:120],
            "origin": origin[:80],
            "detail": detail[:400],
        },
    )


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries an administrator asks for; empty fields ask for everything."""

    actor: str = ""  # exactly this username (or terminal:USER)
    action: str = ""  # this action ("loan.checkout") or every action of a kind ("loan")
    target: str = ""  # exactly this target, e.g. "item 39990000000001" or "patron P12"
    since: datetime | None = None
    until: datetime | None = None  # before this moment
    before_id: int | None = None  # the page after one ending with this entry


def entries(db: Session, limit: int = 200, wanted: AuditFilter | None = None) -> list[AuditEntry]:
    """The latest entries that match ``wanted``, newest first."""
    query = select(AuditEntry)
    if wanted is not None:
        if wanted.actor:
            query = query.where(AuditEntry.actor == wanted.actor)
        if wanted.action:
            kind = wanted.action.rstrip(".")
            query = query.where(
                (AuditEntry.action == kind)
                | (
                    (AuditEntry.action >= f"{kind}.")
                    & (AuditEntry.action < f"{kind}/")  # "/" follows "." in every code table
                )
            )
        if wanted.target:
            query = query.where(AuditEntry.target == wanted.target)
        if wanted.since is not None:
            query = query.where(AuditEntry.at >= wanted.since)
        if wanted.until is not None:
            query = query.where(AuditEntry.at < wanted.until)
        if wanted.before_id is not None:
            query = query.where(AuditEntry.id < wanted.before_id)
    return list(
        # By id: entries are written in the order they happen, and paging needs one order.
        db.scalars(query.order_by(AuditEntry.id.desc()).limit(limit))
    )


def actors(db: Session) -> list[str]:
    """Everyone who has changed something, for the filter's list."""
    return list(db.scalars(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)))


def kinds(db: Session) -> list[str]:
    """The kinds of change recorded ("loan", "patron", ...), for the filter's list."""
    found = db.scalars(select(AuditEntry.action).distinct())
    return sorted({action.split(".", 1)[0] for action in found})
