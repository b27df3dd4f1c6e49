"""*Reports* and a kiosk's last 24 hours walked in Debian's chromium as staff would: the
charts drawn by Chart.js under the CSP, the tables' figures (the page without JavaScript,
and what a screen reader reads), a new range of days, a refused one, CSV downloads, and
axe-core on every page.

The server is the real app (sync API and console) on a loopback port with a clock fixed
at ``NOW``, over a library whose fortnight of transactions, ledger and heartbeats is
written here; the expected figures are counted from the same lists in Python.
"""

from __future__ import annotations

import csv
import io
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import uvicorn
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.api.app import create_app
from kiosk.central.circulation.reports import Period
from kiosk.central.models import (
    AppliedTransaction,
    HeartbeatRecord,
    Kiosk,
    LedgerEntry,
    Patron,
    table,
)
from kiosk.central.process import free_port
from kiosk.central.web.routes.reports import read_range
from kiosk.central.web.sessions import Lifetimes
from kiosk.central.web.settings import ConsoleSettings
from kiosk.common.clock import FixedClock

from .conftest import XSS, Console, _library, heartbeat, register
from .test_browser import accessible, shot, sign_in, watch

NOW = datetime(2026, 11, 23, 10, 30)  # a Monday morning
TODAY = NOW.date()
WEEK = [TODAY - timedelta(days=6 - n) for n in range(7)]  # the page's range by default
EARLIER = (date(2026, 11, 10), date(2026, 11, 16))  # the range a test moves to
FORMULA_KIOSK = "=HYPERLINK(1)"  # what a spreadsheet would run, in a CSV kept as text
MEMBER_TYPES = {f"P{n}": ("ADULT", "CHILD", "STUDENT", "SENIOR")[n % 4] for n in range(1, 13)}
KIOSKS = ("branch-1", "branch-2", "branch-3", None)  # None: the staff desk
DASH = "\N{EN DASH}"  # what the page says for a figure it does not have
CANVASES = ("per-day", "per-hour", "per-kiosk", "per-member-type", "fines", "busiest-hours")

Transaction = tuple[str, datetime, str | None, str | None]  # kind, when, kiosk, patron
Money = tuple[str, Decimal, datetime]  # kind, amount, when


def _transactions() -> list[Transaction]:
    """A fortnight and a day of loans and returns, busiest late morning and after school,
    up to ``NOW``; with renewals, which no report counts."""
    rng = random.Random(14)
    made: list[Transaction] = []
    hours = list(range(9, 20))
    weights = [2, 4, 6, 5, 3, 3, 4, 6, 5, 3, 1]
    for back in range(15, -1, -1):
        day = TODAY - timedelta(days=back)
        for _ in range(rng.randint(18, 40)):
            when = datetime.combine(day, datetime.min.time()) + timedelta(
                hours=rng.choices(hours, weights)[0], minutes=rng.randint(0, 59)
            )
            if when > NOW:
                continue
            kind = rng.choices(["checkout", "return", "renew"], [55, 40, 5])[0]
            kiosk = rng.choices(KIOSKS, [45, 30, 10, 15])[0]
            patron = (
                None if kind == "return" and rng.random() < 0.2 else rng.choice(list(MEMBER_TYPES))
            )
            made.append((kind, when, kiosk, patron))
    # The week's first second, inside it, and the second before, outside.
    made.append(("checkout", datetime.combine(WEEK[0], datetime.min.time()), "branch-2", "P1"))
    made.append(
        (
            "return",
            datetime.combine(WEEK[0], datetime.min.time()) - timedelta(seconds=1),
            "branch-2",
            "P1",
        )
    )
    return made


def _ledger() -> list[Money]:
    rng = random.Random(7)
    made: list[Money] = []
    for back in range(15, -1, -1):
        day = datetime.combine(TODAY - timedelta(days=back), datetime.min.time())
        for _ in range(rng.randint(0, 4)):
            made.append(
                ("fine", Decimal(rng.randint(1, 24)) / 4, day + timedelta(hours=rng.randint(9, 10)))
            )
        if back % 5 == 2:
            made.append(("fault", Decimal("12.00"), day + timedelta(hours=11)))
        for _ in range(rng.randint(0, 3)):
            made.append(
                (
                    "payment",
                    -Decimal(rng.randint(2, 20)) / 2,
                    day + timedelta(hours=rng.randint(9, 10)),
                )
            )
    made.append(
        (
            "waiver",
            Decimal("-3.50"),
            datetime.combine(WEEK[3], datetime.min.time()) + timedelta(hours=15),
        )
    )
    return made


