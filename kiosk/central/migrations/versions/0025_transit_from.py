"""Where a copy sent on by a hold's decision is to be sent from (issue 21):
``items.transit_from``, the branch whose hold shelf it waits on while it is in transit
because its hold is now collected elsewhere (a pickup changed, a ready hold cancelled or
moved for one who collects elsewhere). The console's In transit page lists it there as
a copy to send, until it is checked in. Null for every row from before, and for a copy
in transit from a check-in (it is in the returns' transfer bin already).

Revision ID: 0025
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (no batch copy), as 0012 did.
    op.add_column("items", sa.Column("transit_from", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as table:
        table.drop_column("transit_from")
