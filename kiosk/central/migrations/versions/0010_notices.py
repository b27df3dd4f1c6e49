"""notices (issue 16): patrons' messaging preferences, when a record entered the
catalogue (the new arrivals), the outbox and the days whose daily notices were found.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

DEFAULT_NOTICES = "due_soon,overdue,hold_ready,hold_expiring,membership_expiring"


def upgrade() -> None:
    # Columns added in place, not through a batch: SQLite's batch copies the table and
    # would lose the case-folded search indexes on patrons and records (0005, 0007).
    op.add_column(
        "patrons", sa.Column("notify_by", sa.String(8), nullable=False, server_default="email")
    )
    op.add_column(
        "patrons",
        sa.Column("notices", sa.String(200), nullable=False, server_default=DEFAULT_NOTICES),
    )
    op.add_column(
        "patrons", sa.Column("due_soon_days", sa.Integer(), nullable=False, server_default="2")
    )
    op.add_column(
        "patrons", sa.Column("digest", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "patrons", sa.Column("arrivals", sa.String(400), nullable=False, server_default="")
    )
    op.add_column("records", sa.Column("added_on", sa.Date(), nullable=True))
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("patron_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("send_after", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(80), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(400), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_notices_patron_id", "notices", ["patron_id"])
    op.create_index("notices_to_send", "notices", ["status", "send_after"])
    op.create_table(
        "notice_scans",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("notice_scans")
    op.drop_index("notices_to_send", "notices")
    op.drop_index("ix_notices_patron_id", "notices")
    op.drop_table("notices")
    # DROP COLUMN in place (SQLite 3.35 and later), for the reason upgrade gives.
    op.execute("ALTER TABLE records DROP COLUMN added_on")
    for column in ("arrivals", "digest", "due_soon_days", "notices", "notify_by"):
        op.execute(f"ALTER TABLE patrons DROP COLUMN {column}")
