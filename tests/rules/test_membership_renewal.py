"""Membership renewal: the patron within the window (or after expiry) renews for the
member type's period from the later of the old expiry and today; staff renew anyone."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from kiosk.rules import (
    MembershipRenewalDecision,
    MemberType,
    Patron,
    Privilege,
    decide_membership_renewal,
)

from .helpers import NOW, D, d, policy

# NOW is Monday 23 November 2026.
STUDENT = MemberType(
    "STUDENT",
    "Student",
    fine_limit=D("5.00"),
    renewal_window_days=30,
    renewal_period_days=365,
)
ADULT = MemberType(
    "ADULT", "Adult", fine_limit=D("5.00"), renewal_window_days=None, renewal_period_days=365
)
CHILD = MemberType("CHILD", "Child", renewal_window_days=30, renewal_period_days=None)
BASE = policy(
    member_types=[STUDENT, ADULT, CHILD],
    privileges=[Privilege(code, "FICTION", days=14) for code in ("STUDENT", "ADULT", "CHILD")],
)
# A student whose membership ends in 10 days: inside the 30-day window.
PATRON = Patron("P1", "STUDENT", expires=d("2026-12-03"))


def assert_renewed(decision: MembershipRenewalDecision, *, expires: str | None) -> None:
    codes = [refusal.reason.value for refusal in decision.refusals]
    assert decision.allowed, f"refused for {codes}"
    assert decision.expires == (None if expires is None else d(expires))


def assert_renewal_refused(decision: MembershipRenewalDecision, *reasons: str) -> None:
    """Refused for exactly ``reasons``, in this order, each with a whole sentence, and no
    new expiry."""
    assert [refusal.reason.value for refusal in decision.refusals] == list(reasons)
    assert not decision.allowed
    assert decision.expires is None
    for refusal in decision.refusals:
        assert refusal.message.strip(), f"{refusal.reason} has no sentence for the patron"
        assert "{" not in refusal.message, f"unfilled field in {refusal.message!r}"


@pytest.mark.parametrize(
    ("expires", "new_expiry"),
    [
        pytest.param("2026-12-03", "2027-12-03", id="ends-in-10-days-extends-the-old-expiry"),
        pytest.param("2026-12-23", "2027-12-23", id="ends-in-exactly-30-days-window-just-open"),
        pytest.param("2026-11-23", "2027-11-23", id="ends-today"),
        pytest.param("2026-11-22", "2027-11-23", id="ended-yesterday-extends-from-today"),
        pytest.param("2020-01-31", "2027-11-23", id="expired-long-ago-extends-from-today"),
        pytest.param("2028-02-29", "2029-02-28", id="leap-day-plus-365-days"),
    ],
)
def test_a_patron_renews_inside_the_window_or_after_expiry(expires: str, new_expiry: str) -> None:
    patron = replace(PATRON, expires=d(expires))
    now = NOW if expires != "2028-02-29" else NOW.replace(year=2028, month=2, day=1)
    assert_renewed(decide_membership_renewal(BASE, patron, now), expires=new_expiry)


@pytest.mark.parametrize(
    ("patron", "reasons"),
    [
        pytest.param({"barred": True}, ["patron_barred"], id="barred"),
        pytest.param({"owed": D("5.50")}, ["fines_owed"], id="owes-more-than-the-limit"),
        pytest.param(
            {"expires": d("2026-12-24")}, ["renewal_not_open"], id="ends-in-31-days-not-yet-open"
        ),
        pytest.param({"expires": None}, ["renewal_not_open"], id="no-end-date-nothing-to-renew"),
        pytest.param({"member_type": "ADULT"}, ["renewal_not_allowed"], id="no-window-staff-only"),
        pytest.param({"member_type": "CHILD"}, ["renewal_not_allowed"], id="no-period-staff-only"),
        pytest.param(
            {"barred": True, "owed": D("9.99"), "expires": d("2027-06-30")},
            ["patron_barred", "fines_owed", "renewal_not_open"],
            id="every-reason-in-the-contract-s-order",
        ),
        pytest.param(
            {"barred": True, "owed": D("9.99"), "member_type": "ADULT"},
            ["patron_barred", "fines_owed", "renewal_not_allowed"],
            id="barred-owing-and-no-window",
        ),
        pytest.param(
            {"member_type": "ADULT", "expires": d("2030-01-01")},
            ["renewal_not_allowed"],
            id="no-window-and-far-off-is-not-allowed-not-not-open",
        ),
    ],
)
def test_a_patron_s_renewal_is_refused_for_every_reason_that_applies(
    patron: dict[str, object], reasons: list[str]
) -> None:
    decision = decide_membership_renewal(BASE, replace(PATRON, **patron), NOW)  # type: ignore[arg-type]
    assert_renewal_refused(decision, *reasons)


@pytest.mark.parametrize(
    ("owed", "fine_limit", "allowed"),
    [
        ("5.00", "5.00", True),
        ("5.01", "5.00", False),
        ("1000.00", None, True),
        ("0.01", "0.00", False),
    ],
    ids=["owes-exactly-the-limit", "a-cent-over", "no-limit-never-refused", "limit-zero"],
)
def test_fines_owed_refuse_only_above_the_member_type_s_limit(
    owed: str, fine_limit: str | None, allowed: bool
) -> None:
    member = replace(STUDENT, fine_limit=None if fine_limit is None else D(fine_limit))
    base = policy(member_types=[member], privileges=[Privilege("STUDENT", "FICTION", days=14)])
    decision = decide_membership_renewal(base, replace(PATRON, owed=D(owed)), NOW)
    if allowed:
        assert_renewed(decision, expires="2027-12-03")
    else:
        assert_renewal_refused(decision, "fines_owed")


@pytest.mark.parametrize(
    ("window", "expires", "opens"),
    [
        (30, "2026-12-24", "24 November 2026"),
        (0, "2026-11-24", "24 November 2026"),
        (7, "2027-06-30", "23 June 2027"),
    ],
)
def test_not_yet_open_tells_the_patron_the_day_it_opens(
    window: int, expires: str, opens: str
) -> None:
    base = policy(
        member_types=[replace(STUDENT, renewal_window_days=window)],
        privileges=[Privilege("STUDENT", "FICTION", days=14)],
    )
    decision = decide_membership_renewal(base, replace(PATRON, expires=d(expires)), NOW)
    assert_renewal_refused(decision, "renewal_not_open")
    assert decision.refusals[0].message == f"Your membership can be renewed from {opens}."
    assert decision.refusals[0].fields == {"opens_on": opens}


def test_a_window_of_0_opens_on_the_expiry_day_itself() -> None:
    base = policy(
        member_types=[replace(STUDENT, renewal_window_days=0)],
        privileges=[Privilege("STUDENT", "FICTION", days=14)],
    )
    decision = decide_membership_renewal(base, replace(PATRON, expires=NOW.date()), NOW)
    assert_renewed(decision, expires="2027-11-23")


@pytest.mark.parametrize(
    ("patron", "new_expiry"),
    [
        pytest.param(
            {"barred": True, "owed": D("99.00"), "expires": d("2027-06-30")},
            "2028-06-29",
            id="barred-owing-and-far-from-the-window",
        ),
        pytest.param({"member_type": "ADULT"}, "2027-12-03", id="no-window"),
        pytest.param({"expires": d("2020-01-31")}, "2027-11-23", id="expired-long-ago"),
        pytest.param({"member_type": "CHILD"}, None, id="no-period-staff-choose-the-date"),
        pytest.param({"expires": None}, None, id="no-end-date-keeps-none"),
    ],
)
def test_staff_renew_anyone_and_get_the_new_expiry(
    patron: dict[str, object], new_expiry: str | None
) -> None:
    renewed = replace(PATRON, **patron)  # type: ignore[arg-type]
    decision = decide_membership_renewal(BASE, renewed, NOW, by_staff=True)
    assert_renewed(decision, expires=new_expiry)


def test_a_staff_renewal_dates_an_allowed_patron_renewal_the_same() -> None:
    by_patron = decide_membership_renewal(BASE, PATRON, NOW)
    by_staff = decide_membership_renewal(BASE, PATRON, NOW, by_staff=True)
    assert by_patron == by_staff


@pytest.mark.parametrize(
    ("expires", "period", "new_expiry"),
    [
        ("9999-12-01", 365, date.max),
        ("2026-12-01", 999_999_999, date.max),
        ("9999-12-01", 30, date(9999, 12, 31)),
        ("9999-12-01", 29, date(9999, 12, 30)),
    ],
)
def test_a_renewal_past_the_end_of_the_calendar_ends_on_its_last_day(
    expires: str, period: int, new_expiry: date
) -> None:
    base = policy(
        member_types=[replace(STUDENT, renewal_window_days=999_999_999, renewal_period_days=period)]
    )
    decision = decide_membership_renewal(base, replace(PATRON, expires=d(expires)), NOW)
    assert decision.allowed
    assert decision.expires == new_expiry


def test_a_period_of_0_renews_an_expired_membership_to_end_today() -> None:
    base = policy(member_types=[replace(STUDENT, renewal_period_days=0)])
    decision = decide_membership_renewal(base, replace(PATRON, expires=d("2026-11-01")), NOW)
    assert_renewed(decision, expires="2026-11-23")


@pytest.mark.parametrize(
    ("patron", "sentence"),
    [
        (
            {"barred": True},
            "Your membership can't be renewed here at the moment. Please see a member of staff.",
        ),
        (
            {"owed": D("12.50")},
            "You owe 12.50, which is more than the 5.00 you may owe and still renew your "
            "membership. Please pay at the desk.",
        ),
        ({"expires": None}, "Your membership has no end date, so it does not need renewing."),
        (
            {"member_type": "ADULT"},
            "Your membership can only be renewed by library staff. Please ask at the desk.",
        ),
    ],
)
def test_each_refusal_says_why_in_plain_words(patron: dict[str, object], sentence: str) -> None:
    decision = decide_membership_renewal(BASE, replace(PATRON, **patron), NOW)  # type: ignore[arg-type]
    assert [refusal.message for refusal in decision.refusals] == [sentence]
