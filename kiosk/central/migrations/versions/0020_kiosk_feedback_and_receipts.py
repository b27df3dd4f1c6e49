"""Patrons' feedback at the kiosks (issue 17, item 4): one row a rating, with the kiosk,
the hour and its week, and the reason if one was given. Never the patron, nor a time
finer than the hour, nor the journal entry it came in.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kiosk_feedback",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kiosk_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(["kiosk_id"], ["kiosks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("kiosk_feedback_by_week", "kiosk_feedback", ["week", "kiosk_id"])


def downgrade() -> None:
    op.drop_index("kiosk_feedback_by_week", "kiosk_feedback")
    op.drop_table("kiosk_feedback")
