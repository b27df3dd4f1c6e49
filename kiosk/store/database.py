"""Opening the kiosk's two SQLite files with the settings their roles need.

``journal.db`` holds what the kiosk decided and must survive a power cut the
moment a decision is shown: WAL with ``synchronous=FULL``. ``mirror.db`` is a
cache the sync agent can rebuild, so it trades durability for write speed
(``synchronous=NORMAL``; WAL still keeps it consistent).

Both hold loans of patrons (the journal its own decisions, the mirror the library's
loans as the server sent them), so neither may keep what it deletes: each deletes
with ``secure_delete`` (zeros over deleted rows and freed pages). SQLite still leaves
copies of rows in the unused gap of pages it rebalanced, so after each purge the
journal is rebuilt from its live rows (``compact``), and the mirror's loans and holds
tables are rebuilt soon after they change (``mirroring.scrub_lending``). Then
``scrub`` folds the write-ahead log into the file and truncates it, so that no old
frame of the ``-wal`` file holds a deleted row either. The ``-shm`` file holds only
the log's index (page numbers, salts and checksums), never a row.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, create_engine, event, text

from kiosk.store.errors import StoreCorrupt, StoreFull

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# Less room than this on the disk and an I/O error while opening is the disk being full.
NO_ROOM_BYTES = 2**20


def open_sqlite(path: Path, *, durable: bool, secure_delete: bool = True) -> Engine:
    """An engine on ``path`` with the settings of its role. ``secure_delete``: SQLite
    overwrites what is deleted with zeros (cells in their pages, whole freed pages), so
    a purged loan cannot be read back from the card's free space; only benchmarks turn
    it off, to measure what it costs."""
    # URI filenames: the scan path attaches mirror.db read-only (kiosk.store.world). A
    # plain path, not starting with "file:", is still read as a plain path.
    engine = create_engine(f"sqlite+pysqlite:///{path}", connect_args={"uri": True})
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
        cursor.execute(f"PRAGMA secure_delete = {'ON' if secure_delete else 'OFF'}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if durable else "BEGIN")

    return engine


def compact(engine: Engine) -> None:
    """Rebuild the file from its live rows alone (``VACUUM``). ``secure_delete`` zeroes a
    deleted row and a freed page, but not the copies SQLite leaves in a page's unused
    gap when it rebalances the b-tree; a rebuilt file has none. For the journal, which
    is small once purged: a few milliseconds."""
    pooled = engine.raw_connection()
    try:
        cast(sqlite3.Connection, pooled.driver_connection).execute("VACUUM main")
    except sqlite3.OperationalError as error:  # no room for the copy: the next purge retries
        log.warning("%s was not rebuilt after the purge: %s", engine.url.database, error)
    finally:
        pooled.close()


def scrub(engine: Engine) -> bool:
    """Fold the write-ahead log into the database file and truncate it to nothing, so that
    rows deleted since (their pages zeroed by ``secure_delete``) survive in no old frame
    of the ``-wal`` file. Waits (``busy_timeout``) for readers on older snapshots; False
    if one outlasted that, and the next scrub finishes the job."""
    pooled = engine.raw_connection()
    try:
        connection = cast(sqlite3.Connection, pooled.driver_connection)
        # main only: the scan path's connections hold the mirror attached read-only.
        busy, _, _ = connection.execute("PRAGMA main.wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as error:  # a full disk, say: nothing lost, try again
        log.warning("%s: the write-ahead log was not folded in: %s", engine.url.database, error)
        return False
    finally:
        pooled.close()
    if busy:
        log.warning(
            "%s: a reader held the write-ahead log; it is folded in next time", engine.url.database
        )
    return not busy


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
