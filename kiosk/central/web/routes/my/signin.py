"""Signing in to the portal with a card and its PIN (``/my/login``, fields ``card`` and
``pin``), signing out, and choosing a language.

The PIN is checked by ``circulation.authentication.check_card_pin`` (in gateway mode
asking the library's own system too), the verifier and lockout SIP2 devices use,
counted in the same table: five wrong PINs lock the card for 15 minutes wherever they
were typed. Every refusal has one answer, so the page tells no one whether a card
exists; refusals are also counted per address (``sessions.address_blocked``), which
slows trying one PIN on many cards.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.authentication import check_card_pin
from kiosk.central.circulation.lookup import patron_by_card
from kiosk.central.circulation.patrons import update_patron
from kiosk.central.models import Patron
from kiosk.central.web.deps import CsrfChecked, Db, Now, Origin, Settings
from kiosk.central.web.routes.my import sessions
from kiosk.central.web.routes.my.deps import (
    LANGUAGE_COOKIE,
    SignedIn,
    optional,
    page,
    session_cookie,
)
from kiosk.central.web.routes.my.words import N_, language
from kiosk.central.web.sessions import forget_cookie, keep_cookie
from kiosk.central.web.settings import ConsoleSettings
from kiosk.common.pins import LOCKOUT_MINUTES, MAX_WRONG_PINS, pin_matches, pin_verifier

router = APIRouter(prefix="/my", include_in_schema=False)

REFUSED = N_(
    "The card number or PIN is not right, or the card is locked. After {count} wrong "
    "PINs, here or at a kiosk, a card is locked for {minutes} minutes. If your card has "
    "no PIN yet, please ask at the desk."
)
SLOWED = N_(
    "Too many sign-ins were refused from this connection. Please wait {minutes} minutes "
    "and try again."
)
# A card no patron has costs the same PIN check as a known one: the time taken tells
# nothing about which cards exist.
_UNKNOWN: list[str] = []


def _spend_a_check(pin: str) -> None:
    if not _UNKNOWN:
        _UNKNOWN.append(pin_verifier("not a PIN anyone has"))
    pin_matches(_UNKNOWN[0], pin)


def _login_page(
    request: Request,
    config: ConsoleSettings,
    *,
    refused: str | None = None,
    card: str = "",
    status: int = 200,
    **fields: int,
) -> HTMLResponse:
    """The sign-in page; ``refused`` (a message id, filled with ``fields``) when a
    sign-in was refused."""
    return page(
        request,
        config,
        "my/login.html",
        refused=refused,
        card=card,
        fields=fields,
        status_code=status,
    )


@router.get("/login", response_model=None)
def login_page(request: Request, db: Db, config: Settings, moment: Now) -> Response:
    if optional(request, db, config, moment) is not None:
        return RedirectResponse("/my/", status_code=303)
    return _login_page(request, config)


@router.post("/login", dependencies=[CsrfChecked], response_model=None)
def login(
    request: Request,
    *,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    card: Annotated[str, Form(max_length=64)] = "",
    pin: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    blocked = sessions.address_blocked(db, origin, moment)
    if blocked is not None:
        minutes = max(1, -(-int((blocked - moment).total_seconds()) // 60))
        return _login_page(request, config, refused=SLOWED, status=429, minutes=minutes)
    patron_id = patron_by_card(db, card.strip())
    patron = db.get(Patron, patron_id) if patron_id is not None else None
    checked = check_card_pin(db, patron, card.strip(), pin, moment, config.patron_check)
    if not checked.verified:
        # Answered without a check: spend one all the same, so that how soon a
        # refusal comes never tells a guesser that this card is someone's.
        _spend_a_check(pin)
    right = checked.right
    if not right:
        sessions.count_failure(db, origin, moment)
        return _login_page(
            request,
            config,
            refused=REFUSED,
            card=card,
            count=MAX_WRONG_PINS,
            minutes=LOCKOUT_MINUTES,
        )
    assert patron is not None
    old = request.cookies.get(session_cookie(config))
    session_id = sessions.start(db, patron.patron_id, moment)
    if old:  # a new id at every sign-in: a planted cookie opens nothing
        sessions.drop(db, old)
    response = RedirectResponse("/my/", status_code=303)
    keep_signed_in(response, config, session_id)
    return response


def keep_signed_in(response: Response, config: ConsoleSettings, session_id: str) -> None:
    """The browser's cookie for the session ``session_id``."""
    keep_cookie(response, session_cookie(config), session_id, secure=config.secure_cookies)


@router.post("/logout", dependencies=[CsrfChecked], response_model=None)
def logout(signed_in: SignedIn, db: Db, config: Settings) -> Response:
    sessions.drop(db, signed_in.session_id)
    response = RedirectResponse("/my/signed-out", status_code=303)
    forget_cookie(response, session_cookie(config), secure=config.secure_cookies)
    return response


@router.get("/signed-out", response_class=HTMLResponse)
def signed_out(request: Request, config: Settings) -> HTMLResponse:
    return page(request, config, "my/signed_out.html")


@router.post("/language", dependencies=[CsrfChecked], response_model=None)
def choose_language(
    request: Request,
    *,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    code: Annotated[str, Form(max_length=8)] = "",
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The language for this browser, and for a signed-in patron their record's (the
    kiosks and the notices then speak it too)."""
    chosen = language(code) or "en"
    patron = optional(request, db, config, moment)
    if patron is not None and patron.language != chosen:
        update_patron(
            db,
            patron.patron_id,
            {"language": chosen},
            moment,
            Actor(f"patron {patron.patron_id}", origin, "portal"),
        )
    # Only back to a portal page: never to another site.
    target = back if back.startswith("/my/") and "//" not in back and "\\" not in back else "/my/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        chosen,
        path="/my",
        max_age=365 * 24 * 3600,
        secure=config.secure_cookies,
        httponly=True,
        samesite="lax",
    )
    return response
