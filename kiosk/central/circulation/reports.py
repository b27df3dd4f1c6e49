"""Reports for staff, read only: loans and returns per day, per hour of the day, per kiosk
and per member type; fines charged and paid per day; the busiest hours of the week; and a
kiosk's last 24 hours from its heartbeats.

Every figure is counted or summed by the database, grouped in SQL, so a report over
millions of transactions reads the range through its index (``transactions_at``,
``ledger_at``, ``heartbeats_by_kiosk``) and hands back only its groups. Times are the
library's local time as stored (naive), so a day here is a calendar day at the library
and midnight is the library's midnight.

SQLite and PostgreSQL take a day or an hour out of a timestamp differently (``strftime``
against ``CAST``, ``EXTRACT`` and ``date_trunc``): ``_SqliteCalendar`` and
``_PostgresCalendar`` each say how, and ``_calendar`` picks the one for the session's
database. Neither puts a bound parameter in an expression that is grouped on, so the
grouped expression and the selected one are the same text on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

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

    def hour(self, moment: _Moment) -> ColumnElement[int]: ...

    def weekday(self, moment: _Moment) -> ColumnElement[int]:
        """0 Sunday .. 6 Saturday, as both databases count."""
        ...

    def minute(self, moment: _Moment) -> ColumnElement[int]: ...

    def hour_start(self, moment: _Moment) -> ColumnElement[datetime]: ...


def _literal(text: str) -> ColumnElement[str]:
    """A constant written into the SQL, not bound: see the module's docstring."""
    return literal_column("'" + text.replace("'", "''") + "'")


class _SqliteCalendar:
    """SQLite keeps a timestamp as text, ``YYYY-MM-DD HH:MM:SS[.ffffff]``: ``strftime``
    reads it. SQLAlchemy's SQLite ``DATE`` and ``DATETIME`` parse the text back."""

    def day(self, moment: _Moment) -> ColumnElement[date]:
        return func.date(moment, type_=Date)

    def hour(self, moment: _Moment) -> ColumnElement[int]:
        return cast(func.strftime(_literal("%H"), moment), Integer)

    def weekday(self, moment: _Moment) -> ColumnElement[int]:
        return cast(func.strftime(_literal("%w"), moment), Integer)

    def minute(self, moment: _Moment) -> ColumnElement[int]:
        return cast(func.strftime(_literal("%M"), moment), Integer)

    def hour_start(self, moment: _Moment) -> ColumnElement[datetime]:
        return func.strftime(_literal("%Y-%m-%d %H:00:00"), moment, type_=DateTime)


class _PostgresCalendar:
    """PostgreSQL's ``timestamp without time zone``: a cast to ``date``, ``EXTRACT``
    and ``date_trunc``, none of which moves the time (no time zone is involved)."""

    def day(self, moment: _Moment) -> ColumnElement[date]:
        return cast(moment, Date)

    def hour(self, moment: _Moment) -> ColumnElement[int]:
        return cast(extract("hour", moment), Integer)

    def weekday(self, moment: _Moment) -> ColumnElement[int]:
        return cast(extract("dow", moment), Integer)

    def minute(self, moment: _Moment) -> ColumnElement[int]:
        return cast(extract("minute", moment), Integer)

    def hour_start(self, moment: _Moment) -> ColumnElement[datetime]:
        return func.date_trunc(_literal("hour"), moment, type_=DateTime)


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


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


# --- loans and returns -----------------------------------------------------------------

_decided = AppliedTransaction.decided_at  # when it happened, at the kiosk or the desk


def _counted(period: Period) -> tuple[ColumnElement[int], ColumnElement[int], Any]:
    """Loans and returns summed per group, and the condition every count shares."""
    kind = AppliedTransaction.kind
    loans = func.coalesce(func.sum(case((kind == LOAN, 1), else_=0)), 0)
    returns = func.coalesce(func.sum(case((kind == RETURN, 1), else_=0)), 0)
    where = and_(kind.in_((LOAN, RETURN)), _decided >= period.start, _decided < period.end)
    return loans, returns, where


