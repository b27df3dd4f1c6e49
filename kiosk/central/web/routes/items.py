"""*Items*: the catalogue searched by barcode, ISBN, title or author; an item's page with
its status, current loan, hold queue and last transactions; an item's status set (lost,
damaged, missing, withdrawn, available...) with the fault charge the policy names; a
record or an item added by hand.

Searching and adding are ``kiosk.central.circulation.catalogue``'s, an item's status
``circulation.desk.set_item_status``'s; this module reads the forms and renders the
answers. A search is POSTed, so what was typed is in no URL; a barcode is an item's id
and is. Each form that changes something carries a transaction id made when its page was
drawn, so that sending it twice changes the library once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.circulation import catalogue, desk
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import branches
from kiosk.central.circulation.catalogue import InvalidFields
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
    policy_cache,
)
from kiosk.central.web.pages import not_found, render
from kiosk.central.web.settings import ConsoleSettings
from kiosk.rules.parsing import STANDARD_STATUSES

router = APIRouter(prefix="/staff", include_in_schema=False)

FIELD = 1000  # characters a form's field may send; the decision path sets the real limits
STATUS_TAGS = {
    "available": "govuk-tag--green",
    "on_loan": "govuk-tag--blue",
    "on_hold_shelf": "govuk-tag--turquoise",
    "in_transit": "govuk-tag--light-blue",
    "damaged": "govuk-tag--orange",
    "in_repair": "govuk-tag--yellow",
    "missing": "govuk-tag--pink",
    "lost": "govuk-tag--red",
    "withdrawn": "govuk-tag--grey",
}
KINDS = {"checkout": "Lent", "return": "Returned", "renew": "Renewed", "fault": "Status set"}
SEARCHED_BY = {
    "barcode": "the barcode",
    "isbn": "the ISBN",
    "title": "the start of the title",
    "author": "the start of the author's name",
}
RECORD_LABELS = {  # in the form's order
    "title": "Title",
    "author": "Author",
    "isbn": "ISBN",
    "publication_type": "Publication type",
    "brn": "Record number (BRN)",
}
ITEM_LABELS = {
    "barcode": "Barcode",
    "brn": "Record number (BRN)",
    "price": "Price",
    "status": "Status",
    "home_location": "Home location",
}
NEW_ITEM_STATUSES = [status for status in STANDARD_STATUSES if status not in catalogue.NOT_BY_HAND]


def words(status: str) -> str:
    """A status code as staff read it: ``in_repair`` -> ``In repair``."""
    return status.replace("_", " ").capitalize()


def _is_circulation(who: Current) -> bool:
    return RANK[who.who.role] >= RANK["circulation"]


def _errors(problems: dict[str, str], labels: dict[str, str]) -> list[dict[str, str]]:
    """The error summary's list: each bad field, in the form's order, linking to it."""
    return [
        {"text": f"{label}: {problems[name]}", "href": f"#{name}"}
        for name, label in labels.items()
        if name in problems
    ]


# --- searching ---------------------------------------------------------------------------


def _items_page(
    request: Request,
    signed_in: Current,
    config: ConsoleSettings,
    *,
    found: catalogue.Found | None = None,
) -> HTMLResponse:
    return render(
        request,
        config,
        "items.html",
        who=signed_in.who,
        found=found,
        searched_by=SEARCHED_BY,
        may_add=_is_circulation(signed_in),
        status_tags=STATUS_TAGS,
        words=words,
    )


@router.get("/items", response_class=HTMLResponse)
def items_page(request: Request, signed_in: Viewer, config: Settings) -> HTMLResponse:
    return _items_page(request, signed_in, config)


@router.post("/items/search", dependencies=[CsrfChecked], response_class=HTMLResponse)
def search(
    request: Request,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    text: Annotated[str, Form(max_length=FIELD)] = "",
) -> HTMLResponse:
    return _items_page(request, signed_in, config, found=catalogue.search_items(db, text))


# --- adding by hand ----------------------------------------------------------------------


def _record_page(
    request: Request,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    error: str | None = None,
    added: catalogue.AddedRecord | None = None,
) -> HTMLResponse:
    policy = policy_cache(request).get(db)
    chosen = (values or {}).get("publication_type", "")
    types = [{"value": "", "text": "Choose a type", "selected": not chosen}]
    if policy is not None:
        types += [
            {"value": code, "text": f"{kind.name} ({code})", "selected": code == chosen}
            for code, kind in policy.publication_types.items()
        ]
    return render(
        request,
        config,
        "record_new.html",
        who=signed_in.who,
        values=values or {},
        problems=problems or {},
        errors=_errors(problems or {}, RECORD_LABELS) if problems else [],
        error=error,
        labels=RECORD_LABELS,
        publication_types=types,
        no_policy=policy is None,
        added=added,
        transaction_id=desk.new_transaction_id(),
    )


@router.get("/records/new", response_class=HTMLResponse)
def new_record_page(
    request: Request, signed_in: Circulation, db: Db, config: Settings
) -> HTMLResponse:
    return _record_page(request, signed_in, db=db, config=config)


@router.post("/records/new", dependencies=[CsrfChecked], response_class=HTMLResponse)
def new_record(
    request: Request,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    brn: Annotated[str, Form(max_length=FIELD)] = "",
    title: Annotated[str, Form(max_length=FIELD)] = "",
    author: Annotated[str, Form(max_length=FIELD)] = "",
    isbn: Annotated[str, Form(max_length=FIELD)] = "",
    publication_type: Annotated[str, Form(max_length=FIELD)] = "",
    transaction_id: Annotated[str, Form(max_length=FIELD)] = "",
) -> HTMLResponse:
    values = {
        "brn": brn,
        "title": title,
        "author": author,
        "isbn": isbn,
        "publication_type": publication_type,
    }
    try:
        added = catalogue.add_record(
            db,
            values,
            moment,
            Actor(signed_in.who.username, origin),
            transaction_id=transaction_id or None,
        )
    except InvalidFields as invalid:
        return _record_page(
            request, signed_in, db=db, config=config, values=values, problems=invalid.problems
        )
    except CentralError as error:
        return _record_page(
            request, signed_in, db=db, config=config, values=values, error=str(error)
        )
    return _record_page(request, signed_in, db=db, config=config, added=added)


def _new_item_page(
    request: Request,
    signed_in: Current,
    *,
    config: ConsoleSettings,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    chosen = (values or {}).get("status") or "available"
    return render(
        request,
        config,
        "item_new.html",
        who=signed_in.who,
        values=values or {"status": "available"},
        problems=problems or {},
        errors=_errors(problems or {}, ITEM_LABELS) if problems else [],
        error=error,
        labels=ITEM_LABELS,
        statuses=[
            {"value": status, "text": words(status), "selected": status == chosen}
            for status in NEW_ITEM_STATUSES
        ],
        transaction_id=desk.new_transaction_id(),
    )


@router.get("/items/new", response_class=HTMLResponse)
def new_item_page(
    request: Request,
    signed_in: Circulation,
    config: Settings,
    brn: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """The form, with the record's number filled in when it comes from a record just
    added (a record's number, not a patron's: fine in a URL)."""
    values = {"status": "available", "brn": brn if brn.isdigit() else ""}
    return _new_item_page(request, signed_in, config=config, values=values)


@router.post("/items/new", dependencies=[CsrfChecked], response_class=HTMLResponse)
def new_item(
    request: Request,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    barcode: Annotated[str, Form(max_length=FIELD)] = "",
    brn: Annotated[str, Form(max_length=FIELD)] = "",
    price: Annotated[str, Form(max_length=FIELD)] = "",
    status: Annotated[str, Form(max_length=FIELD)] = "",
    home_location: Annotated[str, Form(max_length=FIELD)] = "",
    transaction_id: Annotated[str, Form(max_length=FIELD)] = "",
) -> HTMLResponse:
    values = {
        "barcode": barcode,
        "brn": brn,
        "price": price,
        "status": status,
        "home_location": home_location,
    }
    try:
        added = catalogue.add_item(
            db,
            values,
            moment,
            Actor(signed_in.who.username, origin),
            transaction_id=transaction_id or None,
        )
    except InvalidFields as invalid:
        return _new_item_page(
            request, signed_in, config=config, values=values, problems=invalid.problems
        )
    except CentralError as error:
        return _new_item_page(request, signed_in, config=config, values=values, error=str(error))
    # The answer to the POST: the new item's page, saying it was added.
    return _item_page(
        request, added.item.barcode, signed_in, db=db, config=config, moment=moment, added=added
    )


# --- an item's page ----------------------------------------------------------------------


def said(answer: desk.LoanAnswer) -> str:
    """What the desk did, as one sentence: "Recorded as lost; 19.99 charged to the
    borrower; loan closed"."""
    parts = [f"recorded as {words(answer.status or '').lower()}"]
    if answer.fine > Decimal(0):
        parts.append(f"{answer.fine} charged to the borrower")
    if answer.note:
        parts.append(answer.note)
    sentence = "; ".join(parts)
    if answer.duplicate:
        return f"This form was sent before, and done then: {sentence}"
    return sentence[0].upper() + sentence[1:]


