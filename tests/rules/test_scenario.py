"""The JSON contract of ``kiosk policy evaluate``, in process: answers and invalid input."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kiosk.rules import InvalidPolicy
from kiosk.rules.scenario import evaluate, load_scenario, parse_scenario

SCENARIOS = Path(__file__).parent.parent / "scenarios"
SCENARIO_FILES = sorted(
    p for p in SCENARIOS.glob("*.json") if not p.name.endswith(".expected.json")
)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_each_documented_scenario_gets_the_contract_answer(path: Path) -> None:
    expected = json.loads(path.with_suffix(".expected.json").read_text())
    answer = evaluate(load_scenario(path.read_text()))
    assert answer == expected
    assert list(answer) == list(expected), "keys come in the contract's order"


def base() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCENARIOS / "checkout-allowed.json").read_text())
    return data


def answer(data: dict[str, Any]) -> dict[str, object]:
    return evaluate(parse_scenario(json.loads(json.dumps(data), parse_float=Decimal)))


def test_null_and_unused_fields_may_be_left_out() -> None:
    minimal = {
        "action": "checkout",
        "now": "2026-11-23T10:00",
        "policy": {
            "member_types": {"ADULT": {}},
            "publication_types": {"BOOK": {}},
            "privileges": [{"member_type": "ADULT", "publication_type": "BOOK", "days": 21}],
        },
        "patron": {"id": "P1", "member_type": "ADULT"},
        "item": {"publication_type": "BOOK"},
    }
    assert answer(minimal) == {
        "action": "checkout",
        "allowed": True,
        "reasons": [],
        "due": "2026-12-14",
    }


def test_a_short_loan_due_is_a_date_and_time_both_ways() -> None:
    data = {
        "action": "return",
        "now": "2026-11-24T15:30",
        "policy": {
            "member_types": {"ADULT": {"max_fine": None}},
            "publication_types": {"REF": {}},
            "privileges": [
                {
                    "member_type": "ADULT",
                    "publication_type": "REF",
                    "days": 0,
                    "hours": 4,
                    "fine": 2.5,
                }
            ],
        },
        "loan": {"member_type": "ADULT", "due": "2026-11-23T14:00"},
        "item": {"publication_type": "REF"},
    }
    assert answer(data) == {
        "action": "return",
        "overdue_days": 2,
        "chargeable_days": 2,
        "fine": "5.00",
        "route": "shelf",
    }
    data.update(action="checkout", patron={"id": 7, "member_type": "ADULT"}, now="2026-11-23T22:30")
    assert answer(data)["due"] == "2026-11-24T02:30"


def test_a_renewal_without_a_loan_member_type_uses_the_patron_s() -> None:
    data = json.loads((SCENARIOS / "renew-allowed.json").read_text())
    del data["loan"]["member_type"]
    data["loan"]["due"] = "2026-11-13"
    data["patron"]["owed"] = 1
    assert answer(data) == {
        "action": "renew",
        "allowed": True,
        "reasons": [],
        "due": "2026-12-07",
        "fine": "10.00",
    }


def test_a_fault_without_an_item_charges_the_full_amount() -> None:
    data = {
        "action": "fault",
        "charge": "LOST",
        "policy": {"fault_charges": {"LOST": {"amount": "40.00", "status": "lost"}}},
    }
    assert answer(data) == {"action": "fault", "charge": "40.00", "item_status": "lost"}


def test_notes_of_the_scenario_s_own_are_ignored_but_near_misses_are_not() -> None:
    data = base()
    data["comment"] = "a student with one fiction book"
    data["loans"][0]["barcode"] = "31234000000017"
    assert answer(data)["allowed"] is True
    data["patorn"] = data.pop("patron")
    with pytest.raises(InvalidPolicy) as raised:
        answer(data)
    assert "patorn: unknown key; did you mean 'patron'?" in str(raised.value)


def mutate(path: str, value: object) -> dict[str, Any]:
    """The base scenario with the value at a dotted path (``a.b[0].c``) replaced;
    ``...`` as the value deletes it."""
    data = base()
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(last) if last.isdigit() else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return data


INVALID = [
    # path to change, new value, the message evaluate must print (a fragment of it)
    (
        "action",
        "checkin",
        "action: must be one of checkout, return, renew, fault, membership_renewal, got 'checkin'",
    ),
    (
        "action",
        ...,
        "action: is required: one of checkout, return, renew, fault, membership_renewal",
    ),
    ("now", ..., "now: is required for action 'checkout'"),
    (
        "now",
        "23/11/2026",
        "now: must be a local date and time as YYYY-MM-DDTHH:MM, got '23/11/2026'",
    ),
    ("now", "2026-02-30T10:00", "now: is not a real date and time: '2026-02-30T10:00'"),
    ("now", "2026-11-23T10:00+01:00", "now: must be a local date and time as YYYY-MM-DDTHH:MM"),
    ("patron", ..., "patron: is required for action 'checkout'"),
    ("patron", [], "patron: must be a table of keys and values, got a list"),
    (
        "patron.member_type",
        "STUDNET",
        "patron.member_type: unknown member type 'STUDNET'; did you mean 'STUDENT'?",
    ),
    (
        "patron.member_type",
        "PIRATE",
        "patron.member_type: unknown member type 'PIRATE' (known: STAFF, STUDENT)",
    ),
    ("patron.member_type", ..., "patron.member_type: is required"),
    ("patron.member_type", 4, "patron.member_type: must be non-blank text, got 4"),
    ("patron.id", {"x": 1}, "patron.id: must be text, got a table"),
    (
        "patron.expires",
        "30/06/2027",
        "patron.expires: must be a date as YYYY-MM-DD, got '30/06/2027'",
    ),
    ("patron.expires", "2027-02-29", "patron.expires: is not a real date: '2027-02-29'"),
    ("patron.barred", "no", "patron.barred: must be true or false, got 'no'"),
    ("patron.owed", "-1.00", "patron.owed: must not be negative, got '-1.00'"),
    ("patron.owed", "1.005", "patron.owed: must have at most two decimal places, got '1.005'"),
    ("patron.owed", "lots", "patron.owed: must be an amount such as \"2.50\", got 'lots'"),
    ("patron.owed", "NaN", "patron.owed: must be an amount such as \"2.50\", got 'NaN'"),
    ("patron.owed", True, 'patron.owed: must be an amount such as "2.50", got true'),
    ("loans", {}, "loans: must be a list, got a table"),
    ("loans[0]", "FICTION", "loans[0]: must be a table of keys and values, got 'FICTION'"),
    (
        "loans[0].publication_type",
        "FICTON",
        "loans[0].publication_type: unknown publication type 'FICTON'; did you mean 'FICTION'?",
    ),
    ("item.publication_type", "DVD", "item.publication_type: unknown publication type 'DVD'"),
    ("item.holds", ["P7", None], "item.holds[1]: must be a patron id, got None"),
    ("item.holds", "P7", "item.holds: must be a list, got 'P7'"),
    ("item.title_holds", ["P7", True], "item.title_holds[1]: must be a patron id, got true"),
    ("item.title_holds", "P7", "item.title_holds: must be a list, got 'P7'"),
    ("item.title_holds", [7, "P9"], None),
    ("item.title_hold", ["P7"], "item.title_hold: unknown key; did you mean 'title_holds'?"),
    ("item.trapped_for", ["P7"], "item.trapped_for: must be a patron id or null, got a list"),
    ("item.trapped_for", False, "item.trapped_for: must be a patron id or null, got false"),
    ("item.trapped_for", None, None),
    ("item.trapped_for", 7, None),
    ("item.traped_for", "P7", "item.traped_for: unknown key; did you mean 'trapped_for'?"),
    (
        "policy.privileges[0].days_per_fine",
        0,
        "policy.privileges[0].days_per_fine: must be >= 1, got 0",
    ),
    (
        "policy.privileges[0].fine",
        "-1.50",
        "policy.privileges[0].fine: must not be negative, got '-1.50'",
    ),
    (
        "policy.privileges[0].days",
        "14",
        "policy.privileges[0].days: must be a whole number, got '14'",
    ),
    ("policy.privileges[0].days", ..., "policy.privileges[0].days: is required"),
    ("policy.privileges[0].quota", -1, "policy.privileges[0].quota: must be >= 0, got -1"),
    ("policy.privileges[0].hours", 0, "policy.privileges[0].hours: must be >= 1, got 0"),
    (
        "policy.privileges[0].member_type",
        "STUDNET",
        "policy.privileges[0].member_type: unknown member type 'STUDNET'; did you mean 'STUDENT'?",
    ),
    (
        "policy.privileges[0].publication_type",
        ...,
        "policy.privileges[0].publication_type: is required",
    ),
    (
        "policy.privileges[0].quotas",
        3,
        "policy.privileges[0].quotas: unknown key; did you mean 'quota'?",
    ),
    ("policy.privileges[1]", "x", "policy.privileges[1]: must be a table of keys and values"),
    (
        "policy.privileges[1].publication_type",
        "FICTION",
        "policy.privileges[1]: STUDENT x FICTION is already defined at policy.privileges[0]",
    ),
    ("policy.privileges", {}, "policy.privileges: must be a list, got a table"),
    ("policy.member_types", [], "policy.member_types: must be a table keyed by code, got a list"),
    (
        "policy.member_types.STUDENT.quota",
        2.5,
        "policy.member_types.STUDENT.quota: must be a whole number, got 2.5",
    ),
    (
        "policy.member_types.STUDENT.quota",
        True,
        "policy.member_types.STUDENT.quota: must be a whole number, got true",
    ),
    ("policy.member_types. ", {}, "policy.member_types: a code must not be blank"),
    ("policy.member_types.STUDENT.max_fine", 1.5, None),
    (
        "policy.publication_types.FICTION.text_book",
        "yes",
        "policy.publication_types.FICTION.text_book: must be true or false, got 'yes'",
    ),
    (
        "policy.publication_types.FICTION.no_issue_after",
        20270630,
        "policy.publication_types.FICTION.no_issue_after: must be a date as YYYY-MM-DD, got 20270630",
    ),
    (
        "policy.fault_charges.DAMAGED.amount",
        ...,
        "policy.fault_charges.DAMAGED.amount: is required",
    ),
    (
        "policy.fault_charges.DAMAGED.status",
        ...,
        "policy.fault_charges.DAMAGED.status: is required",
    ),
    (
        "policy.fault_charges.DAMAGED.status",
        "damged",
        "policy.fault_charges.DAMAGED.status: unknown status 'damged'; did you mean 'damaged'?",
    ),
    (
        "policy.fault_charges.DAMAGED.status",
        "Damaged Goods",
        "policy.fault_charges.DAMAGED.status: must be a status in lower case such as 'damaged', got 'Damaged Goods'",
    ),
    ("policy.fault_charges.DAMAGED.status", "at_bindery", None),
    (
        "policy.fault_charges.DAMAGED.status",
        5,
        "policy.fault_charges.DAMAGED.status: must be non-blank text, got 5",
    ),
    (
        "policy.calendar",
        "sundays",
        "policy.calendar: must be a table of keys and values, got 'sundays'",
    ),
    (
        "policy.calendar.closed_weekdays",
        [7],
        "policy.calendar.closed_weekdays[0]: must be a weekday, 0 (Monday) to 6 (Sunday)",
    ),
    ("policy.calendar.closed_weekdays", ["sundy"], "did you mean 'sunday'?"),
    (
        "policy.calendar.closed_weekdays",
        [0, 1, 2, 3, 4, 5, "Sun"],
        "policy.calendar.closed_weekdays: the library cannot be closed on every day of the week",
    ),
    ("policy.calendar.closed_weekdays", ["Saturday", "sun"], None),
    (
        "policy.calendar.closed_dates",
        ["25/12/2026"],
        "policy.calendar.closed_dates[0]: must be a date as YYYY-MM-DD",
    ),
    ("policy.calendar.closed_dates", None, None),
    ("policy", None, "patron.member_type: unknown member type 'STUDENT' (none are defined)"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), INVALID, ids=[f"{p}={v!r}" for p, v, _ in INVALID]
)
def test_an_invalid_scenario_names_the_offending_field(
    path: str, value: object, message: str | None
) -> None:
    data = mutate(path, value)
    if message is None:
        answer(data)  # valid: answered without complaint
        return
    with pytest.raises(InvalidPolicy) as raised:
        answer(data)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_every_problem_is_reported_at_once() -> None:
    data = mutate("patron.owed", "-1")
    data["policy"]["privileges"][0]["days_per_fine"] = 0
    data["item"]["publication_type"] = "DVD"
    with pytest.raises(InvalidPolicy) as raised:
        answer(data)
    paths = [problem.path for problem in raised.value.problems]
    assert paths == [
        "policy.privileges[0].days_per_fine",
        "patron.owed",
        "item.publication_type",
    ]


@pytest.mark.parametrize(
    ("action", "missing"),
    [
        ("return", "loan"),
        ("renew", "loan"),
        ("fault", "charge"),
        ("return", "item"),
        ("membership_renewal", "patron"),
        ("membership_renewal", "now"),
    ],
)
def test_each_action_requires_what_it_reads(action: str, missing: str) -> None:
    data = base()
    data.pop("loan", None)
    data.pop("charge", None)
    data.pop(missing, None)
    data["action"] = action
    with pytest.raises(InvalidPolicy) as raised:
        answer(data)
    assert f"{missing}: is required for action {action!r}" in str(raised.value)


@pytest.mark.parametrize(
    ("loan", "message"),
    [
        ({"member_type": "STUDENT"}, "loan.due: is required"),
        ({"member_type": "STUDENT", "due": "10 Nov"}, "loan.due: must be a local date and time"),
        ({"member_type": "STUDENT", "due": "2026-11"}, "loan.due: must be a date as YYYY-MM-DD"),
        (
            {"member_type": "STUDENT", "due": "2026-11-10", "renewals": -1},
            "loan.renewals: must be >= 0",
        ),
        ({"due": "2026-11-10"}, "loan.member_type: is required"),
    ],
)
def test_an_invalid_loan(loan: dict[str, object], message: str) -> None:
    data = base()
    data.update(action="return", loan=loan)
    with pytest.raises(InvalidPolicy) as raised:
        answer(data)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("charge", "message"),
    [
        ("DAMAGE", "charge: unknown fault charge 'DAMAGE'; did you mean 'DAMAGED'?"),
        (3, "charge: must be the code of a fault charge, got 3"),
    ],
)
def test_an_invalid_charge(charge: object, message: str) -> None:
    data = base()
    data.update(action="fault", charge=charge)
    with pytest.raises(InvalidPolicy) as raised:
        answer(data)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"action": ', "not valid JSON: Expecting value at line 1 column 12"),
        ("[1, 2]", "a scenario must be a JSON object, got a list"),
    ],
)
def test_text_that_is_not_a_scenario(text: str, message: str) -> None:
    with pytest.raises(InvalidPolicy) as raised:
        load_scenario(text)
    assert str(raised.value) == message


def membership(**patron: object) -> dict[str, Any]:
    """A membership renewal at Monday 23 November 2026 by a STUDENT (window 30 days,
    period 365, fine limit 5.00) whose membership ends on 1 December 2026."""
    data: dict[str, Any] = json.loads((SCENARIOS / "membership-renewal-allowed.json").read_text())
    data["patron"].update(patron)
    return data


@pytest.mark.parametrize(
    ("change", "reasons", "expires"),
    [
        pytest.param({}, [], "2027-12-01", id="ends-in-8-days-365-days-after-the-old-expiry"),
        pytest.param({"expires": "2024-03-31"}, [], "2027-11-23", id="expired-long-ago-from-today"),
        pytest.param({"barred": True}, ["patron_barred"], None, id="barred"),
        pytest.param({"owed": "5.01"}, ["fines_owed"], None, id="owes-over-the-limit"),
        pytest.param({"expires": "2026-12-24"}, ["renewal_not_open"], None, id="window-not-open"),
        pytest.param({"expires": None}, ["renewal_not_open"], None, id="no-end-date"),
        pytest.param({"member_type": "STAFF"}, ["renewal_not_allowed"], None, id="no-window"),
        pytest.param(
            {"barred": True, "owed": "9.00", "expires": "2027-06-30"},
            ["patron_barred", "fines_owed", "renewal_not_open"],
            None,
            id="every-reason-in-order",
        ),
    ],
)
def test_membership_renewal_by_the_patron(
    change: dict[str, object], reasons: list[str], expires: str | None
) -> None:
    assert answer(membership(**change)) == {
        "action": "membership_renewal",
        "allowed": not reasons,
        "reasons": reasons,
        "expires": expires,
    }


@pytest.mark.parametrize(
    ("change", "expires"),
    [
        pytest.param({"barred": True, "expires": "2027-06-30"}, "2028-06-29", id="barred-far-off"),
        pytest.param({"member_type": "STAFF"}, "2028-11-30", id="no-window-period-730"),
        pytest.param({"expires": None}, None, id="no-end-date-keeps-none"),
    ],
)
def test_membership_renewal_by_staff(change: dict[str, object], expires: str | None) -> None:
    data = membership(**change)
    data["by_staff"] = True
    assert answer(data) == {
        "action": "membership_renewal",
        "allowed": True,
        "reasons": [],
        "expires": expires,
    }


def test_membership_renewal_with_no_period_leaves_the_date_to_staff() -> None:
    data = membership()
    del data["policy"]["member_types"]["STUDENT"]["renewal_period_days"]
    assert answer(data)["reasons"] == ["renewal_not_allowed"]
    data["by_staff"] = True
    assert answer(data) == {
        "action": "membership_renewal",
        "allowed": True,
        "reasons": [],
        "expires": None,
    }


@pytest.mark.parametrize(
    ("change", "messages"),
    [
        (
            {"by_staff": "yes"},
            ["by_staff: must be true or false, got 'yes'"],
        ),
        (
            {"action": "checkout", "by_staff": True},
            [
                "item: is required for action 'checkout'",
                "by_staff: applies only to action 'membership_renewal', not 'checkout'",
            ],
        ),
        (
            {"by_stafff": True},
            ["by_stafff: unknown key; did you mean 'by_staff'?"],
        ),
        (
            {"patron": {"id": "P1", "member_type": "STUDNET"}},
            ["patron.member_type: unknown member type 'STUDNET'; did you mean 'STUDENT'?"],
        ),
        (
            {
                "policy": {
                    "member_types": {
                        "STUDENT": {"renewal_window_days": -30, "renewal_period_days": "1y"},
                        "STAFF": {"renewal_period": 730},
                    }
                }
            },
            [
                "policy.member_types.STUDENT.renewal_window_days: must be >= 0, got -30",
                "policy.member_types.STUDENT.renewal_period_days: must be a whole number, got '1y'",
                "policy.member_types.STAFF.renewal_period: unknown key; did you mean 'renewal_period_days'?",
            ],
        ),
    ],
)
def test_an_invalid_membership_renewal_names_every_offending_field(
    change: dict[str, object], messages: list[str]
) -> None:
    data = membership()
    data.update(change)
    with pytest.raises(InvalidPolicy) as raised:
        answer(data)
    assert [str(problem) for problem in raised.value.problems] == messages


def test_every_problem_of_the_holds_is_reported_at_once() -> None:
    data = base()
    data["item"].update(holds=[None], title_holds=["P7", {}], trapped_for=1.5)
    with pytest.raises(InvalidPolicy) as raised:
        answer(data)
    assert [str(problem) for problem in raised.value.problems] == [
        "item.holds[0]: must be a patron id, got None",
        "item.title_holds[1]: must be a patron id, got a table",
        "item.trapped_for: must be a patron id or null, got 1.5",
    ]


def holding(action: str, patron_id: str, **item: object) -> dict[str, Any]:
    """The base scenario's FICTION copy with the holds ``item`` says, asked about by
    patron ``patron_id``: a checkout or a renewal at 23 November 2026, or a return then
    (the loan due that day, so no fine)."""
    data = base()
    data.update(action=action, loan={"member_type": "STUDENT", "due": "2026-11-23"})
    data["patron"]["id"] = patron_id
    data["item"].update(item)
    return data


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        pytest.param(
            holding("checkout", "P1", trapped_for="P7"),
            {"allowed": False, "reasons": ["on_hold_for_other"], "due": None},
            id="checkout-of-a-copy-trapped-for-another-is-refused",
        ),
        pytest.param(
            holding("checkout", "P7", trapped_for="P7", title_holds=["P9"]),
            {"allowed": True, "reasons": [], "due": "2026-12-07"},
            id="checkout-of-a-copy-trapped-for-the-patron-is-lent",
        ),
        pytest.param(
            holding("checkout", "P1", title_holds=["P7", "P9"], trapped_for=None),
            {"allowed": True, "reasons": [], "due": "2026-12-07"},
            id="checkout-of-an-untrapped-copy-is-lent-to-anyone",
        ),
        pytest.param(
            holding("checkout", "P9", holds=["P1"], title_holds=["P9"]),
            {"allowed": False, "reasons": ["on_hold_for_other"], "due": None},
            id="checkout-item-hold-before-the-title-queue",
        ),
        pytest.param(
            holding("return", "P1", title_holds=["P7"]),
            {"overdue_days": 0, "chargeable_days": 0, "fine": "0.00", "route": "hold_shelf"},
            id="return-with-a-title-queue-goes-to-the-hold-shelf",
        ),
        pytest.param(
            holding("return", "P1", title_holds=[], trapped_for=None),
            {"overdue_days": 0, "chargeable_days": 0, "fine": "0.00", "route": "shelf"},
            id="return-with-no-one-waiting-goes-to-the-shelf",
        ),
        pytest.param(
            holding("renew", "P1", title_holds=["P7"]),
            {"allowed": False, "reasons": ["on_hold_for_other"], "due": None, "fine": "0.00"},
            id="renewal-refused-when-another-waits-for-the-title",
        ),
        pytest.param(
            holding("renew", "P1", title_holds=["P1"]),
            {"allowed": True, "reasons": [], "due": "2026-12-07", "fine": "0.00"},
            id="renewal-allowed-when-the-patron-alone-waits",
        ),
    ],
)
def test_holds_on_titles_answer_in_the_contract_s_shapes(
    scenario: dict[str, Any], expected: dict[str, object]
) -> None:
    assert answer(scenario) == {"action": scenario["action"], **expected}
