"""Alembic environment for journal.db: run by kiosk.store.migrate on the connection it passes."""

from alembic import context

from kiosk.store.journal import JournalBase

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=JournalBase.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
