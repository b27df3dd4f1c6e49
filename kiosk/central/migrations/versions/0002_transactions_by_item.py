"""returns by item: each push looks up when its items last came back

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Without it every push read the whole transactions table, which grows by every
    # loan and return of the library's life.
    op.create_index("transactions_by_item", "transactions", ["item_barcode", "kind", "decided_at"])


def downgrade() -> None:
    op.drop_index("transactions_by_item", table_name="transactions")
