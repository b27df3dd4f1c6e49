"""pickup branches (issue 21): where a hold's patron collects it (``holds.pickup``, a
branch's code; null: wherever its copy is trapped), so that a kiosk sends a copy it
traps for someone who collects elsewhere to its transfer bin, offline too.

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
    op.add_column("holds", sa.Column("pickup", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("holds") as table:
        table.drop_column("pickup")
