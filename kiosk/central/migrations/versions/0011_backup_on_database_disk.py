"""backups on the database's own disk (issue 20): ``server_state.backup_on_database_disk``
says the latest backup was written to the SQLite database's own disk, not copied off the
machine, so it did not let kiosks forget what it covers.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("server_state") as table:
        table.add_column(
            sa.Column(
                "backup_on_database_disk",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("server_state") as table:
        table.drop_column("backup_on_database_disk")
