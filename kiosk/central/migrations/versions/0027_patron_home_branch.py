"""Each patron's home branch (issue 21): the library they use (``patrons.home_branch``,
a branch's code; null: none chosen, as every patron from before). A hold placed without
a pickup is collected there; staff set it in the console, patrons in the portal's My
details or when they register, and a patron import may carry it.

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (no batch copy), as 0022 did: SQLite's copy would lose the name
    # searches' indexes on expressions.
    op.add_column("patrons", sa.Column("home_branch", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patrons") as table:
        table.drop_column("home_branch")
