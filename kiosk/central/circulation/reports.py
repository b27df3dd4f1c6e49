"""Reports for staff, read only: loans and returns per day, per hour of the day, per kiosk
and per member type; fines charged and paid per day; the busiest hours of the week; and a
kiosk's last 24 hours from its heartbeats.

The database does the counting. The period's loans and returns are read once through
their index (``transactions_at``) and grouped in SQL by hour and kiosk (``_hourly``): at
most 24 rows a day for each kiosk come back, whatever the number of transactions, and
the reports per day, per hour, per kiosk and the busiest hours add those up. Member
types take a second grouped query (a join with ``patrons``), money a third over the
ledger (``ledger_at``), and a kiosk's 24 hours one over ``heartbeats_by_kiosk``.

Times are the library's local time as stored (naive), so a day here is a calendar day at
the library and midnight is the library's midnight.

By branch (issue 21): the loans and returns of one branch are those recorded there
(``transactions.branch``): at its kiosks, at its desk (by staff whose account works
there) and by its SIP2 devices (by their location); the ledger's money is counted only
for every branch.

SQLite and PostgreSQL take a day, an hour or a minute out of a timestamp differently:
``_SqliteCalendar`` reads SQLite's text (``YYYY-MM-DD HH:MM:SS.ffffff``, as SQLAlchemy
writes it) with ``substr``, several times faster there than ``strftime``;
``_PostgresCalendar`` uses ``CAST``, ``EXTRACT`` and ``date_trunc``. ``_calendar``
picks the one for the session's database. Neither puts a bound parameter in an
expression that is grouped on, so that the grouped expression and the selected one are
the same text on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Integer,
    SQLColumnExpression,
    and_,
    case,
    cast,
    extract,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from kiosk.central.models import AppliedTransaction, HeartbeatRecord, Kiosk, LedgerEntry, Patron
from kiosk.common.money import from_cents

LOAN = "checkout"
RETURN = "return"
CHARGES = ("fine", "fault")  # what a patron is charged (amount > 0)
PAYMENT = "payment"
WAIVER = "waiver"  # money written off by staff: neither charged nor paid, kept apart
DESK = "Staff desk"  # a transaction with no kiosk was made at the desk
DEVICES = "SIP2 devices"  # ... or by a SIP2 device (its actor is "sip2:NAME")
NOT_KNOWN = "Not known"  # no patron on the transaction, or one no longer registered
MAX_DAYS = 366
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Period:
    """The days from ``first`` to ``last``, both included, in the library's local time."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the range ends before it starts")
        if (self.last - self.first).days + 1 > MAX_DAYS:
            raise ValueError(f"the range is longer than {MAX_DAYS} days")

    @classmethod
    def ending(cls, last: date, days: int = 7) -> Period:
        """The ``days`` days up to and including ``last``."""
        return cls(last - timedelta(days=days - 1), last)

    @property
    def start(self) -> datetime:
        """The first day's midnight."""
        return datetime.combine(self.first, time())

    @property
    def end(self) -> datetime:
        """The midnight after the last day: the range is ``start <= t < end``."""
        return datetime.combine(self.last + timedelta(days=1), time())

    @property
    def days(self) -> tuple[date, ...]:
        return tuple(
            self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)
        )


@dataclass(frozen=True, slots=True)
class DayCounts:
    day: date
    loans: int
    returns: int

    @property
    def total(self) -> int:
        return self.loans + self.returns


@dataclass(frozen=True, slots=True)
class HourCounts:
    hour: int  # 0-23: from hour:00 to the next hour
    loans: int
    returns: int

    @property
    def total(self) -> int:
        return self.loans + self.returns

    @property
    def label(self) -> str:
        return f"{self.hour:02d}:00"


@dataclass(frozen=True, slots=True)
class KioskCounts:
    kiosk_id: int | None  # None: the staff desk
    kiosk: str
    loans: int
    returns: int

    @property
    def total(self) -> int:
        return self.loans + self.returns


@dataclass(frozen=True, slots=True)
class MemberTypeCounts:
    member_type: str
    loans: int
    returns: int

    @property
    def total(self) -> int:
        return self.loans + self.returns


