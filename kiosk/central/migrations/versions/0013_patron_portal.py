"""The patron portal (issue 15): patrons' sessions, apart from staff sessions, and the
count of refused sign-ins per address.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patron_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("patron_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_patron_sessions_patron_id", "patron_sessions", ["patron_id"])
    op.create_table(
        "portal_sign_in_failures",
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("portal_sign_in_failures")
    op.drop_index("ix_patron_sessions_patron_id", "patron_sessions")
    op.drop_table("patron_sessions")
