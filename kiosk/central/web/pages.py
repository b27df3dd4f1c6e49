"""Rendering a console page: Jinja2 with GOV.UK Frontend's macros, autoescaped, with a
fresh CSRF token for the page's forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from fastapi_csrf_protect import CsrfProtect
from itsdangerous import BadData, URLSafeTimedSerializer
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader

from kiosk import __version__
from kiosk.central.web.accounts import SignedIn
from kiosk.central.web.settings import ConsoleSettings

HERE = Path(__file__).parent
STATIC = HERE / "static"
STATIC_URL = "/staff/static"

_environment = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(HERE / "templates"),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    ),
    autoescape=True,  # every template, whatever its name
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_environment)


def compile_every_template() -> None:
    """Compile every page and macro now, as a server process starts, rather than on each
    one's first use: in a new worker the first patron to open Your details waited about
    200 ms for Jinja to compile it and its macros (the portal's benchmark)."""
    for name in _environment.list_templates():
        _environment.get_template(name)


# The pages in the service navigation, and the least role that sees each.
NAVIGATION = (
    ("Home", "/staff/", "viewer"),
    ("Desk", "/staff/desk", "circulation"),
    ("Patrons", "/staff/patrons", "viewer"),
    ("Registrations", "/staff/registrations", "viewer"),
    ("Holds", "/staff/holds", "viewer"),
    ("Items", "/staff/items", "viewer"),
    ("Kiosks", "/staff/kiosks", "viewer"),
    ("Kiosk message", "/staff/message", "admin"),
    ("In transit", "/staff/transfers", "viewer"),
    ("Branches", "/staff/branches", "viewer"),
    ("Exceptions", "/staff/exceptions", "viewer"),
    ("Notices", "/staff/notices", "viewer"),
    ("Policy", "/staff/policy", "viewer"),
    ("Imports", "/staff/imports", "admin"),
    ("Reports", "/staff/reports", "viewer"),
    ("Feedback", "/staff/feedback", "viewer"),
    ("Audit log", "/staff/audit", "admin"),
)
_RANK = {"viewer": 0, "circulation": 1, "admin": 2}


def static(path: str) -> str:
    return f"{STATIC_URL}/{path}"


_environment.globals["static"] = static
_environment.globals["version"] = __version__


def _csrf_token(request: Request, config: ConsoleSettings) -> tuple[str, str]:
    """The token for this page's forms and the signed cookie that goes with it. The
    browser's valid cookie is kept (so a second tab does not void the first tab's forms);
    otherwise fastapi-csrf-protect makes a new pair."""
    cookie = request.cookies.get(config.csrf_cookie)
    if cookie:
        # The library's own serializer and salt (fastapi_csrf_protect.core).
        serializer = URLSafeTimedSerializer(config.secret_key, salt="fastapi-csrf-token")
        try:
            token = serializer.loads(cookie, max_age=int(config.lifetimes.absolute.total_seconds()))
        except BadData:
            pass
        else:
            if isinstance(token, str):
                return token, cookie
    return CsrfProtect().generate_csrf_tokens()


def render(
    request: Request,
    config: ConsoleSettings,
    template: str,
    *,
    who: SignedIn | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    token, signed = _csrf_token(request, config)
    path = request.url.path
    navigation = [
        {"text": text, "href": href, "active": path == href or path.startswith(href + "/")}
        for text, href, least in NAVIGATION
        if who is not None and _RANK[who.role] >= _RANK[least]
    ]
    response = templates.TemplateResponse(
        request,
        template,
        {
            "staff": who,
            "csrf_token": token,
            "library_name": config.library_name,
            "navigation": navigation,
            **context,
        },
        status_code=status_code,
    )
    CsrfProtect().set_csrf_cookie(signed, response)
    return response


def not_found(request: Request, config: ConsoleSettings, who: SignedIn, what: str) -> HTMLResponse:
    return render(
        request,
        config,
        "error.html",
        who=who,
        status_code=404,
        heading=f"No such {what}",
        message=f"There is no such {what}: it may have been mistyped. Go back and choose one "
        "from the list.",
    )
