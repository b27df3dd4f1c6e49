"""branches (issue 21): the branch this kiosk stands in, as the server last said
(``sync_cursor.branch``; null: none, or a server from before branches).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sync_cursor", sa.Column("branch", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_cursor") as table:
        table.drop_column("branch")