TRANSACTIONS = _transactions()
LEDGER = _ledger()


def _beats() -> list[tuple[datetime, int, bool]]:
    """branch-1's last 24 hours, a heartbeat every 30 seconds: switched off from 01:00 to
    06:00; the network down from 14:00 to 15:20 yesterday (errors, a backlog growing to
    23 and then sent)."""
    made = []
    moment = NOW - timedelta(hours=24)
    while moment <= NOW:
        off = 1 <= moment.hour < 6
        trouble = (
            moment.date() < TODAY and (14 * 60) <= moment.hour * 60 + moment.minute < 15 * 60 + 20
        )
        after = (
            moment.date() < TODAY
            and 15 * 60 + 20 <= moment.hour * 60 + moment.minute < 15 * 60 + 40
        )
        if not off:
            minutes = moment.hour * 60 + moment.minute - 14 * 60
            depth = (
                min(23, minutes // 3) if trouble else (max(0, 23 - (minutes - 80)) if after else 0)
            )
            made.append((moment, depth, trouble))
        moment += timedelta(seconds=30)
    return made


BEATS = _beats()


def _seed(database_url: str) -> None:
    engine = database.connect(database_url)
    with Session(engine) as db:
        ids = {name: id_ for id_, name in db.execute(select(Kiosk.id, Kiosk.name))}
        # Heard just now, so that its page says so at NOW.
        db.execute(update(Kiosk).where(Kiosk.name == "branch-1").values(last_seen=NOW))
        db.execute(
            update(Kiosk).where(Kiosk.name != "branch-1").values(last_seen=NOW - timedelta(hours=3))
        )
        db.add_all(
            Patron(
                patron_id=patron_id,
                card=f"2999{n:06d}",
                first_name="Test",
                surname=f"Reader {n}",
                member_type=member_type,
                expires=None,
                barred=False,
                owed=Decimal("0.00"),
                pin_verifier=None,
            )
            for n, (patron_id, member_type) in enumerate(MEMBER_TYPES.items())
        )
        db.execute(
            insert(table(AppliedTransaction)),
            [
                {
                    "id": f"t{n}",
                    "kiosk_id": None if kiosk is None else ids[kiosk],
                    "kiosk_seq": 0 if kiosk is None else n,
                    "kind": kind,
                    "item_barcode": f"3999{n:010d}",
                    "patron_id": patron,
                    "decided_at": when,
                    "applied_at": when,
                    "outcome": "applied",
                    "change_seq": n,
                    "details": {},
                    "charged": Decimal("0.00"),
                    "actor": "cyril" if kiosk is None else None,
                }
                for n, (kind, when, kiosk, patron) in enumerate(TRANSACTIONS, start=1)
            ],
        )
        db.execute(
            insert(table(LedgerEntry)),
            [
                {"patron_id": "P1", "amount": amount, "kind": kind, "entry_id": None, "at": at}
                for kind, amount, at in LEDGER
            ],
        )
        db.execute(
            insert(table(HeartbeatRecord)),
            [
                {
                    "kiosk_id": ids["branch-1"],
                    "at": at,
                    "journal_depth": depth,
                    "disk_free_mb": 12000,
                    "scanners": 1,
                    "error": error,
                }
                for at, depth, error in BEATS
            ],
        )
        db.commit()
    engine.dispose()


@contextmanager
def _served(database_url: str, clock: FixedClock) -> Iterator[Console]:
    """The app ``kiosk-central serve`` builds, on a loopback port, with ``clock``."""
    engine = database.connect(database_url)
    settings = ConsoleSettings(
        secret_key="a test key that signs the CSRF tokens of this server",
        secure_cookies=False,
        lifetimes=Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12)),
        library_name="Riverside Library",
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(engine, clock.now, settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield Console(f"http://127.0.0.1:{port}", database_url, Path("/dev/null"))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'central.db'}"
    _library(database_url)  # the accounts of each role, and kiosks branch-1 to -3
    _seed(database_url)
    with _served(database_url, FixedClock(NOW)) as served:
        register(served, "lobby", FORMULA_KIOSK)
        yield served


