"""kiosks keep what no backup covers (issue 20)

Revision ID: 0003
Revises: 0002

``entries.server_position``: the server's change log position once the push that
acknowledged the entry was committed; the entry is forgotten once a backup covers it.
``kiosk_state.server_epoch``: the epoch of the server's database this journal was
pushed to; a new one (after a restore) sends every entry again.
``kiosk_state.snapshot_due``: the mirror follows an older epoch and must be replaced.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch copy of the table, which would lose its AUTOINCREMENT.
    op.add_column("entries", sa.Column("server_position", sa.Integer(), nullable=True))
    op.add_column("kiosk_state", sa.Column("server_epoch", sa.String(32), nullable=True))
    op.add_column(
        "kiosk_state",
        sa.Column("snapshot_due", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE kiosk_state DROP COLUMN snapshot_due")
    op.execute("ALTER TABLE kiosk_state DROP COLUMN server_epoch")
    op.execute("ALTER TABLE entries DROP COLUMN server_position")
