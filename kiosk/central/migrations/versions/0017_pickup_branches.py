"""Where a patron collects a hold (the pickup branch), and the hold shelf by branch.

``holds.pickup``: the code of the branch where the hold's copy is to be collected, null
for a hold placed before branches or in a library without them (it is ready wherever
its copy is trapped). A copy trapped at another branch goes in transit there
(``items.transit_to``) and its hold is ready only once it arrives.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (no batch copy), as 0012 did.
    op.add_column("holds", sa.Column("pickup", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("holds") as table:
        table.drop_column("pickup")
