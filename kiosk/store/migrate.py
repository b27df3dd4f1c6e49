"""Bringing ``mirror.db`` and ``journal.db`` up to the schema of this version.

Run automatically at start, so a kiosk in the field upgrades in place without
losing its journal. Each file has its own Alembic history.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Engine, exc

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
Database = Literal["mirror", "journal"]
# The newest revision of each history (a test keeps these equal to Alembic's heads).
# A file already there is recognised without loading Alembic, which costs the kiosk
# a tenth of a second and some 10 MB at every start.
HEADS: dict[Database, str] = {"mirror": "0010", "journal": "0004"}


def _config(database: Database) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - only when a migration may run

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS / database))
    return config


def _recorded_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    except exc.OperationalError:
        return None  # a new file: no version table yet
    return None if row is None else str(row[0])


def upgrade(engine: Engine, database: Database) -> None:
    if _recorded_revision(engine) == HEADS[database]:
        return
    from alembic import command  # noqa: PLC0415

    config = _config(database)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def head(database: Database) -> str | None:
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    return ScriptDirectory.from_config(_config(database)).get_current_head()


def is_current(engine: Engine, database: Database) -> bool:
    return _recorded_revision(engine) == head(database)
