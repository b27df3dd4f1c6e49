"""*Kiosks*: every kiosk at a glance, green, amber or red from its heartbeats; a kiosk's
own page; and, for administrators, a new token (shown once, on the answer to the form)
or disabling it. What those do is decided in ``kiosk.central.api.kiosks``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.api.kiosks import disable_kiosk, find_kiosk, kiosks, rotate_token
from kiosk.central.backups import server_state
from kiosk.central.circulation.branches import branches, in_transit, to_send
from kiosk.central.circulation.holds import default_pickup
from kiosk.central.circulation.reports import kiosk_day
from kiosk.central.errors import CentralError
from kiosk.central.gateway.outbox import RelayStatus, relay_status
from kiosk.central.models import Patron, ServerState
from kiosk.central.web.branches import BranchChoice, branch_view
from kiosk.central.web.deps import (
    Admin,
    CsrfChecked,
    Current,
    Db,
    Now,
    Origin,
    Settings,
    Viewer,
)
from kiosk.central.web.health import AMBER_AFTER, HEARTBEAT_SECONDS, RED_AFTER, row
from kiosk.central.web.pages import not_found, render
from kiosk.central.web.routes.reports import heartbeat_chart
from kiosk.central.web.settings import ConsoleSettings

router = APIRouter(prefix="/staff", include_in_schema=False)

TAGS = {
    "green": "govuk-tag--green",
    "amber": "govuk-tag--yellow",
    "red": "govuk-tag--red",
    "disabled": "govuk-tag--grey",
}


# In transit's choice of the copies overdue on their way alone (show=overdue).
OVERDUE = "overdue"

# The latest backup older than this: the nightly one is failing (or was never set up).
BACKUP_STALE = timedelta(days=2)


def backup_warning(state: ServerState, now: datetime) -> str | None:
    """Why kiosks keep what they lent, when no backup lets them forget it: none taken, the
    latest on the database's own disk, or none for more than BACKUP_STALE."""
    if state.backup_on_database_disk:
        return "on-database-disk"
    if state.backup_covers is None:
        return "never"
    if state.backup_at is not None and state.backup_at < now - BACKUP_STALE:
        return "stale"
    return None