@dataclass(frozen=True, slots=True)
class DayMoney:
    day: date
    charged: Decimal  # fines and fault charges
    paid: Decimal
    waived: Decimal


@dataclass(frozen=True, slots=True)
class BusyHour:
    weekday: int  # 0 Monday .. 6 Sunday
    hour: int
    loans: int
    returns: int

    @property
    def total(self) -> int:
        return self.loans + self.returns

    @property
    def label(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.hour:02d}:00"


@dataclass(frozen=True, slots=True)
class HeartbeatHour:
    """One hour of a kiosk's last 24, from the heartbeats it sent in it."""

    start: datetime
    minutes: int  # minutes of the hour gone by (60 but for the hour now running)
    heard: int  # minutes in which at least one heartbeat arrived
    beats: int
    most_waiting: int | None  # the largest journal backlog it reported; None: not heard
    errors: int  # heartbeats that named a last error
    least_disk_mb: int | None

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=1)

    @property
    def share(self) -> int:
        """The share of the hour's minutes in which it was heard, in whole per cent."""
        return min(100, round(100 * self.heard / self.minutes)) if self.minutes else 0

    @property
    def error_share(self) -> int:
        """The share of its heartbeats that named an error, in whole per cent."""
        return round(100 * self.errors / self.beats) if self.beats else 0


@dataclass(frozen=True, slots=True)
class Reports:
    """Every report of the *Reports* page for one period."""

    period: Period
    per_day: tuple[DayCounts, ...]
    per_hour: tuple[HourCounts, ...]
    per_kiosk: tuple[KioskCounts, ...]
    per_member_type: tuple[MemberTypeCounts, ...]
    money: tuple[DayMoney, ...]
    busiest: tuple[BusyHour, ...]

    @property
    def loans(self) -> int:
        return sum(day.loans for day in self.per_day)

    @property
    def returns(self) -> int:
        return sum(day.returns for day in self.per_day)

    @property
    def charged(self) -> Decimal:
        return sum((day.charged for day in self.money), Decimal("0.00"))

    @property
    def paid(self) -> Decimal:
        return sum((day.paid for day in self.money), Decimal("0.00"))

    @property
    def waived(self) -> Decimal:
        return sum((day.waived for day in self.money), Decimal("0.00"))


# --- the two databases' calendars ------------------------------------------------------


_Moment = SQLColumnExpression[datetime]


class _Calendar(Protocol):
    def day(self, moment: _Moment) -> ColumnElement[date]: ...

    def hour(self, moment: _Moment) -> ColumnElement[Any]:
        """The hour a moment falls in: read back with ``_as_hour``."""
        ...

    def minute(self, moment: _Moment) -> ColumnElement[int]:
        """The minute of its hour, 0-59."""
        ...


def _literal(text: str) -> ColumnElement[str]:
    """A constant written into the SQL, not bound: see the module's docstring."""
    return literal_column("'" + text.replace("'", "''") + "'")


class _SqliteCalendar:
    """SQLite keeps a timestamp as SQLAlchemy wrote it, ``YYYY-MM-DD HH:MM:SS.ffffff``:
    its first 10 characters are the day, the first 13 the hour, and 15-16 the minute.
    SQLAlchemy's SQLite ``DATE`` reads the day back as a ``date``."""

    def day(self, moment: _Moment) -> ColumnElement[date]:
        return func.substr(moment, 1, 10, type_=Date)

    def hour(self, moment: _Moment) -> ColumnElement[Any]:
        return func.substr(moment, 1, 13)

    def minute(self, moment: _Moment) -> ColumnElement[int]:
        return cast(func.substr(moment, 15, 2), Integer)


class _PostgresCalendar:
    """PostgreSQL's ``timestamp without time zone``: a cast to ``date``, ``date_trunc``
    and ``EXTRACT``, none of which moves the time (no time zone is involved)."""

    def day(self, moment: _Moment) -> ColumnElement[date]:
        return cast(moment, Date)

    def hour(self, moment: _Moment) -> ColumnElement[Any]:
        return func.date_trunc(_literal("hour"), moment, type_=DateTime)

    def minute(self, moment: _Moment) -> ColumnElement[int]:
        return cast(extract("minute", moment), Integer)


