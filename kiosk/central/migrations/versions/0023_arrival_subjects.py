"""New arrivals by subject (issue 16): each record's subject headings
(``records.subjects``, separated by semicolons, as the catalogue import's ``subjects``
column gives them) and the subjects of the weekly new arrivals each patron chose in the
portal (``patrons.arrival_subjects``, likewise), beside the publication types they chose
(``patrons.arrivals``, 0010). Both empty for every row from before.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (no batch copy), as 0010 did.
    op.add_column(
        "records", sa.Column("subjects", sa.String(400), nullable=False, server_default="")
    )
    op.add_column(
        "patrons",
        sa.Column("arrival_subjects", sa.String(400), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("patrons") as table:
        table.drop_column("arrival_subjects")
    with op.batch_alter_table("records") as table:
        table.drop_column("subjects")
