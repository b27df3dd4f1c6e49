"""The gateway's relay to the library's own system over SIP2: its outbox and its position.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upstream_outbox",
        sa.Column("change_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("item_barcode", sa.String(32), nullable=True),
        sa.Column("patron_id", sa.String(32), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_before", sa.String(32), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("answer", sa.String(400), nullable=True),
        sa.PrimaryKeyConstraint("change_seq"),
        sa.UniqueConstraint("transaction_id"),
    )
    op.create_index("upstream_outbox_to_send", "upstream_outbox", ["status", "change_seq"])
    op.create_table(
        "upstream_relay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("holder", sa.String(80), nullable=True),
        sa.Column("held_at", sa.DateTime(), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("relayed", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(400), nullable=True),
        sa.Column("last_error_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("upstream_relay")
    op.drop_index("upstream_outbox_to_send", "upstream_outbox")
    op.drop_table("upstream_outbox")
