"""Whether the library has an email address for each patron (issue 17, item 3): the
Finish screen offers to email a receipt only then. A yes or no; the address stays on the
server.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "patrons", sa.Column("has_email", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("patrons") as table:
        table.drop_column("has_email")
