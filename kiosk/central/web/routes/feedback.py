"""Patrons' feedback from the portal, for every role: how many gave each rating and the
average over a period (the last 30 days unless chosen), and the comments newest first, a
page at a time; a comment whose patron asked to be contacted links to them."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from kiosk.central.circulation import feedback
from kiosk.central.web.deps import Db, Now, Settings, Viewer
from kiosk.central.web.pages import render
from kiosk.central.web.routes.audit import typed_day

router = APIRouter(prefix="/staff", include_in_schema=False)

PER_PAGE = 25
DEFAULT_DAYS = 30
Day = Annotated[str, Query(max_length=10)]


@router.get("/feedback", response_class=HTMLResponse)
def feedback_page(
    request: Request,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    moment: Now,
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
    number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    errors: dict[str, str] = {}
    today = moment.date()
    last = typed_day(until, "The last day", errors, "to") or today
    first = typed_day(since, "The first day", errors, "from") or last - timedelta(
        days=DEFAULT_DAYS - 1
    )
    if last < first:
        errors["to"] = "The last day must be the same as or after the first day"
        first, last = today - timedelta(days=DEFAULT_DAYS - 1), today
    totals = feedback.summary(db, first, last)
    rows, more = feedback.comments(db, first, last, number, PER_PAGE)
    kept = {"from": since, "to": until}

    def page_link(wanted: int) -> str:
        return "/staff/feedback?" + urlencode(
            {**{key: value for key, value in kept.items() if value}, "page": wanted}
        )

    return render(
        request,
        config,
        "feedback.html",
        who=signed_in.who,
        errors=errors,
        error_list=[{"text": message, "href": f"#{key}"} for key, message in errors.items()],
        filters=kept,
        first=first,
        last=last,
        totals=totals,
        rows=rows,
        number=number,
        newer=page_link(number - 1) if number > 1 else None,
        older=page_link(number + 1) if more else None,
        most=max(totals.counts.values()) or 1,
    )