_CALENDARS: dict[str, _Calendar] = {
    "sqlite": _SqliteCalendar(),
    "postgresql": _PostgresCalendar(),
}


def _calendar(db: Session) -> _Calendar:
    name = db.get_bind().dialect.name
    try:
        return _CALENDARS[name]
    except KeyError:
        raise NotImplementedError(f"no reports on {name}: SQLite or PostgreSQL only") from None


def _as_date(value: Any) -> date:
    """A day as the driver gave it back (a ``date``; text in a pinch)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _as_hour(value: Any) -> datetime:
    """An hour as ``_Calendar.hour`` gave it back: a timestamp (PostgreSQL) or the text
    ``YYYY-MM-DD HH`` (SQLite)."""
    if isinstance(value, datetime):
        return value.replace(minute=0, second=0, microsecond=0)
    text = str(value)
    return datetime.combine(date.fromisoformat(text[:10]), time(int(text[11:13])))


# --- loans and returns -----------------------------------------------------------------

_decided = AppliedTransaction.decided_at  # when it happened, at the kiosk or the desk


def _counted(
    period: Period, branch: str | None = None
) -> tuple[ColumnElement[int], ColumnElement[int], Any]:
    """Loans and returns summed per group, and the condition every count shares: in the
    period, and recorded at ``branch`` when one is given."""
    kind = AppliedTransaction.kind
    loans = func.coalesce(func.sum(case((kind == LOAN, 1), else_=0)), 0)
    returns = func.coalesce(func.sum(case((kind == RETURN, 1), else_=0)), 0)
    where = and_(kind.in_((LOAN, RETURN)), _decided >= period.start, _decided < period.end)
    if branch is not None:
        where = and_(where, AppliedTransaction.branch == branch)
    return loans, returns, where


_Key = TypeVar("_Key")


@dataclass(frozen=True, slots=True)
class _Hourly:
    """One group of the period's loans and returns: an hour at one kiosk (or the desk)."""

    hour: datetime
    kiosk_id: int | None
    loans: int
    returns: int
    device: bool = False  # no kiosk: a SIP2 device's, not the desk's


def _hourly(db: Session, period: Period, branch: str | None = None) -> tuple[_Hourly, ...]:
    """The period's loans and returns grouped by the database into hours per kiosk."""
    hour = _calendar(db).hour(_decided).label("hour")
    kiosk = AppliedTransaction.kiosk_id
    # Bytewise, as "sip2:" < actor < "sip2;" (";" follows ":"): no LIKE, no parameter in
    # a grouped expression (which PostgreSQL refuses) but two literal bounds.
    device = case(
        (
            (AppliedTransaction.actor >= literal_column("'sip2:'"))
            & (AppliedTransaction.actor < literal_column("'sip2;'")),
            1,
        ),
        else_=0,
    ).label("device")
    loans, returns, where = _counted(period, branch)
    query = (
        select(hour, kiosk, device, loans.label("loans"), returns.label("returns"))
        .where(where)
        .group_by(hour, kiosk, device)
    )
    return tuple(
        _Hourly(
            _as_hour(row.hour),
            row.kiosk_id,
            int(row.loans),
            int(row.returns),
            device=row.kiosk_id is None and bool(row.device),
        )
        for row in db.execute(query)
    )


def _added(groups: Iterable[tuple[_Key, _Hourly]]) -> dict[_Key, tuple[int, int]]:
    """The loans and returns of the groups, added up by key."""
    totals: dict[_Key, tuple[int, int]] = {}
    for key, group in groups:
        loans, returns = totals.get(key, (0, 0))
        totals[key] = (loans + group.loans, returns + group.returns)
    return totals


def _per_day(hourly: Iterable[_Hourly], period: Period) -> tuple[DayCounts, ...]:
    found = _added((group.hour.date(), group) for group in hourly)
    return tuple(DayCounts(each, *found.get(each, (0, 0))) for each in period.days)


