"""branches (issue 21): the library's buildings, each a code staff type and a name
patrons read; a kiosk stands in one (``kiosks.branch``, null for a kiosk registered
before branches or without one: it routes as one undivided library did). An item's home
branch is its existing ``home_location``. A copy sent to another branch is in transit
there: ``items.transit_to`` names the branch (its status ``in_transit`` meanwhile).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "branches",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
    )
    # Added in place (no batch copy), as 0010 did, so SQLite keeps the search indexes.
    op.add_column("kiosks", sa.Column("branch", sa.String(32), nullable=True))
    op.add_column("items", sa.Column("transit_to", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as table:
        table.drop_column("transit_to")
    with op.batch_alter_table("kiosks") as table:
        table.drop_column("branch")
    op.drop_table("branches")
