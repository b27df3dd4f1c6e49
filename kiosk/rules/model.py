"""The lending policy as data: what staff configure, and the facts a decision reads.

Every class here is immutable. Codes (``STUDENT``, ``FICTION``, ``DAMAGED``) are
the staff's own names; ``name`` is what a patron reads on the screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

CENT = Decimal("0.01")
Limit = TypeVar("Limit", date, Decimal)
DEFAULT_SHORT_LOAN_HOURS = 4
# A short loan capped by "no issue after" is due at the end of the cap day.
END_OF_LENDING_DAY = time(23, 59)
AVAILABLE = "available"
DEFAULT_OVERDUE_NOTICE_DAYS = (1, 7, 14)


def money(amount: Decimal) -> Decimal:
    """Round to whole cents, half up, as a cashier would."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def display_name(code: str) -> str:
    """The default patron-facing name of a code: ``NON_FICTION`` -> ``Non Fiction``."""
    return code.replace("_", " ").title()


@dataclass(frozen=True, slots=True)
class MemberType:
    code: str
    name: str
    quota: int | None = None
    no_issue_after: date | None = None
    max_fine: Decimal | None = None
    fine_limit: Decimal | None = None
    # Membership renewal: the patron may renew from this many days before the expiry
    # date, and any time after it (None = only staff may renew) ...
    renewal_window_days: int | None = None
    # ... and a renewal extends the later of the expiry date and today by this many
    # days (None = the policy does not say: staff choose the new date).
    renewal_period_days: int | None = None


@dataclass(frozen=True, slots=True)
class PublicationType:
    code: str
    name: str
    quota: int | None = None
    no_issue_after: date | None = None
    max_fine: Decimal | None = None
    text_book: bool = False


@dataclass(frozen=True, slots=True)
class Privilege:
    member_type: str
    publication_type: str
    days: int
    quota: int | None = None
    hours: int = DEFAULT_SHORT_LOAN_HOURS
    days_grace: int = 0
    fine: Decimal = Decimal("0.00")
    days_per_fine: int = 1
    renewals: int | None = None

    @property
    def is_short_loan(self) -> bool:
        return self.days == 0


@dataclass(frozen=True, slots=True)
class FaultCharge:
    code: str
    name: str
    amount: Decimal
    status: str


@dataclass(frozen=True, slots=True)
class Calendar:
    closed_weekdays: frozenset[int] = frozenset()
    closed_dates: frozenset[date] = frozenset()

    def is_open(self, day: date) -> bool:
        return day.weekday() not in self.closed_weekdays and day not in self.closed_dates

    def next_open_day(self, day: date) -> date:
        """The first open day on or after ``day``.

        Terminates because a valid calendar leaves at least one weekday open and
        each closed date can only push the search one day further.
        """
        while not self.is_open(day):
            day += timedelta(days=1)
        return day

    def last_open_day(self, latest: date, earliest: date) -> date | None:
        """The last open day in ``earliest .. latest``, or None when all are closed."""
        day = latest
        while day >= earliest:
            if self.is_open(day):
                return day
            day -= timedelta(days=1)
        return None


@dataclass(frozen=True, slots=True)
class Policy:
    member_types: Mapping[str, MemberType]
    publication_types: Mapping[str, PublicationType]
    privileges: Mapping[tuple[str, str], Privilege]
    fault_charges: Mapping[str, FaultCharge] = field(default_factory=dict)
    calendar: Calendar = field(default_factory=Calendar)
    # The days after the due date on which the first, second and third overdue notices
    # go (the notices' own data: no decision reads it).
    overdue_notice_days: tuple[int, ...] = DEFAULT_OVERDUE_NOTICE_DAYS

    def privilege(self, member_type: str, publication_type: str) -> Privilege | None:
        return self.privileges.get((member_type, publication_type))

    def lending_cap(self, member_type: str, publication_type: str) -> date | None:
        """The earliest "no issue after" of the two types: no loan may be due later."""
        return _least(
            self.member_types[member_type].no_issue_after,
            self.publication_types[publication_type].no_issue_after,
        )

    def fine_cap(self, member_type: str, publication_type: str) -> Decimal | None:
        """The smallest "maximum fine" of the two types, where set."""
        return _least(
            self.member_types[member_type].max_fine,
            self.publication_types[publication_type].max_fine,
        )


def _least(*limits: Limit | None) -> Limit | None:
    """The tightest of the limits that are set; None when none is."""
    return min((limit for limit in limits if limit is not None), default=None)


@dataclass(frozen=True, slots=True)
class Due:
    """When a loan is due: by the end of ``day`` for a day loan, at ``day`` + ``at`` for a
    short loan."""

    day: date
    at: time | None = None

    @classmethod
    def end_of(cls, day: date) -> Due:
        return cls(day)

    @classmethod
    def at_time(cls, moment: datetime) -> Due:
        return cls(moment.date(), moment.time().replace(second=0, microsecond=0))

    @classmethod
    def fromisoformat(cls, text: str) -> Due:
        """The one parser of a due date as ``isoformat`` writes it (and the wire, the
        databases and the journal keep it): ``YYYY-MM-DD`` for a day loan,
        ``YYYY-MM-DDTHH:MM`` for a short loan. Raises ``ValueError`` for anything else."""
        if "T" in text:
            return cls.at_time(datetime.fromisoformat(text))
        return cls.end_of(date.fromisoformat(text))

    def isoformat(self) -> str:
        if self.at is None:
            return self.day.isoformat()
        return f"{self.day.isoformat()}T{self.at.strftime('%H:%M')}"

    def overdue_days(self, returned: datetime) -> int:
        """Whole days late: calendar days for a day loan; for a short loan the lateness
        in hours over 24, any part of a day counting as a day."""
        if self.at is None:
            return max(0, (returned.date() - self.day).days)
        late = returned - datetime.combine(self.day, self.at)
        if late <= timedelta(0):
            return 0
        whole_days, rest = divmod(late, timedelta(days=1))
        return whole_days + (1 if rest else 0)


@dataclass(frozen=True, slots=True)
class Patron:
    id: str
    member_type: str
    expires: date | None = None
    barred: bool = False
    owed: Decimal = Decimal("0.00")
    # A registration the library has not approved yet: the most loans it may hold until
    # then (0: none). None: an approved member, as every kiosk's patron is.
    pending_loans: int | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """A copy, and the holds that bear on it.

    ``holds``: the item-hold queue on this copy (patron ids, first placed first).
    ``title_holds``: the waiting title holds on the copy's catalogue record that are
    not yet trapped for a copy, in the order they were placed. ``trapped_for``: the
    patron the copy waits for on the hold shelf (trapped for their item or title
    hold), or None. A copy waiting for the first of its item holds may leave
    ``trapped_for`` unset: the queue decides, as before title holds.
    ``home_branch``: the branch the copy belongs to, where a return elsewhere sends it
    back (None: not known, or a library without branches). ``pickups``: where each
    patron waiting for the copy or its record collects it (a branch's code, by patron
    id); a patron with none collects it wherever it is trapped.
    """

    publication_type: str
    status: str = AVAILABLE
    holds: tuple[str, ...] = ()
    price: Decimal = Decimal("0.00")
    title_holds: tuple[str, ...] = ()
    trapped_for: str | None = None
    home_branch: str | None = None
    pickups: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Loan:
    """A loan being returned or renewed; ``member_type`` is the borrower's."""

    member_type: str
    due: Due
    renewals: int = 0
