"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import importlib
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from kiosk.central import database
from kiosk.central.models import CentralBase

SEARCH_INDEXES = importlib.import_module(
    "kiosk.central.migrations.versions.0005_desk_and_console"
).SEARCH_INDEXES
SEARCH_NAMES = {name for name, _table, _column in SEARCH_INDEXES}


def _not_a_search_index(_item: Any, name: str | None, kind: str, *_rest: Any) -> bool:
    return not (kind == "index" and name in SEARCH_NAMES)


def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    engine = database.connect(database_url)
    database.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": _not_a_search_index}
        )
        assert compare_metadata(context, CentralBase.metadata) == []
        indexes = {index["name"] for index in inspect(connection).get_indexes("transactions")}
        search: dict[str, str]
        if engine.dialect.name == "postgresql":
            search = dict(
                connection.execute(
                    # Only this test's schema: other tests drop theirs meanwhile, and
                    # describing an index that has just gone fails the whole query.
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes"
                        " WHERE schemaname = current_schema() AND indexname LIKE '%_by_%'"
                    )
                ).all()
            )
        else:
            search = dict(
                connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
                ).all()
            )
    # A push looks up when its items last came back: by index, not by reading them all.
    assert "transactions_by_item" in indexes
    # Staff's searches by name, title and author: case-folded, compared bytewise.
    for name, table, column in SEARCH_INDEXES:
        definition = search[name].replace("::text", "").replace(f"(({column}))", f"({column})")
        assert f"lower({column})" in definition
        assert table in search[name]
        if engine.dialect.name == "postgresql":
            assert 'COLLATE "C"' in search[name]
    engine.dispose()


def test_0028_records_a_kiosks_earlier_transactions_at_its_branch(database_url: str) -> None:
    """A kiosk's transactions from before 0028 take the branch it stands in; the desk's,
    and a kiosk's of no branch, none."""
    engine = database.connect(database_url)
    config = database._config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0027")
        connection.execute(
            text(
                "INSERT INTO kiosks (id, name, token_hash, created_at, branch) VALUES "
                "(1, 'north', :one, '2026-01-01 00:00:00', 'North'), "
                "(2, 'nowhere', :two, '2026-01-01 00:00:00', NULL)"
            ),
            {"one": "1" * 64, "two": "2" * 64},
        )
        for number, kiosk in ((1, 1), (2, 2), (3, None)):
            connection.execute(
                text(
                    "INSERT INTO transactions (id, kiosk_id, kiosk_seq, kind, item_barcode,"
                    " decided_at, applied_at, outcome, change_seq, details, charged) VALUES"
                    " (:id, :kiosk, 1, 'return', 'B1', '2026-11-01 10:00:00',"
                    " '2026-11-01 10:00:01', 'applied', :n, '{}', 0)"
                ),
                {"id": f"t{number}", "kiosk": kiosk, "n": number},
            )
        command.upgrade(config, "0028")
        rows = connection.execute(text("SELECT id, branch FROM transactions")).all()
        recorded: dict[str, str | None] = {row[0]: row[1] for row in rows}
    engine.dispose()
    assert recorded == {"t1": "North", "t2": None, "t3": None}
