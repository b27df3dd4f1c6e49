"""SIP2 (issue 18): the devices' accounts, exceptions from a device that is no kiosk, and
the server's own count of wrong PINs (a device asks the server to check a patron's PIN).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sip2_accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("password_verifier", sa.String(200), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("may_check_out", sa.Boolean(), nullable=False),
        sa.Column("may_check_in", sa.Boolean(), nullable=False),
        sa.Column("may_renew", sa.Boolean(), nullable=False),
        sa.Column("may_hold", sa.Boolean(), nullable=False),
        sa.Column("may_pay", sa.Boolean(), nullable=False),
        sa.Column("may_block", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "pin_attempts",
        sa.Column("patron_id", sa.String(32), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
    )
    # A SIP2 device's offline ("no block") transaction the rules would refuse is an
    # exception like a kiosk's, from a source that is no kiosk.
    with op.batch_alter_table("exceptions") as table:
        table.alter_column("kiosk_id", existing_type=sa.Integer(), nullable=True)
        table.add_column(sa.Column("source", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exceptions") as table:
        table.drop_column("source")
        table.alter_column("kiosk_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("pin_attempts")
    op.drop_table("sip2_accounts")
