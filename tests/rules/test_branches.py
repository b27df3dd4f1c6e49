"""Returns that route across branches (issue 21): a copy returned away from its home
branch, with no one waiting for it, is sent home; at home, or where no branch is known,
it goes back on the shelf; a hold always comes first, and a copy trapped for a patron
who collects at another branch is sent there. And ``kiosk policy evaluate``'s
``branch``, ``item.home_branch`` and ``item.pickups``.

The library has three branches: MAIN, NORTH and EAST. Ben waits for the title.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from kiosk.rules import (
    Due,
    InvalidPolicy,
    Item,
    Loan,
    MemberType,
    Privilege,
    PublicationType,
    Route,
    Routing,
    assess_return,
    route_return,
)
from kiosk.rules.scenario import evaluate, parse_scenario

from .helpers import NOW, D, d, policy
from .test_scenario import holding

BASE = policy(
    member_types=[MemberType("ADULT", "Adult")],
    publication_types=[PublicationType("BOOK", "Book")],
    privileges=[Privilege("ADULT", "BOOK", days=14, fine=D("0.50"))],
)
LOAN = Loan("ADULT", Due.end_of(d("2026-11-20")))  # three days late: 1.50
NORTH_COPY = Item("BOOK", status="on_loan", home_branch="NORTH")
BEN = "Ben"

# id, the copy as it comes back, the branch it comes back at, where it goes
ROUTES = [
    pytest.param({}, "MAIN", Routing(Route.TRANSFER, None, "NORTH"), id="away-from-home-sent-home"),
    pytest.param({}, "EAST", Routing(Route.TRANSFER, None, "NORTH"), id="any-other-branch-too"),
    pytest.param({}, "NORTH", Routing(Route.SHELF), id="at-home-back-on-the-shelf"),
    pytest.param({}, None, Routing(Route.SHELF), id="a-place-with-no-branch-shelves-it"),
    pytest.param({"home_branch": None}, "MAIN", Routing(Route.SHELF), id="no-known-home-shelved"),
    pytest.param(
        {"title_holds": (BEN,)},
        "MAIN",
        Routing(Route.HOLD_SHELF, BEN),
        id="a-title-hold-traps-it-where-it-is-returned",
    ),
    pytest.param(
        {"holds": ("Ada",)},
        "EAST",
        Routing(Route.HOLD_SHELF, "Ada"),
        id="an-item-hold-traps-it-where-it-is-returned",
    ),
    pytest.param(
        {"status": "damaged", "title_holds": (BEN,)},
        "MAIN",
        Routing(Route.TRANSFER, None, "NORTH"),
        id="a-damaged-copy-traps-no-title-hold-and-goes-home",
    ),
]


# Holds with a pickup branch: Ben collects at EAST. id, the copy as it comes back, the
# branch it comes back at, where it goes
PICKUPS = [
    pytest.param(
        {"title_holds": (BEN,), "pickups": {BEN: "EAST"}},
        "EAST",
        Routing(Route.HOLD_SHELF, BEN),
        id="returned-where-ben-collects-to-the-hold-shelf",
    ),
    pytest.param(
        {"title_holds": (BEN,), "pickups": {BEN: "EAST"}},
        "MAIN",
        Routing(Route.TRANSFER, BEN, "EAST"),
        id="returned-elsewhere-sent-to-ben-s-pickup-not-home",
    ),
    pytest.param(
        {"title_holds": (BEN,), "pickups": {BEN: "EAST"}},
        "NORTH",
        Routing(Route.TRANSFER, BEN, "EAST"),
        id="even-at-its-home-it-goes-to-the-pickup",
    ),
    pytest.param(
        {"holds": ("Ada",), "pickups": {"Ada": "MAIN"}},
        "EAST",
        Routing(Route.TRANSFER, "Ada", "MAIN"),
        id="an-item-hold-s-pickup-too",
    ),
    pytest.param(
        {"status": "in_transit", "trapped_for": BEN, "pickups": {BEN: "EAST"}},
        "EAST",
        Routing(Route.HOLD_SHELF, BEN),
        id="in-transit-arrives-at-the-pickup-and-is-ready",
    ),
    pytest.param(
        {"status": "in_transit", "trapped_for": BEN, "pickups": {BEN: "EAST"}},
        "MAIN",
        Routing(Route.TRANSFER, BEN, "EAST"),
        id="in-transit-checked-in-on-the-way-sent-on",
    ),
    pytest.param(
        {"title_holds": (BEN,)},
        "MAIN",
        Routing(Route.HOLD_SHELF, BEN),
        id="no-pickup-set-trapped-where-returned",
    ),
    pytest.param(
        {"title_holds": (BEN,), "pickups": {"Ada": "EAST"}},
        "MAIN",
        Routing(Route.HOLD_SHELF, BEN),
        id="another-patron-s-pickup-does-not-count",
    ),
    pytest.param(
        {"title_holds": (BEN,), "pickups": {BEN: "EAST"}},
        None,
        Routing(Route.HOLD_SHELF, BEN),
        id="a-place-with-no-branch-traps-it-there",
    ),
    pytest.param(
        {"title_holds": (BEN,), "pickups": {BEN: "MAIN"}, "home_branch": "MAIN"},
        "MAIN",
        Routing(Route.HOLD_SHELF, BEN),
        id="single-branch-library-always-the-hold-shelf",
    ),
    pytest.param(
        {"status": "damaged", "title_holds": (BEN,), "pickups": {BEN: "EAST"}},
        "MAIN",
        Routing(Route.TRANSFER, None, "NORTH"),
        id="a-damaged-copy-traps-no-one-and-goes-home",
    ),
]


@pytest.mark.parametrize(("change", "branch", "routing"), ROUTES + PICKUPS)
def test_a_returned_copy_is_routed_by_its_holds_then_its_home(
    change: dict[str, Any], branch: str | None, routing: Routing
) -> None:
    copy = replace(NORTH_COPY, **change)
    assert route_return(copy, branch) == routing
    outcome = assess_return(BASE, LOAN, copy, NOW, branch=branch)
    assert (outcome.route, outcome.trapped_for, outcome.destination) == (
        routing.route,
        routing.trapped_for,
        routing.destination,
    )
    assert outcome.fine == D("1.50"), "the route never changes the fine"


def test_a_return_without_a_branch_answers_as_before_branches() -> None:
    outcome = assess_return(BASE, LOAN, NORTH_COPY, NOW)
    assert (outcome.route, outcome.destination) == (Route.SHELF, None)


def test_a_transfer_whose_privilege_was_withdrawn_is_fined_nothing() -> None:
    withdrawn = policy(
        member_types=[MemberType("ADULT", "Adult")],
        publication_types=[PublicationType("BOOK", "Book")],
    )
    outcome = assess_return(withdrawn, LOAN, NORTH_COPY, NOW, branch="MAIN")
    assert (outcome.route, outcome.destination, outcome.fine) == (
        Route.TRANSFER,
        "NORTH",
        Decimal("0.00"),
    )


def evaluated(scenario: dict[str, Any]) -> dict[str, object]:
    return evaluate(parse_scenario(json.loads(json.dumps(scenario), parse_float=Decimal)))


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        pytest.param(
            {**holding("return", "P1", home_branch="NORTH"), "branch": "MAIN"},
            {"route": "transfer", "destination": "NORTH"},
            id="returned-away-from-home",
        ),
        pytest.param(
            {**holding("return", "P1", home_branch="NORTH"), "branch": "NORTH"},
            {"route": "shelf"},
            id="returned-at-home",
        ),
        pytest.param(
            {**holding("return", "P1", home_branch="NORTH", title_holds=["P7"]), "branch": "MAIN"},
            {"route": "hold_shelf"},
            id="returned-away-from-home-for-a-hold",
        ),
        pytest.param(
            holding("return", "P1", home_branch="NORTH"),
            {"route": "shelf"},
            id="no-branch-given-as-before",
        ),
        pytest.param(
            {
                **holding("return", "P1", title_holds=["P7"], pickups={"P7": "EAST"}),
                "branch": "MAIN",
            },
            {"route": "transfer", "destination": "EAST"},
            id="for-a-hold-collected-elsewhere",
        ),
        pytest.param(
            {
                **holding("return", "P1", title_holds=["P7"], pickups={"P7": "EAST"}),
                "branch": "EAST",
            },
            {"route": "hold_shelf"},
            id="for-a-hold-collected-here",
        ),
        pytest.param(
            {**holding("return", "P1", title_holds=["P7"], pickups={"P7": None}), "branch": "MAIN"},
            {"route": "hold_shelf"},
            id="a-null-pickup-is-none",
        ),
    ],
)
def test_policy_evaluate_answers_a_return_s_route_and_destination(
    scenario: dict[str, Any], expected: dict[str, object]
) -> None:
    assert evaluated(scenario) == {
        "action": "return",
        "overdue_days": 0,
        "chargeable_days": 0,
        "fine": "0.00",
        **expected,
    }


@pytest.mark.parametrize(
    ("scenario", "problem"),
    [
        pytest.param(
            {**holding("checkout", "P1"), "branch": "MAIN"},
            "branch: applies only to action 'return', not 'checkout'",
            id="branch-on-a-checkout",
        ),
        pytest.param(
            {**holding("return", "P1"), "branch": " "},
            "branch: must be non-blank text, got ' '",
            id="blank-branch",
        ),
        pytest.param(
            {**holding("return", "P1", home_branch=7), "branch": "MAIN"},
            "item.home_branch: must be non-blank text, got 7",
            id="home-branch-not-text",
        ),
        pytest.param(
            {**holding("return", "P1"), "brnach": "MAIN"},
            "brnach: unknown key; did you mean 'branch'?",
            id="misspelt-branch",
        ),
        pytest.param(
            {**holding("return", "P1", pickups=["EAST"]), "branch": "MAIN"},
            "item.pickups: must be a table keyed by code, got a list",
            id="pickups-a-list",
        ),
        pytest.param(
            {**holding("return", "P1", pickups={"P7": " "}), "branch": "MAIN"},
            "item.pickups.P7: must be non-blank text, got ' '",
            id="blank-pickup",
        ),
        pytest.param(
            {**holding("return", "P1", pickups={"P7": 3}), "branch": "MAIN"},
            "item.pickups.P7: must be non-blank text, got 3",
            id="pickup-not-text",
        ),
    ],
)
def test_policy_evaluate_refuses_a_malformed_branch_or_pickup(
    scenario: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidPolicy) as raised:
        evaluated(scenario)
    assert [str(found) for found in raised.value.problems] == [problem]
