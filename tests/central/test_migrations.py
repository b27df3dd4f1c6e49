"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from kiosk.central import database
from kiosk.central.models import CentralBase


def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    engine = database.connect(database_url)
    database.upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), CentralBase.metadata) == []
        indexes = {index["name"] for index in inspect(connection).get_indexes("transactions")}
    # A push looks up when its items last came back: by index, not by reading them all.
    assert "transactions_by_item" in indexes
    engine.dispose()
