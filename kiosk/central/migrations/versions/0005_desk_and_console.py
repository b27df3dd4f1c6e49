"""the staff console's decision path and pages (issue 14): patrons' contact details and
why they are barred, when a hold became ready, who made a transaction at the desk, each
kiosk's heartbeats for its 24-hour chart, and the indexes staff searches use.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Case-folded prefix searches: lower() on both sides, compared bytewise (PostgreSQL's
# "C" collation, SQLite's default), so a range on the index answers them. Only here, not
# in the models: neither database reflects them in a form Alembic can compare.
SEARCH_INDEXES = (
    ("patrons_by_surname", "patrons", "surname"),
    ("patrons_by_first_name", "patrons", "first_name"),
    ("records_by_title", "records", "title"),
    ("records_by_author", "records", "author"),
)


def upgrade() -> None:
    with op.batch_alter_table("patrons") as table:
        table.add_column(sa.Column("email", sa.String(254), nullable=True))
        table.add_column(sa.Column("phone", sa.String(32), nullable=True))
        table.add_column(sa.Column("language", sa.String(8), nullable=True))
        table.add_column(sa.Column("barred_reason", sa.String(200), nullable=True))
    with op.batch_alter_table("holds") as table:
        table.add_column(sa.Column("ready_at", sa.DateTime(), nullable=True))
    # A desk transaction has no kiosk; it has the member of staff who made it.
    with op.batch_alter_table("transactions") as table:
        table.alter_column("kiosk_id", existing_type=sa.Integer(), nullable=True)
        table.add_column(sa.Column("actor", sa.String(80), nullable=True))
    op.create_table(
        "heartbeats",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column(
            "kiosk_id", sa.Integer(), sa.ForeignKey("kiosks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("journal_depth", sa.Integer(), nullable=True),
        sa.Column("disk_free_mb", sa.Integer(), nullable=True),
        sa.Column("scanners", sa.Integer(), nullable=True),
        sa.Column("error", sa.Boolean(), nullable=False),
    )
    op.create_index("heartbeats_by_kiosk", "heartbeats", ["kiosk_id", "at"])
    op.create_index("records_by_isbn", "records", ["isbn"])
    op.create_index("ledger_at", "ledger", ["at"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, table_name, column in SEARCH_INDEXES:
        expression = f'(lower({column}) COLLATE "C")' if postgres else f"lower({column})"
        op.execute(f"CREATE INDEX {name} ON {table_name} ({expression})")


def downgrade() -> None:
    for name, table_name, _column in SEARCH_INDEXES:
        op.drop_index(name, table_name=table_name)
    op.drop_index("ledger_at", table_name="ledger")
    op.drop_index("records_by_isbn", table_name="records")
    op.drop_table("heartbeats")
    with op.batch_alter_table("transactions") as table:
        table.drop_column("actor")
        table.alter_column("kiosk_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("holds") as table:
        table.drop_column("ready_at")
    with op.batch_alter_table("patrons") as table:
        for column in ("barred_reason", "language", "phone", "email"):
            table.drop_column(column)
