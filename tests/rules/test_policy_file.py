"""The staff's policy file (TOML): the example holds every example of the seed, and a
broken file is reported in full."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from kiosk.rules import (
    Due,
    InvalidPolicy,
    Item,
    Loan,
    Patron,
    advisories,
    assess_fault,
    assess_return,
    decide_checkout,
    read_policy,
)

from .helpers import D, assert_allowed, assert_refused_only, at, d

EXAMPLE = Path(__file__).parents[2] / "kiosk" / "demo" / "policy.example.toml"
POLICY = read_policy(tomllib.loads(EXAMPLE.read_text(), parse_float=Decimal))


def test_the_example_policy_is_valid_and_has_nothing_to_advise() -> None:
    assert advisories(POLICY) == []
    assert len(POLICY.member_types) >= 4
    assert POLICY.publication_types["TEXTBOOK"].text_book


def test_seed_student_may_not_take_a_third_fiction_with_two_non_fiction_out() -> None:
    student = Patron("S1", "STUDENT")
    held = ["NONFICTION", "NONFICTION", "FICTION", "FICTION"]
    decision = decide_checkout(POLICY, student, held, Item("FICTION"), at("2026-11-23T10:00"))
    assert_refused_only(decision, "member_type_quota")
    privileges = (POLICY.privilege("STUDENT", "NONFICTION"), POLICY.privilege("STUDENT", "FICTION"))
    assert [p.quota for p in privileges if p] == [2, 3]


def test_seed_grade_8_non_fiction() -> None:
    privilege = POLICY.privilege("GRADE8", "NONFICTION")
    assert privilege is not None
    assert (privilege.quota, privilege.days, privilege.days_grace, privilege.fine) == (
        3,
        14,
        3,
        D("1.50"),
    )
    pupil = Patron("G1", "GRADE8")
    now = at("2026-11-23T10:00")
    assert_allowed(
        decide_checkout(POLICY, pupil, ["NONFICTION"] * 2, Item("NONFICTION"), now),
        due="2026-12-07",
    )
    assert_refused_only(
        decide_checkout(POLICY, pupil, ["NONFICTION"] * 3, Item("NONFICTION"), now),
        "privilege_quota",
    )


def test_seed_staff_text_book_long_loan_is_due_at_the_end_of_the_year() -> None:
    assert POLICY.privilege("STAFF", "TEXTBOOK").days == 400  # type: ignore[union-attr]
    decision = decide_checkout(
        POLICY, Patron("T1", "STAFF"), [], Item("TEXTBOOK"), at("2026-09-01T08:30")
    )
    assert_allowed(decision, due="2027-06-30")


def test_seed_short_loan_of_four_hours() -> None:
    decision = decide_checkout(
        POLICY, Patron("S1", "STUDENT"), [], Item("REFERENCE"), at("2026-11-23T13:15")
    )
    assert_allowed(decision, due="2026-11-23T17:15")


def test_seed_eight_per_week_or_part_thereof() -> None:
    loan = Loan("ADULT", Due.end_of(d("2026-11-01")))
    assert assess_return(POLICY, loan, Item("DVD"), at("2026-11-10T10:00")).fine == D("16.00")


def test_a_due_date_on_a_sunday_or_at_christmas_rolls_to_an_open_day() -> None:
    decision = decide_checkout(
        POLICY, Patron("A1", "ADULT"), [], Item("FICTION"), at("2026-12-04T10:00")
    )
    assert_allowed(decision, due="2026-12-28")


@pytest.mark.parametrize(
    ("charge", "price", "expected"),
    [("DAMAGED", "12.99", ("12.99", "damaged")), ("LOST", "0.00", ("40.00", "lost"))],
)
def test_seed_damaged_and_lost_charges(charge: str, price: str, expected: tuple[str, str]) -> None:
    outcome = assess_fault(POLICY, charge, Item("FICTION", price=D(price)))
    assert (str(outcome.charge), outcome.item_status) == expected


def problems_of(text: str) -> list[str]:
    with pytest.raises(InvalidPolicy) as raised:
        read_policy(tomllib.loads(text, parse_float=Decimal))
    return [str(problem) for problem in raised.value.problems]


def test_every_error_in_a_file_is_reported_with_its_key_path() -> None:
    problems = problems_of(
        """
        [member_types.STUDENT]
        qouta = 4
        fine_limit = 5.001

        [publication_types.FICTION]
        no_issue_after = "end of June"

        [[privileges]]
        member_type = "STUDENT"
        publication_type = "FICTION"
        days = 14

        [[privileges]]
        member_type = "STUDENT"
        publication_type = "FICTON"
        days = 14

        [[privileges]]
        member_type = "STUDENT"
        publication_type = "FICTION"
        days = 14
        days_per_fine = 0

        [calender]
        closed_weekdays = [6]
        """
    )
    assert problems == [
        "calender: unknown key; did you mean 'calendar'?",
        "member_types.STUDENT.qouta: unknown key; did you mean 'quota'?",
        "member_types.STUDENT.fine_limit: must have at most two decimal places, got 5.001",
        "publication_types.FICTION.no_issue_after: must be a date as YYYY-MM-DD, got 'end of June'",
        "privileges[1].publication_type: unknown publication type 'FICTON'; did you mean 'FICTION'?",
        "privileges[2].days_per_fine: must be >= 1, got 0",
        "privileges[2]: STUDENT x FICTION is already defined at privileges[0]; each pair may have one privilege",
    ]


def test_an_unknown_key_with_no_near_miss_lists_what_is_expected() -> None:
    assert problems_of(
        '[member_types.A]\ncolour = "red"\n[publication_types.B]\n[[privileges]]\nmember_type="A"\npublication_type="B"\ndays=1\n'
    ) == [
        "member_types.A.colour: unknown key (expected name, quota, no_issue_after, max_fine, "
        "fine_limit, renewal_window_days, renewal_period_days)"
    ]


RENEWAL_TERMS = """
[publication_types.B]
[[privileges]]
member_type = "STUDENT"
publication_type = "B"
days = 7
[member_types.STUDENT]
"""


@pytest.mark.parametrize(
    ("terms", "window", "period"),
    [
        ("renewal_window_days = 30\nrenewal_period_days = 365", 30, 365),
        ("renewal_window_days = 0\nrenewal_period_days = 1", 0, 1),
        ("renewal_period_days = 365", None, 365),
        ("", None, None),
    ],
    ids=["window-and-period", "opens-on-the-day", "staff-only", "left-out"],
)
def test_a_member_type_s_renewal_terms_are_read(
    terms: str, window: int | None, period: int | None
) -> None:
    policy = read_policy(tomllib.loads(RENEWAL_TERMS + terms))
    student = policy.member_types["STUDENT"]
    assert (student.renewal_window_days, student.renewal_period_days) == (window, period)


def test_every_error_in_the_renewal_terms_is_reported_at_once() -> None:
    problems = problems_of(
        RENEWAL_TERMS
        + """
        renewal_window_days = -1
        renewal_period_days = "a year"
        [member_types.ADULT]
        renewal_windows_days = 30
        renewal_period_days = 365.0
        [member_types.CHILD]
        renewal_window_days = true
        renewal_period = 365
        """
    )
    assert problems == [
        "member_types.STUDENT.renewal_window_days: must be >= 0, got -1",
        "member_types.STUDENT.renewal_period_days: must be a whole number, got 'a year'",
        "member_types.ADULT.renewal_windows_days: unknown key; did you mean 'renewal_window_days'?",
        "member_types.ADULT.renewal_period_days: must be a whole number, got 365.0",
        "member_types.CHILD.renewal_period: unknown key; did you mean 'renewal_period_days'?",
        "member_types.CHILD.renewal_window_days: must be a whole number, got true",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "",
            [
                "member_types: no member types are defined; nobody could borrow",
                "publication_types: no publication types are defined; nothing could be lent",
            ],
        ),
        (
            "[member_types.A]\n[publication_types.B]\n",
            ["privileges: no privileges are defined; nobody could borrow"],
        ),
    ],
)
def test_a_policy_that_could_lend_nothing_is_refused(text: str, expected: list[str]) -> None:
    assert problems_of(text) == expected


def test_toml_dates_and_text_dates_are_both_accepted() -> None:
    policy = read_policy(
        tomllib.loads(
            """
            [member_types.A]
            no_issue_after = 2027-06-30
            [publication_types.B]
            no_issue_after = "2027-07-31"
            [[privileges]]
            member_type = "A"
            publication_type = "B"
            days = 7
            [calendar]
            closed_dates = [2026-12-25, "2026-12-26"]
            """
        )
    )
    assert policy.lending_cap("A", "B") == d("2027-06-30")
    assert policy.calendar.closed_dates == {d("2026-12-25"), d("2026-12-26")}


def test_advisories_point_out_what_staff_probably_did_not_mean() -> None:
    policy = read_policy(
        tomllib.loads(
            """
            [member_types.A]
            [member_types.NOBODY]
            quota = 0
            [member_types.FORGOTTEN]
            [member_types.WINDOW_ONLY]
            renewal_window_days = 30
            [member_types.NO_EXTENSION]
            renewal_window_days = 30
            renewal_period_days = 0
            [publication_types.B]
            [publication_types.ORPHAN]
            [[privileges]]
            member_type = "A"
            publication_type = "B"
            days = 7
            hours = 2
            [[privileges]]
            member_type = "WINDOW_ONLY"
            publication_type = "B"
            days = 7
            [[privileges]]
            member_type = "NO_EXTENSION"
            publication_type = "B"
            days = 7
            """
        )
    )
    assert advisories(policy) == [
        "member type FORGOTTEN has no privileges: its members can borrow nothing",
        "member type WINDOW_ONLY: renewal_window_days is ignored because renewal_period_days "
        "is not set (only staff can renew, choosing the new expiry)",
        "member type NO_EXTENSION: renewal_period_days = 0, so a renewal extends nothing "
        "(an expired membership is renewed to end today)",
        "publication type ORPHAN has no privileges: nobody can borrow it",
        "privilege A x B: hours = 2 is ignored because days = 7 (hours apply only to short loans, days = 0)",
    ]


@pytest.mark.parametrize(
    ("notices", "days"),
    [
        ("", (1, 7, 14)),
        ("[notices]\n", (1, 7, 14)),
        ("[notices]\noverdue_days = [3]\n", (3,)),
        ("[notices]\noverdue_days = [2, 9, 30]\n", (2, 9, 30)),
        ("[notices]\noverdue_days = []\n", ()),
    ],
    ids=["left-out", "empty-table", "one", "three", "none"],
)
def test_the_days_the_overdue_notices_go_are_read(notices: str, days: tuple[int, ...]) -> None:
    assert read_policy(tomllib.loads(RENEWAL_TERMS + notices)).overdue_notice_days == days


@pytest.mark.parametrize(
    ("notices", "expected"),
    [
        (
            '[notices]\noverdue_days = [0, "a week", true, 400]\n',
            [
                "notices.overdue_days[0]: must be a number of days after the due date, "
                "1 to 365, got 0",
                "notices.overdue_days[1]: must be a number of days after the due date, "
                "1 to 365, got 'a week'",
                "notices.overdue_days[2]: must be a number of days after the due date, "
                "1 to 365, got true",
                "notices.overdue_days[3]: must be a number of days after the due date, "
                "1 to 365, got 400",
            ],
        ),
        (
            "[notices]\noverdue_days = [1, 2, 3, 4]\n",
            ["notices.overdue_days: at most 3 overdue notices, got 4"],
        ),
        (
            "[notices]\noverdue_days = [7, 1]\n",
            ["notices.overdue_days: the days must rise, each after the one before, got [7, 1]"],
        ),
        (
            "[notices]\noverdue_days = [3, 3]\n",
            ["notices.overdue_days: the days must rise, each after the one before, got [3, 3]"],
        ),
    ],
    ids=["out-of-range-or-not-days", "four", "falling", "twice"],
)
def test_every_mistake_in_the_overdue_notice_days_is_reported(
    notices: str, expected: list[str]
) -> None:
    assert problems_of(RENEWAL_TERMS + notices) == expected


def test_notices_that_are_no_table_or_have_a_misspelt_key_are_reported() -> None:
    assert problems_of("notices = 5\n" + RENEWAL_TERMS) == [
        "notices: must be a table of keys and values, got 5"
    ]
    assert problems_of(RENEWAL_TERMS + "[notices]\noverdue_day = [1]\n") == [
        "notices.overdue_day: unknown key; did you mean 'overdue_days'?"
    ]
