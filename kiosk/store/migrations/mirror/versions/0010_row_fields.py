"""The version of the rows the mirror was built from (``sync_cursor.row_fields``,
kiosk.sync.protocol.ROW_FIELDS_VERSION when its snapshot was taken). The server leaves
out for a kiosk of an older version the entities and fields it does not know (the
library's message, a patron's email flag and PIN state, a hold's pickup) and moves its
cursor past them all the same: an upgraded kiosk that went on from its cursor would
never have them. The sync agent replaces a mirror built from an older version with a
snapshot. A mirror from before this one says none (null): not knowing which version
built it, the agent replaces it once. The journal is not touched.

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sync_cursor", sa.Column("row_fields", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_cursor") as table:
        table.drop_column("row_fields")
