"""Renewing one's own membership (``/my/membership``), and changing one's PIN
(``/my/pin``: the current PIN, the new one twice).

The renewal is ``circulation.patrons.renew_own_membership``: the rules decide it as at
the kiosk, and the new expiry is shown once committed, or why not in plain words. The
PIN change checks the current PIN with ``check_pin``, so a wrong one counts towards the
lockout shared with the kiosks' PIN checks on the server; the new PIN is kept only as a
verifier (``patrons.set_pin``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from kiosk.central.circulation.authentication import PinAnswer, check_pin
from kiosk.central.circulation.patrons import PatronRefused, renew_own_membership, set_pin
from kiosk.central.web.deps import CsrfChecked, Db, Now, Origin, Policies, Settings
from kiosk.central.web.routes.my import sessions
from kiosk.central.web.routes.my.account import account_page, patron_actor
from kiosk.central.web.routes.my.deps import SignedIn, SignedInPatron, page
from kiosk.central.web.routes.my.signin import keep_signed_in
from kiosk.central.web.routes.my.words import N_
from kiosk.central.web.settings import ConsoleSettings
from kiosk.common.pins import LOCKOUT_MINUTES, MAX_WRONG_PINS

router = APIRouter(prefix="/my", include_in_schema=False)

Pin = Annotated[str, Form(max_length=64)]

# What is wrong with the PIN form, by field, as the patron reads it.
PIN_PROBLEMS = {
    "current": N_(
        "Your current PIN is not right. After {count} wrong PINs, here or at a kiosk, "
        "your card is locked for {minutes} minutes."
    ),
    "locked": N_("Too many wrong PINs: your card is locked for {minutes} minutes."),
    "pin": N_("Your new PIN must be 4 to 8 digits."),
    "pin_again": N_("The two new PINs are not the same. Please type them again."),
}


@router.post("/membership", dependencies=[CsrfChecked], response_model=None)
def renew_membership(
    request: Request,
    *,
    signed_in: SignedIn,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    rules: Policies,
    seen: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    decision = renew_own_membership(
        db, signed_in.patron_id, moment, patron_actor(signed_in, origin), seen=seen
    )
    db.refresh(signed_in.patron)
    return account_page(
        request,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        rules=rules,
        membership_answer=decision,
    )


def _pin_page(
    request: Request,
    config: ConsoleSettings,
    signed_in: SignedInPatron,
    *,
    problems: dict[str, str] | None = None,
    changed: bool = False,
) -> HTMLResponse:
    return page(
        request,
        config,
        "my/pin.html",
        patron=signed_in.patron,
        problems=problems or {},
        changed=changed,
        lockout={"count": MAX_WRONG_PINS, "minutes": LOCKOUT_MINUTES},
        status_code=400 if problems else 200,
    )


@router.get("/pin", response_class=HTMLResponse)
def pin_page(request: Request, signed_in: SignedIn, config: Settings) -> HTMLResponse:
    return _pin_page(request, config, signed_in)


@router.post("/pin", dependencies=[CsrfChecked], response_model=None)
def change_pin(
    request: Request,
    *,
    signed_in: SignedIn,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    current: Pin = "",
    pin: Pin = "",
    pin_again: Pin = "",
) -> Response:
    checked = check_pin(db, signed_in.patron, current, moment)
    if not checked.right:
        problem = "locked" if checked.answer is PinAnswer.LOCKED else "current"
        return _pin_page(request, config, signed_in, problems={"current": PIN_PROBLEMS[problem]})
    try:
        set_pin(
            db, signed_in.patron_id, pin, moment, patron_actor(signed_in, origin), again=pin_again
        )
    except PatronRefused as refused:
        problems = {name: PIN_PROBLEMS[name] for name in refused.problems if name in PIN_PROBLEMS}
        return _pin_page(
            request, config, signed_in, problems=problems or {"pin": PIN_PROBLEMS["pin"]}
        )
    # The new PIN ended every session of the patron's (patrons.set_pin): this browser,
    # where it was typed, goes on in a new one.
    response = _pin_page(request, config, signed_in, changed=True)
    keep_signed_in(response, config, sessions.start(db, signed_in.patron_id, moment))
    return response
