"""*Reports*: loans and returns per day, hour, kiosk and member type, fines charged and
paid, the busiest hours, and patrons' ratings of each kiosk a week, for a range of days;
each as a table (the page without JavaScript, and what a screen reader reads), most with
a chart that ``static/reports.js`` draws from the same figures with Chart.js, and as a
CSV download. The figures are ``kiosk.central.circulation.reports``' (the ratings
``kiosk_feedback``'s); this module reads the range and renders.

The range is two dates in the query string (``?from=2026-11-17&to=2026-11-23``), and a
branch (``&branch=North``: the loans and returns at its kiosks; by default the member of
staff's own, ``branch=`` every branch; ``kiosk.central.web.branches``), nothing else: no
card number or name is ever in a report's URL."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.api.kiosks import kiosks
from kiosk.central.circulation.kiosk_feedback import (
    RATING_WORDS,
    REASON_WORDS,
    KioskWeek,
    per_kiosk_and_week,
)
from kiosk.central.circulation.reports import (
    MAX_DAYS,
    WEEKDAYS,
    HeartbeatHour,
    Period,
    Reports,
    busiest_hours,
    money_per_day,
    per_day,
    per_hour,
    per_kiosk,
    per_member_type,
    reports,
)
from kiosk.central.web.branches import BranchChoice, branch_view
from kiosk.central.web.deps import Db, Now, Settings, Viewer
from kiosk.central.web.pages import not_found, render

router = APIRouter(prefix="/staff", include_in_schema=False)

DAYS_SHOWN = 7  # the range when none is asked for: the last week, today included
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EXAMPLE = "2026-11-17"

# GOV.UK's palette: blue and a dark orange told apart by most colour-blind eyes; green
# and grey for the money; every one at 3:1 or more against white.
BLUE = "#1d70b8"
ORANGE = "#b34d00"
GREEN = "#00703c"
GREY = "#505a5f"
RED = "#d4351c"


# --- the range -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Range:
    """The range as typed, and what was wrong with it (by field: ``from``, ``to``)."""

    first: str
    last: str
    period: Period | None
    errors: dict[str, str]


def _day(text: str) -> date | None:
    if not DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def read_range(first: str | None, last: str | None, today: date) -> Range:
    """The days asked for: ``to`` defaults to today, ``from`` to the week up to ``to``."""
    first_text, last_text = (first or "").strip()[:40], (last or "").strip()[:40]
    errors: dict[str, str] = {}
    last_day = _day(last_text) if last_text else today
    last_text = last_text or today.isoformat()  # what the form shows
    if last_day is None:
        errors["to"] = f"Enter the last day as year-month-day, like {EXAMPLE}"
    if first_text:
        first_day = _day(first_text)
        if first_day is None:
            errors["from"] = f"Enter the first day as year-month-day, like {EXAMPLE}"
    else:
        first_day = None if last_day is None else last_day - timedelta(days=DAYS_SHOWN - 1)
        first_text = "" if first_day is None else first_day.isoformat()
    if errors or first_day is None or last_day is None:
        return Range(first_text, last_text, None, errors)
    if last_day < first_day:
        errors["to"] = "The last day must be the same as or after the first day"
    elif (last_day - first_day).days + 1 > MAX_DAYS:
        errors["to"] = f"The range must be {MAX_DAYS} days or fewer"
    if errors:
        return Range(first_text, last_text, None, errors)
    return Range(first_day.isoformat(), last_day.isoformat(), Period(first_day, last_day), {})


# --- charts: the figures for reports.js ------------------------------------------------


def _dataset(label: str, data: Iterable[object], colour: str, **extra: object) -> dict[str, object]:
    return {"label": label, "data": [str(value) for value in data], "colour": colour, **extra}


def _chart(
    labels: Sequence[str],
    datasets: list[dict[str, object]],
    *,
    category: str,
    value: str,
    horizontal: bool = False,
    **extra: object,
) -> dict[str, object]:
    """What reports.js turns into a Chart.js chart: the labels, the series (numbers as
    text, so that money stays exact), the axes' titles and a few options."""
    return {
        "labels": list(labels),
        "datasets": datasets,
        "category": category,
        "value": value,
        "horizontal": horizontal,
        **extra,
    }


