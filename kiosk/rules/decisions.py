"""The lending decisions of shared/docs/lending-rules.md: checkout, return, renewal, fault,
and membership renewal.

Pure functions of the policy, the facts and the moment ``now`` (the library's
local time, always passed in).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from kiosk.rules import reasons
from kiosk.rules.model import (
    AVAILABLE,
    END_OF_LENDING_DAY,
    Due,
    Item,
    Loan,
    MemberType,
    Patron,
    Policy,
    Privilege,
    PublicationType,
    money,
)
from kiosk.rules.reasons import Refusal


class Route(StrEnum):
    HOLD_SHELF = "hold_shelf"
    SHELF = "shelf"
    TRANSFER = "transfer"  # to another branch: ``destination`` says which


@dataclass(frozen=True, slots=True)
class Routing:
    """Where a copy passing through a return goes: the hold shelf (``trapped_for`` says
    for whom), the shelf, or a transfer to branch ``destination``: its home, or, with
    ``trapped_for`` set, the branch where that patron collects it."""

    route: Route
    trapped_for: str | None = None
    destination: str | None = None


@dataclass(frozen=True, slots=True)
class CheckoutDecision:
    """``fulfils_title_hold``: the checkout is allowed and the patron is first in the
    item's ``title_holds`` (the waiting, untrapped title holds on its record), so it
    fulfils their title hold: the caller marks that hold fulfilled. A hold the copy
    was trapped for (``Item.trapped_for`` is the patron) or the item-hold queue's
    first is fulfilled by the checkout as before, without this flag."""

    refusals: tuple[Refusal, ...]
    due: Due | None
    fulfils_title_hold: bool = False

    @property
    def allowed(self) -> bool:
        return not self.refusals


@dataclass(frozen=True, slots=True)
class ReturnOutcome:
    """``trapped_for``: the patron the returned copy now waits for, on the hold shelf
    (``route`` is ``hold_shelf``) or on its way to where they collect it (``route`` is
    ``transfer``), or None. ``destination``: the branch a copy routed ``transfer`` goes
    to (its home branch, or the patron's pickup branch), or None."""

    overdue_days: int
    chargeable_days: int
    fine: Decimal
    route: Route
    trapped_for: str | None = None
    destination: str | None = None


@dataclass(frozen=True, slots=True)
class RenewalDecision:
    refusals: tuple[Refusal, ...]
    due: Due | None
    fine: Decimal

    @property
    def allowed(self) -> bool:
        return not self.refusals


@dataclass(frozen=True, slots=True)
class MembershipRenewalDecision:
    """``expires``: the new expiry date when the renewal goes ahead; None when it is
    refused, and for a staff renewal the policy cannot date (the membership has no end
    date and keeps none, or the member type has no ``renewal_period_days``: staff
    choose the date)."""

    refusals: tuple[Refusal, ...]
    expires: date | None

    @property
    def allowed(self) -> bool:
        return not self.refusals


@dataclass(frozen=True, slots=True)
class FaultOutcome:
    charge: Decimal
    item_status: str


def human_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def standing_refusals(policy: Policy, patron: Patron, today: date) -> list[Refusal]:
    """What stops this patron borrowing anything at all."""
    refusals = []
    if patron.barred:
        refusals.append(reasons.patron_barred())
    if patron.expires is not None and patron.expires < today:
        refusals.append(reasons.membership_expired(human_date(patron.expires)))
    limit = policy.member_types[patron.member_type].fine_limit
    if limit is not None and patron.owed > limit:
        refusals.append(reasons.fines_owed(f"{money(patron.owed)}", f"{money(limit)}"))
    if patron.pending_loans == 0:
        refusals.append(reasons.registration_pending(0))
    return refusals


def _loan_period(
    policy: Policy, privilege: Privilege, cap: date | None, now: datetime
) -> Due | Refusal:
    """When a loan starting ``now`` falls due, or why no due date is possible.

    The caller has already refused a cap that lies before today.
    """
    if privilege.is_short_loan:
        due_at = now + timedelta(hours=privilege.hours)
        if cap is not None and due_at.date() > cap:
            due_at = datetime.combine(cap, END_OF_LENDING_DAY)
        return Due.at_time(due_at)
    calendar = policy.calendar
    due = now.date() + timedelta(days=privilege.days)
    if cap is not None and due > cap:
        due = cap
    due = calendar.next_open_day(due)
    if cap is not None and due > cap:
        last_open = calendar.last_open_day(cap, earliest=now.date())
        if last_open is None:
            return reasons.no_open_day_before(human_date(cap))
        due = last_open
    return Due.end_of(due)


def _new_due(
    policy: Policy,
    privilege: Privilege | None,
    member_type: str,
    publication_type: str,
    *,
    now: datetime,
    refusals: list[Refusal],
) -> Due | None:
    """The due date of a new loan period, appending to ``refusals`` when there is none."""
    cap = policy.lending_cap(member_type, publication_type)
    if cap is not None and cap < now.date():
        refusals.append(reasons.no_issue_after(human_date(cap)))
        return None
    if privilege is None:
        return None
    outcome = _loan_period(policy, privilege, cap, now)
    if isinstance(outcome, Refusal):
        refusals.append(outcome)
        return None
    return outcome


def decide_checkout(
    policy: Policy,
    patron: Patron,
    held: Sequence[str],
    item: Item,
    now: datetime,
) -> CheckoutDecision:
    """May ``patron``, who holds loans of the publication types ``held``, borrow ``item``?

    Every reason that applies is reported, in the contract's order. Title holds
    waiting for the item's record do not stop an available, untrapped copy being
    lent to anyone; the decision says when the checkout fulfils the patron's own.
    """
    member = policy.member_types[patron.member_type]
    publication = policy.publication_types[item.publication_type]
    refusals = standing_refusals(policy, patron, now.date())
    if item.status != AVAILABLE:
        refusals.append(reasons.item_unavailable(item.status))
    if _waits_for_another(item, patron.id):
        refusals.append(reasons.on_hold_for_other())

    privilege = policy.privilege(member.code, publication.code)
    refusals += _type_refusals(privilege, member, publication, held)
    # A pending registration with none at all is refused by its standing already.
    if patron.pending_loans and len(held) >= patron.pending_loans:
        refusals.append(reasons.registration_pending(patron.pending_loans))

    due = _new_due(policy, privilege, member.code, publication.code, now=now, refusals=refusals)
    if refusals:
        return CheckoutDecision(tuple(refusals), None)
    return CheckoutDecision((), due, fulfils_title_hold=item.title_holds[:1] == (patron.id,))


def lending_closed(
    policy: Policy, member_type: str, publication_type: str, today: date
) -> tuple[Refusal, ...]:
    """What stops every member of type ``member_type`` borrowing any item of type
    ``publication_type`` while the policy stands, whoever they are and whatever they
    hold: no privilege, a quota of 0 (the privilege's, the member type's or the
    publication type's), or lending closed (the earliest ``no_issue_after`` of the two
    is before ``today``). Empty: a member of the type could borrow one some day. A hold
    is not placed for such a member (kiosk, portal, desk, SIP2 alike): the copy would
    wait on the hold shelf for someone who may not take it."""
    member = policy.member_types[member_type]
    publication = policy.publication_types[publication_type]
    # Holding nothing, a quota still refuses only when it is 0.
    privilege = policy.privilege(member.code, publication.code)
    refusals = _type_refusals(privilege, member, publication, held=())
    cap = policy.lending_cap(member.code, publication.code)
    if cap is not None and cap < today:
        refusals.append(reasons.no_issue_after(human_date(cap)))
    return tuple(refusals)


def _type_refusals(
    privilege: Privilege | None,
    member: MemberType,
    publication: PublicationType,
    held: Sequence[str],
) -> list[Refusal]:
    """The privilege and the quotas, for a patron holding loans of the types ``held``."""
    refusals = []
    same_type = sum(1 for code in held if code == publication.code)
    if privilege is None:
        refusals.append(reasons.no_privilege(member.name, publication.name))
    elif privilege.quota is not None and same_type >= privilege.quota:
        refusals.append(reasons.privilege_quota(privilege.quota, member.name, publication.name))
    if member.quota is not None and len(held) >= member.quota:
        refusals.append(reasons.member_type_quota(member.quota, member.name))
    if publication.quota is not None and same_type >= publication.quota:
        refusals.append(reasons.publication_type_quota(publication.quota, publication.name))
    return refusals


def _waits_for_another(item: Item, patron_id: str) -> bool:
    """The copy is trapped (ready) for another patron, or its item-hold queue's first
    is another: the contract's ``on_hold_for_other`` at checkout. Waiting title holds
    do not count: an available, untrapped copy may be lent to anyone."""
    trapped_for_another = item.trapped_for is not None and item.trapped_for != patron_id
    return trapped_for_another or (bool(item.holds) and item.holds[0] != patron_id)


# A copy in one of these can be lent once it has passed through a return: a title hold
# may be trapped on it (a damaged, withdrawn or in-repair copy would be refused to the
# patron, who would have left the title's queue for nothing).
LENDABLE_AFTER_RETURN = (AVAILABLE, "on_loan")


def trap_for(item: Item) -> str | None:
    """Whom a copy passing through a return (or trapped by staff) waits for on the hold
    shelf: a trap already set stands; otherwise the first of its item holds, and
    failing those the first waiting title hold on its record, if the copy can be lent
    (``LENDABLE_AFTER_RETURN``). None: no one, it goes back to the shelf."""
    if item.trapped_for is not None:
        return item.trapped_for
    if item.holds:
        return item.holds[0]
    if item.title_holds and item.status in LENDABLE_AFTER_RETURN:
        return item.title_holds[0]
    return None


def route_return(item: Item, branch: str | None = None) -> Routing:
    """Where ``item`` goes when it passes through a return at ``branch`` (None: a library
    without branches, or a place that has none). When anyone waits for it or its record
    it is trapped for ``trap_for(item)``: to the hold shelf here, unless that patron
    collects at another branch (``Item.pickups``), where it is transferred, still
    trapped for them. Otherwise, when the return is at a branch and the copy's home is
    another, a transfer to its home (``Item.home_branch``); otherwise back to the
    shelf. A copy whose home is not known goes to the shelf where it is."""
    trapped_for = trap_for(item)
    if trapped_for is not None:
        pickup = item.pickups.get(trapped_for)
        if branch is not None and pickup is not None and pickup != branch:
            return Routing(Route.TRANSFER, trapped_for, pickup)
        return Routing(Route.HOLD_SHELF, trapped_for)
    home = item.home_branch
    if branch is not None and home is not None and home != branch:
        return Routing(Route.TRANSFER, destination=home)
    return Routing(Route.SHELF)


def assess_return(
    policy: Policy, loan: Loan, item: Item, now: datetime, *, branch: str | None = None
) -> ReturnOutcome:
    """The fine and the route of ``item`` coming back at ``now`` at ``branch``.

    The fine follows the privilege of the borrower's member type and the item's
    publication type as it stands now. A loan whose privilege has since been
    removed is taken back without a fine: there is no rule left to fine it by.
    The route is ``route_return(item, branch)``: the hold shelf, the shelf or a
    transfer home; the fine never depends on it.
    """
    overdue = loan.due.overdue_days(now)
    privilege = policy.privilege(loan.member_type, item.publication_type)
    routing = route_return(item, branch)
    route, trapped_for, destination = routing.route, routing.trapped_for, routing.destination
    if privilege is None:
        nothing = money(Decimal(0))
        return ReturnOutcome(overdue, overdue, nothing, route, trapped_for, destination)
    chargeable = max(0, overdue - privilege.days_grace)
    periods = -(-chargeable // privilege.days_per_fine)
    fine = money(periods * privilege.fine)
    cap = policy.fine_cap(loan.member_type, item.publication_type)
    if cap is not None:
        fine = min(fine, money(cap))
    return ReturnOutcome(overdue, chargeable, fine, route, trapped_for, destination)


def decide_renewal(
    policy: Policy, patron: Patron, loan: Loan, item: Item, now: datetime
) -> RenewalDecision:
    """May ``patron`` renew ``loan`` of ``item`` at ``now``?

    A renewal is a new loan period from ``now`` under the patron's current member
    type; quotas do not apply because the item is already counted. The fine
    accrued so far is charged when the renewal goes ahead.
    """
    member = policy.member_types[patron.member_type]
    publication = policy.publication_types[item.publication_type]
    refusals = standing_refusals(policy, patron, now.date())
    if _held_by_another(item, patron.id):
        refusals.append(reasons.on_hold_for_other())
    privilege = policy.privilege(member.code, publication.code)
    if privilege is None:
        refusals.append(reasons.no_privilege(member.name, publication.name))
    elif privilege.renewals is not None and loan.renewals >= privilege.renewals:
        refusals.append(reasons.renewal_limit(privilege.renewals))
    due = _new_due(policy, privilege, member.code, publication.code, now=now, refusals=refusals)
    if refusals:
        return RenewalDecision(tuple(refusals), None, money(Decimal(0)))
    return RenewalDecision((), due, assess_return(policy, loan, item, now).fine)


def _held_by_another(item: Item, patron_id: str) -> bool:
    """Another patron holds the item, or waits for its record, or it is trapped for
    another: the contract's ``on_hold_for_other`` at renewal."""
    waiting = (*item.holds, *item.title_holds)
    if item.trapped_for is not None:
        waiting += (item.trapped_for,)
    return any(holder != patron_id for holder in waiting)


def assess_fault(policy: Policy, charge_code: str, item: Item) -> FaultOutcome:
    """A fault charge costs its amount, reduced to the item's price when one is set."""
    charge = policy.fault_charges[charge_code]
    amount = min(charge.amount, item.price) if item.price > 0 else charge.amount
    return FaultOutcome(money(amount), charge.status)


def decide_membership_renewal(
    policy: Policy, patron: Patron, now: datetime, *, by_staff: bool = False
) -> MembershipRenewalDecision:
    """May ``patron`` renew their membership at ``now``, and until when would it run?

    A patron (at a kiosk, on the portal) is refused, in the contract's order, for
    ``patron_barred``, ``fines_owed``, ``renewal_not_open`` (the expiry is more than
    ``renewal_window_days`` away, or there is no expiry) and ``renewal_not_allowed``
    (the member type has no window, or no period to extend by). Staff may renew
    anyone. The new expiry is the later of the old expiry and today, plus
    ``renewal_period_days``.
    """
    member = policy.member_types[patron.member_type]
    today = now.date()
    window, period = member.renewal_window_days, member.renewal_period_days
    expires = None
    if patron.expires is not None and period is not None:
        expires = _days_after(max(patron.expires, today), period)
    if by_staff:
        return MembershipRenewalDecision((), expires)
    refusals = []
    if patron.barred:
        refusals.append(reasons.membership_renewal_barred())
    limit = member.fine_limit
    if limit is not None and patron.owed > limit:
        refusals.append(
            reasons.membership_renewal_fines_owed(f"{money(patron.owed)}", f"{money(limit)}")
        )
    if window is None or period is None:
        refusals.append(reasons.renewal_not_allowed())
    elif patron.expires is None:
        refusals.append(reasons.renewal_not_needed())
    elif (patron.expires - today).days > window:
        opens_on = patron.expires - timedelta(days=window)
        refusals.append(reasons.renewal_not_open(human_date(opens_on)))
    if refusals:
        return MembershipRenewalDecision(tuple(refusals), None)
    return MembershipRenewalDecision((), expires)


def _days_after(day: date, days: int) -> date:
    """``day`` plus ``days``; the calendar's last day when that would run past it."""
    if days >= (date.max - day).days:
        return date.max
    return day + timedelta(days=days)
