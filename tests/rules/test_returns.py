"""Returns: overdue days, grace, fine periods "or part thereof", caps and routing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from kiosk.rules import (
    Due,
    Item,
    Loan,
    MemberType,
    Policy,
    Privilege,
    PublicationType,
    ReturnOutcome,
    assess_return,
)

from .helpers import D, at, d, policy


def fine_policy(
    *,
    fine: str,
    days_per_fine: int = 1,
    grace: int = 0,
    member_max: str | None = None,
    publication_max: str | None = None,
) -> Policy:
    return policy(
        member_types=[MemberType("ADULT", "Adult", max_fine=D(member_max) if member_max else None)],
        publication_types=[
            PublicationType(
                "BOOK", "Book", max_fine=D(publication_max) if publication_max else None
            )
        ],
        privileges=[
            Privilege(
                "ADULT",
                "BOOK",
                days=14,
                days_grace=grace,
                fine=D(fine),
                days_per_fine=days_per_fine,
            )
        ],
    )


def returned(policy_: Policy, *, due: str, now: str, holds: tuple[str, ...] = ()) -> ReturnOutcome:
    loan = Loan("ADULT", Due.end_of(d(due)))
    return assess_return(policy_, loan, Item("BOOK", holds=holds), at(now))


FINES = [
    # id, policy, returned on (due 2026-11-01), overdue, chargeable, fine
    ("on-the-due-date", {"fine": "1.00"}, "2026-11-01T19:00", 0, 0, "0.00"),
    ("before-the-due-date", {"fine": "1.00"}, "2026-10-28T09:00", 0, 0, "0.00"),
    ("one-day-late", {"fine": "1.00"}, "2026-11-02T09:00", 1, 1, "1.00"),
    ("seed-2.50-a-day-5-days", {"fine": "2.50"}, "2026-11-06T09:00", 5, 5, "12.50"),
    (
        "seed-8.00-a-week-9-days",
        {"fine": "8.00", "days_per_fine": 7},
        "2026-11-10T09:00",
        9,
        9,
        "16.00",
    ),
    ("exact-week", {"fine": "8.00", "days_per_fine": 7}, "2026-11-08T09:00", 7, 7, "8.00"),
    ("exact-two-weeks", {"fine": "8.00", "days_per_fine": 7}, "2026-11-15T09:00", 14, 14, "16.00"),
    (
        "a-day-into-week-three",
        {"fine": "8.00", "days_per_fine": 7},
        "2026-11-16T09:00",
        15,
        15,
        "24.00",
    ),
    ("seed-10-days-3-grace", {"fine": "1.50", "grace": 3}, "2026-11-11T09:00", 10, 7, "10.50"),
    ("last-day-of-grace", {"fine": "1.50", "grace": 3}, "2026-11-04T09:00", 3, 0, "0.00"),
    ("first-day-after-grace", {"fine": "1.50", "grace": 3}, "2026-11-05T09:00", 4, 1, "1.50"),
    ("no-fine-rate", {"fine": "0.00"}, "2026-12-25T09:00", 54, 54, "0.00"),
    (
        "member-cap",
        {"fine": "1.00", "member_max": "5.00", "publication_max": "9.00"},
        "2026-11-21T09:00",
        20,
        20,
        "5.00",
    ),
    (
        "publication-cap",
        {"fine": "1.00", "member_max": "9.00", "publication_max": "6.00"},
        "2026-11-21T09:00",
        20,
        20,
        "6.00",
    ),
    (
        "under-the-cap",
        {"fine": "1.00", "publication_max": "6.00"},
        "2026-11-04T09:00",
        3,
        3,
        "3.00",
    ),
]


@pytest.mark.parametrize(
    ("settings", "now", "overdue", "chargeable", "fine"),
    [pytest.param(*case[1:], id=case[0]) for case in FINES],
)
def test_fine(
    settings: dict[str, object], now: str, overdue: int, chargeable: int, fine: str
) -> None:
    outcome = returned(fine_policy(**settings), due="2026-11-01", now=now)  # type: ignore[arg-type]
    assert (outcome.overdue_days, outcome.chargeable_days, outcome.fine) == (
        overdue,
        chargeable,
        Decimal(fine),
    )
    assert str(outcome.fine) == fine


SHORT_LOANS = [
    ("on-time", "2026-11-23T14:00", 0),
    ("a-minute-early", "2026-11-23T13:59", 0),
    ("a-minute-late", "2026-11-23T14:01", 1),
    ("a-whole-day-late", "2026-11-24T14:00", 1),
    ("a-day-and-a-minute-late", "2026-11-24T14:01", 2),
    ("across-midnight", "2026-11-24T01:00", 1),
]


@pytest.mark.parametrize(("now", "overdue"), [pytest.param(n, o, id=i) for i, n, o in SHORT_LOANS])
def test_short_loan_lateness_counts_any_part_of_a_day(now: str, overdue: int) -> None:
    loan = Loan("ADULT", Due.at_time(datetime(2026, 11, 23, 14, 0)))
    base = fine_policy(fine="2.00")
    outcome = assess_return(base, loan, Item("BOOK"), at(now))
    assert outcome.overdue_days == overdue
    assert outcome.fine == D("2.00") * overdue


def test_an_item_with_holds_goes_to_the_hold_shelf() -> None:
    base = fine_policy(fine="1.00")
    assert (
        returned(base, due="2026-11-01", now="2026-11-01T10:00", holds=("P7",)).route
        == "hold_shelf"
    )
    assert returned(base, due="2026-11-01", now="2026-11-01T10:00").route == "shelf"


def test_a_loan_whose_privilege_was_withdrawn_comes_back_without_a_fine() -> None:
    base = policy(
        member_types=[MemberType("ADULT", "Adult")],
        publication_types=[PublicationType("BOOK", "Book")],
    )
    outcome = returned(base, due="2026-11-01", now="2026-11-05T10:00")
    assert (outcome.overdue_days, outcome.chargeable_days, outcome.fine) == (4, 4, D("0.00"))


def test_a_jump_of_the_clock_backwards_never_makes_a_negative_fine() -> None:
    outcome = returned(fine_policy(fine="1.00"), due="2026-11-01", now="1970-01-01T00:00")
    assert (outcome.overdue_days, outcome.fine) == (0, D("0.00"))
