"""Reading a policy (and the facts of a scenario) from plain data: TOML or JSON.

Every problem is collected, each with the key path that holds it and, for a
misspelt key or code, a "did you mean". Nothing is raised until the whole
document has been read, so staff see every mistake at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from kiosk.rules.errors import InvalidPolicy, Problem
from kiosk.rules.model import (
    DEFAULT_OVERDUE_NOTICE_DAYS,
    DEFAULT_SHORT_LOAN_HOURS,
    Calendar,
    FaultCharge,
    MemberType,
    Policy,
    Privilege,
    PublicationType,
    display_name,
    money,
)

MEMBER_TYPE_KEYS = (
    "name",
    "quota",
    "no_issue_after",
    "max_fine",
    "fine_limit",
    "renewal_window_days",
    "renewal_period_days",
)
PUBLICATION_TYPE_KEYS = ("name", "quota", "no_issue_after", "max_fine", "text_book")
PRIVILEGE_KEYS = (
    "member_type",
    "publication_type",
    "quota",
    "days",
    "hours",
    "days_grace",
    "fine",
    "days_per_fine",
    "renewals",
)
FAULT_CHARGE_KEYS = ("name", "amount", "status")
CALENDAR_KEYS = ("closed_weekdays", "closed_dates")
NOTICES_KEYS = ("overdue_days",)
MAX_OVERDUE_NOTICES = 3
POLICY_KEYS = (
    "member_types",
    "publication_types",
    "privileges",
    "fault_charges",
    "calendar",
    "notices",
)

# Stock statuses the library system itself uses. A fault charge may name a status
# of the library's own, but not a near-miss of one of these, which is a typo.
STANDARD_STATUSES = (
    "available",
    "on_loan",
    "on_hold_shelf",
    "in_transit",
    "damaged",
    "lost",
    "missing",
    "in_repair",
    "withdrawn",
)
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?")
_STATUS = re.compile(r"[a-z][a-z0-9_]*")


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """`` (did you mean 'X'?)`` for the closest candidate, or nothing."""
    by_folded = {candidate.casefold(): candidate for candidate in candidates}
    close = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=cutoff)
    return f"; did you mean {by_folded[close[0]]!r}?" if close else ""


def child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def describe(value: object) -> str:
    """A value as staff wrote it, for messages: ``'14'`` for text, ``14`` for a number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


