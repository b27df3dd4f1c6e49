"""Migrating the data directory in a child process, for a kiosk that runs for days.

Alembic, with the Mako and Pygments it loads, takes some 10 MB; once a migration has
loaded it in a process, it stays there for as long as that process runs. The kiosk's
screens migrate only on a new kiosk's first start or after an upgrade, so before they
open the store they check each file's revision with plain ``sqlite3`` (a millisecond)
and, only when one is behind, let a child process bring it up to date. Whatever goes
wrong in the child is left for ``Store.open`` to meet again and handle as it always has
(a damaged journal stops the kiosk, a damaged mirror is set aside).

    python -m kiosk.store.migrate_apart DIR journal|mirror ...
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

from kiosk.store import migrate

log = logging.getLogger(__name__)

FILES: dict[migrate.Database, tuple[str, bool]] = {  # file name, durable
    "journal": ("journal.db", True),
    "mirror": ("mirror.db", False),
}


def behind(directory: Path) -> list[migrate.Database]:
    """The files of ``directory`` not at this version's revision (or not there yet)."""
    stale: list[migrate.Database] = []
    for database, (name, _durable) in FILES.items():
        path = directory / name
        revision = None
        if path.exists():
            try:  # read-write, as the kiosk opens it: read-only, SQLite leaves -wal/-shm
                with contextlib.closing(sqlite3.connect(path)) as connection:
                    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = None if row is None else str(row[0])
            except sqlite3.Error:
                revision = None  # no version table, or not a database: the child tries
        if revision != migrate.HEADS[database]:
            stale.append(database)
    return stale


def upgrade_apart(directory: Path) -> bool:
    """Bring the files that are behind up to date in a child process. True if none was
    behind or the child succeeded."""
    stale = behind(directory)
    if not stale:
        return True
    child = subprocess.run(
        [sys.executable, "-m", __name__, str(directory), *stale],
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or ["no message"])[-1]
        log.warning("migrating %s apart failed (%s); the store will try itself", stale, last)
        return False
    return True


def _upgrade(directory: Path, databases: list[migrate.Database]) -> None:
    """In the child: each file as ``Store.open`` would migrate it, checked first."""
    from kiosk.store.database import open_sqlite, quick_check  # noqa: PLC0415

    directory.mkdir(parents=True, exist_ok=True)
    for database in databases:
        name, durable = FILES[database]
        engine = open_sqlite(directory / name, durable=durable)
        try:
            quick_check(engine)
            migrate.upgrade(engine, database)
        finally:
            engine.dispose()


if __name__ == "__main__":
    _upgrade(Path(sys.argv[1]), [database for database in FILES if database in sys.argv[2:]])
