"""The subjects of the new arrivals a patron chose (``patrons.arrival_subjects``, 0023)
as text of any length, not 400 characters: the portal offers a hundred subjects, and
thirty or so of them filled 400 characters. How many a patron may choose is checked
where they choose them (``kiosk.central.notices.preferences.MAX_SUBJECTS``).

PostgreSQL alone: SQLite keeps text of any length in any column, and changing the
column's declared type there would copy the table (losing the indexes on expressions
that the patrons' name searches read).

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgres():  # varchar to text rewrites nothing
        op.alter_column(
            "patrons",
            "arrival_subjects",
            existing_type=sa.String(400),
            type_=sa.Text(),
            existing_nullable=False,
            existing_server_default="",
        )


def downgrade() -> None:
    # A choice longer than the old column held is dropped: the patron chooses again.
    op.execute("UPDATE patrons SET arrival_subjects = '' WHERE length(arrival_subjects) > 400")
    if _postgres():
        op.alter_column(
            "patrons",
            "arrival_subjects",
            existing_type=sa.Text(),
            type_=sa.String(400),
            existing_nullable=False,
            existing_server_default="",
        )