class Reader:
    """Reads typed values out of nested plain data, recording every problem.

    ``strict_keys``: an unknown key is a problem (a staff's policy file). Otherwise
    an unknown key is a problem only when it looks like a misspelling of a known
    one, so that a scenario may carry notes of its own (``"comment"``).
    """

    def __init__(self, *, strict_keys: bool) -> None:
        self.strict_keys = strict_keys
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidPolicy(self.problems)

    def table(
        self, value: object, path: str, known: Collection[str]
    ) -> Mapping[str, object] | None:
        """``value`` as a table with only ``known`` keys, or None (problem recorded)."""
        if not isinstance(value, Mapping):
            self.problem(path, f"must be a table of keys and values, got {describe(value)}")
            return None
        for key in value:
            if key in known:
                continue
            hint = did_you_mean(str(key), known, cutoff=0.6 if self.strict_keys else 0.8)
            if self.strict_keys or hint:
                expected = ", ".join(known)
                self.problem(
                    child(path, str(key)), f"unknown key{hint or f' (expected {expected})'}"
                )
        return value

    def entries(self, value: object, path: str) -> Mapping[str, object]:
        """A table keyed by code (``member_types``): the codes may be anything non-blank."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(path, f"must be a table keyed by code, got {describe(value)}")
            return {}
        for code in value:
            if not str(code).strip():
                self.problem(path, "a code must not be blank")
        return {str(code): entry for code, entry in value.items() if str(code).strip()}

    def items(self, value: object, path: str) -> list[object]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, f"must be a list, got {describe(value)}")
            return []
        return value

    def count(self, data: Mapping[str, object], key: str, path: str, *, minimum: int) -> int | None:
        """A whole number >= ``minimum``, or None where the key is absent or null."""
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(child(path, key), f"must be a whole number, got {describe(value)}")
            return None
        if value < minimum:
            self.problem(child(path, key), f"must be >= {minimum}, got {value}")
            return None
        return value

    def required_count(
        self, data: Mapping[str, object], key: str, path: str, *, minimum: int
    ) -> int:
        if data.get(key) is None:
            self.problem(child(path, key), "is required")
            return minimum
        value = self.count(data, key, path, minimum=minimum)
        return minimum if value is None else value

    def amount(self, data: Mapping[str, object], key: str, path: str) -> Decimal | None:
        """An amount of money >= 0 with at most two decimal places, or None if absent."""
        value = data.get(key)
        if value is None:
            return None
        where = child(path, key)
        if isinstance(value, bool | float):
            self.problem(where, f'must be an amount such as "2.50", got {describe(value)}')
            return None
        try:
            amount = Decimal(value) if isinstance(value, str | int | Decimal) else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            self.problem(where, f'must be an amount such as "2.50", got {describe(value)}')
            return None
        if amount < 0:
            self.problem(where, f"must not be negative, got {describe(value)}")
            return None
        if amount != money(amount):
            self.problem(where, f"must have at most two decimal places, got {describe(value)}")
            return None
        return money(amount)

    def day(self, data: Mapping[str, object], key: str, path: str) -> date | None:
        return self.date_value(data.get(key), child(path, key))

    def date_value(self, value: object, where: str) -> date | None:
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError as error:
                self.problem(where, f"is not a real date: {value!r} ({error})")
                return None
        self.problem(where, f"must be a date as YYYY-MM-DD, got {describe(value)}")
        return None

    def moment(self, data: Mapping[str, object], key: str, path: str) -> datetime | None:
        """A local date and time (``2026-11-22T10:00``, no time zone), or None if absent."""
        value = data.get(key)
        if value is None:
            return None
        where = child(path, key)
        if not (isinstance(value, str) and _DATETIME.fullmatch(value)):
            self.problem(
                where,
                f"must be a local date and time as YYYY-MM-DDTHH:MM, got {describe(value)}",
            )
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError as error:
            self.problem(where, f"is not a real date and time: {value!r} ({error})")
            return None

    def flag(self, data: Mapping[str, object], key: str, path: str) -> bool:
        value = data.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.problem(child(path, key), f"must be true or false, got {describe(value)}")
            return False
        return value

    def text(self, data: Mapping[str, object], key: str, path: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(child(path, key), f"must be non-blank text, got {describe(value)}")
            return None
        return value.strip()

    def code(
        self,
        data: Mapping[str, object],
        key: str,
        path: str,
        known: Mapping[str, object],
        what: str,
    ) -> str | None:
        """A reference to one of ``known`` (a member type, a publication type, a charge)."""
        value = self.text(data, key, path)
        if value is None:
            if key not in data or data[key] is None:
                self.problem(child(path, key), "is required")
            return None
        return self.reference(value, child(path, key), known, what)

    def reference(
        self, value: str, where: str, known: Mapping[str, object], what: str
    ) -> str | None:
        if value in known:
            return value
        if known:
            hint = did_you_mean(value, known) or f" (known: {', '.join(sorted(known))})"
        else:
            hint = " (none are defined)"
        self.problem(where, f"unknown {what} {value!r}{hint}")
        return None


def parse_policy(data: object, reader: Reader, path: str = "") -> Policy:
    """Read a policy; the caller raises ``reader``'s problems when it is done reading."""
    root = reader.table(data, path, POLICY_KEYS) or {}
    member_types = {
        code: _member_type(reader, code, entry, child(child(path, "member_types"), code))
        for code, entry in reader.entries(
            root.get("member_types"), child(path, "member_types")
        ).items()
    }
    publication_types = {
        code: _publication_type(reader, code, entry, child(child(path, "publication_types"), code))
        for code, entry in reader.entries(
            root.get("publication_types"), child(path, "publication_types")
        ).items()
    }
    privileges: dict[tuple[str, str], Privilege] = {}
    first_seen: dict[tuple[str, str], str] = {}
    privileges_path = child(path, "privileges")
    for index, entry in enumerate(reader.items(root.get("privileges"), privileges_path)):
        where = child(privileges_path, index)
        privilege = _privilege(reader, entry, where, member_types, publication_types)
        if privilege is None:
            continue
        pair = (privilege.member_type, privilege.publication_type)
        if pair in first_seen:
            reader.problem(
                where,
                f"{pair[0]} x {pair[1]} is already defined at {first_seen[pair]}; "
                "each pair may have one privilege",
            )
            continue
        first_seen[pair] = where
        privileges[pair] = privilege
    fault_charges = {
        code: _fault_charge(reader, code, entry, child(child(path, "fault_charges"), code))
        for code, entry in reader.entries(
            root.get("fault_charges"), child(path, "fault_charges")
        ).items()
    }
    calendar = _calendar(reader, root.get("calendar"), child(path, "calendar"))
    overdue_days = _overdue_notice_days(reader, root.get("notices"), child(path, "notices"))
    return Policy(
        member_types, publication_types, privileges, fault_charges, calendar, overdue_days
    )


