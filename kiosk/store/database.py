"""Opening the kiosk's two SQLite files with the settings their roles need.

``journal.db`` holds what the kiosk decided and must survive a power cut the
moment a decision is shown: WAL with ``synchronous=FULL``. ``mirror.db`` is a
cache the sync agent can rebuild, so it trades durability for write speed
(``synchronous=NORMAL``; WAL still keeps it consistent).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

from kiosk.store.errors import StoreCorrupt, StoreFull

BUSY_TIMEOUT_MS = 5000
# Less room than this on the disk and an I/O error while opening is the disk being full.
NO_ROOM_BYTES = 2**20


def open_sqlite(path: Path, *, durable: bool) -> Engine:
    engine = create_engine(f"sqlite+pysqlite:///{path}")
    synchronous = "FULL" if durable else "NORMAL"

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN; SQLAlchemy
        # issues it instead so that a write transaction takes its lock at once.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if durable else "BEGIN")

    return engine


def disk_full(error: BaseException, path: Path) -> bool:
    """Whether ``error`` is SQLite finding no room on the disk that holds ``path``. A write
    that does not fit fails with SQLITE_FULL; but opening a WAL database whose ``-shm``
    file must first be made fails with an I/O error (SQLITE_IOERR_SHMSIZE), which on a
    disk with no room left is the full disk too, not damage to the file."""
    code = getattr(getattr(error, "orig", error), "sqlite_errorcode", None)
    if code is None:
        return False
    if code == sqlite3.SQLITE_FULL:
        return True
    if code & 0xFF != sqlite3.SQLITE_IOERR:
        return False
    return shutil.disk_usage(path.parent).free < NO_ROOM_BYTES


def quick_check(engine: Engine) -> None:
    """Raise StoreCorrupt unless SQLite's quick_check finds the file sound, StoreFull if
    the disk has no room to open it (which is not damage)."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("PRAGMA quick_check")).scalars().all()
    except Exception as error:  # a file that is not a database at all fails here
        if disk_full(error, Path(str(engine.url.database))):
            raise StoreFull(f"{engine.url.database}: the disk is full") from error
        raise StoreCorrupt(f"{engine.url.database}: {error}") from error
    if rows != ["ok"]:
        raise StoreCorrupt(f"{engine.url.database}: {'; '.join(map(str, rows[:5]))}")
