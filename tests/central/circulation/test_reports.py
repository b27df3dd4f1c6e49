"""The staff reports' figures on real databases, SQLite and PostgreSQL alike: each counted
and summed by the database, with the days and hours cut at the library's own midnight and
hour, the staff desk named, and nothing made up for an empty range."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from kiosk.central.circulation.reports import (
    DESK,
    MAX_DAYS,
    NOT_KNOWN,
    BusyHour,
    DayMoney,
    HeartbeatHour,
    KioskCounts,
    MemberTypeCounts,
    Period,
    busiest_hours,
    kiosk_day,
    money_per_day,
    per_day,
    per_hour,
    per_kiosk,
    per_member_type,
    reports,
)
from kiosk.central.models import (
    AppliedTransaction,
    HeartbeatRecord,
    Kiosk,
    LedgerEntry,
    Patron,
    table,
)

WEEK = Period(date(2026, 11, 16), date(2026, 11, 22))  # Monday to Sunday
D = Decimal
ZERO = D("0.00")

# (kind, when, kiosk name or None for the desk, patron id or None)
TRANSACTIONS = [
    ("checkout", datetime(2026, 11, 15, 23, 59, 59), "north", "P1"),  # the day before
    ("checkout", datetime(2026, 11, 16, 0, 0, 0), "north", "P1"),  # the first midnight
    ("return", datetime(2026, 11, 16, 23, 59, 59, 500000), "north", "P1"),
    ("checkout", datetime(2026, 11, 17, 10, 15), "south", "P2"),
    ("checkout", datetime(2026, 11, 17, 10, 45), None, "P3"),  # at the desk
    ("return", datetime(2026, 11, 17, 10, 50), None, None),  # a return of no known patron
    ("renew", datetime(2026, 11, 17, 11, 0), "north", "P1"),  # neither a loan nor a return
    ("fault", datetime(2026, 11, 17, 11, 5), "north", "P1"),
    ("checkout", datetime(2026, 11, 17, 14, 0), "south", "GONE"),  # no longer registered
    ("checkout", datetime(2026, 11, 22, 23, 59, 59), "north", "P2"),  # the last second
    ("return", datetime(2026, 11, 23, 0, 0, 0), "south", "P2"),  # the midnight after
]

# (kind, amount, when)
LEDGER = [
    ("fine", D("4.00"), datetime(2026, 11, 15, 23, 59, 59)),  # the day before
    ("fine", D("2.50"), datetime(2026, 11, 16, 0, 0, 0)),
    ("fault", D("10.00"), datetime(2026, 11, 16, 12, 0)),
    ("fine", D("-1.00"), datetime(2026, 11, 16, 13, 0)),  # a correction: no charge
    ("payment", D("-5.00"), datetime(2026, 11, 17, 0, 0, 0)),  # paid, as owed goes down
    ("payment", D("3.25"), datetime(2026, 11, 17, 23, 59, 59)),  # paid, the other sign
    ("waiver", D("-2.50"), datetime(2026, 11, 22, 9, 0)),
    ("payment", D("1.00"), datetime(2026, 11, 23, 0, 0, 0)),  # the midnight after
]


@pytest.fixture
def db(migrated_engine: Engine) -> Iterator[Session]:
    with Session(migrated_engine) as session:
        yield session


def _kiosks(db: Session, *names: str) -> dict[str, int]:
    made = {
        name: Kiosk(name=name, token_hash=f"{n:064d}", created_at=datetime(2026, 1, 1))
        for n, name in enumerate(names)
    }
    db.add_all(made.values())
    db.flush()
    return {name: kiosk.id for name, kiosk in made.items()}


def _patrons(db: Session, types: dict[str, str]) -> None:
    db.add_all(
        Patron(
            patron_id=patron_id,
            card=f"2999{n:06d}",
            first_name="Test",
            surname=f"Patron {n}",
            member_type=member_type,
            expires=None,
            barred=False,
            owed=ZERO,
            pin_verifier=None,
        )
        for n, (patron_id, member_type) in enumerate(types.items())
    )


def _transactions(
    db: Session, kiosks: dict[str, int], rows: list[tuple[str, datetime, str | None, str | None]]
) -> None:
    sequence = count(1)
    db.execute(
        insert(table(AppliedTransaction)),
        [
            {
                "id": f"t{n}",
                "kiosk_id": None if kiosk is None else kiosks[kiosk],
                "kiosk_seq": 0 if kiosk is None else n,
                "kind": kind,
                "item_barcode": f"3999{n:010d}",
                "patron_id": patron,
                "decided_at": when,
                "applied_at": when + timedelta(minutes=1),
                "outcome": "applied",
                "change_seq": next(sequence),
                "details": {},
                "charged": ZERO,
                "actor": "cyril" if kiosk is None else None,
            }
            for n, (kind, when, kiosk, patron) in enumerate(rows, start=1)
        ],
    )


def _ledger(db: Session, rows: list[tuple[str, Decimal, datetime]]) -> None:
    db.execute(
        insert(table(LedgerEntry)),
        [
            {"patron_id": "P1", "amount": amount, "kind": kind, "entry_id": None, "at": at}
            for kind, amount, at in rows
        ],
    )


@pytest.fixture
def library(db: Session) -> Session:
    kiosks = _kiosks(db, "south", "north", "idle")
    _patrons(db, {"P1": "ADULT", "P2": "CHILD", "P3": "ADULT"})
    _transactions(db, kiosks, TRANSACTIONS)
    _ledger(db, LEDGER)
    db.commit()
    return db


def test_loans_and_returns_per_day_cut_at_the_librarys_midnight(library: Session) -> None:
    days = {row.day: (row.loans, row.returns) for row in per_day(library, WEEK)}
    assert days == {
        date(2026, 11, 16): (1, 1),  # 00:00:00 and 23:59:59.5 both on the Monday
        date(2026, 11, 17): (3, 1),
        date(2026, 11, 18): (0, 0),
        date(2026, 11, 19): (0, 0),
        date(2026, 11, 20): (0, 0),
        date(2026, 11, 21): (0, 0),
        date(2026, 11, 22): (1, 0),  # 23:59:59 is still the Sunday
    }
    assert list(days) == list(WEEK.days)  # in order, every day


def test_loans_and_returns_per_hour_of_the_day(library: Session) -> None:
    hours = per_hour(library, WEEK)
    assert [row.hour for row in hours] == list(range(24))
    found = {row.hour: (row.loans, row.returns) for row in hours if row.total}
    assert found == {0: (1, 0), 10: (2, 1), 14: (1, 0), 23: (1, 1)}
    assert hours[9].label == "09:00"


def test_loans_and_returns_per_kiosk_with_the_desk_named(library: Session) -> None:
    rows = per_kiosk(library, WEEK)
    assert [(row.kiosk, row.loans, row.returns) for row in rows] == [
        ("idle", 0, 0),  # a kiosk that did nothing is shown with nothing
        ("north", 2, 1),
        ("south", 2, 0),
        (DESK, 1, 1),
    ]
    assert rows[-1] == KioskCounts(None, "Staff desk", 1, 1)


def test_loans_and_returns_per_member_type(library: Session) -> None:
    assert per_member_type(library, WEEK) == (
        MemberTypeCounts("ADULT", 2, 1),
        MemberTypeCounts("CHILD", 2, 0),
        MemberTypeCounts(NOT_KNOWN, 1, 1),  # a patron gone, and a return with none
    )


def test_the_busiest_hours_of_the_week(library: Session) -> None:
    busiest = busiest_hours(library, WEEK)
    assert busiest == (
        BusyHour(1, 10, 2, 1),  # Tuesday 10:00
        BusyHour(0, 0, 1, 0),  # then the ties, Monday first
        BusyHour(0, 23, 0, 1),
        BusyHour(1, 14, 1, 0),
        BusyHour(6, 23, 1, 0),
    )
    assert busiest[0].label == "Tuesday 10:00"
    assert busiest[-1].label == "Sunday 23:00"
    assert busiest_hours(library, WEEK, limit=2) == busiest[:2]
    assert busiest_hours(library, WEEK, limit=None) == busiest


def test_fines_charged_paid_and_waived_per_day_as_decimals(library: Session) -> None:
    money = money_per_day(library, WEEK)
    assert [row for row in money if row.charged or row.paid or row.waived] == [
        DayMoney(date(2026, 11, 16), D("12.50"), ZERO, ZERO),
        DayMoney(date(2026, 11, 17), ZERO, D("8.25"), ZERO),
        DayMoney(date(2026, 11, 22), ZERO, ZERO, D("2.50")),
    ]
    assert len(money) == 7
    for row in money:
        for amount in (row.charged, row.paid, row.waived):
            assert isinstance(amount, Decimal)
            assert amount.as_tuple().exponent == -2  # cents, as the ledger keeps them


def test_every_report_at_once_and_its_totals(library: Session) -> None:
    found = reports(library, WEEK)
    assert (found.loans, found.returns) == (5, 2)
    assert (found.charged, found.paid, found.waived) == (D("12.50"), D("8.25"), D("2.50"))
    assert sum(row.total for row in found.per_hour) == 7
    assert sum(row.total for row in found.per_kiosk) == 7
    assert sum(row.total for row in found.per_member_type) == 7


@pytest.mark.parametrize(
    ("period", "loans", "returns"),
    [
        (Period(date(2026, 11, 15), date(2026, 11, 15)), 1, 0),  # the day before alone
        (Period(date(2026, 11, 16), date(2026, 11, 16)), 1, 1),
        (Period(date(2026, 11, 23), date(2026, 11, 23)), 0, 1),  # the midnight after
        (Period(date(2026, 11, 15), date(2026, 11, 23)), 6, 3),  # everything
    ],
)
def test_a_range_takes_whole_days(
    library: Session, period: Period, loans: int, returns: int
) -> None:
    found = reports(library, period)
    assert (found.loans, found.returns) == (loans, returns)


def test_an_empty_range_has_every_day_and_hour_at_nought(library: Session) -> None:
    december = Period(date(2026, 12, 1), date(2026, 12, 3))
    found = reports(library, december)
    assert [(row.day, row.total) for row in found.per_day] == [
        (date(2026, 12, 1), 0),
        (date(2026, 12, 2), 0),
        (date(2026, 12, 3), 0),
    ]
    assert [row.total for row in found.per_hour] == [0] * 24
    assert [(row.kiosk, row.total) for row in found.per_kiosk] == [
        ("idle", 0),
        ("north", 0),
        ("south", 0),
        (DESK, 0),
    ]
    assert found.per_member_type == ()
    assert found.busiest == ()
    assert [(row.charged, row.paid, row.waived) for row in found.money] == [(ZERO,) * 3] * 3


def test_an_empty_database_reports_nothing_but_the_desk(db: Session) -> None:
    found = reports(db, WEEK)
    assert found.per_kiosk == (KioskCounts(None, DESK, 0, 0),)
    assert (found.loans, found.returns, found.charged) == (0, 0, ZERO)


def test_a_period_is_whole_days_in_order_and_at_most_a_year() -> None:
    assert Period.ending(date(2026, 11, 23)) == Period(date(2026, 11, 17), date(2026, 11, 23))
    assert WEEK.start == datetime(2026, 11, 16)
    assert WEEK.end == datetime(2026, 11, 23)
    assert len(Period(date(2025, 1, 1), date(2025, 12, 31)).days) == 365
    assert len(Period(date(2024, 1, 1), date(2024, 12, 31)).days) == MAX_DAYS  # a leap year
    with pytest.raises(ValueError, match="ends before it starts"):
        Period(date(2026, 11, 23), date(2026, 11, 22))
    with pytest.raises(ValueError, match="longer than 366 days"):
        Period(date(2025, 1, 1), date(2026, 1, 2))


def _beats(db: Session, kiosk_id: int, rows: list[tuple[datetime, int, bool]]) -> None:
    db.execute(
        insert(table(HeartbeatRecord)),
        [
            {
                "kiosk_id": kiosk_id,
                "at": at,
                "journal_depth": depth,
                "disk_free_mb": 5000 - depth,
                "scanners": 1,
                "error": error,
            }
            for at, depth, error in rows
        ],
    )


def test_a_kiosks_last_24_hours_from_its_heartbeats(db: Session) -> None:
    kiosks = _kiosks(db, "north", "south")
    now = datetime(2026, 11, 23, 10, 30, 0)
    eleven = datetime(2026, 11, 22, 11, 0)
    noon = datetime(2026, 11, 22, 12, 0)
    _beats(
        db,
        kiosks["north"],
        [
            (datetime(2026, 11, 22, 10, 59, 59), 99, True),  # before the 24 hours
            (eleven, 3, False),
            (eleven + timedelta(seconds=15), 5, False),  # the same minute: heard once
            (eleven + timedelta(seconds=30), 2, False),
            (eleven + timedelta(minutes=1), 0, False),
            # every 15 seconds for the whole of the noon hour
            *((noon + timedelta(seconds=15 * n), n % 4, False) for n in range(240)),
            (datetime(2026, 11, 23, 9, 59, 59), 7, True),
            (datetime(2026, 11, 23, 10, 0, 0), 1, False),
            (datetime(2026, 11, 23, 10, 30, 0), 0, False),
        ],
    )
    _beats(db, kiosks["south"], [(noon, 50, True)])  # another kiosk's
    db.commit()

    hours = kiosk_day(db, kiosks["north"], now)
    assert len(hours) == 24
    assert hours[0].start == eleven
    assert hours[-1].start == datetime(2026, 11, 23, 10, 0)
    assert [row.start for row in hours] == [eleven + timedelta(hours=n) for n in range(24)]
    assert hours[0] == HeartbeatHour(eleven, 60, 2, 4, 5, 0, 4995)
    assert hours[1] == HeartbeatHour(noon, 60, 60, 240, 3, 0, 4997)
    assert hours[1].share == 100
    assert hours[2] == HeartbeatHour(noon + timedelta(hours=1), 60, 0, 0, None, 0, None)
    assert hours[2].share == 0
    assert hours[-2] == HeartbeatHour(datetime(2026, 11, 23, 9, 0), 60, 1, 1, 7, 1, 4993)
    # The hour now running: 31 minutes gone by (10:00 to 10:30), 2 of them heard.
    assert hours[-1] == HeartbeatHour(datetime(2026, 11, 23, 10, 0), 31, 2, 2, 1, 0, 4999)
    assert hours[-1].share == 6
    assert sum(row.errors for row in hours) == 1
    assert [hours[1].error_share, hours[-2].error_share, hours[2].error_share] == [0, 100, 0]


def test_a_kiosk_never_heard_has_24_silent_hours(db: Session) -> None:
    kiosks = _kiosks(db, "new")
    db.commit()
    hours = kiosk_day(db, kiosks["new"], datetime(2026, 11, 23, 0, 0, 0))
    assert [(row.beats, row.share, row.most_waiting) for row in hours] == [(0, 0, None)] * 24
    assert hours[-1].minutes == 1  # midnight itself: the first minute of the day


def test_a_sip2_devices_transactions_are_counted_apart_from_the_desks(library: Session) -> None:
    library.execute(
        insert(table(AppliedTransaction)),
        [
            {
                "id": f"sip2-{n}",
                "kiosk_id": None,
                "kiosk_seq": 0,
                "kind": kind,
                "item_barcode": f"3888{n:010d}",
                "patron_id": "P1",
                "decided_at": datetime(2026, 11, 18, 11, 0),
                "applied_at": datetime(2026, 11, 18, 11, 1),
                "outcome": "applied",
                "change_seq": 1000 + n,
                "details": {},
                "charged": ZERO,
                "actor": actor,
            }
            for n, (kind, actor) in enumerate(
                [("checkout", "sip2:selfcheck"), ("return", "sip2:sorter"), ("checkout", "sip2")]
            )
        ],
    )
    rows = per_kiosk(library, WEEK)
    assert [(row.kiosk, row.loans, row.returns) for row in rows[-2:]] == [
        (DESK, 2, 1),  # "sip2" alone is a member of staff's name, not a device
        ("SIP2 devices", 1, 1),
    ]


def test_one_branchs_reports_count_the_loans_and_returns_recorded_there(
    library: Session,
) -> None:
    """By branch (issue 21): each transaction counts where it was recorded
    (transactions.branch): north's and idle's at North, south's at South, the desk's
    checkout by staff at North; the desk's return by staff of no branch counts for every
    branch only, as does the money. A kiosk moved since is still shown where its
    transactions were."""
    library.execute(update(Kiosk).where(Kiosk.name.in_(("north", "idle"))).values(branch="North"))
    library.execute(update(Kiosk).where(Kiosk.name == "south").values(branch="South"))
    for kiosk, branch in (("north", "North"), ("south", "South")):
        library.execute(
            update(AppliedTransaction)
            .where(
                AppliedTransaction.kiosk_id
                == select(Kiosk.id).where(Kiosk.name == kiosk).scalar_subquery()
            )
            .values(branch=branch)
        )
    library.execute(
        update(AppliedTransaction)
        .where(AppliedTransaction.kiosk_id.is_(None), AppliedTransaction.kind == "checkout")
        .values(branch="North")
    )
    library.commit()
    north = reports(library, WEEK, "North")
    assert [(row.kiosk, row.loans, row.returns) for row in north.per_kiosk] == [
        ("idle", 0, 0),
        ("north", 2, 1),
        (DESK, 1, 0),
    ]
    assert {row.day: (row.loans, row.returns) for row in north.per_day if row.total} == {
        date(2026, 11, 16): (1, 1),
        date(2026, 11, 17): (1, 0),
        date(2026, 11, 22): (1, 0),
    }
    assert north.per_member_type == (
        MemberTypeCounts("ADULT", 2, 1),
        MemberTypeCounts("CHILD", 1, 0),
    )
    assert sum(row.total for row in north.busiest) == 4
    assert north.money == reports(library, WEEK).money
    everywhere = reports(library, WEEK)
    assert sum(row.total for row in everywhere.per_day) == 7  # the desk's return too
    south = reports(library, WEEK, "South")
    assert [(row.kiosk, row.loans, row.returns) for row in south.per_kiosk] == [
        ("south", 2, 0),
        (DESK, 0, 0),
    ]
    assert south.per_member_type == (
        MemberTypeCounts("CHILD", 1, 0),
        MemberTypeCounts(NOT_KNOWN, 1, 0),
    )
    # south moves to North: its week's transactions stay South's, and South's list
    # still names it.
    library.execute(update(Kiosk).where(Kiosk.name == "south").values(branch="North"))
    library.commit()
    moved = reports(library, WEEK, "South")
    assert [(row.kiosk, row.loans, row.returns) for row in moved.per_kiosk] == [
        ("south", 2, 0),
        (DESK, 0, 0),
    ]
    assert [row.kiosk for row in per_kiosk(library, WEEK, "Nowhere")] == [DESK]
    assert sum(row.total for row in per_hour(library, WEEK, "Nowhere")) == 0
