"""The branch each transaction happened at (issue 21: reports by branch count the desk's
and the SIP2 devices' as well as the kiosks'): ``transactions.branch``, the kiosk's
branch for a kiosk's, the member of staff's for the desk's, the device's location for a
SIP2 device's (null: none known, as in a library without branches). A kiosk's from
before take the branch its kiosk stands in now; the desk's and the devices' from before
stay of no branch.

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (no batch copy), as 0022 did.
    op.add_column("transactions", sa.Column("branch", sa.String(32), nullable=True))
    op.execute(
        "UPDATE transactions SET branch = "
        "(SELECT kiosks.branch FROM kiosks WHERE kiosks.id = transactions.kiosk_id) "
        "WHERE kiosk_id IN (SELECT id FROM kiosks WHERE branch IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("transactions") as table:
        table.drop_column("branch")
