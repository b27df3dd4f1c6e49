"""holds on titles (lending-rules.md, round 2): a hold names a catalogue record (``brn``)
and, until a copy is trapped for it, no item; its record's queue is read by
``holds_by_record``.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("holds") as table:
        table.add_column(sa.Column("brn", sa.Integer(), nullable=True))
        table.alter_column("item_barcode", existing_type=sa.String(32), nullable=True)
    op.create_index("holds_by_record", "holds", ["brn", "position"])


def downgrade() -> None:
    op.drop_index("holds_by_record", table_name="holds")
    # A title hold no copy was trapped for has nowhere to go in the old schema.
    op.execute("DELETE FROM holds WHERE item_barcode IS NULL")
    with op.batch_alter_table("holds") as table:
        table.alter_column("item_barcode", existing_type=sa.String(32), nullable=False)
        table.drop_column("brn")