def _day_label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def charts(found: Reports) -> dict[str, dict[str, object]]:
    """Each report's chart, by the report's name."""
    days = [_day_label(row.day) for row in found.per_day]
    both = "Loans and returns"
    return {
        "per-day": _chart(
            days,
            [
                _dataset("Loans", (row.loans for row in found.per_day), BLUE),
                _dataset("Returns", (row.returns for row in found.per_day), ORANGE),
            ],
            category="Day",
            value=both,
        ),
        "per-hour": _chart(
            [row.label for row in found.per_hour],
            [
                _dataset("Loans", (row.loans for row in found.per_hour), BLUE),
                _dataset("Returns", (row.returns for row in found.per_hour), ORANGE),
            ],
            category="Hour of the day",
            value=both,
            stacked=True,
        ),
        "per-kiosk": _chart(
            [row.kiosk for row in found.per_kiosk],
            [
                _dataset("Loans", (row.loans for row in found.per_kiosk), BLUE),
                _dataset("Returns", (row.returns for row in found.per_kiosk), ORANGE),
            ],
            category="Kiosk",
            value=both,
            horizontal=True,
        ),
        "per-member-type": _chart(
            [row.member_type for row in found.per_member_type],
            [
                _dataset("Loans", (row.loans for row in found.per_member_type), BLUE),
                _dataset("Returns", (row.returns for row in found.per_member_type), ORANGE),
            ],
            category="Member type",
            value=both,
            horizontal=True,
        ),
        "fines": _chart(
            days,
            [
                _dataset("Charged", (row.charged for row in found.money), BLUE),
                _dataset("Paid", (row.paid for row in found.money), GREEN),
                _dataset("Waived", (row.waived for row in found.money), GREY),
            ],
            category="Day",
            value="Amount",
            money=True,
        ),
        "busiest-hours": _chart(
            [row.label for row in found.busiest],
            [_dataset(both, (row.total for row in found.busiest), BLUE)],
            category="Hour of the week",
            value=both,
            horizontal=True,
        ),
    }


def heartbeat_chart(hours: Sequence[HeartbeatHour]) -> dict[str, object]:
    """A kiosk's last 24 hours: how much of each hour it was heard (bars) and the share of
    its heartbeats that named an error (a line), both in per cent on the left; the most
    entries waiting in its journal (a line) on the right."""
    return _chart(
        [f"{row.start:%H}:00" for row in hours],
        [
            _dataset("Heard (% of the hour)", (row.share for row in hours), GREEN),
            _dataset(
                "Heartbeats naming an error (%)",
                (row.error_share for row in hours),
                RED,
                type="line",
            ),
            _dataset(
                "Most entries waiting",
                (row.most_waiting or 0 for row in hours),
                BLUE,
                type="line",
                axis="right",
            ),
        ],
        category="Hour",
        value="Per cent",
        right="Entries waiting",
        unit="%",
        max=100,
        aspect=1.8,
    )


# --- CSV -------------------------------------------------------------------------------

# A CSV file: its header, and its rows.
Table = tuple[tuple[str, ...], Iterable[Sequence[object]]]
Rows = Callable[[Session, Period, str | None], Table]


def _loans_per_day(db: Session, period: Period, branch: str | None) -> Table:
    rows = per_day(db, period, branch)
    return ("Day", "Loans", "Returns"), ((r.day.isoformat(), r.loans, r.returns) for r in rows)


def _loans_per_hour(db: Session, period: Period, branch: str | None) -> Table:
    rows = per_hour(db, period, branch)
    return ("Hour", "Loans", "Returns"), ((r.label, r.loans, r.returns) for r in rows)


def _loans_per_kiosk(db: Session, period: Period, branch: str | None) -> Table:
    rows = per_kiosk(db, period, branch)
    return ("Kiosk", "Loans", "Returns"), ((r.kiosk, r.loans, r.returns) for r in rows)


def _loans_per_member_type(db: Session, period: Period, branch: str | None) -> Table:
    rows = per_member_type(db, period, branch)
    return ("Member type", "Loans", "Returns"), ((r.member_type, r.loans, r.returns) for r in rows)


def _fines(db: Session, period: Period, _branch: str | None) -> Table:
    rows = money_per_day(db, period)
    return ("Day", "Charged", "Paid", "Waived"), (
        (r.day.isoformat(), r.charged, r.paid, r.waived) for r in rows
    )


def _busiest(db: Session, period: Period, branch: str | None) -> Table:
    rows = busiest_hours(db, period, limit=None, branch=branch)  # every hour with any
    return ("Weekday", "Hour", "Loans", "Returns", "Total"), (
        (WEEKDAYS[r.weekday], f"{r.hour:02d}:00", r.loans, r.returns, r.total) for r in rows
    )


