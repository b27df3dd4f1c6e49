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
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_barcode", sa.String(length=32), nullable=False),
        sa.Column("patron_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index("holds_by_item", ["item_barcode", "position"], unique=False)
        batch_op.create_index("holds_by_patron", ["patron_id"], unique=False)

    op.create_table(
        "loans",
        sa.Column("item_barcode", sa.String(length=32), nullable=False),
        sa.Column("patron_id", sa.String(length=32), nullable=False),
        sa.Column("member_type", sa.String(length=32), nullable=False),
        sa.Column("due", sa.String(length=16), nullable=False),
        sa.Column("renewals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("item_barcode"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index("loans_by_patron", ["patron_id"], unique=False)

    op.create_table(
        "patrons",
        sa.Column("patron_id", sa.String(length=32), nullable=False),
        sa.Column("card", sa.String(length=32), nullable=False),
        sa.Column("first_name", sa.String(length=64), nullable=False),
        sa.Column("member_type", sa.String(length=32), nullable=False),
        sa.Column("expires", sa.Date(), nullable=True),
        sa.Column("barred", sa.Boolean(), nullable=False),
        sa.Column("owed", sa.Integer(), nullable=False),
        sa.Column("pin_verifier", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("patron_id"),
        sa.UniqueConstraint("card"),
    )
    op.create_table(
        "policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document", sa.String(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "records",
        sa.Column("brn", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("isbn", sa.String(), nullable=True),
        sa.Column("publication_type", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("brn"),
    )
    op.create_table(
        "sync_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("synced_at", sa.String(), nullable=False),
        sa.Column("reflected_through", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "items",
        sa.Column("barcode", sa.String(length=32), nullable=False),
        sa.Column("brn", sa.Integer(), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("home_location", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("barcode"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("items")
    op.drop_table("sync_cursor")
    op.drop_table("records")
    op.drop_table("policy")
    op.drop_table("patrons")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index("loans_by_patron")

    op.drop_table("loans")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("holds_by_patron")
        batch_op.drop_index("holds_by_item")

    op.drop_table("holds")
