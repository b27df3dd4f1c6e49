"""Looking at a data directory without changing it: for ``kiosk status``, which runs beside
the kiosk and the sync agent, often as another user.

The files are opened read-only and leave nothing behind. Without a ``-wal`` file nobody
has the database open and everything is in the main file: it is read as immutable, so
SQLite creates no ``-wal``/``-shm`` (made by root, they would lock the kiosk user out).
Otherwise the open database is read through its existing WAL files. A file that cannot
be read raises whatever SQLite said, for the caller to report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select

from kiosk.store.journal import ACKNOWLEDGED, PENDING, Entry, KioskState
from kiosk.store.mirror import PolicyDocument, SyncCursor


@dataclass(frozen=True, slots=True)
class JournalSummary:
    kiosk_id: str | None
    pending: int  # entries waiting for the server
    oldest_pending: datetime | None  # when the oldest of them was decided
    latest_time: datetime | None  # the latest time the journal recorded
    # When the oldest entry the server applied, kept until a backup covers it, was
    # acknowledged (None: none kept).
    oldest_held: datetime | None = None


@dataclass(frozen=True, slots=True)
class MirrorSummary:
    cursor: int | None  # None: no whole snapshot yet
    synced_at: datetime | None
    reflected_through: int | None
    policy_version: str | None


def _read_only(path: Path) -> Engine:
    immutable = "&immutable=1" if not Path(f"{path}-wal").exists() else ""
    return create_engine(f"sqlite+pysqlite:///file:{path}?mode=ro{immutable}&uri=true")


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def read_journal(path: Path) -> JournalSummary:
    engine = _read_only(path)
    try:
        with engine.connect() as journal:
            pending, oldest = journal.execute(
                select(func.count(), func.min(Entry.decided_at)).where(Entry.state == PENDING)
            ).one()
            state = journal.execute(
                select(KioskState.kiosk_id, KioskState.latest_time).where(KioskState.id == 1)
            ).first()
            held = journal.scalar(
                select(func.min(Entry.acknowledged_at)).where(Entry.state == ACKNOWLEDGED)
            )
    finally:
        engine.dispose()
    return JournalSummary(
        kiosk_id=state.kiosk_id if state else None,
        pending=int(pending),
        oldest_pending=_when(oldest),
        latest_time=_when(state.latest_time) if state else None,
        oldest_held=_when(held),
    )


def read_mirror(path: Path) -> MirrorSummary:
    engine = _read_only(path)
    try:
        with engine.connect() as mirror:
            cursor = mirror.execute(
                select(SyncCursor.cursor, SyncCursor.synced_at, SyncCursor.reflected_through)
            ).first()
            policy = mirror.scalar(select(PolicyDocument.version))
    finally:
        engine.dispose()
    return MirrorSummary(
        cursor=cursor.cursor if cursor else None,
        synced_at=_when(cursor.synced_at) if cursor else None,
        reflected_through=cursor.reflected_through if cursor else None,
        policy_version=policy,
    )
