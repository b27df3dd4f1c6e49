"""The data directory: migrations match the models, upgrades keep the journal, settings hold."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from kiosk.store import migrate
from kiosk.store.database import open_sqlite
from kiosk.store.journal import JournalBase
from kiosk.store.mirror import MirrorBase
from kiosk.store.store import MirrorHealth, Store


def test_the_migrations_build_exactly_the_schema_of_the_models(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    for engine, base in ((store.mirror, MirrorBase), (store.journal, JournalBase)):
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), base.metadata) == []
    assert migrate.is_current(store.mirror, "mirror")
    assert migrate.is_current(store.journal, "journal")
    store.close()


def test_the_journal_is_durable_and_the_mirror_fast(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    with store.journal.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    with store.mirror.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    for engine in (store.journal, store.mirror):  # both hold loans: deleted means zeroed
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    store.close()


def test_reopening_keeps_the_kiosk_identity_and_the_journal(tmp_path: Path) -> None:
    first = Store.open(tmp_path)
    kiosk_id = first.kiosk_id
    first.close()
    with sqlite3.connect(tmp_path / "journal.db") as connection:
        connection.execute(
            "INSERT INTO entries (id, kind, decided_at, item_barcode, payload, state, charged, status_after) "
            "VALUES ('e1', 'return', '2026-11-23T10:00:00', '31', '{}', 'pending', 0, 'available')"
        )
    again = Store.open(tmp_path)
    assert again.kiosk_id == kiosk_id
    assert again.mirror_health is MirrorHealth.EMPTY
    again.close()
    with sqlite3.connect(tmp_path / "journal.db") as connection:
        assert connection.execute("SELECT id FROM entries").fetchall() == [("e1",)]
    named = Store.open(tmp_path, kiosk_id="branch-3-kiosk-1")
    assert named.kiosk_id == "branch-3-kiosk-1"
    named.close()


def test_an_old_journal_is_upgraded_in_place(tmp_path: Path) -> None:
    """A journal written by an older version (schema 0001) is brought to head without
    losing what it holds; what the new schema derives is derived for the old entries."""
    old = open_sqlite(tmp_path / "journal.db", durable=True)
    config = migrate._config("journal")
    with old.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    old.dispose()
    with sqlite3.connect(tmp_path / "journal.db") as connection:
        for entry, kind in (("lent", "checkout"), ("kept", "return")):
            connection.execute(
                "INSERT INTO entries (id, kind, decided_at, item_barcode, payload, state, charged, status_after) "
                f"VALUES ('{entry}', '{kind}', '2026-11-23T10:00:00', '31', '{{}}', 'pending', 0, 'on_loan')"
            )
    reopened = Store.open(tmp_path)
    assert migrate.is_current(reopened.journal, "journal")
    reopened.close()
    with sqlite3.connect(tmp_path / "journal.db") as connection:
        assert connection.execute("SELECT id, superseded FROM entries ORDER BY seq").fetchall() == [
            ("lent", 1),
            ("kept", 0),
        ]


def test_the_heads_known_without_alembic_are_alembics_heads() -> None:
    for database in ("mirror", "journal"):
        assert migrate.HEADS[database] == migrate.head(database)
