"""*My account* (``/my/``): the patron's loans with their due dates, renewing one or all,
what they owe with the ledger, and their holds with the place in each queue, the shelf
and last day of a ready one, cancelling one, and choosing another branch to collect one.

Every question is the decision path's: a renewal is ``circulation.desk.renew`` (the
desk's and SIP2's), a cancellation ``circulation.holds.cancel_hold``, a new pickup
``circulation.holds.change_pickup``; this module checks
only that what a form names is the signed-in patron's own (else 404, as for a thing
that does not exist), and says the answers in the patron's language.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central.circulation import desk, holds
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import branch_names
from kiosk.central.circulation.lookup import DeskLoan, desk_patron
from kiosk.central.circulation.patron_status import patron_standing
from kiosk.central.circulation.patrons import own_membership_renewal, patron_view
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.errors import CentralError
from kiosk.central.models import Item
from kiosk.central.web.deps import CsrfChecked, Db, Now, Origin, Policies, Settings
from kiosk.central.web.routes.my.deps import SignedIn, SignedInPatron, page
from kiosk.central.web.routes.my.words import N_
from kiosk.central.web.settings import ConsoleSettings
from kiosk.rules import MembershipRenewalDecision
from kiosk.rules.reasons import Reason

router = APIRouter(prefix="/my", include_in_schema=False)

TransactionId = Annotated[str, Form(max_length=100)]
Barcode = Annotated[str, Form(max_length=100)]

# What to do about what stops the patron borrowing, beside the rules' reason.
WHAT_TO_DO = {
    Reason.PATRON_BARRED: N_(
        "You can still see your account, return items and cancel holds. Please ask at "
        "the desk or phone the library to find out more."
    ),
    Reason.MEMBERSHIP_EXPIRED: N_(
        "You can still see your account, return items and cancel holds. Renew your "
        "membership at the desk to borrow and renew again."
    ),
    Reason.FINES_OWED: N_(
        "You can still see your account and return items. Pay at the desk or at a "
        "kiosk to borrow and renew again."
    ),
}


# The ledger's kinds of entry, as the patron reads them.
LEDGER_KINDS = {
    "fine": N_("Fine"),
    "fault": N_("Charge"),
    "payment": N_("Payment"),
    "waiver": N_("Waived"),
}


@dataclass(frozen=True, slots=True)
class ReadyHold:
    shelf: str
    last_day: date


def _transaction_id(base: str, barcode: str) -> str:
    """One renewal's id, made from the page's and the item's: the same form sent twice
    renews once (the decision path answers the second as the first)."""
    if not base:
        return desk.new_transaction_id()
    return f"{base[:40]}:{hashlib.sha256(barcode.encode()).hexdigest()[:16]}"


def _ready(db: Session, patron_id: str, keep_days: int) -> dict[int, ReadyHold]:
    """Where each ready hold waits, by the branch's name, and the last day it is kept
    (``hold_shelf_days`` from when it reached the shelf, as the staff's hold shelf
    counts). A hold with no pickup waits where its copy lives."""
    names = branch_names(db)
    found = {}
    for hold in holds.patron_holds(db, patron_id):
        if not hold.ready or hold.item_barcode is None:
            continue
        shelf = hold.pickup or db.scalar(
            select(Item.home_location).where(Item.barcode == hold.item_barcode)
        )
        ends = (hold.ready_at or hold.placed_at) + timedelta(days=keep_days)
        found[hold.hold_id] = ReadyHold(
            names.get(shelf or "", shelf or ""), (ends - timedelta(seconds=1)).date()
        )
    return found


def account_page(
    request: Request,
    signed_in: SignedInPatron,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    rules: PolicyCache,
    renewed: list[desk.LoanAnswer] | None = None,
    cancelled: bool = False,
    membership_answer: MembershipRenewalDecision | None = None,
    pickup_changed: bool = False,
    pickup_error: bool = False,
) -> HTMLResponse:
    standing = patron_standing(db, signed_in.patron_id, moment, rules.get(db))
    assert standing is not None  # the session's patron exists: find() joined it
    return page(
        request,
        config,
        "my/account.html",
        patron=signed_in.patron,
        standing=standing,
        what_to_do=WHAT_TO_DO,
        ledger_kinds=LEDGER_KINDS,
        ledger=patron_view(db, signed_in.patron_id, moment).ledger,
        ready=_ready(db, signed_in.patron_id, config.hold_shelf_days),
        branch_names=branch_names(db),
        renewal_id=desk.new_transaction_id(),
        renewed=renewed,
        cancelled=cancelled,
        pickup_changed=pickup_changed,
        pickup_error=pickup_error,
        membership=own_membership_renewal(db, signed_in.patron_id, moment),
        membership_answer=membership_answer,
    )


@router.get("/", response_class=HTMLResponse)
def account(
    request: Request,
    *,
    signed_in: SignedIn,
    db: Db,
    config: Settings,
    moment: Now,
    rules: Policies,
    cancelled: Annotated[str, Query(max_length=8)] = "",
    pickup: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse:
    return account_page(
        request,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        rules=rules,
        cancelled=cancelled == "1",
        pickup_changed=pickup == "1",
    )


def patron_actor(signed_in: SignedInPatron, origin: str) -> Actor:
    # The opaque id, never the card or the name: the audit log may be read by many.
    return Actor(f"patron {signed_in.patron_id}", origin, "portal")


def _not_found(
    request: Request, config: ConsoleSettings, signed_in: SignedInPatron
) -> HTMLResponse:
    return page(request, config, "my/not_found.html", patron=signed_in.patron, status_code=404)


@router.post("/renew", dependencies=[CsrfChecked], response_model=None)
def renew(
    request: Request,
    *,
    signed_in: SignedIn,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    rules: Policies,
    barcode: Barcode = "",
    transaction_id: TransactionId = "",
) -> Response:
    """Renew one of the patron's loans; a barcode that is not on loan to them is a page
    not found, whoever has it."""
    mine = {loan.barcode for loan in _loans(db, signed_in, moment, rules)}
    if barcode not in mine:
        return _not_found(request, config, signed_in)
    try:
        answer = desk.renew(
            db,
            rules,
            patron_id=signed_in.patron_id,
            barcode=barcode,
            now=moment,
            actor=patron_actor(signed_in, origin),
            transaction_id=_transaction_id(transaction_id, barcode),
        )
    except CentralError:
        return _not_found(request, config, signed_in)
    return account_page(
        request, signed_in, db=db, config=config, moment=moment, rules=rules, renewed=[answer]
    )


@router.post("/renew-all", dependencies=[CsrfChecked], response_model=None)
def renew_all(
    request: Request,
    *,
    signed_in: SignedIn,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    rules: Policies,
    transaction_id: TransactionId = "",
) -> Response:
    answers = []
    for loan in _loans(db, signed_in, moment, rules):
        try:
            answers.append(
                desk.renew(
                    db,
                    rules,
                    patron_id=signed_in.patron_id,
                    barcode=loan.barcode,
                    now=moment,
                    actor=patron_actor(signed_in, origin),
                    transaction_id=_transaction_id(transaction_id, loan.barcode),
                )
            )
        except CentralError:
            continue  # returned meanwhile, at a kiosk: nothing left to renew
    return account_page(
        request, signed_in, db=db, config=config, moment=moment, rules=rules, renewed=answers
    )


def _loans(
    db: Session, signed_in: SignedInPatron, moment: datetime, rules: PolicyCache
) -> tuple[DeskLoan, ...]:
    found = desk_patron(db, signed_in.patron_id, moment, rules.get(db))
    return found.loans if found is not None else ()


def _own_hold(db: Session, signed_in: SignedInPatron, hold_id: str) -> int | None:
    """The id of the signed-in patron's hold named ``hold_id`` (as the URL says it), or
    None: another patron's, or none at all."""
    mine = {str(hold.hold_id): hold.hold_id for hold in holds.patron_holds(db, signed_in.patron_id)}
    return mine.get(hold_id)


