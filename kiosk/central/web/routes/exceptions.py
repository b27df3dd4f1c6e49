"""*Exceptions*: what kiosks did offline that the rules would have refused, for staff to
look at and resolve with a note. Listing and resolving are ``kiosk.central.circulation``'s
(``staff``); this module only reads the filters and renders."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.api.kiosks import kiosks
from kiosk.central.circulation.staff import (
    KINDS,
    MAX_NOTE,
    ORDERS,
    STATES,
    Order,
    State,
    exception,
    exception_count,
    exceptions,
    resolve_exception,
)
from kiosk.central.errors import CentralError
from kiosk.central.web.accounts import RANK
from kiosk.central.web.deps import (
    Circulation,
    CsrfChecked,
    Current,
    Db,
    Now,
    Origin,
    Settings,
    Viewer,
)
from kiosk.central.web.pages import not_found, render
from kiosk.central.web.settings import ConsoleSettings

router = APIRouter(prefix="/staff", include_in_schema=False)

PAGE = 100
STATE_WORDS = {"open": "Open", "resolved": "Resolved", "all": "Open and resolved"}
ORDER_WORDS = {"oldest": "Oldest first", "newest": "Newest first"}


def _options(
    words: dict[str, str], chosen: str, *, anything: str | None = None
) -> list[dict[str, object]]:
    options: list[dict[str, object]] = []
    if anything is not None:
        options.append({"value": "", "text": anything, "selected": chosen == ""})
    options += [
        {"value": value, "text": text, "selected": value == chosen} for value, text in words.items()
    ]
    return options


@router.get("/exceptions", response_class=HTMLResponse)
def exceptions_page(
    request: Request,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    state: Annotated[str, Query(max_length=16)] = "open",
    kind: Annotated[str, Query(max_length=64)] = "",
    kiosk: Annotated[str, Query(max_length=12)] = "",
    order: Annotated[str, Query(max_length=16)] = "oldest",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    # An unknown filter value is read as no filter, not an error: the page always answers.
    chosen_state: State = next((known for known in STATES if known == state), "open")
    chosen_order: Order = next((known for known in ORDERS if known == order), "oldest")
    chosen_kind = kind if kind in KINDS else ""
    kiosk_id = int(kiosk) if kiosk.isdigit() else None
    every_kiosk = {str(found.id): found.name for found in kiosks(db)}
    total = exception_count(db, state=chosen_state, kind=chosen_kind or None, kiosk_id=kiosk_id)
    pages = max(1, -(-total // PAGE))
    page = min(page, pages)
    rows = exceptions(
        db,
        state=chosen_state,
        kind=chosen_kind or None,
        kiosk_id=kiosk_id,
        order=chosen_order,
        limit=PAGE,
        offset=(page - 1) * PAGE,
    )
    kept = {"state": chosen_state, "kind": chosen_kind, "kiosk": kiosk, "order": chosen_order}
    query = urlencode({key: value for key, value in kept.items() if value})

    def page_link(number: int) -> str:
        return f"/staff/exceptions?{query}&page={number}"

    return render(
        request,
        config,
        "exceptions.html",
        who=signed_in.who,
        rows=rows,
        kinds=KINDS,
        state=chosen_state,
        state_options=_options(STATE_WORDS, chosen_state),
        kind_options=_options(KINDS, chosen_kind, anything="Every kind"),
        kiosk_options=_options(
            every_kiosk, str(kiosk_id) if kiosk_id is not None else "", anything="Every kiosk"
        ),
        order_options=_options(ORDER_WORDS, chosen_order),
        state_words=STATE_WORDS,
        total=total,
        first=(page - 1) * PAGE + 1,
        pagination={
            **({"previous": {"href": page_link(page - 1)}} if page > 1 else {}),
            **({"next": {"href": page_link(page + 1)}} if page < pages else {}),
            "items": [
                {"number": n, "href": page_link(n), "current": n == page}
                for n in range(max(1, page - 3), min(pages, page + 3) + 1)
            ],
        }
        if pages > 1
        else None,
    )


def _exception_page(
    request: Request,
    exception_id: int,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    error: str | None = None,
    note: str = "",
) -> HTMLResponse:
    found = exception(db, exception_id)
    if found is None:
        return not_found(request, config, signed_in.who, "exception")
    return render(
        request,
        config,
        "exception.html",
        who=signed_in.who,
        row=found,
        kinds=KINDS,
        may_resolve=RANK[signed_in.who.role] >= RANK["circulation"],
        max_note=MAX_NOTE,
        error=error,
        note=note,
    )


@router.get("/exceptions/{exception_id}", response_class=HTMLResponse)
def exception_page(
    request: Request, exception_id: int, *, signed_in: Viewer, db: Db, config: Settings
) -> HTMLResponse:
    return _exception_page(request, exception_id, signed_in, db=db, config=config)


@router.post("/exceptions/{exception_id}/resolve", dependencies=[CsrfChecked], response_model=None)
def resolve(
    request: Request,
    exception_id: int,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    note: Annotated[str, Form(max_length=4 * MAX_NOTE)] = "",
) -> Response:
    if exception(db, exception_id) is None:
        return not_found(request, config, signed_in.who, "exception")
    try:
        resolve_exception(
            db, exception_id, note, moment, actor=signed_in.who.username, origin=origin
        )
    except CentralError as error:
        db.rollback()
        return _exception_page(
            request, exception_id, signed_in, db=db, config=config, error=str(error), note=note
        )
    return RedirectResponse(f"/staff/exceptions/{exception_id}", status_code=303)
