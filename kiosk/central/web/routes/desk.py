"""*Desk*: check out, return and renew for a patron at the desk, with a scanner that types
like a keyboard. Every answer and refusal is the decision path's
(``kiosk.central.circulation.desk``), in the kiosk's own words; this module only finds the
patron by the card scanned, calls it and renders what it says.

Each form carries a transaction id drawn with the page, so a form sent twice is applied
once. What was done is shown after a redirect (POST, redirect, GET): the URL names the
transaction, whose record says what it did, and never a card or a name. A refusal or an
error changed nothing and is shown in the answer to the form itself.

A return at the desk happens at the branch where the signed-in member of staff works
(their account's branch; none: a desk of no known branch, as before branches): it is
routed to that branch's hold shelf, or in transit to another, as at a kiosk there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.circulation import desk, holds
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import branch_names
from kiosk.central.circulation.lookup import (
    desk_patron,
    patron_by_card,
    patron_exists,
    patron_names,
)
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.errors import CentralError
from kiosk.central.models import AppliedTransaction
from kiosk.central.notices.asked import can_email_receipt, email_desk_receipt
from kiosk.central.web.deps import (
    Circulation,
    CsrfChecked,
    Current,
    Db,
    Now,
    Origin,
    Policies,
    Settings,
)
from kiosk.central.web.pages import not_found, render
from kiosk.central.web.routes.kiosks import Pickup, pickup_options
from kiosk.central.web.settings import ConsoleSettings
from kiosk.rules import Due

router = APIRouter(prefix="/staff/desk", include_in_schema=False)

Kind = Literal["checkout", "return", "renew"]
KINDS: dict[str, Kind] = {"checkout": "checkout", "return": "return", "renew": "renew"}
ZERO = Decimal("0.00")
# A form field is bounded before anything reads it; the decision path says what is wrong
# with a long scan in words (no barcode or card is longer than 32 characters).
Scan = Annotated[str, Form(max_length=1000)]
TransactionId = Annotated[str, Form(max_length=100)]
PatronId = Annotated[str, Form(max_length=100)]
Done = Annotated[str, Query(max_length=100)]
# A page's query says what was just done; a value it does not know is read as nothing.
Flag = Annotated[str, Query(max_length=16)]
NO_CARD = "No patron has that card: scan it again, or type the number under its barcode"


@dataclass(frozen=True, slots=True)
class Answer:
    """What one form did (or why it did nothing), for the page to say in words."""

    kind: Kind
    barcode: str
    title: str
    done: bool
    duplicate: bool = False
    due: str | None = None  # in words: "Monday 7 December 2026"
    fine: Decimal = ZERO
    route: str | None = None  # after a return: "hold_shelf", "shelf" or "transfer"
    ready_for: str | None = None  # the name of the patron it waits for on the hold shelf
    refusals: tuple[str, ...] = ()
    note: str = ""
    destination: str | None = None  # the branch a transfer goes to, by its name

    @property
    def reasons(self) -> list[dict[str, str]]:
        """The refusals as an error summary lists them."""
        return [{"text": message} for message in self.refusals]


def due_words(due: str | None) -> str | None:
    """A due date as staff read it out: "Monday 7 December 2026" (a short loan: "14:00 on
    Monday 7 December 2026")."""
    if not due:
        return None
    try:
        parsed = Due.fromisoformat(due)
    except ValueError:
        return due
    day = f"{parsed.day:%A} {parsed.day.day} {parsed.day:%B %Y}"
    return day if parsed.at is None else f"{parsed.at:%H:%M} on {day}"


def moment_words(moment: datetime | None) -> str:
    """A moment, short enough for a table's cell: "22 Nov 2026, 07:29"."""
    if moment is None:
        return ""
    return f"{moment.day} {moment:%b %Y}, {moment:%H:%M}"


def _name(db: Session, patron_id: str | None) -> str | None:
    if patron_id is None:
        return None
    return patron_names(db, [patron_id]).get(patron_id, "a patron no longer on record")


def _destination(db: Session, code: object) -> str | None:
    """The branch a transfer goes to, as staff read it: "Northside (North)"."""
    if not isinstance(code, str) or not code:
        return None
    name = branch_names(db).get(code)
    return code if name is None else f"{name} ({code})"


def _answered(db: Session, found: desk.LoanAnswer) -> Answer:
    return Answer(
        KINDS.get(found.action, "return"),
        found.item_barcode,
        found.title,
        found.done,
        found.duplicate,
        due_words(found.due),
        found.fine,
        found.route,
        _name(db, found.ready_for),
        tuple(refusal.message for refusal in found.refusals),
        found.note,
        _destination(db, found.destination),
    )


def _recorded(db: Session, transaction_id: str, *, again: bool) -> Answer | None:
    """What a desk transaction did, read back from its record after the redirect."""
    if not transaction_id:
        return None
    row: AppliedTransaction | None = desk.transaction(db, transaction_id)
    kind = KINDS.get(row.kind) if row is not None and row.kiosk_id is None else None
    if row is None or kind is None:
        return None
    details = row.details
    route = details.get("route")
    ready_for = details.get("ready_for")
    return Answer(
        kind,
        row.item_barcode,
        str(details.get("title", "")),
        done=True,
        duplicate=again,
        due=due_words(details.get("due")) if kind != "return" else None,
        fine=row.charged,
        route=str(route) if route else None,
        ready_for=_name(db, str(ready_for)) if ready_for else None,
        destination=_destination(db, details.get("destination")),
    )


def _answered_url(base: str, found: desk.LoanAnswer) -> str:
    again = "&again=1" if found.duplicate else ""
    return f"{base}?done={quote(found.transaction_id)}{again}"


def _actor(signed_in: Current, origin: str) -> Actor:
    """The member of staff, at their branch: where the desk's loans are recorded."""
    return Actor(signed_in.who.username, origin, branch=signed_in.who.branch)


def patron_url(patron_id: str) -> str:
    """The patron's desk page (the id is opaque: never the card)."""
    return f"/staff/desk/{quote(patron_id, safe='/')}"


def item_url(barcode: str) -> str:
    """The item's hold queue."""
    return f"/staff/holds/item/{quote(barcode, safe='/')}"


def title_url(brn: int) -> str:
    """The title's hold queue: the holds on any copy of record ``brn``."""
    return f"/staff/holds/title/{brn}"


# --- finding the patron -----------------------------------------------------------------


def _find_page(
    request: Request, config: ConsoleSettings, signed_in: Current, error: str | None = None
) -> HTMLResponse:
    return render(request, config, "desk.html", who=signed_in.who, station="find", error=error)


@router.get("", response_class=HTMLResponse)
def find_page(request: Request, signed_in: Circulation, config: Settings) -> HTMLResponse:
    return _find_page(request, config, signed_in)


@router.post("/find", dependencies=[CsrfChecked], response_model=None)
def find(
    request: Request, *, signed_in: Circulation, db: Db, config: Settings, card: Scan = ""
) -> Response:
    patron_id = patron_by_card(db, card)
    if patron_id is None:
        return _find_page(request, config, signed_in, error=NO_CARD)
    return RedirectResponse(patron_url(patron_id), status_code=303)


# --- a returns-only station -------------------------------------------------------------


def _returns_page(
    request: Request,
    config: ConsoleSettings,
    signed_in: Current,
    *,
    answer: Answer | None = None,
    error: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        config,
        "desk.html",
        who=signed_in.who,
        station="returns",
        answer=answer,
        error=error,
        transaction_id=desk.new_transaction_id(),
    )


@router.get("/returns", response_class=HTMLResponse)
def returns_page(
    request: Request,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    done: Done = "",
    again: Flag = "",
) -> HTMLResponse:
    return _returns_page(request, config, signed_in, answer=_recorded(db, done, again=again == "1"))


@router.post("/returns", dependencies=[CsrfChecked], response_model=None)
def returns(
    request: Request,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    rules: Policies,
    barcode: Scan = "",
    transaction_id: TransactionId = "",
) -> Response:
    try:
        found = desk.check_in(
            db,
            rules,
            barcode=barcode,
            now=moment,
            actor=_actor(signed_in, origin),
            transaction_id=transaction_id or None,
            branch=signed_in.who.branch,
        )
    except CentralError as error:
        return _returns_page(request, config, signed_in, error=str(error))
    if found.done:
        return RedirectResponse(_answered_url("/staff/desk/returns", found), status_code=303)
    return _returns_page(request, config, signed_in, answer=_answered(db, found))


# --- the patron at the desk -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trouble:
    """A form the decision path refused to act on (a bad barcode, no such loan...)."""

    form: Literal["checkout", "return", "renew", "hold", "receipt"]
    message: str


def _patron_page(
    request: Request,
    patron_id: str,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    rules: PolicyCache,
    answer: Answer | None = None,
    trouble: Trouble | None = None,
    placed: int | None = None,
    changed: str = "",
) -> HTMLResponse:
    patron = desk_patron(db, patron_id, moment, rules.get(db))
    if patron is None:
        return not_found(request, config, signed_in.who, "patron")
    waiting = holds.patron_holds(db, patron_id)
    placed_hold = next((hold for hold in waiting if hold.hold_id == placed), None)
    focus = "checkout"
    if answer is not None and answer.kind == "return":
        focus = "return"
    if trouble is not None:
        focus = trouble.form if trouble.form in ("checkout", "return", "hold") else "checkout"
    renewals = {loan.barcode: desk.new_transaction_id() for loan in patron.loans}
    return render(
        request,
        config,
        "desk_patron.html",
        who=signed_in.who,
        patron=patron,
        holds=waiting,
        pickup_options=pickup_options(db, patron_id),
        receipt_offered=can_email_receipt(db, patron_id, moment),
        pickup_names=branch_names(db),
        answer=answer,
        trouble=trouble,
        placed=placed_hold,
        changed=changed,
        focus=focus,
        checkout_id=desk.new_transaction_id(),
        return_id=desk.new_transaction_id(),
        renewal_ids=renewals,
        patron_url=patron_url(patron_id),
        item_url=item_url,
        title_url=title_url,
        due_words=due_words,
        moment_words=moment_words,
    )


@router.get("/{patron_id:path}", response_class=HTMLResponse)
def patron_page(
    request: Request,
    patron_id: str,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    rules: Policies,
    done: Done = "",
    again: Flag = "",
    placed: Flag = "",
    changed: Flag = "",
) -> HTMLResponse:
    return _patron_page(
        request,
        patron_id,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        rules=rules,
        answer=_recorded(db, done, again=again == "1"),
        placed=int(placed) if placed.isdigit() else None,
        changed=changed if changed in ("cancelled", "pickup", "receipt") else "",
    )


def _lend(
    kind: Kind,
    request: Request,
    patron_id: str,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    origin: str,
    rules: PolicyCache,
    barcode: str,
    transaction_id: str,
) -> Response:
    if not patron_exists(db, patron_id):
        return not_found(request, config, signed_in.who, "patron")
    actor = _actor(signed_in, origin)
    chosen = transaction_id or None
    try:
        if kind == "checkout":
            found = desk.checkout(
                db,
                rules,
                patron_id=patron_id,
                barcode=barcode,
                now=moment,
                actor=actor,
                transaction_id=chosen,
            )
        elif kind == "renew":
            found = desk.renew(
                db,
                rules,
                patron_id=patron_id,
                barcode=barcode,
                now=moment,
                actor=actor,
                transaction_id=chosen,
            )
        else:
            found = desk.check_in(
                db,
                rules,
                barcode=barcode,
                now=moment,
                actor=actor,
                transaction_id=chosen,
                branch=signed_in.who.branch,
            )
    except CentralError as error:
        return _patron_page(
            request,
            patron_id,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            rules=rules,
            trouble=Trouble(kind, str(error)),
        )
    if found.done:
        return RedirectResponse(_answered_url(patron_url(patron_id), found), status_code=303)
    return _patron_page(
        request,
        patron_id,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        rules=rules,
        answer=_answered(db, found),
    )


@router.post("/checkout", dependencies=[CsrfChecked], response_model=None)
def checkout(
    request: Request,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    rules: Policies,
    patron_id: PatronId = "",
    barcode: Scan = "",
    transaction_id: TransactionId = "",
) -> Response:
    return _lend(
        "checkout",
        request,
        patron_id,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        origin=origin,
        rules=rules,
        barcode=barcode,
        transaction_id=transaction_id,
    )


@router.post("/return", dependencies=[CsrfChecked], response_model=None)
def check_in(
    request: Request,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    rules: Policies,
    patron_id: PatronId = "",
    barcode: Scan = "",
    transaction_id: TransactionId = "",
) -> Response:
    return _lend(
        "return",
        request,
        patron_id,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        origin=origin,
        rules=rules,
        barcode=barcode,
        transaction_id=transaction_id,
    )


@router.post("/renew", dependencies=[CsrfChecked], response_model=None)
def renew(
    request: Request,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    rules: Policies,
    patron_id: PatronId = "",
    barcode: Scan = "",
    transaction_id: TransactionId = "",
) -> Response:
    return _lend(
        "renew",
        request,
        patron_id,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        origin=origin,
        rules=rules,
        barcode=barcode,
        transaction_id=transaction_id,
    )


@router.post("/receipt", dependencies=[CsrfChecked], response_model=None)
def email_receipt(
    request: Request,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    rules: Policies,
    patron_id: PatronId = "",
) -> Response:
    """The patron asks for a receipt of this visit's loans and renewals by email."""
    if not patron_exists(db, patron_id):
        return not_found(request, config, signed_in.who, "patron")
    try:
        email_desk_receipt(db, patron_id, moment, _actor(signed_in, origin))
    except CentralError as error:
        db.rollback()
        return _patron_page(
            request,
            patron_id,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            rules=rules,
            trouble=Trouble("receipt", str(error)),
        )
    return RedirectResponse(f"{patron_url(patron_id)}?changed=receipt", status_code=303)


@router.post("/hold", dependencies=[CsrfChecked], response_model=None)
def place_hold(
    request: Request,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    rules: Policies,
    patron_id: PatronId = "",
    barcode: Scan = "",
    level: Annotated[Literal["item", "title"], Form()] = "item",
    pickup: Pickup = "",
) -> Response:
    """A hold on the copy scanned, or (``level`` title) on any copy of its title, to be
    collected at branch ``pickup`` (none: the default)."""
    if not patron_exists(db, patron_id):
        return not_found(request, config, signed_in.who, "patron")
    place = holds.place_title_hold_by_copy if level == "title" else holds.place_hold
    try:
        hold = place(
            db, patron_id, barcode, moment, _actor(signed_in, origin), pickup=pickup or None
        )
    except CentralError as error:
        return _patron_page(
            request,
            patron_id,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            rules=rules,
            trouble=Trouble("hold", str(error)),
        )
    return RedirectResponse(f"{patron_url(patron_id)}?placed={hold.id}", status_code=303)