def _per_hour(hourly: Iterable[_Hourly]) -> tuple[HourCounts, ...]:
    found = _added((group.hour.hour, group) for group in hourly)
    return tuple(HourCounts(each, *found.get(each, (0, 0))) for each in range(24))


def _per_kiosk(
    db: Session, hourly: Iterable[_Hourly], branch: str | None = None
) -> tuple[KioskCounts, ...]:
    found = _added(((DEVICES if group.device else group.kiosk_id), group) for group in hourly)
    query = select(Kiosk.id, Kiosk.name).order_by(Kiosk.name)
    if branch is not None:
        # Its kiosks now, and any kiosk whose transactions were recorded there before it
        # moved; its desk and devices.
        moved = [key for key in found if isinstance(key, int)]
        shown = or_(Kiosk.branch == branch, Kiosk.id.in_(moved))
        query = query.where(shown)
    names = db.execute(query).all()
    devices = (KioskCounts(None, DEVICES, *found[DEVICES]),) if DEVICES in found else ()
    return (
        *(KioskCounts(row.id, row.name, *found.get(row.id, (0, 0))) for row in names),
        KioskCounts(None, DESK, *found.get(None, (0, 0))),
        *devices,
    )


def _busiest(hourly: Iterable[_Hourly], limit: int | None) -> tuple[BusyHour, ...]:
    found = _added(((group.hour.weekday(), group.hour.hour), group) for group in hourly)
    ranked = sorted(
        (
            BusyHour(weekday, hour, loans, returns)
            for (weekday, hour), (loans, returns) in found.items()
        ),
        key=lambda busy: (-busy.total, busy.weekday, busy.hour),
    )
    return tuple(ranked if limit is None else ranked[:limit])


def per_day(db: Session, period: Period, branch: str | None = None) -> tuple[DayCounts, ...]:
    """Every day of the period, those with nothing included (at ``branch``'s kiosks, or
    everywhere)."""
    return _per_day(_hourly(db, period, branch), period)


def per_hour(db: Session, period: Period, branch: str | None = None) -> tuple[HourCounts, ...]:
    """The 24 hours of the day, 00:00 to 23:00, summed over the period's days."""
    return _per_hour(_hourly(db, period, branch))


def per_kiosk(db: Session, period: Period, branch: str | None = None) -> tuple[KioskCounts, ...]:
    """Every kiosk registered (by name, those with nothing included), then the staff
    desk (and the SIP2 devices, when they made any); for a branch, its kiosks, desk and
    devices."""
    return _per_kiosk(db, _hourly(db, period, branch), branch)


def busiest_hours(
    db: Session, period: Period, limit: int | None = 10, branch: str | None = None
) -> tuple[BusyHour, ...]:
    """The hours of the week (a weekday at an hour) with the most loans and returns in
    the period, busiest first (ties: Monday first, then the earlier hour); ``limit=None``:
    every hour with any."""
    return _busiest(_hourly(db, period, branch), limit)


def per_member_type(
    db: Session, period: Period, branch: str | None = None
) -> tuple[MemberTypeCounts, ...]:
    """Each member type that borrowed or returned in the period, by the patron's member
    type now (or the one a transaction kept when its patron was forgotten); by name, with
    transactions of no known patron last."""
    loans, returns, where = _counted(period, branch)
    member_type = func.coalesce(Patron.member_type, AppliedTransaction.member_type).label(
        "member_type"
    )
    rows = db.execute(
        select(member_type, loans.label("loans"), returns.label("returns"))
        .select_from(AppliedTransaction)
        .outerjoin(Patron, Patron.patron_id == AppliedTransaction.patron_id)
        .where(where)
        .group_by(member_type)
    ).all()
    known = sorted(
        (
            MemberTypeCounts(row.member_type, int(row.loans), int(row.returns))
            for row in rows
            if row.member_type is not None
        ),
        key=lambda counts: counts.member_type,
    )
    unknown = [
        MemberTypeCounts(NOT_KNOWN, int(row.loans), int(row.returns))
        for row in rows
        if row.member_type is None
    ]
    return (*known, *unknown)


