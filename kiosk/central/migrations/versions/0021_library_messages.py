"""The library's own message on the kiosks' Welcome screen (issue 17, item 7): one row a
language, as staff set it in the console (who and when, as the audit says too). Kiosks
are sent it through the change log.

Revision ID: 0021
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "library_messages",
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("text", sa.String(300), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.Column("set_by", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("language"),
    )


def downgrade() -> None:
    op.drop_table("library_messages")
