"""a kiosk disabled by staff, and who resolved an exception (issue 14, item 4)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kiosks", sa.Column("disabled_at", sa.DateTime(), nullable=True))
    op.add_column("exceptions", sa.Column("resolved_by", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exceptions") as table:
        table.drop_column("resolved_by")
    with op.batch_alter_table("kiosks") as table:
        table.drop_column("disabled_at")
