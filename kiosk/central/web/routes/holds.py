"""*Holds*: the hold shelf (what waits there, since when, and until when it is kept,
on one branch's shelf or every one's), which every role may see; an item's hold queue
and a title's (the holds on any copy of a record that no copy is trapped for yet),
where circulation staff place a hold for the card scanned, on the copy or its title, to
be collected at a branch, cancel one, or move one up, down or to a place. Every change
is ``kiosk.central.circulation.holds``'s; this module reads the forms and renders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.circulation import holds
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import branch_names
from kiosk.central.circulation.lookup import (
    HoldRef,
    hold_ref,
    item_summary,
    patron_by_card,
    patron_names,
    record_summary,
)
from kiosk.central.errors import CentralError
from kiosk.central.web.accounts import RANK
from kiosk.central.web.branches import BranchChoice, branch_view
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
    title_url,
)
from kiosk.central.web.routes.kiosks import Pickup, pickup_options
from kiosk.central.web.settings import ConsoleSettings

router = APIRouter(prefix="/staff/holds", include_in_schema=False)

Changed = Literal["", "moved", "cancelled", "pickup"]
SHORT = Annotated[str, Form(max_length=16)]
# Which queue the place form puts the patron in: the copy's, or its title's.
Level = Annotated[Literal["item", "title"], Form()]
BACK = {"shelf", "item", "desk"}
CHANGES: dict[str, Changed] = {"moved": "moved", "cancelled": "cancelled", "pickup": "pickup"}


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
    branch: BranchChoice = None,
) -> HTMLResponse:
    view = branch_view(db, signed_in.who, branch)
    rows = holds.hold_shelf(db, moment, config.hold_shelf_days, branch=view.chosen)
    return render(
        request,
        config,
        "holds.html",
        who=signed_in.who,
        status_code=view.status,
        rows=rows,
        view=view,
        branch_names=branch_names(db),
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
    title_waiting = len(holds.title_queue(db, item.brn)) if item.brn is not None else 0
    ids = [hold.patron_id for hold in queue]
    names = patron_names(db, [*ids, item.borrower] if item.borrower else ids)
    return render(
        request,
        config,
        "item_holds.html",
        who=signed_in.who,
        item=item,
        pickup_options=pickup_options(db),
        queue=queue,
        names=names,
        error=error,
        card_error=card_error,
        placed=next((hold for hold in queue if hold.hold_id == placed), None),
        changed=changed,
        title_waiting=title_waiting,
        now=moment,
        due_words=due_words,
        moment_words=moment_words,
        patron_url=patron_url,
        item_url=item_url,
        title_url=title_url,
    )


def _title_page(
    request: Request,
    brn: int,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    error: str | None = None,
    card_error: str | None = None,
    placed: int | None = None,
    changed: Changed = "",
) -> HTMLResponse:
    record = record_summary(db, brn)
    if record is None:
        return not_found(request, config, signed_in.who, "title")
    queue = holds.title_queue(db, brn)
    return render(
        request,
        config,
        "title_holds.html",
        who=signed_in.who,
        record=record,
        pickup_options=pickup_options(db),
        queue=queue,
        names=patron_names(db, [hold.patron_id for hold in queue]),
        error=error,
        card_error=card_error,
        placed=next((hold for hold in queue if hold.hold_id == placed), None),
        changed=changed,
        moment_words=moment_words,
        patron_url=patron_url,
    )


@router.get("/title/{brn}", response_class=HTMLResponse)
def title_page(
    request: Request,
    brn: int,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    placed: Flag = "",
    changed: Flag = "",
) -> HTMLResponse:
    return _title_page(
        request,
        brn,
        signed_in,
        db=db,
        config=config,
        placed=int(placed) if placed.isdigit() else None,
        changed=CHANGES.get(changed, ""),
    )


def _queue_page(
    request: Request,
    found: HoldRef,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    error: str,
) -> HTMLResponse:
    """The queue the hold is in, with what went wrong."""
    if found.item_barcode is None and found.brn is not None:
        return _title_page(request, found.brn, signed_in, db=db, config=config, error=error)
    return _item_page(
        request,
        found.item_barcode or "",
        signed_in,
        db=db,
        config=config,
        moment=moment,
        error=error,
    )


def _queue_url(found: HoldRef) -> str:
    if found.item_barcode is None and found.brn is not None:
        return title_url(found.brn)
    return item_url(found.item_barcode or "")


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
    level: Level = "item",
    pickup: Pickup = "",
) -> Response:
    """A hold for the card scanned: on the copy ``barcode``, or (``level`` title) on any
    copy of its record, to be collected at branch ``pickup`` (none: the default)."""
    patron_id = patron_by_card(db, card)
    actor = _actor(signed_in, origin)
    try:
        if patron_id is None:
            raise CentralError(NO_CARD)
        if level == "title":
            hold = holds.place_title_hold_by_copy(
                db, patron_id, barcode, moment, actor, pickup=pickup or None
            )
        else:
            hold = holds.place_hold(db, patron_id, barcode, moment, actor, pickup=pickup or None)
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
    target = title_url(hold.brn) if hold.brn is not None else item_url(barcode.strip())
    return RedirectResponse(f"{target}?placed={hold.id}", status_code=303)


@router.post("/title/{brn}/place", dependencies=[CsrfChecked], response_model=None)
def place_on_title(
    request: Request,
    brn: int,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    card: Scan = "",
    pickup: Pickup = "",
) -> Response:
    patron_id = patron_by_card(db, card)
    try:
        if patron_id is None:
            raise CentralError(NO_CARD)
        hold = holds.place_title_hold(
            db, patron_id, brn, moment, _actor(signed_in, origin), pickup=pickup or None
        )
    except CentralError as error:
        return _title_page(request, brn, signed_in, db=db, config=config, card_error=str(error))
    return RedirectResponse(f"{title_url(brn)}?placed={hold.id}", status_code=303)


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
    in_queue = (
        holds.queue(db, found.item_barcode)
        if found.item_barcode is not None
        else holds.title_queue(db, found.brn or 0)
    )
    now_at = next((hold.position for hold in in_queue if hold.hold_id == hold_id), 0)
    wanted = {"up": now_at - 1, "down": now_at + 1}.get(to)
    if wanted is None:
        wanted = int(position) if position.strip().isdigit() else 0
    try:
        holds.move_hold(db, hold_id, wanted, moment, _actor(signed_in, origin))
    except CentralError as error:
        return _queue_page(
            request, found, signed_in, db=db, config=config, moment=moment, error=str(error)
        )
    return RedirectResponse(f"{_queue_url(found)}?changed=moved", status_code=303)


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
        return _queue_page(
            request, found, signed_in, db=db, config=config, moment=moment, error=str(error)
        )
    target = {
        "shelf": "/staff/holds",
        "desk": patron_url(found.patron_id),
        "item": _queue_url(found),
    }[back if back in BACK else "item"]
    return RedirectResponse(f"{target}?changed=cancelled", status_code=303)


@router.post("/{hold_id}/pickup", dependencies=[CsrfChecked], response_model=None)
def change_pickup(
    request: Request,
    hold_id: int,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    pickup: Pickup = "",
) -> Response:
    """Collect the hold at branch ``pickup`` instead: the decision path refuses a code
    that is no branch, and sends a copy waiting elsewhere on its way
    (``holds.change_pickup``)."""
    found = hold_ref(db, hold_id)
    if found is None:
        return not_found(request, config, signed_in.who, "hold")
    try:
        holds.change_pickup(db, hold_id, pickup, moment, _actor(signed_in, origin))
    except CentralError as error:
        return _queue_page(
            request, found, signed_in, db=db, config=config, moment=moment, error=str(error)
        )
    return RedirectResponse(f"{patron_url(found.patron_id)}?changed=pickup", status_code=303)
