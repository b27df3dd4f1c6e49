"""Alembic environment for the central database (SQLite or PostgreSQL)."""

from alembic import context

from kiosk.central.models import CentralBase

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=CentralBase.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