# --- what the figures must be, counted here from the same lists --------------------------


def _in(first: date, last: date, when: datetime) -> bool:
    return first <= when.date() <= last


def expected_per_day(first: date, last: date) -> dict[str, tuple[int, int]]:
    counted = Counter(
        (when.date(), kind) for kind, when, _, _ in TRANSACTIONS if _in(first, last, when)
    )
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {
        f"{day:%a} {day.day} {day:%b}": (counted[day, "checkout"], counted[day, "return"])
        for day in days
    }


def expected_per_kiosk(first: date, last: date) -> dict[str, tuple[int, int]]:
    counted = Counter(
        (kiosk or "Staff desk", kind)
        for kind, when, kiosk, _ in TRANSACTIONS
        if _in(first, last, when)
    )
    names = sorted(["branch-1", "branch-2", "branch-3", XSS, "lobby", FORMULA_KIOSK])
    return {
        name: (counted[name, "checkout"], counted[name, "return"])
        for name in [*names, "Staff desk"]
    }


def expected_money(first: date, last: date) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    found = {day: [Decimal("0.00")] * 3 for day in days}
    for kind, amount, at in LEDGER:
        if _in(first, last, at):
            column = {"fine": 0, "fault": 0, "payment": 1, "waiver": 2}[kind]
            found[at.date()][column] += abs(amount)
    return {day.isoformat(): (a, b, c) for day, (a, b, c) in found.items()}


def table_rows(page: Page, table_id: str) -> dict[str, list[str]]:
    """A table's body as {row heading: [cells]}, read whether its details are open or not."""
    rows = page.locator(f"#{table_id} tbody tr")
    found = {}
    for n in range(rows.count()):
        row = rows.nth(n)
        heading = (row.locator("th").text_content() or "").strip()
        found[heading] = [(cell.text_content() or "").strip() for cell in row.locator("td").all()]
    return found


def drawn(page: Page, canvas: str) -> list[list[float]] | None:
    """The datasets Chart.js drew on a canvas, or None when it drew nothing there."""
    result: list[list[float]] | None = page.evaluate(
        """(id) => {
            const chart = Chart.getChart(document.getElementById(id));
            return chart ? chart.data.datasets.map((set) => set.data) : null;
        }""",
        f"{canvas}-canvas",
    )
    return result


# --- the tests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "shown", "period", "errors"),
    [
        (None, None, ("2026-11-17", "2026-11-23"), (date(2026, 11, 17), TODAY), {}),
        ("", " ", ("2026-11-17", "2026-11-23"), (date(2026, 11, 17), TODAY), {}),
        ("2026-11-01", None, ("2026-11-01", "2026-11-23"), (date(2026, 11, 1), TODAY), {}),
        (
            None,
            "2026-10-31",
            ("2026-10-25", "2026-10-31"),
            (date(2026, 10, 25), date(2026, 10, 31)),
            {},
        ),
        ("2026-11-23", "2026-11-23", ("2026-11-23", "2026-11-23"), (TODAY, TODAY), {}),
        ("2026-02-30", None, ("2026-02-30", "2026-11-23"), None, {"from": "Enter the first day"}),
        ("23/11/2026", None, ("23/11/2026", "2026-11-23"), None, {"from": "Enter the first day"}),
        ("2026-1-1", None, ("2026-1-1", "2026-11-23"), None, {"from": "Enter the first day"}),
        (None, "tomorrow", ("", "tomorrow"), None, {"to": "Enter the last day"}),
        ("2026-11-24", None, ("2026-11-24", "2026-11-23"), None, {"to": "The last day must be"}),
        (
            "2025-01-01",
            "2026-01-02",
            ("2025-01-01", "2026-01-02"),
            None,
            {"to": "366 days or fewer"},
        ),
        (
            "2025-01-01",
            "2026-01-01",  # 366 days: the most
            ("2025-01-01", "2026-01-01"),
            (date(2025, 1, 1), date(2026, 1, 1)),
            {},
        ),
        ("9" * 5000, None, ("9" * 40, "2026-11-23"), None, {"from": "Enter the first day"}),
    ],
)
def test_the_range_of_days_is_read_or_refused_in_words(
    first: str | None,
    last: str | None,
    shown: tuple[str, str],
    period: tuple[date, date] | None,
    errors: dict[str, str],
) -> None:
    chosen = read_range(first, last, TODAY)
    assert (chosen.first, chosen.last) == shown  # what the form shows again
    assert chosen.period == (None if period is None else Period(*period))
    assert set(chosen.errors) == set(errors)
    for field, start in errors.items():
        assert start in chosen.errors[field]


