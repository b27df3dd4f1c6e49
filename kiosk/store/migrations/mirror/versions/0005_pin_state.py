"""patrons' PIN state (issue 15): the wrong PINs the server counted for each card,
wherever they were typed, and the lock they set, so that five wrong PINs lock a card on
every kiosk, in the portal and at SIP2 devices alike.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "patrons", sa.Column("pin_failures", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("patrons", sa.Column("pin_locked_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patrons") as table:
        table.drop_column("pin_locked_until")
        table.drop_column("pin_failures")
