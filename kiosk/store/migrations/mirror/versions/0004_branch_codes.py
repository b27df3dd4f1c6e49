"""branches (issue 21): the library's branch codes as the server last said, comma-separated
(``sync_cursor.branches``; null: a server from before it said them, or no branches). A
copy's home branch is its home_location only when that names one of them.

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
    op.add_column("sync_cursor", sa.Column("branches", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_cursor") as table:
        table.drop_column("branches")
