"""*Holds*: the hold shelf (what waits there, since when, and until when it is kept),
which every role may see; and an item's hold queue, where circulation staff place a
hold for the card scanned, cancel one, or move one up, down or to a place. Every change
is ``kiosk.central.circulation.holds``'s; this module reads the forms and renders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.circulation import holds
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.lookup import hold_ref, item_summary, patron_by_card, patron_names
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
from kiosk.central.web.routes.desk import (
    NO_CARD,
    Flag,
    Scan,
    due_words,
    item_url,
    moment_words,
    patron_url,
)
from kiosk.central.web.settings import ConsoleSettings

router = APIRouter(prefix="/staff/holds", include_in_schema=False)

Changed = Literal["", "moved", "cancelled"]
SHORT = Annotated[str, Form(max_length=16)]
BACK = {"shelf", "item", "desk"}
CHANGES: dict[str, Changed] = {"moved": "moved", "cancelled": "cancelled"}


def _actor(signed_in: Current, origin: str) -> Actor:
    return Actor(signed_in.who.username, origin)


@router.get("", response_class=HTMLResponse)
def shelf_page(
    request: Request,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    moment: Now,
    changed: Flag = "",
) -> HTMLResponse:
    rows = holds.hold_shelf(db, moment, config.hold_shelf_days)
    return render(
        request,
        config,
        "holds.html",
        who=signed_in.who,
        rows=rows,
        expired=sum(1 for row in rows if row.expired),
        keep_days=config.hold_shelf_days,
        may_change=RANK[signed_in.who.role] >= RANK["circulation"],
        changed=CHANGES.get(changed, ""),
        moment_words=moment_words,
        item_url=item_url,
        patron_url=patron_url,
    )


@router.get("/item", response_model=None)
def find_item(
    _signed_in: Circulation, barcode: Annotated[str, Query(max_length=1000)] = ""
) -> Response:
    """The hold shelf's "an item's queue" form (a GET: it changes nothing)."""
    barcode = barcode.strip()
    return RedirectResponse(item_url(barcode) if barcode else "/staff/holds", status_code=303)


def _item_page(
    request: Request,
    barcode: str,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    error: str | None = None,
    card_error: str | None = None,
    placed: int | None = None,
    changed: Changed = "",
) -> HTMLResponse:
    item = item_summary(db, barcode)
    if item is None:
        return not_found(request, config, signed_in.who, "item")
    queue = holds.queue(db, item.barcode)
    ids = [hold.patron_id for hold in queue]
    names = patron_names(db, [*ids, item.borrower] if item.borrower else ids)
    return render(
        request,
        config,
        "item_holds.html",
        who=signed_in.who,
        item=item,
        queue=queue,
        names=names,
        error=error,
        card_error=card_error,
        placed=next((hold for hold in queue if hold.hold_id == placed), None),
        changed=changed,
        now=moment,
        due_words=due_words,
        moment_words=moment_words,
        patron_url=patron_url,
        item_url=item_url,
    )


@router.get("/item/{barcode:path}", response_class=HTMLResponse)
def item_page(
    request: Request,
    barcode: str,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    placed: Flag = "",
    changed: Flag = "",
) -> HTMLResponse:
    return _item_page(
        request,
        barcode,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        placed=int(placed) if placed.isdigit() else None,
        changed=CHANGES.get(changed, ""),
    )


@router.post("/place", dependencies=[CsrfChecked], response_model=None)
def place(
    request: Request,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    barcode: Scan = "",
    card: Scan = "",
) -> Response:
    patron_id = patron_by_card(db, card)
    try:
        if patron_id is None:
            raise CentralError(NO_CARD)
        hold = holds.place_hold(db, patron_id, barcode, moment, _actor(signed_in, origin))
    except CentralError as error:
        return _item_page(
            request,
            barcode,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            card_error=str(error),
        )
    return RedirectResponse(f"{item_url(hold.item_barcode)}?placed={hold.id}", status_code=303)


@router.post("/{hold_id}/move", dependencies=[CsrfChecked], response_model=None)
def move(
    request: Request,
    hold_id: int,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    to: SHORT = "place",
    position: SHORT = "",
) -> Response:
    found = hold_ref(db, hold_id)
    if found is None:
        return not_found(request, config, signed_in.who, "hold")
    now_at = next(
        (hold.position for hold in holds.queue(db, found.item_barcode) if hold.hold_id == hold_id),
        0,
    )
    wanted = {"up": now_at - 1, "down": now_at + 1}.get(to)
    if wanted is None:
        wanted = int(position) if position.strip().isdigit() else 0
    try:
        holds.move_hold(db, hold_id, wanted, moment, _actor(signed_in, origin))
    except CentralError as error:
        return _item_page(
            request,
            found.item_barcode,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            error=str(error),
        )
    return RedirectResponse(f"{item_url(found.item_barcode)}?changed=moved", status_code=303)


@router.post("/{hold_id}/cancel", dependencies=[CsrfChecked], response_model=None)
def cancel(
    request: Request,
    hold_id: int,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    back: SHORT = "item",
    reason: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    found = hold_ref(db, hold_id)
    if found is None:
        return not_found(request, config, signed_in.who, "hold")
    try:
        holds.cancel_hold(db, hold_id, moment, _actor(signed_in, origin), reason)
    except CentralError as error:
        return _item_page(
            request,
            found.item_barcode,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            error=str(error),
        )
    target = {
        "shelf": "/staff/holds",
        "desk": patron_url(found.patron_id),
        "item": item_url(found.item_barcode),
    }[back if back in BACK else "item"]
    return RedirectResponse(f"{target}?changed=cancelled", status_code=303)
