"""Checkout: every refusal reason, its boundaries, and the seed's quota example."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from kiosk.rules import (
    Item,
    MemberType,
    Patron,
    Policy,
    Privilege,
    PublicationType,
    decide_checkout,
    standing_refusals,
)

from .helpers import NOW, D, assert_allowed, assert_refused_only, d, policy

STUDENT = MemberType("STUDENT", "Student", quota=4, fine_limit=D("5.00"))
FICTION = PublicationType("FICTION", "Fiction")
FICTION_PRIVILEGE = Privilege("STUDENT", "FICTION", quota=3, days=14)
BASE = policy(member_types=[STUDENT], publication_types=[FICTION], privileges=[FICTION_PRIVILEGE])
PATRON = Patron("P1", "STUDENT", expires=d("2027-06-30"))
ITEM = Item("FICTION")
DUE_IN_14_DAYS = "2026-12-07"


def test_an_ordinary_checkout_is_due_after_the_loan_period() -> None:
    assert_allowed(decide_checkout(BASE, PATRON, [], ITEM, NOW), due=DUE_IN_14_DAYS)


REFUSALS = [
    pytest.param({"barred": True}, [], {}, "patron_barred", id="barred"),
    pytest.param(
        {"expires": d("2026-11-22")}, [], {}, "membership_expired", id="expired-yesterday"
    ),
    pytest.param({"owed": D("5.01")}, [], {}, "fines_owed", id="owes-more-than-limit"),
    pytest.param({}, [], {"status": "on_loan"}, "item_unavailable", id="already-on-loan"),
    pytest.param({}, [], {"status": "lost"}, "item_unavailable", id="lost"),
    pytest.param({}, [], {"holds": ("P7",)}, "on_hold_for_other", id="held-for-another"),
    pytest.param({}, [], {"holds": ("P7", "P1")}, "on_hold_for_other", id="patron-second-in-queue"),
    pytest.param({}, ["FICTION"] * 3, {}, "privilege_quota", id="privilege-quota-reached"),
    pytest.param(
        {}, ["FICTION", "FICTION", "OTHER", "OTHER"], {}, "member_type_quota", id="member-quota"
    ),
]


@pytest.mark.parametrize(("patron", "held", "item", "reason"), REFUSALS)
def test_each_reason_refuses_on_its_own(
    patron: dict[str, Any], held: list[str], item: dict[str, Any], reason: str
) -> None:
    base = policy(
        member_types=[STUDENT],
        publication_types=[FICTION, PublicationType("OTHER", "Other")],
        privileges=[FICTION_PRIVILEGE, Privilege("STUDENT", "OTHER", days=7)],
    )
    decision = decide_checkout(
        base,
        replace(PATRON, **patron),
        held,
        replace(ITEM, **item),
        NOW,
    )
    assert_refused_only(decision, reason)


ALLOWED_AT_THE_EDGE = [
    pytest.param({"expires": d("2026-11-23")}, [], {}, id="expires-today"),
    pytest.param({"expires": None}, [], {}, id="never-expires"),
    pytest.param({"owed": D("5.00")}, [], {}, id="owes-exactly-the-limit"),
    pytest.param({}, [], {"holds": ("P1", "P7")}, id="own-hold-first-in-queue"),
    pytest.param({}, ["FICTION"] * 2, {}, id="one-below-privilege-quota"),
    pytest.param({}, ["FICTION"] * 2 + ["OTHER"], {}, id="one-below-member-quota"),
]


@pytest.mark.parametrize(("patron", "held", "item"), ALLOWED_AT_THE_EDGE)
def test_boundaries_that_still_lend(
    patron: dict[str, Any], held: list[str], item: dict[str, Any]
) -> None:
    base = policy(
        member_types=[STUDENT],
        publication_types=[FICTION, PublicationType("OTHER", "Other")],
        privileges=[FICTION_PRIVILEGE],
    )
    decision = decide_checkout(
        base,
        replace(PATRON, **patron),
        held,
        replace(ITEM, **item),
        NOW,
    )
    assert_allowed(decision, due=DUE_IN_14_DAYS)


def test_no_privilege_for_the_pair_refuses() -> None:
    base = policy(
        member_types=[STUDENT],
        publication_types=[FICTION, PublicationType("DVD", "DVD")],
        privileges=[FICTION_PRIVILEGE],
    )
    decision = decide_checkout(base, PATRON, [], Item("DVD"), NOW)
    assert_refused_only(decision, "no_privilege")
    assert decision.refusals[0].message == "Student members can't borrow DVD items."


QUOTA_LIMITS = [(None, 50, True), (0, 0, False), (1, 0, True), (2, 1, True), (2, 2, False)]
QUOTA_IDS = ["blank-no-limit", "zero-none-at-all", "one-with-none", "below", "reached"]


def quota_policy(kind: str, quota: int | None) -> Policy:
    """A policy whose only limit is ``quota``, set at the level of ``kind``."""
    return policy(
        member_types=[
            MemberType("STUDENT", "Student", quota=quota if kind == "member_type" else None)
        ],
        publication_types=[
            PublicationType(
                "FICTION", "Fiction", quota=quota if kind == "publication_type" else None
            ),
            PublicationType("DVD", "DVD"),
        ],
        privileges=[
            Privilege("STUDENT", "FICTION", quota=quota if kind == "privilege" else None, days=14)
        ],
    )


@pytest.mark.parametrize(("quota", "held", "allowed"), QUOTA_LIMITS, ids=QUOTA_IDS)
@pytest.mark.parametrize(
    ("kind", "held_type"),
    [
        ("privilege", "FICTION"),
        ("member_type", "DVD"),  # the member type's quota counts every publication type
        ("publication_type", "FICTION"),
    ],
)
def test_quota_zero_is_none_and_blank_is_no_limit(
    kind: str, held_type: str, quota: int | None, held: int, allowed: bool
) -> None:
    decision = decide_checkout(quota_policy(kind, quota), PATRON, [held_type] * held, ITEM, NOW)
    if allowed:
        assert_allowed(decision, due=DUE_IN_14_DAYS)
    else:
        assert_refused_only(decision, f"{kind}_quota")


def test_other_publication_types_do_not_count_against_a_type_quota() -> None:
    for kind in ("privilege", "publication_type"):
        decision = decide_checkout(quota_policy(kind, 1), PATRON, ["DVD"] * 5, ITEM, NOW)
        assert_allowed(decision, due=DUE_IN_14_DAYS)


def test_seed_student_quota_of_4_beats_the_fiction_privilege_of_3() -> None:
    """The seed: 2 Non Fiction and 2 Fiction on loan; a 3rd Fiction is refused for the
    member type's quota although the Fiction privilege alone would allow it."""
    base = policy(
        member_types=[STUDENT],
        privileges=[
            Privilege("STUDENT", "NONFICTION", quota=2, days=14),
            Privilege("STUDENT", "FICTION", quota=3, days=14),
        ],
    )
    decision = decide_checkout(base, PATRON, ["NONFICTION"] * 2 + ["FICTION"] * 2, ITEM, NOW)
    assert_refused_only(decision, "member_type_quota")
    assert decision.refusals[0].message == (
        "You already have 4 items, the most a Student may borrow."
    )


