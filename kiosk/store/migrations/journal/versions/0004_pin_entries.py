"""wrong PINs become journal entries (issue 15)

Revision ID: 0004
Revises: 0003

A PIN typed at this kiosk is an entry of kind "pin" pushed to the server, which counts it
with those typed in the portal and at SIP2 devices and sends every kiosk the card's count
and lock in its patron row. The kiosk's own count, ``pin_failures``, goes: a lock it
held when upgraded ends early, as one lost with a replaced SD card would.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("pin_failures")


def downgrade() -> None:
    op.create_table(
        "pin_failures",
        sa.Column("patron_id", sa.String(32), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.String(), nullable=True),
    )
