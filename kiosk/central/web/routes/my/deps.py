"""Who is signed in to the portal and what language they read: the FastAPI
dependencies every portal route takes, and the one way a portal page is rendered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from kiosk.central.models import Patron
from kiosk.central.web.deps import Db, Now, Settings
from kiosk.central.web.pages import render
from kiosk.central.web.routes.my import sessions
from kiosk.central.web.routes.my.words import Words, language, words
from kiosk.central.web.settings import ConsoleSettings
from kiosk.common.catalogs import LANGUAGE_NAMES

LANGUAGE_COOKIE = "my_language"
LOGIN = "/my/login"


class PatronNotSignedIn(Exception):
    """No portal session, or an ended one: the sign-in page answers."""


def session_cookie(config: ConsoleSettings) -> str:
    return "__Host-my_session" if config.secure_cookies else "my_session"


@dataclass(frozen=True, slots=True)
class SignedInPatron:
    patron: Patron
    session_id: str

    @property
    def patron_id(self) -> str:
        return self.patron.patron_id


def current(request: Request, db: Db, config: Settings, moment: Now) -> SignedInPatron:
    session_id = request.cookies.get(session_cookie(config), "")
    patron = sessions.find(db, session_id, moment, config.lifetimes)
    if patron is None:
        raise PatronNotSignedIn
    request.state.patron = patron
    return SignedInPatron(patron, session_id)


def optional(request: Request, db: Db, config: Settings, moment: Now) -> Patron | None:
    session_id = request.cookies.get(session_cookie(config), "")
    return sessions.find(db, session_id, moment, config.lifetimes) if session_id else None


SignedIn = Annotated[SignedInPatron, Depends(current)]


def chosen_language(request: Request) -> str:
    """The patron's language: their record's once signed in, else the one chosen in this
    browser, else the first the browser asks for that the portal speaks."""
    patron: Patron | None = getattr(request.state, "patron", None)
    if patron is not None and (code := language(patron.language)):
        return code
    if code := language(request.cookies.get(LANGUAGE_COOKIE)):
        return code
    for part in request.headers.get("accept-language", "").split(","):
        if code := language(part.split(";")[0].strip()[:2].lower()):
            return code
    return "en"


def page(
    request: Request,
    config: ConsoleSettings,
    template: str,
    *,
    patron: Patron | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A portal page, with the console's CSRF token and assets but none of its
    navigation, in the patron's language."""
    said: Words = words(chosen_language(request))
    return render(
        request,
        config,
        template,
        status_code=status_code,
        patron=patron,
        _=said,
        # By its own name, so that the catalog's extractor finds a template's plurals
        # (it reads only calls of a plain name: not ``said.plural``).
        plural=said.plural,
        said=said,
        lang=said.code,
        languages=LANGUAGE_NAMES,
        here=request.url.path,
        registration_open=config.registration.open,
        **context,
    )
