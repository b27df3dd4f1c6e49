"""The staff what-if contract of ``kiosk policy evaluate``: one scenario in, one answer out.

The shapes are those of shared/docs/lending-rules.md. Fields an action does not
use may be left out, and so may null fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from kiosk.rules.decisions import (
    assess_fault,
    assess_return,
    decide_checkout,
    decide_membership_renewal,
    decide_renewal,
)
from kiosk.rules.errors import InvalidPolicy, Problem
from kiosk.rules.model import AVAILABLE, Due, Item, Loan, Patron, Policy, money
from kiosk.rules.parsing import Reader, child, describe, parse_policy
from kiosk.rules.reasons import reason_codes


class Action(StrEnum):
    CHECKOUT = "checkout"
    RETURN = "return"
    RENEW = "renew"
    FAULT = "fault"
    MEMBERSHIP_RENEWAL = "membership_renewal"


SCENARIO_KEYS = (
    "action",
    "now",
    "policy",
    "patron",
    "loans",
    "item",
    "loan",
    "charge",
    "by_staff",
    "branch",
)
PATRON_KEYS = ("id", "member_type", "expires", "barred", "owed")
ITEM_KEYS = (
    "publication_type",
    "price",
    "status",
    "holds",
    "title_holds",
    "trapped_for",
    "home_branch",
    "pickups",
)
LOAN_KEYS = ("member_type", "due", "renewals")
HELD_LOAN_KEYS = ("publication_type",)

# Which parts of a scenario each action reads.
NEEDS: Mapping[Action, tuple[str, ...]] = {
    Action.CHECKOUT: ("now", "patron", "item"),
    Action.RETURN: ("now", "loan", "item"),
    Action.RENEW: ("now", "patron", "loan", "item"),
    Action.FAULT: ("charge",),
    Action.MEMBERSHIP_RENEWAL: ("now", "patron"),
}


@dataclass(frozen=True, slots=True)
class Scenario:
    action: Action
    policy: Policy
    now: datetime
    patron: Patron
    held: tuple[str, ...]
    item: Item
    loan: Loan
    charge: str
    by_staff: bool = False
    branch: str | None = None  # where a return happens


def parse_scenario(data: object) -> Scenario:
    """Read a scenario, raising InvalidPolicy that names every offending field."""
    if not isinstance(data, Mapping):
        raise InvalidPolicy(
            [Problem("", f"a scenario must be a JSON object, got {describe(data)}")]
        )
    reader = Reader(strict_keys=False)
    root = reader.table(data, "", SCENARIO_KEYS) or {}
    action = _action(reader, root.get("action"))
    if action is not None:
        for key in NEEDS[action]:
            if root.get(key) is None:
                reader.problem(key, f"is required for action {action.value!r}")
    policy = parse_policy(root.get("policy", {}), reader, "policy")
    now = reader.moment(root, "now", "")
    patron = _patron(reader, root.get("patron"), policy)
    item = _item(reader, root.get("item"), policy)
    held = tuple(_held(reader, root.get("loans"), policy))
    loan = _loan(reader, root.get("loan"), policy, patron, action)
    charge = root.get("charge")
    if charge is not None:
        if isinstance(charge, str):
            reader.reference(charge, "charge", policy.fault_charges, "fault charge")
        else:
            reader.problem("charge", f"must be the code of a fault charge, got {describe(charge)}")
    by_staff = reader.flag(root, "by_staff", "")
    if by_staff and action is not None and action is not Action.MEMBERSHIP_RENEWAL:
        reader.problem(
            "by_staff",
            f"applies only to action {Action.MEMBERSHIP_RENEWAL.value!r}, not {action.value!r}",
        )
    branch = reader.text(root, "branch", "")
    if branch is not None and action is not None and action is not Action.RETURN:
        reader.problem(
            "branch", f"applies only to action {Action.RETURN.value!r}, not {action.value!r}"
        )
    reader.raise_if_any()
    assert action is not None  # a missing action is a problem, raised above
    return Scenario(
        action=action,
        policy=policy,
        now=now or datetime.min,
        patron=patron,
        held=held,
        item=item,
        loan=loan,
        charge=charge if isinstance(charge, str) else "",
        by_staff=by_staff,
        branch=branch,
    )


def _action(reader: Reader, value: object) -> Action | None:
    choices = ", ".join(action.value for action in Action)
    if value is None:
        reader.problem("action", f"is required: one of {choices}")
        return None
    if isinstance(value, str) and value in tuple(Action):
        return Action(value)
    reader.problem("action", f"must be one of {choices}, got {describe(value)}")
    return None


def _patron(reader: Reader, value: object, policy: Policy) -> Patron:
    if value is None:
        return Patron(id="", member_type="")
    data = reader.table(value, "patron", PATRON_KEYS) or {}
    patron_id = data.get("id")
    if patron_id is not None and not isinstance(patron_id, str | int):
        reader.problem("patron.id", f"must be text, got {describe(patron_id)}")
    return Patron(
        id="" if patron_id is None else str(patron_id),
        member_type=reader.code(data, "member_type", "patron", policy.member_types, "member type")
        or "",
        expires=reader.day(data, "expires", "patron"),
        barred=reader.flag(data, "barred", "patron"),
        owed=reader.amount(data, "owed", "patron") or money(Decimal(0)),
    )


def _item(reader: Reader, value: object, policy: Policy) -> Item:
    if value is None:
        return Item(publication_type="")
    data = reader.table(value, "item", ITEM_KEYS) or {}
    publication_type = reader.code(
        data, "publication_type", "item", policy.publication_types, "publication type"
    )
    holds = _queue(reader, data, "holds")
    title_holds = _queue(reader, data, "title_holds")
    trapped_for = data.get("trapped_for")
    if trapped_for is not None:
        trapped_for = _patron_id(reader, trapped_for, "item.trapped_for", " or null")
    return Item(
        publication_type=publication_type or "",
        status=reader.text(data, "status", "item") or AVAILABLE,
        holds=holds,
        price=reader.amount(data, "price", "item") or money(Decimal(0)),
        title_holds=title_holds,
        trapped_for=trapped_for,
        home_branch=reader.text(data, "home_branch", "item"),
        pickups=_pickups(reader, data),
    )


def _pickups(reader: Reader, data: Mapping[str, object]) -> dict[str, str]:
    """Where each waiting patron collects: a table of patron id to branch code."""
    path = child("item", "pickups")
    branches = reader.entries(data.get("pickups"), path)
    pickups = {}
    for patron_id in branches:
        branch = reader.text(branches, patron_id, path)
        if branch is not None:
            pickups[patron_id] = branch
    return pickups


def _queue(reader: Reader, data: Mapping[str, object], key: str) -> tuple[str, ...]:
    """A hold queue: patron ids in the order the holds were placed."""
    path = child("item", key)
    queue = (
        _patron_id(reader, holder, child(path, index), "")
        for index, holder in enumerate(reader.items(data.get(key), path))
    )
    return tuple(holder for holder in queue if holder is not None)


def _patron_id(reader: Reader, value: object, where: str, alternative: str) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    reader.problem(where, f"must be a patron id{alternative}, got {describe(value)}")
    return None


def _held(reader: Reader, value: object, policy: Policy) -> list[str]:
    held = []
    for index, entry in enumerate(reader.items(value, "loans")):
        where = child("loans", index)
        data = reader.table(entry, where, HELD_LOAN_KEYS)
        if data is None:
            continue
        code = reader.code(
            data, "publication_type", where, policy.publication_types, "publication type"
        )
        if code is not None:
            held.append(code)
    return held


def _loan(
    reader: Reader, value: object, policy: Policy, patron: Patron, action: Action | None
) -> Loan:
    if value is None:
        return Loan(member_type="", due=Due.end_of(datetime.min.date()))
    data = reader.table(value, "loan", LOAN_KEYS) or {}
    if data.get("member_type") is None and action is Action.RENEW and patron.member_type:
        member_type: str | None = patron.member_type
    else:
        member_type = reader.code(data, "member_type", "loan", policy.member_types, "member type")
    raw_due = data.get("due")
    due: Due | None = None
    if raw_due is None:
        reader.problem("loan.due", "is required")
    elif isinstance(raw_due, str) and ("T" in raw_due or " " in raw_due):
        moment = reader.moment(data, "due", "loan")
        due = Due.at_time(moment) if moment is not None else None
    else:
        day = reader.day(data, "due", "loan")
        due = Due.end_of(day) if day is not None else None
    return Loan(
        member_type=member_type or "",
        due=due or Due.end_of(datetime.min.date()),
        renewals=reader.count(data, "renewals", "loan", minimum=0) or 0,
    )


def evaluate(scenario: Scenario) -> dict[str, object]:
    """The contract's answer to ``scenario``, as a JSON-ready dict in the contract's key order."""
    policy, now = scenario.policy, scenario.now
    if scenario.action is Action.CHECKOUT:
        checkout = decide_checkout(policy, scenario.patron, scenario.held, scenario.item, now)
        return {
            "action": "checkout",
            "allowed": checkout.allowed,
            "reasons": reason_codes(checkout.refusals),
            "due": checkout.due.isoformat() if checkout.due else None,
        }
    if scenario.action is Action.RETURN:
        returned = assess_return(policy, scenario.loan, scenario.item, now, branch=scenario.branch)
        answer: dict[str, object] = {
            "action": "return",
            "overdue_days": returned.overdue_days,
            "chargeable_days": returned.chargeable_days,
            "fine": str(returned.fine),
            "route": returned.route.value,
        }
        if returned.destination is not None:  # only a transfer: other answers as before
            answer["destination"] = returned.destination
        return answer
    if scenario.action is Action.RENEW:
        renewal = decide_renewal(policy, scenario.patron, scenario.loan, scenario.item, now)
        return {
            "action": "renew",
            "allowed": renewal.allowed,
            "reasons": reason_codes(renewal.refusals),
            "due": renewal.due.isoformat() if renewal.due else None,
            "fine": str(renewal.fine),
        }
    if scenario.action is Action.MEMBERSHIP_RENEWAL:
        membership = decide_membership_renewal(
            policy, scenario.patron, now, by_staff=scenario.by_staff
        )
        return {
            "action": "membership_renewal",
            "allowed": membership.allowed,
            "reasons": reason_codes(membership.refusals),
            "expires": membership.expires.isoformat() if membership.expires else None,
        }
    fault = assess_fault(policy, scenario.charge, scenario.item)
    return {"action": "fault", "charge": str(fault.charge), "item_status": fault.item_status}


def load_scenario(text: str) -> Scenario:
    """A scenario from JSON text; numbers with a fraction become exact decimals."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise InvalidPolicy(
            [
                Problem(
                    "", f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
                )
            ]
        ) from None
    return parse_scenario(data)
