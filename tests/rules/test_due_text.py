"""A due date written out and read back: the one parser, ``Due.fromisoformat``."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from kiosk.rules import Due


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("2026-12-07", Due.end_of(date(2026, 12, 7))),
        ("2026-11-23T14:00", Due.at_time(datetime(2026, 11, 23, 14, 0))),
    ],
)
def test_a_due_date_reads_back_what_isoformat_wrote(text: str, due: Due) -> None:
    assert Due.fromisoformat(text) == due
    assert due.isoformat() == text


def test_a_short_loan_is_due_at_its_minute() -> None:
    assert Due.fromisoformat("2026-11-23T14:05").at == time(14, 5)


@pytest.mark.parametrize("text", ["", "7 Dec 2026", "2026-13-01", "2026-11-23T25:00"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"Invalid isoformat|month must be|hour must be"):
        Due.fromisoformat(text)
