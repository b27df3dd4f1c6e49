"""Due dates: loan days, short loans in hours, "no issue after" caps and the calendar."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.rules import (
    Calendar,
    CheckoutDecision,
    Item,
    MemberType,
    Patron,
    Privilege,
    PublicationType,
    decide_checkout,
)

from .helpers import assert_allowed, assert_refused_only, at, d, policy

PATRON = Patron("P1", "STAFF")
SUNDAYS = Calendar(closed_weekdays=frozenset({6}))
CHRISTMAS = Calendar(
    closed_weekdays=frozenset({6}),
    closed_dates=frozenset({d("2026-12-25"), d("2026-12-26")}),
)


def checkout(
    *,
    days: int = 14,
    hours: int = 4,
    now: datetime,
    member_cap: str | None = None,
    publication_cap: str | None = None,
    calendar: Calendar | None = None,
) -> CheckoutDecision:
    base = policy(
        member_types=[
            MemberType("STAFF", "Staff", no_issue_after=d(member_cap) if member_cap else None)
        ],
        publication_types=[
            PublicationType(
                "BOOK", "Book", no_issue_after=d(publication_cap) if publication_cap else None
            )
        ],
        privileges=[Privilege("STAFF", "BOOK", days=days, hours=hours)],
        calendar=calendar,
    )
    return decide_checkout(base, PATRON, [], Item("BOOK"), now)


CASES = [
    # id, keyword arguments, expected due
    ("14-days", {"now": at("2026-11-23T10:00")}, "2026-12-07"),
    ("1-day", {"days": 1, "now": at("2026-11-23T17:59")}, "2026-11-24"),
    ("short-loan-4-hours", {"days": 0, "now": at("2026-11-23T10:00")}, "2026-11-23T14:00"),
    (
        "short-loan-2-hours",
        {"days": 0, "hours": 2, "now": at("2026-11-23T10:15")},
        "2026-11-23T12:15",
    ),
    ("short-loan-across-midnight", {"days": 0, "now": at("2026-11-23T22:30")}, "2026-11-24T02:30"),
    (
        "short-loan-ignores-closed-days",
        {"days": 0, "now": at("2026-11-28T22:00"), "calendar": SUNDAYS},
        "2026-11-29T02:00",
    ),
    (
        "short-loan-capped-at-end-of-cap-day",
        {"days": 0, "now": at("2026-11-23T22:00"), "member_cap": "2026-11-23"},
        "2026-11-23T23:59",
    ),
    (
        "short-loan-under-a-later-cap",
        {"days": 0, "now": at("2026-11-23T22:00"), "member_cap": "2026-11-24"},
        "2026-11-24T02:00",
    ),
    # The seed's long loan: 400 days for staff text books, due at the end of the year.
    (
        "long-loan-capped-by-publication-type",
        {"days": 400, "now": at("2026-09-01T09:00"), "publication_cap": "2027-06-30"},
        "2027-06-30",
    ),
    (
        "earliest-cap-wins-member",
        {
            "days": 400,
            "now": at("2026-09-01T09:00"),
            "member_cap": "2027-03-31",
            "publication_cap": "2027-06-30",
        },
        "2027-03-31",
    ),
    (
        "earliest-cap-wins-publication",
        {
            "days": 400,
            "now": at("2026-09-01T09:00"),
            "member_cap": "2027-12-31",
            "publication_cap": "2027-06-30",
        },
        "2027-06-30",
    ),
    (
        "cap-after-due-changes-nothing",
        {"now": at("2026-11-23T10:00"), "member_cap": "2027-06-30"},
        "2026-12-07",
    ),
    ("cap-is-today", {"now": at("2026-11-23T10:00"), "member_cap": "2026-11-23"}, "2026-11-23"),
    ("cap-is-tomorrow", {"now": at("2026-11-23T10:00"), "member_cap": "2026-11-24"}, "2026-11-24"),
    # Calendar: a closed due day moves forward to the next open day ...
    (
        "due-on-sunday-moves-to-monday",
        {"days": 13, "now": at("2026-11-23T10:00"), "calendar": SUNDAYS},
        "2026-12-07",
    ),
    (
        "christmas-boxing-day-and-sunday-skipped",
        {"now": at("2026-12-11T10:00"), "calendar": CHRISTMAS},
        "2026-12-28",
    ),
    (
        "open-due-day-unchanged",
        {"now": at("2026-11-23T10:00"), "calendar": CHRISTMAS},
        "2026-12-07",
    ),
    # ... unless that passes the cap: then back from the cap to the last open day.
    (
        "cap-on-closed-day-moves-back",
        {"now": at("2026-11-23T10:00"), "member_cap": "2026-12-06", "calendar": SUNDAYS},
        "2026-12-05",
    ),
    (
        "rolled-forward-past-cap-moves-back",
        {"now": at("2026-12-11T10:00"), "member_cap": "2026-12-27", "calendar": CHRISTMAS},
        "2026-12-24",
    ),
    (
        "cap-on-open-day-after-closure",
        {"now": at("2026-12-11T10:00"), "member_cap": "2026-12-28", "calendar": CHRISTMAS},
        "2026-12-28",
    ),
    (
        "cap-today-open-though-tomorrow-closed",
        {"now": at("2026-11-28T10:00"), "member_cap": "2026-11-28", "calendar": SUNDAYS},
        "2026-11-28",
    ),
    (
        "cap-tomorrow-closed-falls-back-to-today",
        {"now": at("2026-11-28T10:00"), "member_cap": "2026-11-29", "calendar": SUNDAYS},
        "2026-11-28",
    ),
]


@pytest.mark.parametrize(("keywords", "due"), [pytest.param(k, due, id=i) for i, k, due in CASES])
def test_due_date(keywords: dict[str, object], due: str) -> None:
    assert_allowed(checkout(**keywords), due=due)  # type: ignore[arg-type]


def test_no_issue_after_yesterday_refuses() -> None:
    decision = checkout(now=at("2026-11-23T10:00"), publication_cap="2026-11-22")
    assert_refused_only(decision, "no_issue_after")
    assert "22 November 2026" in decision.refusals[0].message


def test_no_open_day_between_today_and_the_cap_refuses() -> None:
    weekend = Calendar(closed_weekdays=frozenset({5, 6}))
    decision = checkout(now=at("2026-11-28T10:00"), member_cap="2026-11-29", calendar=weekend)
    assert_refused_only(decision, "no_issue_after")
    assert decision.refusals[0].message == (
        "The library is closed on every day this item could be due back by 29 November 2026."
    )


def test_a_closure_on_the_cap_with_only_closed_days_before_it_refuses() -> None:
    closed = Calendar(closed_dates=frozenset({d("2026-11-23"), d("2026-11-24")}))
    decision = checkout(now=at("2026-11-23T10:00"), member_cap="2026-11-24", calendar=closed)
    assert_refused_only(decision, "no_issue_after")