def _member_type(reader: Reader, code: str, entry: object, path: str) -> MemberType:
    data = reader.table(entry, path, MEMBER_TYPE_KEYS) or {}
    return MemberType(
        code=code,
        name=reader.text(data, "name", path) or display_name(code),
        quota=reader.count(data, "quota", path, minimum=0),
        no_issue_after=reader.day(data, "no_issue_after", path),
        max_fine=reader.amount(data, "max_fine", path),
        fine_limit=reader.amount(data, "fine_limit", path),
        renewal_window_days=reader.count(data, "renewal_window_days", path, minimum=0),
        renewal_period_days=reader.count(data, "renewal_period_days", path, minimum=0),
    )


def _publication_type(reader: Reader, code: str, entry: object, path: str) -> PublicationType:
    data = reader.table(entry, path, PUBLICATION_TYPE_KEYS) or {}
    return PublicationType(
        code=code,
        name=reader.text(data, "name", path) or display_name(code),
        quota=reader.count(data, "quota", path, minimum=0),
        no_issue_after=reader.day(data, "no_issue_after", path),
        max_fine=reader.amount(data, "max_fine", path),
        text_book=reader.flag(data, "text_book", path),
    )


def _privilege(
    reader: Reader,
    entry: object,
    path: str,
    member_types: Mapping[str, MemberType],
    publication_types: Mapping[str, PublicationType],
) -> Privilege | None:
    data = reader.table(entry, path, PRIVILEGE_KEYS)
    if data is None:
        return None
    member_type = reader.code(data, "member_type", path, member_types, "member type")
    publication_type = reader.code(
        data, "publication_type", path, publication_types, "publication type"
    )
    hours = reader.count(data, "hours", path, minimum=1)
    days_per_fine = reader.count(data, "days_per_fine", path, minimum=1)
    privilege = Privilege(
        member_type=member_type or "",
        publication_type=publication_type or "",
        quota=reader.count(data, "quota", path, minimum=0),
        days=reader.required_count(data, "days", path, minimum=0),
        hours=DEFAULT_SHORT_LOAN_HOURS if hours is None else hours,
        days_grace=reader.count(data, "days_grace", path, minimum=0) or 0,
        fine=reader.amount(data, "fine", path) or money(Decimal(0)),
        days_per_fine=1 if days_per_fine is None else days_per_fine,
        renewals=reader.count(data, "renewals", path, minimum=0),
    )
    if member_type is None or publication_type is None:
        return None
    return privilege


def _fault_charge(reader: Reader, code: str, entry: object, path: str) -> FaultCharge:
    data = reader.table(entry, path, FAULT_CHARGE_KEYS) or {}
    amount = reader.amount(data, "amount", path)
    if amount is None and data.get("amount") is None:
        reader.problem(child(path, "amount"), "is required")
    status = reader.text(data, "status", path)
    if status is None:
        if data.get("status") is None:
            reader.problem(child(path, "status"), "is required (the stock status the item takes)")
    elif not _STATUS.fullmatch(status):
        reader.problem(
            child(path, "status"),
            f"must be a status in lower case such as 'damaged', got {status!r}",
        )
    elif status not in STANDARD_STATUSES and did_you_mean(status, STANDARD_STATUSES, 0.8):
        reader.problem(
            child(path, "status"),
            f"unknown status {status!r}{did_you_mean(status, STANDARD_STATUSES, 0.8)}",
        )
    return FaultCharge(
        code=code,
        name=reader.text(data, "name", path) or display_name(code),
        amount=amount or money(Decimal(0)),
        status=status or "",
    )


