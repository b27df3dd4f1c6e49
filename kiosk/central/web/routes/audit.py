"""The audit log, for administrators: who changed what, when and from where, filtered by
who, by kind of change, by what it changed and by date, a page at a time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from kiosk.central.audit import AuditFilter, actors, entries, kinds
from kiosk.central.web.deps import Admin, Db, Settings
from kiosk.central.web.pages import render

router = APIRouter(prefix="/staff", include_in_schema=False)

PAGE = 200


def typed_day(text: str, label: str, errors: dict[str, str], key: str) -> date | None:
    """A date typed in a filter, or None when empty; a mistake goes in ``errors``."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[key] = f"{label} must be a date such as 2026-12-01"
        return None


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    *,
    signed_in: Admin,
    db: Db,
    config: Settings,
    who: Annotated[str, Query(max_length=80)] = "",
    kind: Annotated[str, Query(max_length=40)] = "",
    target: Annotated[str, Query(max_length=120)] = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    errors: dict[str, str] = {}
    first = typed_day(since, "The first day", errors, "from")
    last = typed_day(until, "The last day", errors, "to")
    if first is not None and last is not None and last < first:
        errors["to"] = "The last day must be the same as or after the first day"
    wanted = AuditFilter(
        actor=who.strip(),
        action=kind.strip(),
        target=target.strip(),
        since=datetime.combine(first, time()) if first and "to" not in errors else None,
        until=datetime.combine(last + timedelta(days=1), time())
        if last and "to" not in errors
        else None,
        before_id=before,
    )
    rows = entries(db, PAGE, wanted)
    kept = {"who": who, "kind": kind, "target": target, "from": since, "to": until}
    older = (
        "/staff/audit?"
        + urlencode({**{key: value for key, value in kept.items() if value}, "before": rows[-1].id})
        if len(rows) == PAGE
        else None
    )
    every = [{"value": "", "text": "Everyone", "selected": not who}]
    return render(
        request,
        config,
        "audit.html",
        who=signed_in.who,
        rows=rows,
        errors=errors,
        error_list=[{"text": message, "href": f"#{key}"} for key, message in errors.items()],
        filters=kept,
        filtered=any(kept.values()),
        actor_options=every
        + [{"value": name, "text": name, "selected": name == who} for name in actors(db)],
        kind_options=[{"value": "", "text": "Every kind", "selected": not kind}]
        + [{"value": name, "text": name, "selected": name == kind} for name in kinds(db)],
        older=older,
        paged=before is not None,
    )
