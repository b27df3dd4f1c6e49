"""holds on titles: a hold names its record (``brn``) and, while no copy is trapped for
it, no item; a record's title queue is read by ``holds_by_record``.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("holds") as table:
        table.add_column(sa.Column("brn", sa.Integer(), nullable=True))
        table.alter_column("item_barcode", existing_type=sa.String(32), nullable=True)
        table.create_index("holds_by_record", ["brn", "position"])


def downgrade() -> None:
    # A mirror is a cache: title holds with no copy go, the next sync brings back the rest.
    op.execute("DELETE FROM holds WHERE item_barcode IS NULL")
    with op.batch_alter_table("holds") as table:
        table.drop_index("holds_by_record")
        table.alter_column("item_barcode", existing_type=sa.String(32), nullable=False)
        table.drop_column("brn")