def upstream_view(status: RelayStatus, now: datetime) -> dict[str, Any] | None:
    """Gateway mode's relay for the Kiosks page; None when there is none to show."""
    if not status.enabled and not status.backlog:
        return None
    age = status.oldest_age_seconds(now)
    return {
        "relaying": status.enabled,
        "backlog": status.backlog,
        "oldest_minutes": None if age is None else int(age // 60),
        "relayed": status.relayed,
        "refused": status.refused,
        "last_sent_at": status.last_sent_at,
        "last_error": status.last_error,
        "last_error_at": status.last_error_at,
    }


def pickup_options(db: Session, patron_id: str | None = None) -> list[dict[str, Any]]:
    """Where a hold staff place may be collected (the desk's and the hold queues' forms):
    every branch (none: a library without branches), with the patron ``patron_id``'s
    default chosen; for a patron not known yet (a hold queue's form, where staff type a
    card), first the choice of their home branch, chosen, which the decision path reads
    when the hold is placed."""
    found = branches(db)
    if not found:
        return []
    if patron_id is None:
        default = ""
        home = {"value": "", "text": "The patron's home branch", "selected": True}
        options = [home] if len(found) > 1 else []
    else:
        default = default_pickup(db, db.get(Patron, patron_id)) or ""
        options = []
    return options + [
        {"value": row.code, "text": f"{row.name} ({row.code})", "selected": row.code == default}
        for row in found
    ]


# A hold's pickup as staff's forms send it (none: the default).
Pickup = Annotated[str, Form(max_length=40)]


@router.get("/kiosks", response_class=HTMLResponse)
def kiosks_page(
    request: Request,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    moment: Now,
    branch: BranchChoice = None,
) -> HTMLResponse:
    state = server_state(db, moment)
    view = branch_view(db, signed_in.who, branch)
    return render(
        request,
        config,
        "kiosks.html",
        who=signed_in.who,
        status_code=view.status,
        rows=[row(kiosk, moment) for kiosk in kiosks(db, view.chosen)],
        view=view,
        branch=view.chosen,
        now=moment,
        tag_classes=TAGS,
        backups=backup_warning(state, moment),
        backup_at=state.backup_at,
        upstream=upstream_view(relay_status(db), moment),
        interval=HEARTBEAT_SECONDS,
        amber_after=int(AMBER_AFTER.total_seconds() // 60),
        red_after=int(RED_AFTER.total_seconds() // 60),
    )


# Before /kiosks/{kiosk_id}, which would otherwise take "table" for an id.
@router.get("/kiosks/table", response_class=HTMLResponse)
def kiosks_table(
    request: Request,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    moment: Now,
    branch: BranchChoice = None,
) -> HTMLResponse:
    """The Kiosks page's table alone, for its script to refresh the page without a
    reload: the same role, headers and no-store as the page."""
    view = branch_view(db, signed_in.who, branch)
    return render(
        request,
        config,
        "kiosks_table.html",
        who=signed_in.who,
        status_code=view.status,
        rows=[row(kiosk, moment) for kiosk in kiosks(db, view.chosen)],
        branch=view.chosen,
        now=moment,
        tag_classes=TAGS,
    )


@router.get("/kiosks/{kiosk_id}", response_class=HTMLResponse)
def kiosk_page(
    request: Request, kiosk_id: int, *, signed_in: Viewer, db: Db, config: Settings, moment: Now
) -> HTMLResponse:
    return _kiosk_page(request, kiosk_id, signed_in, db=db, config=config, moment=moment)


def _kiosk_page(
    request: Request,
    kiosk_id: int,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    error: str | None = None,
) -> HTMLResponse:
    kiosk = find_kiosk(db, kiosk_id)
    if kiosk is None:
        return not_found(request, config, signed_in.who, "kiosk")
    hours = kiosk_day(db, kiosk_id, moment)  # its last 24 hours, from its heartbeats
    return render(
        request,
        config,
        "kiosk.html",
        who=signed_in.who,
        status_code=200 if error is None else 409,
        kiosk=kiosk,
        row=row(kiosk, moment),
        tag_classes=TAGS,
        error=error,
        hours=hours,
        hours_chart=heartbeat_chart(hours),
        interval=HEARTBEAT_SECONDS,
    )


@router.post("/kiosks/{kiosk_id}/token", dependencies=[CsrfChecked], response_model=None)
def new_token(
    request: Request,
    kiosk_id: int,
    *,
    signed_in: Admin,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
) -> Response:
    kiosk = find_kiosk(db, kiosk_id)
    if kiosk is None:
        return not_found(request, config, signed_in.who, "kiosk")
    try:
        token = rotate_token(db, kiosk_id, moment, actor=signed_in.who.username, origin=origin)
    except CentralError as error:
        return _kiosk_page(
            request, kiosk_id, signed_in, db=db, config=config, moment=moment, error=str(error)
        )
    # The answer to the POST itself, never a redirect: the token is in no URL, and
    # no-store keeps it out of the browser's cache.
    return render(request, config, "kiosk_token.html", who=signed_in.who, kiosk=kiosk, token=token)


@router.post("/kiosks/{kiosk_id}/disable", dependencies=[CsrfChecked], response_model=None)
def disable(
    request: Request,
    kiosk_id: int,
    *,
    signed_in: Admin,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
) -> Response:
    if find_kiosk(db, kiosk_id) is None:
        return not_found(request, config, signed_in.who, "kiosk")
    try:
        disable_kiosk(db, kiosk_id, moment, actor=signed_in.who.username, origin=origin)
    except CentralError as error:
        return _kiosk_page(
            request, kiosk_id, signed_in, db=db, config=config, moment=moment, error=str(error)
        )
    return RedirectResponse(f"/staff/kiosks/{kiosk_id}", status_code=303)


@router.get("/transfers", response_class=HTMLResponse)
def transfers_page(
    request: Request,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    moment: Now,
    to: BranchChoice = None,
    show: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """Copies on their way between branches (to one, or to any; by default to the
    member of staff's own), longest first, those on the way for more than a week marked;
    ``show=overdue``: those alone. Above them, the copies that branch (or any) is to send
    from its hold shelf, where a hold's decision left them (a pickup changed): no
    check-in put them in its transfers."""
    view = branch_view(db, signed_in.who, to)
    overdue = show == OVERDUE
    rows = in_transit(db, moment, to=view.chosen)
    return render(
        request,
        config,
        "transfers.html",
        who=signed_in.who,
        status_code=view.status,
        rows=[found for found in rows if found.overdue] if overdue else rows,
        sending=to_send(db, source=view.chosen),
        view=view,
        branch=view.chosen,
        overdue=overdue,
        show_options=[
            {"value": "", "text": "Every copy", "selected": not overdue},
            {"value": OVERDUE, "text": "Overdue in transit", "selected": overdue},
        ],
    )
