"""Each staff account's branch (issue 21): where its holder works (``staff.branch``, a
branch's code; null: none, as every account from before). The desk's returns are routed
from it, as a kiosk's from the branch it stands in, and the console's lists show that
branch first.

Revision ID: 0022
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (no batch copy), as 0012 did.
    op.add_column("staff", sa.Column("branch", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff") as table:
        table.drop_column("branch")
