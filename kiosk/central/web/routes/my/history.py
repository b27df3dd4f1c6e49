"""*Your loan history* (``/my/history``): the loans of a patron who chose to keep them,
newest first, a page at a time; and the choice itself (``/my/history/keep``), made on
the privacy page: keep it from now on, or stop, with the history kept so far forgotten
at once if the patron wishes. Only the signed-in patron's: the addresses name no one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiosk.central.circulation import loan_history
from kiosk.central.web.deps import CsrfChecked, Db, Now, Origin, Settings
from kiosk.central.web.routes.my.account import patron_actor
from kiosk.central.web.routes.my.deps import SignedIn, page

router = APIRouter(prefix="/my", include_in_schema=False)

PER_PAGE = 20
Choice = Annotated[str, Form(max_length=8)]


@router.get("/history", response_class=HTMLResponse)
def history(
    request: Request,
    *,
    signed_in: SignedIn,
    db: Db,
    config: Settings,
    number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    kept = signed_in.patron.keep_loan_history
    rows, more = (
        loan_history.history(db, signed_in.patron_id, number, PER_PAGE) if kept else ([], False)
    )
    if number > 1 and not rows:
        return page(request, config, "my/not_found.html", patron=signed_in.patron, status_code=404)
    return page(
        request,
        config,
        "my/history.html",
        patron=signed_in.patron,
        kept=kept,
        rows=rows,
        number=number,
        more=more,
    )


@router.post("/history/keep", dependencies=[CsrfChecked], response_model=None)
def keep(
    *,
    signed_in: SignedIn,
    db: Db,
    moment: Now,
    origin: Origin,
    keep: Choice = "",
    forget: Choice = "",
) -> Response:
    """``keep`` "yes" or "no" (anything else changes nothing); with "no", ``forget``
    "yes" forgets the ended loans now."""
    if keep in ("yes", "no"):
        loan_history.keep(
            db,
            signed_in.patron_id,
            keep == "yes",
            forget_now=forget == "yes",
            now=moment,
            actor=patron_actor(signed_in, origin),
        )
    return RedirectResponse("/my/privacy?saved=1#loan-history", status_code=303)