def test_every_reason_that_applies_is_reported_in_the_contract_order() -> None:
    base = policy(
        member_types=[MemberType("STUDENT", "Student", quota=1, fine_limit=D("1.00"))],
        publication_types=[
            PublicationType("FICTION", "Fiction", quota=1, no_issue_after=d("2026-11-01"))
        ],
        privileges=[Privilege("STUDENT", "FICTION", quota=1, days=14)],
    )
    patron = Patron("P1", "STUDENT", expires=d("2026-01-01"), barred=True, owed=D("3.00"))
    item = Item("FICTION", status="on_loan", holds=("P9",))
    decision = decide_checkout(base, patron, ["FICTION"], item, NOW)
    assert_refused_only(
        decision,
        "patron_barred",
        "membership_expired",
        "fines_owed",
        "item_unavailable",
        "on_hold_for_other",
        "privilege_quota",
        "member_type_quota",
        "publication_type_quota",
        "no_issue_after",
    )


def test_no_privilege_and_a_passed_cap_are_both_reported() -> None:
    base = policy(
        member_types=[MemberType("STUDENT", "Student", no_issue_after=d("2026-11-22"))],
        publication_types=[FICTION],
    )
    assert_refused_only(
        decide_checkout(base, PATRON, [], ITEM, NOW), "no_privilege", "no_issue_after"
    )


def test_fines_are_never_refused_without_a_fine_limit() -> None:
    base = policy(privileges=[Privilege("STUDENT", "FICTION", days=14)])
    patron = replace(PATRON, owed=D("999.99"))
    assert_allowed(decide_checkout(base, patron, [], ITEM, NOW), due=DUE_IN_14_DAYS)


def test_refusal_sentences_name_the_limit_and_the_types() -> None:
    base = policy(
        member_types=[MemberType("STUDENT", "Student", quota=0)],
        publication_types=[PublicationType("FICTION", "Fiction", quota=0)],
        privileges=[Privilege("STUDENT", "FICTION", quota=0, days=14)],
    )
    decision = decide_checkout(base, replace(PATRON, expires=d("2026-06-30")), [], ITEM, NOW)
    messages = [refusal.message for refusal in decision.refusals]
    assert messages == [
        "Your membership ended on 30 June 2026. Please renew it at the desk.",
        "Student members can't borrow Fiction items.",
        "Student members can't borrow items from this kiosk.",
        "Fiction items can't be borrowed.",
    ]
    quota_one = policy(
        publication_types=[PublicationType("FICTION", "Fiction", quota=1)],
        privileges=[Privilege("STUDENT", "FICTION", quota=1, days=14)],
    )
    messages = [
        r.message for r in decide_checkout(quota_one, PATRON, ["FICTION"], ITEM, NOW).refusals
    ]
    assert messages == [
        "You already have 1 Fiction item, the most a STUDENT may borrow.",
        "You already have 1 Fiction item, the most anyone may borrow.",
    ]


@pytest.mark.parametrize(
    ("pending_loans", "held", "allowed"),
    [
        pytest.param(None, ["FICTION"] * 2, True, id="approved member"),
        pytest.param(0, [], False, id="pending, may borrow nothing"),
        pytest.param(2, ["FICTION"], True, id="pending, under its limit"),
        pytest.param(2, ["FICTION"] * 2, False, id="pending, at its limit"),
        pytest.param(1, ["FICTION"], False, id="pending, one at most"),
    ],
)
def test_a_pending_registration_borrows_only_what_the_library_allows_it(
    pending_loans: int | None, held: list[str], allowed: bool
) -> None:
    patron = replace(PATRON, pending_loans=pending_loans)
    decision = decide_checkout(BASE, patron, held, ITEM, NOW)
    if allowed:
        assert_allowed(decision, due=DUE_IN_14_DAYS)
    else:
        assert_refused_only(decision, "registration_pending")
        assert "approve" in decision.refusals[0].message
    # Standing: nothing at all may be borrowed when the limit is none.
    assert bool(standing_refusals(BASE, patron, NOW.date())) == (pending_loans == 0)
