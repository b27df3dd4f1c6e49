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
        "change_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "changes",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("kiosk_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_barcode", sa.String(length=32), nullable=False),
        sa.Column("patron_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=400), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index("holds_by_item", ["item_barcode", "position"], unique=False)
        batch_op.create_index(batch_op.f("ix_holds_patron_id"), ["patron_id"], unique=False)

    op.create_table(
        "kiosks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=True),
        sa.Column("version", sa.String(length=32), nullable=True),
        sa.Column("journal_depth", sa.Integer(), nullable=True),
        sa.Column("oldest_pending", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=400), nullable=True),
        sa.Column("scanners", sa.JSON(), nullable=True),
        sa.Column("disk_free_mb", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_patron_id"), ["patron_id"], unique=False)

    op.create_table(
        "loans",
        sa.Column("item_barcode", sa.String(length=32), nullable=False),
        sa.Column("patron_id", sa.String(length=32), nullable=False),
        sa.Column("member_type", sa.String(length=32), nullable=False),
        sa.Column("due", sa.String(length=16), nullable=False),
        sa.Column("renewals", sa.Integer(), nullable=False),
        sa.Column("lent_at", sa.DateTime(), nullable=False),
        sa.Column("kiosk_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("item_barcode"),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loans_patron_id"), ["patron_id"], unique=False)

    op.create_table(
        "patrons",
        sa.Column("patron_id", sa.String(length=32), nullable=False),
        sa.Column("card", sa.String(length=32), nullable=False),
        sa.Column("first_name", sa.String(length=64), nullable=False),
        sa.Column("surname", sa.String(length=64), nullable=False),
        sa.Column("member_type", sa.String(length=32), nullable=False),
        sa.Column("expires", sa.Date(), nullable=True),
        sa.Column("barred", sa.Boolean(), nullable=False),
        sa.Column("owed", sa.Integer(), nullable=False),
        sa.Column("pin_verifier", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("patron_id"),
        sa.UniqueConstraint("card"),
    )
    op.create_table(
        "policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "records",
        sa.Column("brn", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=400), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("isbn", sa.String(length=17), nullable=True),
        sa.Column("publication_type", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("brn"),
    )
    op.create_table(
        "exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["kiosk_id"],
            ["kiosks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exceptions_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "items",
        sa.Column("barcode", sa.String(length=32), nullable=False),
        sa.Column("brn", sa.Integer(), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("home_location", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["brn"],
            ["records.brn"],
        ),
        sa.PrimaryKeyConstraint("barcode"),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_brn"), ["brn"], unique=False)

    op.create_table(
        "transactions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.Integer(), nullable=False),
        sa.Column("kiosk_seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_barcode", sa.String(length=32), nullable=False),
        sa.Column("patron_id", sa.String(length=32), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("charged", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kiosk_id"],
            ["kiosks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index("transactions_by_kiosk", ["kiosk_id", "kiosk_seq"], unique=False)
        batch_op.create_index("transactions_at", ["decided_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("transactions_at")
        batch_op.drop_index("transactions_by_kiosk")

    op.drop_table("transactions")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_brn"))

    op.drop_table("items")
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exceptions_entry_id"))

    op.drop_table("exceptions")
    op.drop_table("records")
    op.drop_table("policy")
    op.drop_table("patrons")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loans_patron_id"))

    op.drop_table("loans")
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_patron_id"))

    op.drop_table("ledger")
    op.drop_table("kiosks")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holds_patron_id"))
        batch_op.drop_index("holds_by_item")

    op.drop_table("holds")
    op.drop_table("changes")
    op.drop_table("change_counter")