def test_a_viewer_reads_the_reports_as_charts_and_tables(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "vera")
    page.get_by_role("link", name="Reports").first.click()
    expect(page).to_have_url(f"{console.url}/staff/reports")
    expect(page.get_by_role("heading", name="Tue 17 Nov 2026 to Mon 23 Nov 2026")).to_be_visible()
    expect(page.get_by_label("First day")).to_have_value("2026-11-17")
    expect(page.get_by_label("Last day")).to_have_value("2026-11-23")

    # Every chart drawn by Chart.js, its container shown and its table folded away.
    for name in CANVASES:
        expect(page.locator(f"#{name}-chart")).to_be_visible()
        assert drawn(page, name) is not None, name
        expect(page.locator(f'details[data-chart-table="{name}-canvas"]')).not_to_have_attribute(
            "open", ""
        )
    per_day = expected_per_day(WEEK[0], WEEK[-1])
    assert drawn(page, "per-day") == [
        [float(loans) for loans, _ in per_day.values()],
        [float(returns) for _, returns in per_day.values()],
    ]

    # The tables have the same figures (what a screen reader, or a page without
    # JavaScript, has), totals included.
    assert table_rows(page, "per-day-table") == {
        day: [str(loans), str(returns), str(loans + returns)]
        for day, (loans, returns) in per_day.items()
    }
    loans = sum(loans for loans, _ in per_day.values())
    returns = sum(returns for _, returns in per_day.values())
    assert page.locator("#totals .govuk-summary-list__value").all_inner_texts()[:2] == [
        str(loans),
        str(returns),
    ]
    assert table_rows(page, "per-kiosk-table") == {
        name: [str(a), str(b), str(a + b)]
        for name, (a, b) in expected_per_kiosk(*WEEK[::6]).items()
    }
    money = expected_money(WEEK[0], WEEK[-1])
    assert list(table_rows(page, "fines-table").values()) == [
        [f"{a:,.2f}", f"{b:,.2f}", f"{c:,.2f}"] for a, b, c in money.values()
    ]
    hours = table_rows(page, "per-hour-table")
    assert list(hours) == [f"{hour:02d}:00" for hour in range(24)]
    assert hours["03:00"] == ["0", "0", "0"]  # nobody borrows at 3 in the morning
    assert sum(int(cells[2]) for cells in hours.values()) == loans + returns
    types = table_rows(page, "per-member-type-table")
    assert sum(int(cells[2]) for cells in types.values()) == loans + returns
    assert set(types) <= {"ADULT", "CHILD", "STUDENT", "SENIOR", "Not known"}
    busiest = table_rows(page, "busiest-hours-table")
    assert len(busiest) == 10
    totals_in_order = [int(cells[2]) for cells in busiest.values()]
    assert totals_in_order == sorted(totals_in_order, reverse=True)

    accessible(page)
    shot(page, "reports")
    # A person opens a table under its chart.
    page.locator('details[data-chart-table="per-day-canvas"] summary').click()
    expect(page.locator("#per-day-table")).to_be_visible()
    accessible(page)
    assert problems == []


