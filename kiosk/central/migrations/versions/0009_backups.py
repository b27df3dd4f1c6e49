"""backups and epochs (issue 20): ``server_state`` holds this database's epoch and the
change log position its latest backup covers; ``kiosks.held_for_backup`` what each kiosk
keeps until a backup covers it.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No row: the first reader makes one with a new epoch (kiosk.central.backups).
    op.create_table(
        "server_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.String(32), nullable=False),
        sa.Column("epoch_started_at", sa.DateTime(), nullable=False),
        sa.Column("backup_covers", sa.BigInteger(), nullable=True),
        sa.Column("backup_at", sa.DateTime(), nullable=True),
        sa.Column("backup_file", sa.String(400), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kiosks") as table:
        table.add_column(sa.Column("held_for_backup", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kiosks") as table:
        table.drop_column("held_for_backup")
    op.drop_table("server_state")
