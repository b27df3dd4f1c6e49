"""*Search the catalogue* (``/my/catalogue``): titles found by title, author or ISBN (the
staff console's search, ``circulation.catalogue.search_items``, on the same indexes),
each with its copies and whether each is on the shelf, and a hold placed on a title,
to be collected at the branch the patron chooses where the library has several.

A search is POSTed, as the console's is, so what was typed is in no address and so in
no log line. A hold is ``circulation.holds.place_title_hold``, the decision path the
desk and SIP2 use: this module only says its answer in the patron's words. A record
number that names no title is a page not found.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.circulation import catalogue, holds
from kiosk.central.circulation.branches import branch_names
from kiosk.central.circulation.holds import HoldRefused
from kiosk.central.models import Record
from kiosk.central.web.deps import CsrfChecked, Db, Now, Origin, Settings
from kiosk.central.web.routes.my.account import patron_actor
from kiosk.central.web.routes.my.deps import SignedIn, SignedInPatron, chosen_language, page
from kiosk.central.web.routes.my.words import N_, words
from kiosk.central.web.settings import ConsoleSettings

router = APIRouter(prefix="/my", include_in_schema=False)

Text = Annotated[str, Form(max_length=1000)]  # search_items keeps the first 200 characters

# A copy's status as a patron reads it; any other (damaged, missing...) is not lendable.
COPY_STATUS = {
    "available": N_("On the shelf"),
    "on_hold_shelf": N_("Kept for a member who asked for it"),
    "in_transit": N_("On its way between libraries"),
}
NOT_LENDABLE = N_("Not available")
# Why a hold was refused, by HoldRefused.reason; a member type that may not borrow the
# title (HoldRefused.NOT_LENDABLE) is told the rules' own sentences, as the kiosks say them.
HOLD_REFUSED = {
    HoldRefused.CARD: N_(
        "Your card can't be used to place holds at the moment. Your account page says why."
    ),
    HoldRefused.UNHOLDABLE: N_(
        "No copy of this title can be lent any more, so it can't be held. Please ask at the desk."
    ),
    HoldRefused.ON_LOAN: N_("You have a copy of this title on loan already."),
    HoldRefused.WAITING: N_("You are already waiting for this title: see your account."),
    HoldRefused.COPY_HELD: N_(
        "You already have a hold on one copy of this title. Cancel it on your account "
        "page to wait for any copy instead."
    ),
    HoldRefused.PICKUP: N_("Please choose a library to collect it at from the list."),
}


def _catalogue_page(
    request: Request,
    signed_in: SignedInPatron,
    *,
    db: Session,
    config: ConsoleSettings,
    text: str | None = None,
    placed: tuple[str, int, str | None] | None = None,
    refused: tuple[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The search form, and when ``text`` was searched, what it found, each title with
    a choice of where to collect it when the library has more than one branch.
    ``placed``: the title just held, the patron's place in its queue and the name of the
    branch where it is to be collected (None: no branches); ``refused``: a title and why
    its hold was not placed (a HOLD_REFUSED message)."""
    found = catalogue.search_items(db, text) if text is not None else None
    names = branch_names(db)
    return page(
        request,
        config,
        "my/catalogue.html",
        patron=signed_in.patron,
        found=found,
        copy_status=COPY_STATUS,
        not_lendable=NOT_LENDABLE,
        branch_names=names,
        # The choice starts at the decision path's default: the patron's home branch.
        default_pickup=holds.default_pickup(db, signed_in.patron) if len(names) > 1 else None,
        placed=placed,
        refused=refused,
        status_code=status_code,
    )


@router.get("/catalogue", response_class=HTMLResponse)
def catalogue_page(request: Request, signed_in: SignedIn, db: Db, config: Settings) -> HTMLResponse:
    return _catalogue_page(request, signed_in, db=db, config=config)


@router.post("/catalogue", dependencies=[CsrfChecked], response_class=HTMLResponse)
def search(
    request: Request, *, signed_in: SignedIn, db: Db, config: Settings, text: Text = ""
) -> HTMLResponse:
    return _catalogue_page(request, signed_in, db=db, config=config, text=text)


@router.post("/catalogue/hold", dependencies=[CsrfChecked], response_model=None)
def place_hold(
    request: Request,
    *,
    signed_in: SignedIn,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    brn: Annotated[str, Form(max_length=20)] = "",
    text: Text = "",
    pickup: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """A hold on the title ``brn`` for the signed-in patron, to collect at branch
    ``pickup`` (none sent: the default), then the search again with the answer; a
    record number no title has is a page not found."""
    record = db.get(Record, int(brn)) if brn.isdigit() and len(brn) < 12 else None
    if record is None:
        return page(request, config, "my/not_found.html", patron=signed_in.patron, status_code=404)
    title = record.title
    try:
        hold = holds.place_title_hold(
            db,
            signed_in.patron_id,
            record.brn,
            moment,
            patron_actor(signed_in, origin),
            pickup=pickup or None,
        )
        collect_at = branch_names(db).get(hold.pickup or "")
    except HoldRefused as refused:
        said = words(chosen_language(request))
        why = HOLD_REFUSED.get(refused.reason) or " ".join(
            said.refusal(reason) for reason in refused.refusals
        )
        return _catalogue_page(
            request, signed_in, db=db, config=config, text=text, refused=(title, why)
        )
    place = next(
        (
            hold.position
            for hold in holds.patron_holds(db, signed_in.patron_id)
            if hold.brn == record.brn
        ),
        1,
    )
    return _catalogue_page(
        request, signed_in, db=db, config=config, text=text, placed=(title, place, collect_at)
    )
