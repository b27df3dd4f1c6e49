"""patrons' name indexes carry the search's whole order (issue 14's benchmark): a search
by the start of a surname is ordered by surname, first name and id, and one by first
name by first name, surname and id; with only the searched column indexed, a common
prefix ("nov" at 500,000 patrons: 20,000 of them) was read whole and sorted to find the
first 51. Now the index range is read in order and stopped at the limit.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# name: the columns in the order the search sorts by
ORDERED = {
    "patrons_by_surname": ("surname", "first_name"),
    "patrons_by_first_name": ("first_name", "surname"),
}


def _create(columns: tuple[str, ...], name: str, *, with_id: bool) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    folded = [
        f'lower({column}) COLLATE "C"' if postgres else f"lower({column})" for column in columns
    ]
    op.execute(
        f"CREATE INDEX {name} ON patrons ({', '.join(folded + (['patron_id'] if with_id else []))})"
    )


def upgrade() -> None:
    for name, columns in ORDERED.items():
        op.drop_index(name, table_name="patrons")
        _create(columns, name, with_id=True)


def downgrade() -> None:
    for name, columns in ORDERED.items():
        op.drop_index(name, table_name="patrons")
        _create(columns[:1], name, with_id=False)
