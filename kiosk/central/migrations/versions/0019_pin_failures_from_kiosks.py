"""Wrong PINs counted on the patron's row, wherever typed: the kiosks' with the portal's
and SIP2's (issue 15: five lock the card for 15 minutes wherever they were typed). The
row is what kiosks mirror, so a lock set in the portal reaches every kiosk in the change
log, and a kiosk's wrong PINs reach the server as journal entries.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: SQLite's batch copies the table, and its reflection
    # would lose the case-folded name indexes (0005).
    op.add_column(
        "patrons", sa.Column("pin_failures", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("patrons", sa.Column("pin_locked_until", sa.DateTime(), nullable=True))
    # Counts in progress carry over: a lock set a minute before the upgrade still holds.
    op.execute(
        "UPDATE patrons SET pin_failures = (SELECT a.failures FROM pin_attempts a "
        "WHERE a.patron_id = patrons.patron_id), pin_locked_until = (SELECT a.locked_until "
        "FROM pin_attempts a WHERE a.patron_id = patrons.patron_id) "
        "WHERE patron_id IN (SELECT patron_id FROM pin_attempts)"
    )
    op.drop_table("pin_attempts")


def downgrade() -> None:
    op.create_table(
        "pin_attempts",
        sa.Column("patron_id", sa.String(32), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
    )
    op.execute(
        "INSERT INTO pin_attempts (patron_id, failures, locked_until) SELECT patron_id, "
        "pin_failures, pin_locked_until FROM patrons "
        "WHERE pin_failures > 0 OR pin_locked_until IS NOT NULL"
    )
    with op.batch_alter_table("patrons") as table:
        table.drop_column("pin_locked_until")
        table.drop_column("pin_failures")
