"""The desk's and the devices' card lookup, on SQLite and PostgreSQL: whatever is typed or
scanned, a patron id or none, never a database error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kiosk.central.circulation.lookup import patron_by_card

from .desk_library import build


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    built, _policies = build(database_url)
    yield built
    built.dispose()


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("2000000000", "ada"),
        ("  2000000001\n", "ben"),
        ("2000000000\x00", None),  # PostgreSQL refuses a NUL in text: no match, no error
        ("2000\x1b[31m", None),
        ("", None),
        ("9" * 200, None),
        ("' OR 1=1 --", None),
    ],
)
def test_a_card_typed_or_scanned_finds_its_patron_or_none(
    engine: Engine, typed: str, found: str | None
) -> None:
    with Session(engine) as db:
        assert patron_by_card(db, typed) == found
