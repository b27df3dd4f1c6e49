"""Signing in and out: ``/staff/login`` (fields ``username`` and ``password``) and
``/staff/logout``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiosk.central.web import sessions
from kiosk.central.web.accounts import LOCKOUT, MAX_PASSWORD, MAX_WRONG_PASSWORDS, authenticate
from kiosk.central.web.deps import (
    CsrfChecked,
    Db,
    Now,
    Origin,
    Settings,
    Viewer,
    optional_staff,
)
from kiosk.central.web.pages import render

router = APIRouter(prefix="/staff", include_in_schema=False)

# One answer for every refusal: it must not tell an unknown name from a known one.
REFUSED = (
    "The username or password is wrong, or the account is locked. After "
    f"{MAX_WRONG_PASSWORDS} wrong passwords an account is locked for "
    f"{LOCKOUT.seconds // 60} minutes."
)


@router.get("/login", response_model=None)
def login_page(request: Request, db: Db, config: Settings, moment: Now) -> Response:
    if optional_staff(request, db, config, moment) is not None:
        return RedirectResponse("/staff/", status_code=303)
    return render(request, config, "login.html", username="", refused=None)


@router.post("/login", dependencies=[CsrfChecked], response_model=None)
def login(
    request: Request,
    *,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
) -> Response:
    who = authenticate(db, username.strip().lower(), password, moment, origin=origin)
    if who is None:
        return render(request, config, "login.html", username=username, refused=REFUSED)
    old = request.cookies.get(config.session_cookie)
    session_id = sessions.start(db, who, moment, origin=origin)
    if old:  # a new id at every sign-in: a planted cookie opens nothing
        sessions.drop(db, old)
    response = RedirectResponse("/staff/", status_code=303)
    sessions.keep_cookie(response, config.session_cookie, session_id, secure=config.secure_cookies)
    return response


@router.post("/logout", dependencies=[CsrfChecked], response_model=None)
def logout(signed_in: Viewer, db: Db, config: Settings, moment: Now, origin: Origin) -> Response:
    sessions.end(db, signed_in.session_id, signed_in.who, moment, origin=origin)
    response = RedirectResponse("/staff/signed-out", status_code=303)
    sessions.forget_cookie(response, config.session_cookie, secure=config.secure_cookies)
    return response


@router.get("/signed-out", response_class=HTMLResponse)
def signed_out(request: Request, config: Settings) -> HTMLResponse:
    return render(request, config, "signed_out.html")
