"""Renewals (a new period from now, no quotas, fines accrued so far) and fault charges."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk.rules import (
    Due,
    FaultCharge,
    Item,
    Loan,
    MemberType,
    Patron,
    Privilege,
    PublicationType,
    assess_fault,
    decide_renewal,
)

from .helpers import NOW, D, assert_allowed, assert_refused, assert_refused_only, at, d, policy

STUDENT = MemberType("STUDENT", "Student", quota=1, fine_limit=D("5.00"))
BASE = policy(
    member_types=[STUDENT],
    publication_types=[PublicationType("FICTION", "Fiction", quota=1)],
    privileges=[
        Privilege("STUDENT", "FICTION", quota=1, days=14, days_grace=1, fine=D("0.50"), renewals=2)
    ],
)
PATRON = Patron("P1", "STUDENT", expires=d("2027-06-30"))
LOAN = Loan("STUDENT", Due.end_of(d("2026-11-30")), renewals=0)
ITEM = Item("FICTION", status="on_loan")


def test_a_renewal_is_a_new_period_from_now_and_ignores_quotas() -> None:
    decision = decide_renewal(BASE, PATRON, LOAN, ITEM, NOW)
    assert_allowed(decision, due="2026-12-07")
    assert decision.fine == D("0.00")


@pytest.mark.parametrize(
    ("patron", "loan", "item", "reason"),
    [
        pytest.param({"barred": True}, {}, {}, "patron_barred", id="barred"),
        pytest.param({"expires": d("2026-11-22")}, {}, {}, "membership_expired", id="expired"),
        pytest.param({"owed": D("5.50")}, {}, {}, "fines_owed", id="fines"),
        pytest.param({}, {}, {"holds": ("P7",)}, "on_hold_for_other", id="held-for-another"),
        pytest.param({}, {}, {"holds": ("P1", "P7")}, "on_hold_for_other", id="anyone-in-queue"),
        pytest.param({}, {"renewals": 2}, {}, "renewal_limit", id="renewed-the-limit"),
    ],
)
def test_renewal_refusals(
    patron: dict[str, object], loan: dict[str, object], item: dict[str, object], reason: str
) -> None:
    decision = decide_renewal(
        BASE,
        replace(PATRON, **patron),  # type: ignore[arg-type]
        replace(LOAN, **loan),  # type: ignore[arg-type]
        replace(ITEM, **item),  # type: ignore[arg-type]
        NOW,
    )
    assert_refused_only(decision, reason)
    assert decision.fine == D("0.00"), "a refused renewal charges nothing"


def test_only_the_patron_s_own_hold_does_not_block_a_renewal() -> None:
    decision = decide_renewal(BASE, PATRON, LOAN, replace(ITEM, holds=("P1",)), NOW)
    assert_allowed(decision, due="2026-12-07")


@pytest.mark.parametrize(
    ("limit", "renewed", "allowed"),
    [(None, 99, True), (0, 0, False), (2, 1, True), (2, 2, False)],
    ids=["blank-no-limit", "zero-never", "one-left", "used-up"],
)
def test_renewal_limit(limit: int | None, renewed: int, allowed: bool) -> None:
    base = policy(privileges=[Privilege("STUDENT", "FICTION", days=7, renewals=limit)])
    decision = decide_renewal(base, PATRON, replace(LOAN, renewals=renewed), ITEM, NOW)
    if allowed:
        assert_allowed(decision, due="2026-11-30")
    else:
        assert_refused_only(decision, "renewal_limit")
        assert str(limit) in decision.refusals[0].message


def test_no_privilege_any_more_refuses_a_renewal() -> None:
    base = policy(member_types=[STUDENT], publication_types=[PublicationType("FICTION", "Fiction")])
    assert_refused_only(decide_renewal(base, PATRON, LOAN, ITEM, NOW), "no_privilege")


def test_renewal_is_capped_and_refused_by_no_issue_after() -> None:
    capped = policy(
        member_types=[MemberType("STUDENT", "Student", no_issue_after=d("2026-12-01"))],
        privileges=[Privilege("STUDENT", "FICTION", days=14)],
    )
    assert_allowed(decide_renewal(capped, PATRON, LOAN, ITEM, NOW), due="2026-12-01")
    passed = policy(
        member_types=[MemberType("STUDENT", "Student", no_issue_after=d("2026-11-22"))],
        privileges=[Privilege("STUDENT", "FICTION", days=14)],
    )
    assert_refused(decide_renewal(passed, PATRON, LOAN, ITEM, NOW), reason="no_issue_after")


def test_renewing_an_overdue_loan_charges_the_fine_accrued_so_far() -> None:
    overdue = replace(LOAN, due=Due.end_of(d("2026-11-13")))  # 10 days late, 1 day grace
    decision = decide_renewal(BASE, PATRON, overdue, ITEM, NOW)
    assert_allowed(decision, due="2026-12-07")
    assert decision.fine == D("4.50")


def test_a_short_loan_renews_for_its_hours_from_now() -> None:
    base = policy(privileges=[Privilege("STUDENT", "REFERENCE", days=0, hours=4, renewals=1)])
    loan = Loan("STUDENT", Due.at_time(at("2026-11-23T11:00")))
    decision = decide_renewal(base, PATRON, loan, Item("REFERENCE"), at("2026-11-23T10:30"))
    assert_allowed(decision, due="2026-11-23T14:30")


def test_the_renewal_follows_the_patron_s_current_member_type() -> None:
    base = policy(
        privileges=[
            Privilege("STUDENT", "FICTION", days=14),
            Privilege("ADULT", "FICTION", days=21),
        ]
    )
    graduated = replace(PATRON, member_type="ADULT")
    assert_allowed(decide_renewal(base, graduated, LOAN, ITEM, NOW), due="2026-12-14")


DAMAGED = FaultCharge("DAMAGED", "Damaged item", D("25.00"), "damaged")
LOST = FaultCharge("LOST", "Lost item", D("40.00"), "lost")


@pytest.mark.parametrize(
    ("charge", "price", "expected", "status"),
    [
        ("DAMAGED", "19.99", "19.99", "damaged"),
        ("DAMAGED", "30.00", "25.00", "damaged"),
        ("DAMAGED", "25.00", "25.00", "damaged"),
        ("DAMAGED", "0.00", "25.00", "damaged"),
        ("LOST", "12.00", "12.00", "lost"),
        ("LOST", "0.00", "40.00", "lost"),
    ],
)
def test_fault_charge_is_reduced_to_a_non_zero_price(
    charge: str, price: str, expected: str, status: str
) -> None:
    base = policy(fault_charges=[DAMAGED, LOST])
    outcome = assess_fault(base, charge, Item("FICTION", price=D(price)))
    assert (str(outcome.charge), outcome.item_status) == (expected, status)
