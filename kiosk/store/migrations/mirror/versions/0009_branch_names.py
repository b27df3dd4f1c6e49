"""The branches' names as patrons read them (issue 21), as the server last said
(``sync_cursor.branch_names``, a JSON object by code; null: none said, a server from
before it or a library without branches): the greeting names the branch where a hold
ready for the patron waits, when it is another.

Revision ID: 0009
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sync_cursor", sa.Column("branch_names", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_cursor") as table:
        table.drop_column("branch_names")
