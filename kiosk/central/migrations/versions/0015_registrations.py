"""Online registrations waiting for staff: the portal's registration form, the
console's pending registrations.

A registration is a patron row with ``pending_loans`` set (how many loans it may hold
until staff approve it) and the moment it came; approval clears ``pending_loans``, a
rejection deletes the row. The date of birth is kept only where the form asks for it.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PENDING = sa.text("pending_loans IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("patrons") as batch:
        batch.add_column(sa.Column("pending_loans", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("registered_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))
    # Partial: the few registrations waiting, not every patron's null.
    op.create_index(
        "patrons_pending",
        "patrons",
        ["registered_at"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("patrons_pending", table_name="patrons")
    with op.batch_alter_table("patrons") as batch:
        batch.drop_column("date_of_birth")
        batch.drop_column("registered_at")
        batch.drop_column("pending_loans")
