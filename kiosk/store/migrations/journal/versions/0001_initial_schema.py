"""initial schema

Revision ID: 0001
Revises: (none)
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entries",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sa.String(), nullable=False),
        sa.Column("item_barcode", sa.String(length=32), nullable=False),
        sa.Column("patron_id", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.String(), nullable=False),
        sa.Column("charged", sa.Integer(), nullable=False),
        sa.Column("status_after", sa.String(length=32), nullable=False),
        sa.Column("loan_patron_id", sa.String(length=32), nullable=True),
        sa.Column("loan_member_type", sa.String(length=32), nullable=True),
        sa.Column("loan_due", sa.String(length=16), nullable=True),
        sa.Column("loan_renewals", sa.Integer(), nullable=True),
        sa.Column("fulfilled_hold_of", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("acknowledged_at", sa.String(), nullable=True),
        sa.Column("server_outcome", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.create_index("entries_by_borrower", ["loan_patron_id", "seq"], unique=False)
        batch_op.create_index("entries_by_item", ["item_barcode", "seq"], unique=False)
        batch_op.create_index("entries_by_patron", ["patron_id", "seq"], unique=False)
        batch_op.create_index("entries_by_state", ["state", "seq"], unique=False)

    op.create_table(
        "kiosk_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("latest_time", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "pin_failures",
        sa.Column("patron_id", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("patron_id"),
    )


def downgrade() -> None:
    op.drop_table("pin_failures")
    op.drop_table("kiosk_state")
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_index("entries_by_state")
        batch_op.drop_index("entries_by_patron")
        batch_op.drop_index("entries_by_item")
        batch_op.drop_index("entries_by_borrower")

    op.drop_table("entries")
