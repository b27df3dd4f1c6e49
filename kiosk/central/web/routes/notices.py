"""*Notices*: the outbox (what waits, what went, what failed or was interrupted, with a
resend for circulation staff) and the notices to print for patrons with no email or
phone. Reading and changing are ``kiosk.central.notices.staff``'s; this module only
reads the filters and renders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiosk.central.notices import outbox, staff
from kiosk.central.notices.preferences import KIND_NAMES
from kiosk.central.web.accounts import RANK
from kiosk.central.web.deps import Circulation, CsrfChecked, Db, Now, Origin, Settings, Viewer
from kiosk.central.web.pages import not_found, render

router = APIRouter(prefix="/staff", include_in_schema=False)

PAGE = 100
MAX_PRINT = 500
Shown = Annotated[str, Query(max_length=16)]


@router.get("/notices", response_class=HTMLResponse)
def outbox_page(
    request: Request,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    show: Shown = "attention",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    done: Shown = "",
) -> HTMLResponse:
    chosen = show if show in staff.SHOWN else "attention"  # an unknown filter: the default
    total, lines = staff.listing(db, chosen, limit=PAGE, offset=(page - 1) * PAGE)
    pages = max(1, -(-total // PAGE))
    return render(
        request,
        config,
        "notices.html",
        who=signed_in.who,
        lines=lines,
        total=total,
        counts=outbox.counts(db),
        shown=chosen,
        show_options=[
            {"value": value, "text": text, "selected": value == chosen}
            for value, text in staff.SHOWN.items()
        ],
        shown_words=staff.SHOWN,
        kinds={**KIND_NAMES, "digest": "Daily digest"},
        resendable=staff.RESENDABLE,
        may_resend=RANK[signed_in.who.role] >= RANK["circulation"],
        done={"resent": "The notice will go again in the next minute."}.get(done),
        pagination={
            **(
                {"previous": {"href": f"/staff/notices?show={chosen}&page={page - 1}"}}
                if page > 1
                else {}
            ),
            **(
                {"next": {"href": f"/staff/notices?show={chosen}&page={page + 1}"}}
                if page < pages
                else {}
            ),
        }
        if pages > 1
        else None,
    )


@router.post("/notices/{notice_id}/resend", dependencies=[CsrfChecked], response_model=None)
def resend(
    request: Request,
    notice_id: int,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
) -> Response:
    if not staff.resend(db, notice_id, moment, actor=signed_in.who.username, origin=origin):
        return not_found(request, config, signed_in.who, "notice to resend")
    return RedirectResponse("/staff/notices?show=waiting&done=resent", status_code=303)


@router.get("/notices/print", response_class=HTMLResponse)
def print_page(request: Request, *, signed_in: Viewer, db: Db, config: Settings) -> HTMLResponse:
    total, lines = staff.listing(db, "print", limit=MAX_PRINT)
    return render(
        request,
        config,
        "notices_print.html",
        who=signed_in.who,
        lines=lines,
        facts=staff.facts(db, [line.notice_id for line in lines]),
        total=total,
        kinds=KIND_NAMES,
        may_mark=RANK[signed_in.who.role] >= RANK["circulation"],
    )


@router.post("/notices/printed", dependencies=[CsrfChecked], response_model=None)
def printed(
    *,
    signed_in: Circulation,
    db: Db,
    moment: Now,
    origin: Origin,
    notice: Annotated[list[int], Form(max_length=MAX_PRINT)] = [],  # noqa: B006 - FastAPI reads it
) -> Response:
    staff.mark_printed(db, notice, moment, actor=signed_in.who.username, origin=origin)
    return RedirectResponse("/staff/notices?show=print", status_code=303)
