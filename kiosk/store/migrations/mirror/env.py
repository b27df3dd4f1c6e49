"""Alembic environment for mirror.db: run by kiosk.store.migrate on the connection it passes."""

from alembic import context

from kiosk.store.mirror import MirrorBase

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=MirrorBase.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
