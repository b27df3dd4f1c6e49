"""Builders and domain assertions for the lending-rules tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from kiosk.rules import (
    Calendar,
    CheckoutDecision,
    FaultCharge,
    MemberType,
    Policy,
    Privilege,
    PublicationType,
    RenewalDecision,
)

NOW = datetime(2026, 11, 23, 10, 0)  # a Monday


def d(text: str) -> date:
    return date.fromisoformat(text)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def D(text: str) -> Decimal:
    return Decimal(text)


def policy(
    *,
    member_types: Iterable[MemberType] = (),
    publication_types: Iterable[PublicationType] = (),
    privileges: Iterable[Privilege] = (),
    fault_charges: Iterable[FaultCharge] = (),
    calendar: Calendar | None = None,
) -> Policy:
    """A policy; member and publication types referenced by a privilege but not given
    are added with no restrictions, so each test states only what it is about."""
    members = {member.code: member for member in member_types}
    publications = {publication.code: publication for publication in publication_types}
    for privilege in privileges:
        members.setdefault(
            privilege.member_type, MemberType(privilege.member_type, privilege.member_type)
        )
        publications.setdefault(
            privilege.publication_type,
            PublicationType(privilege.publication_type, privilege.publication_type),
        )
    return Policy(
        member_types=members,
        publication_types=publications,
        privileges={(p.member_type, p.publication_type): p for p in privileges},
        fault_charges={charge.code: charge for charge in fault_charges},
        calendar=calendar or Calendar(),
    )


def assert_refused(decision: CheckoutDecision | RenewalDecision, *, reason: str) -> None:
    """``reason`` is among the refusals, the decision is a refusal, and there is no due date."""
    codes = [refusal.reason.value for refusal in decision.refusals]
    assert reason in codes, f"expected {reason!r} among {codes}"
    assert not decision.allowed
    assert decision.due is None
    for refusal in decision.refusals:
        assert refusal.message.strip(), f"{refusal.reason} has no sentence for the patron"
        assert "{" not in refusal.message, f"unfilled field in {refusal.message!r}"


def assert_refused_only(decision: CheckoutDecision | RenewalDecision, *reasons: str) -> None:
    assert [refusal.reason.value for refusal in decision.refusals] == list(reasons)
    for reason in reasons:
        assert_refused(decision, reason=reason)


def assert_allowed(decision: CheckoutDecision | RenewalDecision, *, due: str) -> None:
    codes = [refusal.reason.value for refusal in decision.refusals]
    assert decision.allowed, f"refused for {codes}"
    assert decision.due is not None
    assert decision.due.isoformat() == due