@router.post("/holds/{hold_id}/cancel", dependencies=[CsrfChecked], response_model=None)
def cancel(
    request: Request,
    hold_id: str,
    *,
    signed_in: SignedIn,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
) -> Response:
    """Cancel one of the patron's holds; another patron's hold, like one that does not
    exist, is a page not found."""
    mine = _own_hold(db, signed_in, hold_id)
    if mine is None:
        return _not_found(request, config, signed_in)
    try:
        holds.cancel_hold(
            db, mine, moment, patron_actor(signed_in, origin), "cancelled by the patron"
        )
    except CentralError:
        return _not_found(request, config, signed_in)
    return RedirectResponse("/my/?cancelled=1", status_code=303)


@router.post("/holds/{hold_id}/pickup", dependencies=[CsrfChecked], response_model=None)
def change_pickup(
    request: Request,
    hold_id: str,
    *,
    signed_in: SignedIn,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    rules: Policies,
    pickup: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Collect one of the patron's holds at branch ``pickup`` instead; another patron's
    hold, like one that does not exist, is a page not found, and a branch the library
    does not have is refused by the decision path, nothing changed."""
    mine = _own_hold(db, signed_in, hold_id)
    if mine is None:
        return _not_found(request, config, signed_in)
    try:
        holds.change_pickup(
            db,
            mine,
            pickup,
            moment,
            patron_actor(signed_in, origin),
            patron_id=signed_in.patron_id,
        )
    except holds.HoldRefused:
        refused = account_page(
            request, signed_in, db=db, config=config, moment=moment, rules=rules, pickup_error=True
        )
        refused.status_code = 409
        return refused
    except CentralError:
        return _not_found(request, config, signed_in)
    return RedirectResponse("/my/?pickup=1", status_code=303)
