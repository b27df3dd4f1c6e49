"""Bringing ``mirror.db`` and ``journal.db`` up to the schema of this version.

Run automatically at start, so a kiosk in the field upgrades in place without
losing its journal. Each file has its own Alembic history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
Database = Literal["mirror", "journal"]


def _config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS / database))
    return config


def upgrade(engine: Engine, database: Database) -> None:
    config = _config(database)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_current(engine: Engine, database: Database) -> bool:
    head = ScriptDirectory.from_config(_config(database)).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