def _calendar(reader: Reader, value: object, path: str) -> Calendar:
    if value is None:
        return Calendar()
    data = reader.table(value, path, CALENDAR_KEYS) or {}
    weekdays: set[int] = set()
    weekdays_path = child(path, "closed_weekdays")
    for index, day in enumerate(reader.items(data.get("closed_weekdays"), weekdays_path)):
        weekday = _weekday(reader, day, child(weekdays_path, index))
        if weekday is not None:
            weekdays.add(weekday)
    if len(weekdays) == len(WEEKDAY_NAMES):
        reader.problem(weekdays_path, "the library cannot be closed on every day of the week")
    dates_path = child(path, "closed_dates")
    closed_dates = {
        day
        for index, value in enumerate(reader.items(data.get("closed_dates"), dates_path))
        if (day := reader.date_value(value, child(dates_path, index))) is not None
    }
    return Calendar(frozenset(weekdays), frozenset(closed_dates))


def _overdue_notice_days(reader: Reader, value: object, path: str) -> tuple[int, ...]:
    """Up to three days after the due date, rising: when each overdue notice goes."""
    if value is None:
        return DEFAULT_OVERDUE_NOTICE_DAYS
    data = reader.table(value, path, NOTICES_KEYS) or {}
    if "overdue_days" not in data:
        return DEFAULT_OVERDUE_NOTICE_DAYS
    where = child(path, "overdue_days")
    days: list[int] = []
    for index, day in enumerate(reader.items(data.get("overdue_days"), where)):
        if isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 365:
            days.append(day)
        else:
            reader.problem(
                child(where, index),
                f"must be a number of days after the due date, 1 to 365, got {describe(day)}",
            )
    if len(days) > MAX_OVERDUE_NOTICES:
        reader.problem(where, f"at most {MAX_OVERDUE_NOTICES} overdue notices, got {len(days)}")
    elif days != sorted(set(days)):
        reader.problem(where, f"the days must rise, each after the one before, got {days}")
    return tuple(days)


def _weekday(reader: Reader, value: object, where: str) -> int | None:
    """0 (Monday) to 6 (Sunday), or an English day name such as ``"sunday"`` or ``"Sun"``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    if isinstance(value, str):
        folded = value.strip().casefold()
        for number, name in enumerate(WEEKDAY_NAMES):
            if folded in (name, name[:3]):
                return number
    reader.problem(
        where,
        f"must be a weekday, 0 (Monday) to 6 (Sunday) or a name such as 'sunday', "
        f"got {describe(value)}{did_you_mean(str(value), WEEKDAY_NAMES)}",
    )
    return None


def read_policy(data: object) -> Policy:
    """A policy from a staff's policy file (already parsed from TOML); every unknown key
    is a problem. Raises InvalidPolicy listing every problem."""
    reader = Reader(strict_keys=True)
    policy = parse_policy(data, reader)
    for problem in completeness_problems(policy):
        reader.problems.append(problem)
    reader.raise_if_any()
    return policy


def completeness_problems(policy: Policy) -> list[Problem]:
    """What a policy file must have for a kiosk to lend at all."""
    problems = []
    if not policy.member_types:
        problems.append(Problem("member_types", "no member types are defined; nobody could borrow"))
    if not policy.publication_types:
        problems.append(
            Problem("publication_types", "no publication types are defined; nothing could be lent")
        )
    if policy.member_types and policy.publication_types and not policy.privileges:
        problems.append(Problem("privileges", "no privileges are defined; nobody could borrow"))
    return problems


def advisories(policy: Policy) -> list[str]:
    """Things that are allowed but are probably not what staff meant."""
    notes = []
    for code, member_type in policy.member_types.items():
        if not any(pair[0] == code for pair in policy.privileges) and member_type.quota != 0:
            notes.append(f"member type {code} has no privileges: its members can borrow nothing")
        if member_type.renewal_window_days is not None and member_type.renewal_period_days is None:
            notes.append(
                f"member type {code}: renewal_window_days is ignored because "
                "renewal_period_days is not set (only staff can renew, choosing the new expiry)"
            )
        if member_type.renewal_period_days == 0:
            notes.append(
                f"member type {code}: renewal_period_days = 0, so a renewal extends nothing "
                "(an expired membership is renewed to end today)"
            )
    for code in policy.publication_types:
        if not any(pair[1] == code for pair in policy.privileges):
            notes.append(f"publication type {code} has no privileges: nobody can borrow it")
    for (member, publication), privilege in policy.privileges.items():
        if privilege.days > 0 and privilege.hours != DEFAULT_SHORT_LOAN_HOURS:
            notes.append(
                f"privilege {member} x {publication}: hours = {privilege.hours} is ignored "
                f"because days = {privilege.days} (hours apply only to short loans, days = 0)"
            )
    return notes
