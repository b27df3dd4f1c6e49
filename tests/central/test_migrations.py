"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import importlib
from typing import Any

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