def test_a_new_range_of_days_and_a_refused_one(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/reports")
    page.get_by_label("First day").fill(EARLIER[0].isoformat())
    page.get_by_label("Last day").fill(EARLIER[1].isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Show reports").click()
    expect(page).to_have_url(f"{console.url}/staff/reports?from=2026-11-10&to=2026-11-16")
    expect(page.get_by_role("heading", name="Tue 10 Nov 2026 to Mon 16 Nov 2026")).to_be_visible()
    expected = expected_per_day(*EARLIER)
    assert table_rows(page, "per-day-table") == {
        day: [str(a), str(b), str(a + b)] for day, (a, b) in expected.items()
    }
    assert drawn(page, "per-day") == [
        [float(a) for a, _ in expected.values()],
        [float(b) for _, b in expected.values()],
    ]
    accessible(page)

    # Not a real day, then the wrong way round: said on the page, with the typing kept.
    page.get_by_label("First day").fill("2026-02-30")
    with page.expect_navigation():
        page.get_by_role("button", name="Show reports").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter the first day as year-month-day, like 2026-11-17")
    expect(page.get_by_label("First day")).to_have_value("2026-02-30")
    expect(page).to_have_title(f"Error: Reports {DASH} Riverside Library staff console")
    assert page.locator("canvas").count() == 0
    accessible(page)
    summary.get_by_role("link").click()
    expect(page.get_by_label("First day")).to_be_focused()
    page.get_by_label("First day").fill("2026-11-20")
    page.get_by_label("Last day").fill("2026-11-19")
    with page.expect_navigation():
        page.get_by_role("button", name="Show reports").click()
    expect(summary).to_contain_text("The last day must be the same as or after the first day")
    accessible(page)

    page.get_by_role("link", name="Last 30 days").click()
    expect(page.get_by_role("heading", name="Sun 25 Oct 2026 to Mon 23 Nov 2026")).to_be_visible()
    assert len(table_rows(page, "per-day-table")) == 30
    refused = f"{console.url}/staff/reports"
    assert [problem for problem in problems if not problem.startswith("console:")] == [
        f"400: {refused}?from=2026-02-30&to=2026-11-16",
        f"400: {refused}?from=2026-11-20&to=2026-11-19",
    ]


def test_each_report_downloads_as_csv(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "vera")
    page.goto(f"{console.url}/staff/reports?from={EARLIER[0]}&to={EARLIER[1]}")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download loans and returns per day as CSV").click()
    download = waiting.value
    assert download.suggested_filename == "loans-per-day-2026-11-10-to-2026-11-16.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    expected = expected_per_day(*EARLIER)
    days = [EARLIER[0] + timedelta(days=n) for n in range(7)]
    assert rows == [
        ["Day", "Loans", "Returns"],
        *(
            [day.isoformat(), str(a), str(b)]
            for day, (a, b) in zip(days, expected.values(), strict=True)
        ),
    ]

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download fines charged and paid per day as CSV").click()
    rows = list(csv.reader(io.StringIO(Path(waiting.value.path()).read_text(encoding="utf-8"))))
    assert rows[0] == ["Day", "Charged", "Paid", "Waived"]
    assert {row[0]: tuple(Decimal(cell) for cell in row[1:]) for row in rows[1:]} == expected_money(
        *EARLIER
    )
    assert all(len(cell.split(".")[1]) == 2 for row in rows[1:] for cell in row[1:])  # plain cents

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download loans and returns per kiosk as CSV").click()
    rows = list(csv.reader(io.StringIO(Path(waiting.value.path()).read_text(encoding="utf-8"))))
    by_kiosk = {row[0]: (int(row[1]), int(row[2])) for row in rows[1:]}
    expected_kiosks = expected_per_kiosk(*EARLIER)
    expected_kiosks["'" + FORMULA_KIOSK] = expected_kiosks.pop(FORMULA_KIOSK)  # kept as text
    assert by_kiosk == expected_kiosks
    assert problems == []


def test_the_reports_over_http_ask_for_a_session_a_known_report_and_real_days(
    console: Console,
) -> None:
    anonymous = requests.get(
        f"{console.url}/staff/reports/loans-per-day.csv", allow_redirects=False, timeout=10
    )
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/staff/login")
    vera = console.login("vera")
    answer = vera.get(
        f"{console.url}/staff/reports/busiest-hours.csv?from=2026-11-17&to=2026-11-23", timeout=10
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="busiest-hours-2026-11-17-to-2026-11-23.csv"'
    )
    assert answer.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["Weekday", "Hour", "Loans", "Returns", "Total"]
    in_week = [
        when
        for kind, when, _, _ in TRANSACTIONS
        if kind != "renew" and _in(WEEK[0], WEEK[-1], when)
    ]
    assert sum(int(row[4]) for row in rows[1:]) == len(in_week)
    assert vera.get(f"{console.url}/staff/reports/patrons.csv", timeout=10).status_code == 404
    for query in (
        "from=yesterday",
        "to=2026-13-01",
        "from=2020-01-01&to=2026-01-01",
        "from=" + "9" * 5000,
    ):
        refused = vera.get(f"{console.url}/staff/reports?{query}", timeout=10)
        assert refused.status_code == 400, query
        assert "There is a problem" in refused.text
        assert (
            vera.get(
                f"{console.url}/staff/reports/loans-per-day.csv?{query}", timeout=10
            ).status_code
            == 400
        )
    assert (
        "The range must be 366 days or fewer"
        in vera.get(f"{console.url}/staff/reports?from=2020-01-01&to=2026-01-01", timeout=10).text
    )


def test_a_kiosks_page_charts_its_last_24_hours(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "ada")
    page.get_by_role("link", name="Kiosks").first.click()
    page.get_by_role("link", name="branch-1", exact=True).click()
    expect(page.get_by_role("heading", name="The last 24 hours")).to_be_visible()
    expect(page.locator("#hours-chart")).to_be_visible()
    heard, errors, waiting = drawn(page, "hours") or []
    assert len(heard) == 24
    hours = table_rows(page, "hours-table")
    assert next(iter(hours)) == "22 Nov, 11:00 to 12:00"
    assert list(hours)[-1] == "23 Nov, 10:00 to now"
    assert hours["23 Nov, 02:00 to 03:00"] == ["0%", DASH, DASH]  # switched off
    assert hours["23 Nov, 08:00 to 09:00"] == ["100%", "0", "0 of 120"]  # two a minute
    assert hours["22 Nov, 14:00 to 15:00"] == ["100%", "19", "120 of 120"]
    assert hours["22 Nov, 15:00 to 16:00"] == ["100%", "23", "40 of 120"]
    assert hours["23 Nov, 10:00 to now"] == ["100%", "0", "0 of 61"]  # 31 minutes, all heard
    assert heard[16] == 0  # 03:00
    assert errors[3:6] == [100, 33, 0]  # 14:00, 15:00 and 16:00, in per cent
    assert max(waiting) == 23
    accessible(page)
    shot(page, "kiosk-24h")

    # A heartbeat through the sync API shows on a kiosk's page: heard 1 minute of 31.
    assert heartbeat(console.url, console.tokens["lobby"]).status_code == 200
    page.goto(f"{console.url}/staff/kiosks")
    page.get_by_role("link", name="lobby", exact=True).click()
    lobby = table_rows(page, "hours-table")
    assert lobby["23 Nov, 10:00 to now"] == ["3%", "0", "0 of 1"]
    assert [cells for label, cells in lobby.items() if not label.endswith("now")] == [
        ["0%", DASH, DASH]
    ] * 23
    assert drawn(page, "hours") is not None
    accessible(page)
    assert problems == []


def test_the_reports_and_the_24_hours_work_without_javascript(
    browser: Browser, console: Console
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, console, "vera")
        page.get_by_role("link", name="Reports").first.click()
        # No chart, and every table open on the page.
        for name in CANVASES:
            expect(page.locator(f"#{name}-chart")).to_be_hidden()
        expect(page.locator("#per-day-table")).to_be_visible()
        expect(page.locator("#fines-table")).to_be_visible()
        expect(page.locator("#busiest-hours-table")).to_be_visible()
        per_day = expected_per_day(WEEK[0], WEEK[-1])
        assert table_rows(page, "per-day-table") == {
            day: [str(a), str(b), str(a + b)] for day, (a, b) in per_day.items()
        }
        page.get_by_label("First day").fill(EARLIER[0].isoformat())
        page.get_by_label("Last day").fill(EARLIER[1].isoformat())
        page.get_by_role("button", name="Show reports").click()
        expect(page.locator("#per-day-table tbody tr").first).to_contain_text("Tue 10 Nov")
        page.goto(f"{console.url}/staff/kiosks")
        page.get_by_role("link", name="branch-1", exact=True).click()
        expect(page.locator("#hours-chart")).to_be_hidden()
        expect(page.locator("#hours-table")).to_be_visible()
        expect(page.locator("#hours-table tbody tr")).to_have_count(24)
    finally:
        context.close()