def feedback_at(db: Session, period: Period, branch: str | None) -> list[KioskWeek]:
    """Patrons' ratings per kiosk and week: every kiosk's, or those of ``branch``."""
    rows = per_kiosk_and_week(db, period)
    if branch is None:
        return list(rows)
    there = {kiosk.name for kiosk in kiosks(db, branch)}
    return [row for row in rows if row.kiosk in there]


def _kiosk_feedback(db: Session, period: Period, branch: str | None) -> Table:
    rows = feedback_at(db, period, branch)
    return (
        "Kiosk",
        "Week beginning",
        *(f"{n} ({words})" for n, words in RATING_WORDS.items()),
        "Ratings",
        *REASON_WORDS.values(),
    ), ((r.kiosk, r.week.isoformat(), *r.ratings, r.total, *r.reasons) for r in rows)


# name in the URL -> (what it is called on the page, its rows)
CSV_REPORTS: dict[str, tuple[str, Rows]] = {
    "loans-per-day": ("loans and returns per day", _loans_per_day),
    "loans-per-hour": ("loans and returns per hour of the day", _loans_per_hour),
    "loans-per-kiosk": ("loans and returns per kiosk", _loans_per_kiosk),
    "loans-per-member-type": ("loans and returns per member type", _loans_per_member_type),
    "fines-per-day": ("fines charged and paid per day", _fines),
    "busiest-hours": ("the busiest hours of the week", _busiest),
    "kiosk-feedback": ("patrons' ratings per kiosk and week", _kiosk_feedback),
}
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A cell as text, money as a plain decimal; text that a spreadsheet would run as a
    formula (a kiosk named ``=HYPERLINK(...)``) is kept as text with a leading quote."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, str) and value.startswith(FORMULA):
        return "'" + value
    return value


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


# --- the routes ------------------------------------------------------------------------

From = Annotated[str | None, Query(alias="from")]
To = Annotated[str | None, Query(alias="to")]


def _quick_ranges(today: date, branch: str) -> list[dict[str, str]]:
    where = f"&branch={quote(branch)}"

    def link(text: str, days: int) -> dict[str, str]:
        first = today - timedelta(days=days - 1)
        return {"text": text, "href": f"/staff/reports?from={first}&to={today}{where}"}

    return [link("Last 7 days", 7), link("Last 30 days", 30), link("Last 12 months", 365)]


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    moment: Now,
    first: From = None,
    last: To = None,
    branch: BranchChoice = None,
) -> HTMLResponse:
    chosen = read_range(first, last, moment.date())
    view = branch_view(db, signed_in.who, branch)
    context: dict[str, Any] = {
        "chosen": chosen,
        "view": view,
        "branch": view.chosen,
        "quick_ranges": _quick_ranges(moment.date(), view.query),
        "csv_reports": CSV_REPORTS,
        "weekdays": WEEKDAYS,
    }
    if chosen.period is not None:
        found = reports(db, chosen.period, view.chosen)
        context |= {
            "found": found,
            "charts": charts(found),
            "day_label": _day_label,
            "kiosk_feedback": feedback_at(db, chosen.period, view.chosen),
            "rating_words": RATING_WORDS,
            "reason_words": REASON_WORDS,
        }
    return render(
        request,
        config,
        "reports.html",
        who=signed_in.who,
        status_code=200 if chosen.period is not None and view.problem is None else 400,
        **context,
    )


@router.get("/reports/{report}.csv", response_model=None)
def report_csv(
    request: Request,
    report: str,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    moment: Now,
    first: From = None,
    last: To = None,
    branch: BranchChoice = None,
) -> Response:
    known = CSV_REPORTS.get(report)
    if known is None:
        return not_found(request, config, signed_in.who, "report")
    chosen = read_range(first, last, moment.date())
    view = branch_view(db, signed_in.who, branch)
    if chosen.period is None or view.problem is not None:
        problems = [*chosen.errors.values(), *([view.problem] if view.problem else [])]
        return render(
            request,
            config,
            "error.html",
            who=signed_in.who,
            status_code=400,
            heading=f"That {'range of days' if chosen.errors else 'branch'} cannot be reported",
            message=". ".join(problems) + ". Go back to Reports and choose again.",
        )
    header, rows = known[1](db, chosen.period, view.chosen)
    period = chosen.period
    return Response(
        _csv(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": (
                f'attachment; filename="{report}-{period.first}-to-{period.last}.csv"'
            )
        },
    )