def _item_page(
    request: Request,
    barcode: str,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    answer: desk.LoanAnswer | None = None,
    added: catalogue.AddedItem | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    view = catalogue.item_view(db, barcode, moment)
    if view is None:
        return not_found(request, config, signed_in.who, "item")
    may_change = _is_circulation(signed_in)
    chosen = (form or {}).get("choice")
    choices: list[dict[str, Any]] = []
    if may_change:
        choices = [
            {"value": choice.value, "text": choice.label, "checked": choice.value == chosen}
            for choice in desk.status_choices(policy_cache(request).get(db))
        ]
    return render(
        request,
        config,
        "item.html",
        who=signed_in.who,
        view=view,
        branch_names={found.code: f"{found.name} ({found.code})" for found in branches(db)},
        may_change=may_change,
        choices=choices,
        answer=answer,
        answer_said=said(answer) if answer is not None else "",
        added=added,
        error=error,
        form=form or {},
        status_tags=STATUS_TAGS,
        kinds=KINDS,
        words=words,
        transaction_id=desk.new_transaction_id(),
    )


@router.get("/items/{barcode:path}", response_class=HTMLResponse)
def item_page(
    request: Request, barcode: str, *, signed_in: Viewer, db: Db, config: Settings, moment: Now
) -> HTMLResponse:
    return _item_page(request, barcode, signed_in, db=db, config=config, moment=moment)


@router.post("/items/{barcode:path}/status", dependencies=[CsrfChecked], response_model=None)
def set_status(
    request: Request,
    barcode: str,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    choice: Annotated[str, Form(max_length=FIELD)] = "",
    note: Annotated[str, Form(max_length=FIELD)] = "",
    transaction_id: Annotated[str, Form(max_length=FIELD)] = "",
) -> Response:
    try:
        answer = desk.set_item_status(
            db,
            policy_cache(request),
            barcode=barcode,
            choice=choice,
            now=moment,
            actor=Actor(signed_in.who.username, origin),
            note=note,
            transaction_id=transaction_id or None,
        )
    except CentralError as error:
        return _item_page(
            request,
            barcode,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            error=str(error),
            form={"choice": choice, "note": note},
        )
    return _item_page(
        request, barcode, signed_in, db=db, config=config, moment=moment, answer=answer
    )
