"""The kiosk's data directory: ``mirror.db`` and ``journal.db``, opened, checked, migrated.

A journal that cannot be opened stops the kiosk (it holds transactions nobody
else has). A mirror that cannot be opened is set aside and replaced by an empty
one: the kiosk is out of service until the next sync fills it, and nothing is
lost because the mirror only ever held what the server sent.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kiosk.store import migrate
from kiosk.store.database import disk_full, open_sqlite, quick_check
from kiosk.store.errors import StoreFull
from kiosk.store.journal import KioskState
from kiosk.store.mirror import PolicyDocument, SyncCursor
from kiosk.store.world import World, open_world

log = logging.getLogger(__name__)

MIRROR_FILE = "mirror.db"
JOURNAL_FILE = "journal.db"


class MirrorHealth(StrEnum):
    READY = "ready"
    EMPTY = "empty"  # never synced, or rebuilt after damage: out of service until synced
    SET_ASIDE = "set_aside"  # was damaged; moved aside and replaced by an empty one


@dataclass
class Store:
    directory: Path
    mirror: Engine
    journal: Engine
    kiosk_id: str
    mirror_health: MirrorHealth

    @classmethod
    def open(
        cls, directory: Path, *, kiosk_id: str | None = None, secure_delete: bool = True
    ) -> Store:
        """``secure_delete=False`` only to measure what it costs (benchmarks/circulation.py):
        a kiosk never keeps what it deleted (kiosk.store.database)."""
        directory.mkdir(parents=True, exist_ok=True)
        journal = open_sqlite(directory / JOURNAL_FILE, durable=True, secure_delete=secure_delete)
        quick_check(journal)  # a damaged journal stops the kiosk: staff must save it first
        migrate.upgrade(journal, "journal")
        mirror, health = _open_mirror(directory, secure_delete)
        return cls(directory, mirror, journal, _kiosk_identity(journal, kiosk_id), health)

    def world(self) -> AbstractContextManager[World]:
        """One decision's reading of mirror + journal, committed to the journal (with
        ``synchronous=FULL``) when the block ends: see ``kiosk.store.world``."""
        return open_world(self.journal, self.directory / MIRROR_FILE)

    def refresh_health(self) -> MirrorHealth:
        """Whether the mirror now holds a library (the sync agent may have filled it)."""
        if _mirror_complete(self.mirror):
            self.mirror_health = MirrorHealth.READY
        elif self.mirror_health is MirrorHealth.READY:
            self.mirror_health = MirrorHealth.EMPTY
        return self.mirror_health

    def close(self) -> None:
        # The journal's connections first: they hold the mirror attached read-only, and
        # the last connection to close a file is the one that checkpoints its WAL into it.
        self.journal.dispose()
        self.mirror.dispose()


def _open_mirror(directory: Path, secure_delete: bool) -> tuple[Engine, MirrorHealth]:
    path = directory / MIRROR_FILE
    mirror = open_sqlite(path, durable=False, secure_delete=secure_delete)
    health = MirrorHealth.READY
    try:
        quick_check(mirror)
        migrate.upgrade(mirror, "mirror")
    except Exception as error:  # any damage at all: the mirror is rebuilt, never repaired
        mirror.dispose()
        if isinstance(error, StoreFull) or disk_full(error, path):
            raise StoreFull(f"{path}: the disk is full") from error  # not damage: kept
        aside = path.with_name(f"{MIRROR_FILE}.damaged-{uuid.uuid4().hex[:8]}")
        log.error(
            "mirror.db is damaged (%s); moved to %s and starting an empty one", error, aside.name
        )
        for suffix in ("", "-wal", "-shm"):
            damaged = Path(f"{path}{suffix}")
            if damaged.exists():
                damaged.rename(Path(f"{aside}{suffix}"))
        mirror = open_sqlite(path, durable=False, secure_delete=secure_delete)
        migrate.upgrade(mirror, "mirror")
        health = MirrorHealth.SET_ASIDE
    if health is MirrorHealth.READY and not _mirror_complete(mirror):
        health = MirrorHealth.EMPTY
    # quick_check read every page of the file into the pooled connection's cache (2 MB
    # held for as long as the kiosk runs); the connections the kiosk keeps start empty.
    mirror.dispose()
    return mirror, health


def _mirror_complete(mirror: Engine) -> bool:
    """A policy and a sync cursor: the cursor is written last, when a snapshot is whole."""
    with Session(mirror) as session:
        return (
            session.scalar(select(PolicyDocument.id).limit(1)) is not None
            and session.scalar(select(SyncCursor.id).limit(1)) is not None
        )


def _kiosk_identity(journal: Engine, wanted: str | None) -> str:
    """This kiosk's id, fixed in the journal at first start (a configured id wins)."""
    with Session(journal) as session, session.begin():
        state = session.get(KioskState, 1)
        if state is None:
            state = KioskState(id=1, kiosk_id=wanted or f"kiosk-{uuid.uuid4().hex[:12]}")
            session.add(state)
        elif wanted and state.kiosk_id != wanted:
            log.warning("kiosk id changed from %s to %s by configuration", state.kiosk_id, wanted)
            state.kiosk_id = wanted
        return state.kiosk_id
