"""the overlay reads only what matters: superseded entries, partial indexes

Revision ID: 0002
Revises: 0001

A patron's overlay read every entry about them since the last sync: the sum of their
charges visited each of their entries, and their loans each entry lent to them with a
look for a later one. After a day offline that is linear in what the patron did. Now
``superseded`` marks an entry once a later one about the same item exists (a trigger,
so that every writer keeps it), and two partial indexes hold only the entries that
charge money and the loans not superseded.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SUPERSEDE = """
CREATE TRIGGER entries_supersede AFTER INSERT ON entries
BEGIN
    UPDATE entries SET superseded = 1
    WHERE item_barcode = NEW.item_barcode AND seq < NEW.seq AND superseded = 0;
END
"""


def upgrade() -> None:
    op.add_column(
        "entries",
        sa.Column("superseded", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(
        "UPDATE entries SET superseded = 1 WHERE EXISTS (SELECT 1 FROM entries later "
        "WHERE later.item_barcode = entries.item_barcode AND later.seq > entries.seq)"
    )
    op.drop_index("entries_by_patron", table_name="entries")
    op.drop_index("entries_by_borrower", table_name="entries")
    op.create_index(
        "entries_charged_to",
        "entries",
        ["patron_id", "seq"],
        sqlite_where=sa.text("charged <> 0"),
    )
    op.create_index(
        "entries_lent_to",
        "entries",
        ["loan_patron_id", "seq"],
        sqlite_where=sa.text("superseded = 0 AND loan_patron_id IS NOT NULL"),
    )
    op.execute(SUPERSEDE)


def downgrade() -> None:
    op.execute("DROP TRIGGER entries_supersede")
    op.drop_index("entries_lent_to", table_name="entries")
    op.drop_index("entries_charged_to", table_name="entries")
    op.create_index("entries_by_borrower", "entries", ["loan_patron_id", "seq"])
    op.create_index("entries_by_patron", "entries", ["patron_id", "seq"])
    # Not a batch copy of the table, which would lose its AUTOINCREMENT (SQLite >= 3.35).
    op.execute("ALTER TABLE entries DROP COLUMN superseded")
