"""Patrons' feedback, and the loan history a patron chose to keep.

The portal's feedback form (a rating, a comment, anonymous unless the patron asks to be
contacted) and the per-sender counts that keep it from being flooded; the patron's
choice to keep their loan history (off by default); and the member type a transaction
keeps once its patron is forgotten, for the reports.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(1000), nullable=False),
        sa.Column("patron_id", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("portal_feedback_by_day", "portal_feedback", ["day", "id"])
    op.create_table(
        "feedback_senders",
        sa.Column("sender", sa.String(80), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sender"),
    )
    op.add_column(
        "patrons",
        sa.Column("keep_loan_history", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("transactions", sa.Column("member_type", sa.String(32), nullable=True))


def downgrade() -> None:
    # DROP COLUMN in place (SQLite 3.35 and later), as 0010 does.
    op.execute("ALTER TABLE transactions DROP COLUMN member_type")
    op.execute("ALTER TABLE patrons DROP COLUMN keep_loan_history")
    op.drop_table("feedback_senders")
    op.drop_index("portal_feedback_by_day", "portal_feedback")
    op.drop_table("portal_feedback")
