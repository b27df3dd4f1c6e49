"""Holds on titles (the contract's round 2): trapping a returned copy, who may borrow a
trapped or untrapped copy, whose title hold a checkout fulfils, and renewals.

Ada, Ben and Cleo are patrons; "Ben's title hold" is a hold on the copy's catalogue
record ("the next copy of this book"), "Ada's item hold" one on this copy.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from kiosk.rules import (
    Due,
    Item,
    Loan,
    MemberType,
    Patron,
    Privilege,
    PublicationType,
    Route,
    assess_return,
    decide_checkout,
    decide_renewal,
    trap_for,
)

from .helpers import NOW, D, assert_allowed, assert_refused_only, d, policy

BASE = policy(
    member_types=[MemberType("ADULT", "Adult")],
    publication_types=[PublicationType("BOOK", "Book")],
    privileges=[Privilege("ADULT", "BOOK", days=14, fine=D("0.50"), renewals=3)],
)
ADA, BEN, CLEO = "Ada", "Ben", "Cleo"
COPY = Item("BOOK")
DUE_IN_14_DAYS = "2026-12-07"


def patron(patron_id: str) -> Patron:
    return Patron(patron_id, "ADULT", expires=d("2027-06-30"))


# id, the copy's holds, who asks, whether they may borrow it, whether it fulfils their title hold
CHECKOUTS = [
    pytest.param(
        {"trapped_for": BEN}, ADA, False, False, id="a-copy-trapped-for-ben-is-refused-to-ada"
    ),
    pytest.param(
        {"trapped_for": BEN}, BEN, True, False, id="a-copy-trapped-for-ben-is-lent-to-him"
    ),
    pytest.param(
        {"trapped_for": BEN, "title_holds": (CLEO,)},
        CLEO,
        False,
        False,
        id="a-copy-trapped-for-ben-is-refused-to-the-next-title-hold",
    ),
    pytest.param(
        {"trapped_for": ADA, "holds": (ADA, CLEO)},
        ADA,
        True,
        False,
        id="a-copy-trapped-for-ada-s-item-hold-is-lent-to-her",
    ),
    pytest.param(
        {"title_holds": (BEN, CLEO)},
        ADA,
        True,
        False,
        id="an-untrapped-copy-with-a-title-queue-is-lent-to-anyone",
    ),
    pytest.param(
        {"title_holds": (BEN, CLEO)},
        BEN,
        True,
        True,
        id="an-untrapped-copy-lent-to-the-first-title-hold-fulfils-it",
    ),
    pytest.param(
        {"title_holds": (BEN, CLEO)},
        CLEO,
        True,
        False,
        id="an-untrapped-copy-lent-to-the-second-leaves-her-title-hold-waiting",
    ),
    pytest.param(
        {"holds": (ADA,), "title_holds": (BEN,)},
        ADA,
        True,
        False,
        id="ada-s-item-hold-on-the-copy-comes-before-ben-s-title-hold",
    ),
    pytest.param(
        {"holds": (ADA,), "title_holds": (BEN,)},
        BEN,
        False,
        False,
        id="ben-first-for-the-title-is-refused-a-copy-ada-holds",
    ),
    pytest.param(
        {"holds": (ADA,), "title_holds": (ADA,)},
        ADA,
        True,
        True,
        id="ada-first-in-both-queues-fulfils-both",
    ),
    pytest.param(
        {"trapped_for": BEN, "holds": (ADA,)},
        ADA,
        False,
        False,
        id="trapped-for-ben-with-ada-s-item-hold-refuses-ada",
    ),
    pytest.param(
        {"trapped_for": BEN, "holds": (ADA,)},
        BEN,
        False,
        False,
        id="trapped-for-ben-with-ada-s-item-hold-refuses-ben-too",
    ),
]


@pytest.mark.parametrize(("holds", "borrower", "lent", "fulfils"), CHECKOUTS)
def test_who_may_borrow_a_copy_and_whose_title_hold_it_fulfils(
    holds: dict[str, Any], borrower: str, lent: bool, fulfils: bool
) -> None:
    decision = decide_checkout(BASE, patron(borrower), [], replace(COPY, **holds), NOW)
    if lent:
        assert_allowed(decision, due=DUE_IN_14_DAYS)
    else:
        assert_refused_only(decision, "on_hold_for_other")
    assert decision.fulfils_title_hold is fulfils


def test_a_refused_checkout_fulfils_no_title_hold() -> None:
    """Ben is first for the title, but the copy he picked up is still on loan."""
    copy = replace(COPY, status="on_loan", title_holds=(BEN,))
    decision = decide_checkout(BASE, patron(BEN), [], copy, NOW)
    assert_refused_only(decision, "item_unavailable")
    assert decision.fulfils_title_hold is False


def test_a_copy_without_title_holds_answers_as_before() -> None:
    decision = decide_checkout(BASE, patron(ADA), [], COPY, NOW)
    assert_allowed(decision, due=DUE_IN_14_DAYS)
    assert decision.fulfils_title_hold is False


LOAN = Loan("ADULT", Due.end_of(d("2026-11-20")))  # three days late: 1.50

# id, the copy's holds as it comes back, where it goes, whom it waits for
RETURNS = [
    pytest.param({}, Route.SHELF, None, id="no-one-waits-back-to-the-shelf"),
    pytest.param(
        {"title_holds": (BEN, CLEO)},
        Route.HOLD_SHELF,
        BEN,
        id="a-title-queue-traps-the-copy-for-its-first",
    ),
    pytest.param(
        {"holds": (ADA,), "title_holds": (BEN,)},
        Route.HOLD_SHELF,
        ADA,
        id="an-item-hold-on-the-copy-comes-before-the-title-queue",
    ),
    pytest.param(
        {"holds": (ADA, CLEO)}, Route.HOLD_SHELF, ADA, id="an-item-hold-queue-alone-as-before"
    ),
    pytest.param(
        {"trapped_for": BEN, "holds": (ADA,)},
        Route.HOLD_SHELF,
        BEN,
        id="a-copy-already-trapped-for-ben-stays-his",
    ),
]


@pytest.mark.parametrize(("holds", "route", "trapped_for"), RETURNS)
def test_a_returned_copy_is_trapped_for_the_first_who_waits_for_it(
    holds: dict[str, Any], route: Route, trapped_for: str | None
) -> None:
    copy = replace(COPY, status="on_loan", **holds)
    outcome = assess_return(BASE, LOAN, copy, NOW)
    assert (outcome.route, outcome.trapped_for) == (route, trapped_for)
    assert outcome.fine == D("1.50"), "holds never change the fine"
    assert trap_for(copy) == trapped_for, "a staff trap picks the same patron"


@pytest.mark.parametrize("status", ["damaged", "withdrawn", "in_repair"])
def test_a_copy_that_cannot_be_lent_is_trapped_for_no_title_hold(status: str) -> None:
    """A damaged copy coming back, or a withdrawn one checked in, goes back to the shelf
    (staff's): Ben's title hold waits for a copy he can borrow. Ada's item hold on the
    copy itself is hers to see to, as before."""
    copy = replace(COPY, status=status, title_holds=(BEN,))
    outcome = assess_return(BASE, LOAN, copy, NOW)
    assert (outcome.route, outcome.trapped_for) == (Route.SHELF, None)
    assert trap_for(copy) is None
    assert trap_for(replace(copy, holds=(ADA,))) == ADA
    assert trap_for(replace(copy, status="available")) == BEN


def test_a_return_whose_privilege_was_withdrawn_is_still_trapped() -> None:
    withdrawn = policy(
        member_types=[MemberType("ADULT", "Adult")],
        publication_types=[PublicationType("BOOK", "Book")],
    )
    copy = replace(COPY, status="on_loan", title_holds=(BEN,))
    outcome = assess_return(withdrawn, LOAN, copy, NOW)
    assert (outcome.route, outcome.trapped_for, outcome.fine) == (
        Route.HOLD_SHELF,
        BEN,
        D("0.00"),
    )


# id, the copy's holds while Ada has it on loan, whether Ada may renew
RENEWALS = [
    pytest.param({"title_holds": (BEN,)}, False, id="refused-when-ben-waits-for-the-title"),
    pytest.param({"title_holds": (ADA,)}, True, id="allowed-when-ada-alone-waits-for-the-title"),
    pytest.param(
        {"title_holds": (ADA, BEN)}, False, id="refused-when-ben-waits-behind-ada-for-the-title"
    ),
    pytest.param(
        {"holds": (ADA,), "title_holds": (ADA,)}, True, id="allowed-when-only-ada-holds-anything"
    ),
    pytest.param(
        {"holds": (BEN,), "title_holds": (ADA,)}, False, id="refused-when-ben-holds-the-copy"
    ),
    pytest.param({"trapped_for": BEN}, False, id="refused-when-trapped-for-ben"),
    pytest.param({"trapped_for": ADA}, True, id="allowed-when-trapped-for-ada"),
]


@pytest.mark.parametrize(("holds", "renewed"), RENEWALS)
def test_a_renewal_is_refused_while_another_patron_waits_for_the_copy_or_its_title(
    holds: dict[str, Any], renewed: bool
) -> None:
    copy = replace(COPY, status="on_loan", **holds)
    decision = decide_renewal(BASE, patron(ADA), LOAN, copy, NOW)
    if renewed:
        assert_allowed(decision, due=DUE_IN_14_DAYS)
        assert decision.fine == D("1.50")
    else:
        assert_refused_only(decision, "on_hold_for_other")
        assert decision.fine == D("0.00")