# --- money -----------------------------------------------------------------------------


def money_per_day(db: Session, period: Period) -> tuple[DayMoney, ...]:
    """Fines and fault charges made, payments taken and amounts waived, each day of the
    period. A payment or a waiver counts by its size, whichever sign the ledger gives it;
    a charge counts only above zero."""
    day = _calendar(db).day(LedgerEntry.at).label("day")
    cents = type_coerce(LedgerEntry.amount, Integer)  # whole cents, summed as integers
    kind = LedgerEntry.kind

    def total(condition: ColumnElement[bool], amount: ColumnElement[int]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, amount), else_=0)), 0)

    query = (
        select(
            day,
            total(and_(kind.in_(CHARGES), cents > 0), cents).label("charged"),
            total(kind == PAYMENT, func.abs(cents)).label("paid"),
            total(kind == WAIVER, func.abs(cents)).label("waived"),
        )
        .where(
            or_(and_(kind.in_(CHARGES), cents > 0), kind.in_((PAYMENT, WAIVER))),
            LedgerEntry.at >= period.start,
            LedgerEntry.at < period.end,
        )
        .group_by(day)
    )
    found = {
        _as_date(row.day): (
            from_cents(int(row.charged)),
            from_cents(int(row.paid)),
            from_cents(int(row.waived)),
        )
        for row in db.execute(query)
    }
    nothing = (from_cents(0), from_cents(0), from_cents(0))
    return tuple(DayMoney(each, *found.get(each, nothing)) for each in period.days)


def reports(db: Session, period: Period, branch: str | None = None) -> Reports:
    """Every report of the period (the loans and returns at ``branch``'s kiosks, when one
    is given): the transactions read twice (by hour and kiosk, and by member type), the
    ledger once."""
    hourly = _hourly(db, period, branch)
    return Reports(
        period=period,
        per_day=_per_day(hourly, period),
        per_hour=_per_hour(hourly),
        per_kiosk=_per_kiosk(db, hourly, branch),
        per_member_type=per_member_type(db, period, branch),
        money=money_per_day(db, period),
        busiest=_busiest(hourly, limit=10),
    )


# --- a kiosk's last 24 hours -----------------------------------------------------------


def kiosk_day(db: Session, kiosk_id: int, now: datetime) -> tuple[HeartbeatHour, ...]:
    """The kiosk's last 24 hours, one entry an hour, oldest first: the hour now running
    and the 23 before it. A minute counts as heard when a heartbeat arrived in it (one
    comes every 15 seconds by default)."""
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    first = this_hour - timedelta(hours=23)
    end = this_hour + timedelta(hours=1)
    calendar = _calendar(db)
    at = HeartbeatRecord.at
    start = calendar.hour(at).label("start")
    query = (
        select(
            start,
            func.count(calendar.minute(at).distinct()).label("heard"),
            func.count().label("beats"),
            func.max(HeartbeatRecord.journal_depth).label("most_waiting"),
            func.coalesce(func.sum(case((HeartbeatRecord.error, 1), else_=0)), 0).label("errors"),
            func.min(HeartbeatRecord.disk_free_mb).label("least_disk_mb"),
        )
        .where(HeartbeatRecord.kiosk_id == kiosk_id, at >= first, at < end)
        .group_by(start)
    )
    found = {_as_hour(row.start): row for row in db.execute(query)}
    hours = []
    for n in range(24):
        begins = first + timedelta(hours=n)
        minutes = 60 if begins < this_hour else now.minute + 1
        row = found.get(begins)
        if row is None:
            hours.append(HeartbeatHour(begins, minutes, 0, 0, None, 0, None))
            continue
        hours.append(
            HeartbeatHour(
                start=begins,
                minutes=minutes,
                heard=int(row.heard),
                beats=int(row.beats),
                most_waiting=None if row.most_waiting is None else int(row.most_waiting),
                errors=int(row.errors),
                least_disk_mb=None if row.least_disk_mb is None else int(row.least_disk_mb),
            )
        )
    return tuple(hours)
