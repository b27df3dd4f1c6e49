"""The library's own message on the Welcome screen, one row a language, as staff set it
in the console and the change log brings it (issue 17, item 7). Numbered when the
numbers were handed out, it comes after 0009 (the branches' names).

Revision ID: 0008
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("language"),
    )


def downgrade() -> None:
    op.drop_table("messages")