def per_day(db: Session, period: Period) -> tuple[DayCounts, ...]:
    """Every day of the period, those with nothing included."""
    day = _calendar(db).day(_decided).label("day")
    loans, returns, where = _counted(period)
    found = {
        _as_date(row.day): (int(row.loans), int(row.returns))
        for row in db.execute(
            select(day, loans.label("loans"), returns.label("returns")).where(where).group_by(day)
        )
    }
    return tuple(DayCounts(each, *found.get(each, (0, 0))) for each in period.days)


def per_hour(db: Session, period: Period) -> tuple[HourCounts, ...]:
    """The 24 hours of the day, 00:00 to 23:00, summed over the period's days."""
    hour = _calendar(db).hour(_decided).label("hour")
    loans, returns, where = _counted(period)
    found = {
        int(row.hour): (int(row.loans), int(row.returns))
        for row in db.execute(
            select(hour, loans.label("loans"), returns.label("returns")).where(where).group_by(hour)
        )
    }
    return tuple(HourCounts(each, *found.get(each, (0, 0))) for each in range(24))


def per_kiosk(db: Session, period: Period) -> tuple[KioskCounts, ...]:
    """Every kiosk registered (by name, those with nothing included), then the staff
    desk."""
    loans, returns, where = _counted(period)
    kiosk = AppliedTransaction.kiosk_id
    found = {
        row.kiosk_id: (int(row.loans), int(row.returns))
        for row in db.execute(
            select(kiosk, loans.label("loans"), returns.label("returns"))
            .where(where)
            .group_by(kiosk)
        )
    }
    names = db.execute(select(Kiosk.id, Kiosk.name).order_by(Kiosk.name)).all()
    return (
        *(KioskCounts(row.id, row.name, *found.get(row.id, (0, 0))) for row in names),
        KioskCounts(None, DESK, *found.get(None, (0, 0))),
    )


def per_member_type(db: Session, period: Period) -> tuple[MemberTypeCounts, ...]:
    """Each member type that borrowed or returned in the period, by the patron's member
    type now; by name, with transactions of no known patron last."""
    loans, returns, where = _counted(period)
    member_type = Patron.member_type.label("member_type")
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


def busiest_hours(db: Session, period: Period, limit: int | None = 10) -> tuple[BusyHour, ...]:
    """The hours of the week (a weekday at an hour) with the most loans and returns in
    the period, busiest first; ``limit=None``: every hour with any."""
    calendar = _calendar(db)
    sunday_first = calendar.weekday(_decided)
    hour = calendar.hour(_decided)
    # Monday first, as the rest of the console counts: computed from the grouped
    # expression, which alone must be bound-parameter free.
    weekday = (sunday_first + 6) % 7
    loans, returns, where = _counted(period)
    query = (
        select(
            weekday.label("weekday"),
            hour.label("hour"),
            loans.label("loans"),
            returns.label("returns"),
        )
        .where(where)
        .group_by(sunday_first, hour)
        .order_by(func.count().desc(), weekday, hour)
    )
    if limit is not None:
        query = query.limit(limit)
    return tuple(
        BusyHour(int(row.weekday), int(row.hour), int(row.loans), int(row.returns))
        for row in db.execute(query)
    )


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


def reports(db: Session, period: Period) -> Reports:
    return Reports(
        period=period,
        per_day=per_day(db, period),
        per_hour=per_hour(db, period),
        per_kiosk=per_kiosk(db, period),
        per_member_type=per_member_type(db, period),
        money=money_per_day(db, period),
        busiest=busiest_hours(db, period),
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
    start = calendar.hour_start(at).label("start")
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
    found = {_as_datetime(row.start): row for row in db.execute(query)}
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
