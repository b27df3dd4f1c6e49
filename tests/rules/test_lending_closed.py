"""Whom a hold may be placed for: ``lending_closed`` says what stops every member of a
type borrowing any item of a publication type while the policy stands (no privilege, a
quota of 0 anywhere, lending closed by ``no_issue_after``), whatever they hold; a
patron refused for those alone could never collect a hold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kiosk.rules import (
    Item,
    MemberType,
    Patron,
    Policy,
    Privilege,
    PublicationType,
    Refusal,
    decide_checkout,
    lending_closed,
)

from .helpers import NOW, d, policy

TODAY = NOW.date()
OPEN = policy(
    member_types=[MemberType("ADULT", "Adult", quota=10)],
    publication_types=[PublicationType("DVD", "DVD", quota=5)],
    privileges=[Privilege("ADULT", "DVD", days=7, quota=2)],
)


def reasons_of(closed: tuple[Refusal, ...]) -> list[str]:
    return [refusal.reason.value for refusal in closed]


def test_a_type_that_may_borrow_is_not_closed_whatever_it_holds_now() -> None:
    assert lending_closed(OPEN, "ADULT", "DVD", TODAY) == ()
    # A privilege without a quota, and types without one, are open too.
    unlimited = policy(privileges=[Privilege("ADULT", "DVD", days=7)])
    assert lending_closed(unlimited, "ADULT", "DVD", TODAY) == ()


@pytest.mark.parametrize(
    ("closed", "member_type", "reasons", "sentence"),
    [
        pytest.param(
            policy(
                member_types=[MemberType("GRADE8", "Grade 8")],
                publication_types=[PublicationType("DVD", "DVD")],
            ),
            "GRADE8",
            ["no_privilege"],
            "Grade 8 members can't borrow DVD items.",
            id="no-privilege",
        ),
        pytest.param(
            policy(privileges=[Privilege("ADULT", "DVD", days=7, quota=0)]),
            "ADULT",
            ["privilege_quota"],
            "ADULT members can't borrow DVD items.",
            id="a-privilege-quota-of-0",
        ),
        pytest.param(
            policy(
                member_types=[MemberType("ADULT", "Adult", quota=0)],
                privileges=[Privilege("ADULT", "DVD", days=7)],
            ),
            "ADULT",
            ["member_type_quota"],
            "Adult members can't borrow items from this kiosk.",
            id="a-member-type-quota-of-0",
        ),
        pytest.param(
            policy(
                publication_types=[PublicationType("DVD", "DVD", quota=0)],
                privileges=[Privilege("ADULT", "DVD", days=7)],
            ),
            "ADULT",
            ["publication_type_quota"],
            "DVD items can't be borrowed.",
            id="a-publication-type-quota-of-0",
        ),
        pytest.param(
            policy(
                publication_types=[
                    PublicationType("DVD", "DVD", no_issue_after=TODAY - timedelta(days=1))
                ],
                privileges=[Privilege("ADULT", "DVD", days=7)],
            ),
            "ADULT",
            ["no_issue_after"],
            "Lending of this item has closed for now: loans had to be back by 22 November 2026.",
            id="lending-closed-by-no-issue-after",
        ),
    ],
)
def test_a_type_that_may_never_borrow_is_closed_and_says_why(
    closed: Policy, member_type: str, reasons: list[str], sentence: str
) -> None:
    found = lending_closed(closed, member_type, "DVD", TODAY)
    assert reasons_of(found) == reasons
    assert [refusal.message for refusal in found] == [sentence]


def test_every_reason_is_reported_and_each_is_what_a_checkout_reports() -> None:
    everything = policy(
        member_types=[MemberType("ADULT", "Adult", quota=0, no_issue_after=d("2026-11-01"))],
        publication_types=[PublicationType("DVD", "DVD", quota=0)],
        privileges=[Privilege("ADULT", "DVD", days=7, quota=0)],
    )
    closed = lending_closed(everything, "ADULT", "DVD", TODAY)
    assert reasons_of(closed) == [
        "privilege_quota",
        "member_type_quota",
        "publication_type_quota",
        "no_issue_after",
    ]
    checkout = decide_checkout(everything, Patron("P1", "ADULT"), (), Item("DVD"), NOW)
    assert all(refusal in checkout.refusals for refusal in closed)


def test_lending_closing_today_is_not_closed_yet() -> None:
    today = policy(
        publication_types=[PublicationType("DVD", "DVD", no_issue_after=TODAY)],
        privileges=[Privilege("ADULT", "DVD", days=7)],
    )
    assert lending_closed(today, "ADULT", "DVD", TODAY) == ()
