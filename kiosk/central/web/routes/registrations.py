"""*Pending registrations*: the portal's online registrations waiting for staff, oldest
first, which every role may see; circulation staff and administrators approve one
(choosing the member type, perhaps a permanent card) or reject it with a reason. The
decisions are ``kiosk.central.circulation.registrations``'s; this module reads the
forms and renders. Each form carries a transaction id the audit line keeps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.circulation import registrations
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import branch_names
from kiosk.central.circulation.desk import new_transaction_id
from kiosk.central.circulation.patrons import UnknownPatron, member_types
from kiosk.central.circulation.registrations import RegistrationDecided, RegistrationRefused
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

router = APIRouter(prefix="/staff/registrations", include_in_schema=False)

PatronId = Annotated[str, Path(max_length=32)]
Text = Annotated[str, Form(max_length=1000)]  # bounded before anything reads it
DONE = {"approved": "Approved", "rejected": "Rejected: the registration is deleted"}


def _actor(signed_in: Current, origin: str) -> Actor:
    return Actor(signed_in.who.username, origin)


@router.get("", response_class=HTMLResponse)
def pending_page(
    request: Request,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    done: Annotated[str, Query(max_length=16)] = "",
    patron: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    return render(
        request,
        config,
        "registrations.html",
        who=signed_in.who,
        rows=registrations.pending(db),
        done=DONE.get(done, ""),
        patron_id=patron if done == "approved" else "",
    )


def _registration_page(
    request: Request,
    patron_id: str,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    refused: RegistrationRefused | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    found = registrations.one(db, patron_id)
    if found is None:
        return not_found(request, config, signed_in.who, "pending registration")
    problems = refused.problems if refused is not None else {}
    values = typed or {"member_type": "", "card": "", "reason": ""}
    return render(
        request,
        config,
        "registration.html",
        who=signed_in.who,
        status_code=400 if refused is not None else 200,
        registration=found,
        branch_names=branch_names(db),
        may_decide=RANK[signed_in.who.role] >= RANK["circulation"],
        type_options=[{"value": "", "text": "Choose a member type"}]
        + [
            {"value": code, "text": name, "selected": code == values["member_type"]}
            for code, name in member_types(db).items()
        ],
        values=values,
        problems=problems,
        errors=[{"text": message, "href": f"#{name}"} for name, message in problems.items()],
        transaction_id=new_transaction_id(),
    )


@router.get("/{patron_id}", response_class=HTMLResponse)
def registration_page(
    request: Request, patron_id: PatronId, *, signed_in: Viewer, db: Db, config: Settings
) -> HTMLResponse:
    return _registration_page(request, patron_id, signed_in, db=db, config=config)


@router.post("/{patron_id}/approve", dependencies=[CsrfChecked], response_model=None)
def approve(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    member_type: Text = "",
    card: Text = "",
    transaction_id: Text = "",
) -> Response:
    typed = {"member_type": member_type, "card": card, "reason": ""}
    try:
        registrations.approve(
            db,
            patron_id,
            member_type=member_type,
            card=card,
            now=moment,
            actor=_actor(signed_in, origin),
            transaction_id=transaction_id,
        )
    except (RegistrationDecided, UnknownPatron):
        return not_found(request, config, signed_in.who, "pending registration")
    except RegistrationRefused as refused:
        return _registration_page(
            request, patron_id, signed_in, db=db, config=config, refused=refused, typed=typed
        )
    return RedirectResponse(
        f"/staff/registrations?done=approved&patron={patron_id}", status_code=303
    )


@router.post("/{patron_id}/reject", dependencies=[CsrfChecked], response_model=None)
def reject(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    reason: Text = "",
    transaction_id: Text = "",
) -> Response:
    try:
        registrations.reject(
            db,
            patron_id,
            reason=reason,
            now=moment,
            actor=_actor(signed_in, origin),
            transaction_id=transaction_id,
        )
    except (RegistrationDecided, UnknownPatron):
        return not_found(request, config, signed_in.who, "pending registration")
    except RegistrationRefused as refused:
        typed = {"member_type": "", "card": "", "reason": reason}
        return _registration_page(
            request, patron_id, signed_in, db=db, config=config, refused=refused, typed=typed
        )
    return RedirectResponse("/staff/registrations?done=rejected", status_code=303)
