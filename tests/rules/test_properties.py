"""Properties that hold for every policy and every moment (hypothesis)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from kiosk.rules import (
    Calendar,
    Due,
    Item,
    Loan,
    MemberType,
    Patron,
    Privilege,
    PublicationType,
    assess_return,
    decide_checkout,
    decide_membership_renewal,
    decide_renewal,
)

from .helpers import policy

amounts = st.decimals(min_value=0, max_value=100, places=2)
caps = st.none() | amounts
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31))
days_ = st.dates(min_value=date(2020, 1, 1), max_value=date(2031, 12, 31))
calendars = st.builds(
    Calendar,
    closed_weekdays=st.frozensets(st.integers(0, 6), max_size=6),
    closed_dates=st.frozensets(days_, max_size=20),
)


@st.composite
def fine_rules(draw: st.DrawFn) -> tuple[object, Decimal | None]:
    member_max, publication_max = draw(caps), draw(caps)
    base = policy(
        member_types=[MemberType("M", "M", max_fine=member_max)],
        publication_types=[PublicationType("T", "T", max_fine=publication_max)],
        privileges=[
            Privilege(
                "M",
                "T",
                days=draw(st.integers(0, 30)),
                days_grace=draw(st.integers(0, 10)),
                fine=draw(amounts),
                days_per_fine=draw(st.integers(1, 14)),
            )
        ],
    )
    bounds = [cap for cap in (member_max, publication_max) if cap is not None]
    return base, min(bounds, default=None)


@given(fine_rules(), days_, moments, st.integers(0, 400))
def test_a_fine_is_never_negative_never_above_its_cap_and_never_falls_as_lateness_grows(
    rules: tuple[object, Decimal | None], due: date, returned: datetime, later: int
) -> None:
    base, cap = rules
    loan = Loan("M", Due.end_of(due))
    first = assess_return(base, loan, Item("T"), returned)  # type: ignore[arg-type]
    second = assess_return(base, loan, Item("T"), returned + timedelta(days=later))  # type: ignore[arg-type]
    assert first.fine >= 0
    assert 0 <= first.chargeable_days <= first.overdue_days
    if cap is not None:
        assert first.fine <= cap
        assert second.fine <= cap
    assert second.fine >= first.fine
    assert first.fine == first.fine.quantize(Decimal("0.01"))


@given(days_, moments, st.integers(0, 30), st.integers(1, 14), st.integers(0, 10))
def test_a_zero_fine_rate_never_fines(
    due: date, returned: datetime, days: int, per: int, grace: int
) -> None:
    base = policy(
        privileges=[
            Privilege(
                "M", "T", days=days, days_grace=grace, fine=Decimal("0.00"), days_per_fine=per
            )
        ]
    )
    assert assess_return(base, Loan("M", Due.end_of(due)), Item("T"), returned).fine == 0


@given(
    moments,
    st.integers(0, 500),
    st.integers(1, 48),
    st.none() | days_,
    st.none() | days_,
    calendars,
)
def test_a_due_date_never_passes_the_cap_nor_falls_before_today(
    now: datetime,
    days: int,
    hours: int,
    member_cap: date | None,
    publication_cap: date | None,
    calendar: Calendar,
) -> None:
    base = policy(
        member_types=[MemberType("M", "M", no_issue_after=member_cap)],
        publication_types=[PublicationType("T", "T", no_issue_after=publication_cap)],
        privileges=[Privilege("M", "T", days=days, hours=hours)],
        calendar=calendar,
    )
    for decision in (
        decide_checkout(base, Patron("P", "M"), [], Item("T"), now),
        decide_renewal(base, Patron("P", "M"), Loan("M", Due.end_of(now.date())), Item("T"), now),
    ):
        if not decision.allowed:
            assert decision.refusals
            continue
        assert decision.due is not None
        assert decision.due.day >= now.date()
        for cap in (member_cap, publication_cap):
            if cap is not None:
                assert decision.due.day <= cap
        if days > 0:
            assert calendar.is_open(decision.due.day)


@given(
    st.booleans(),
    st.none() | days_,
    amounts,
    st.none() | amounts,
    st.sampled_from(["available", "on_loan", "lost"]),
    st.lists(st.sampled_from(["P", "Q"]), max_size=3),
    st.lists(st.sampled_from(["P", "Q"]), max_size=3, unique=True),
    st.sampled_from([None, "P", "Q"]),
    st.lists(st.sampled_from(["T", "U"]), max_size=6),
    st.none() | st.integers(0, 4),
    st.none() | st.integers(0, 4),
    st.none() | st.integers(0, 4),
    moments,
)
def test_a_refusal_names_exactly_the_reasons_that_apply_each_with_a_sentence(
    barred: bool,
    expires: date | None,
    owed: Decimal,
    fine_limit: Decimal | None,
    status: str,
    holds: list[str],
    title_holds: list[str],
    trapped_for: str | None,
    held: list[str],
    member_quota: int | None,
    publication_quota: int | None,
    privilege_quota: int | None,
    now: datetime,
) -> None:
    base = policy(
        member_types=[MemberType("M", "Member", quota=member_quota, fine_limit=fine_limit)],
        publication_types=[
            PublicationType("T", "Type", quota=publication_quota),
            PublicationType("U", "Other"),
        ],
        privileges=[Privilege("M", "T", quota=privilege_quota, days=14)],
    )
    patron = Patron("P", "M", expires=expires, barred=barred, owed=owed)
    item = Item(
        "T",
        status=status,
        holds=tuple(holds),
        title_holds=tuple(title_holds),
        trapped_for=trapped_for,
    )
    decision = decide_checkout(base, patron, held, item, now)
    codes = {refusal.reason.value for refusal in decision.refusals}
    expected = {
        "patron_barred": barred,
        "membership_expired": expires is not None and expires < now.date(),
        "fines_owed": fine_limit is not None and owed > fine_limit,
        "item_unavailable": status != "available",
        "on_hold_for_other": trapped_for == "Q" or (bool(holds) and holds[0] != "P"),
        "privilege_quota": privilege_quota is not None and held.count("T") >= privilege_quota,
        "member_type_quota": member_quota is not None and len(held) >= member_quota,
        "publication_type_quota": publication_quota is not None
        and held.count("T") >= publication_quota,
    }
    assert codes == {reason for reason, applies in expected.items() if applies}
    assert decision.allowed == (not any(expected.values()))
    assert (decision.due is None) == (not decision.allowed)
    assert decision.fulfils_title_hold == (decision.allowed and title_holds[:1] == ["P"])
    for refusal in decision.refusals:
        assert refusal.message.strip()
        assert "{" not in refusal.message


@given(
    st.booleans(),
    st.none() | days_,
    amounts,
    st.none() | amounts,
    st.none() | st.integers(0, 400),
    st.none() | st.integers(0, 800),
    moments,
)
def test_a_membership_renewal_is_refused_exactly_when_a_reason_applies_and_never_shortens(
    barred: bool,
    expires: date | None,
    owed: Decimal,
    fine_limit: Decimal | None,
    window: int | None,
    period: int | None,
    now: datetime,
) -> None:
    member = MemberType(
        "M", "M", fine_limit=fine_limit, renewal_window_days=window, renewal_period_days=period
    )
    base = policy(member_types=[member])
    patron = Patron("P", "M", expires=expires, barred=barred, owed=owed)
    by_patron = decide_membership_renewal(base, patron, now)
    by_staff = decide_membership_renewal(base, patron, now, by_staff=True)
    today = now.date()
    expected = {
        "patron_barred": barred,
        "fines_owed": fine_limit is not None and owed > fine_limit,
        "renewal_not_open": window is not None
        and period is not None
        and (expires is None or expires > today + timedelta(days=window)),
        "renewal_not_allowed": window is None or period is None,
    }
    codes = [refusal.reason.value for refusal in by_patron.refusals]
    assert codes == [reason for reason, applies in expected.items() if applies]
    assert by_staff.allowed
    if by_patron.allowed:
        assert by_patron.expires == by_staff.expires
    else:
        assert by_patron.expires is None
    if expires is None or period is None:
        assert by_staff.expires is None
    else:
        assert by_staff.expires == max(expires, today) + timedelta(days=period)
        assert by_staff.expires >= expires
        assert by_staff.expires >= today


@given(
    st.lists(st.sampled_from(["P", "Q", "R"]), max_size=3),
    st.lists(st.sampled_from(["P", "Q", "R"]), max_size=3, unique=True),
    st.sampled_from([None, "P", "Q", "R"]),
    moments,
)
def test_a_copy_is_lent_to_at_most_one_of_those_waiting_and_goes_back_to_whom_it_waits_for(
    holds: list[str], title_holds: list[str], trapped_for: str | None, now: datetime
) -> None:
    """Whoever waits for a copy or its title: a trapped or item-held copy is lent to
    at most one patron, the one a return traps it for; an untrapped copy with no item
    hold is lent to anyone, whatever its title queue."""
    base = policy(privileges=[Privilege("M", "T", days=14)])
    item = Item("T", holds=tuple(holds), title_holds=tuple(title_holds), trapped_for=trapped_for)
    lent_to = {
        patron_id
        for patron_id in ("P", "Q", "R")
        if decide_checkout(base, Patron(patron_id, "M"), [], item, now).allowed
    }
    returned = assess_return(base, Loan("M", Due.end_of(now.date())), item, now)
    if trapped_for is None and not holds:
        assert lent_to == {"P", "Q", "R"}
    else:
        assert lent_to <= {returned.trapped_for}
    assert (returned.route == "hold_shelf") == (returned.trapped_for is not None)
    assert (returned.trapped_for is None) == (trapped_for is None and not holds and not title_holds)
