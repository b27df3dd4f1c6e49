"""Indexes the portal and the branches' pages read by: a patron's own transactions (the
data download), and the copies in transit (the console's In transit page), each read
from 2,000,000 rows otherwise.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

IN_TRANSIT = sa.text("status = 'in_transit'")


def upgrade() -> None:
    op.create_index("transactions_by_patron", "transactions", ["patron_id", "decided_at"])
    # Partial: the few copies on their way, not every copy's null.
    op.create_index(
        "items_in_transit",
        "items",
        ["transit_to"],
        sqlite_where=IN_TRANSIT,
        postgresql_where=IN_TRANSIT,
    )


def downgrade() -> None:
    op.drop_index("items_in_transit", table_name="items")
    op.drop_index("transactions_by_patron", table_name="transactions")
