"""The staff console mounted on kiosk-central's app: its routes under ``/staff``, its
static files, the CSRF library's settings, the security headers and the answers to a
missing session, a role that does not reach and a refused form."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_csrf_protect import CsrfProtect

from kiosk.central.circulation.subject_cache import ArrivalSubjects
from kiosk.central.web.deps import CsrfRefused, NotAllowed, NotSignedIn
from kiosk.central.web.headers import SecurityHeaders, quiet_access_log
from kiosk.central.web.limits import FormLimits
from kiosk.central.web.pages import STATIC, STATIC_URL, render
from kiosk.central.web.routes import ROUTERS
from kiosk.central.web.routes.my import ROUTERS as PORTAL_ROUTERS
from kiosk.central.web.routes.my.deps import PatronNotSignedIn
from kiosk.central.web.routes.my.deps import page as portal_page
from kiosk.central.web.settings import ConsoleSettings

LOGIN = "/staff/login"
log = logging.getLogger(__name__)


def count_subjects_ahead(app: FastAPI) -> None:
    """Count the portal's subjects of new arrivals beside the server as it starts and
    again just after each midnight: on a large catalogue a count takes seconds, which the
    first patron to open Your details in the day would otherwise wait for."""

    def keep_counted() -> None:
        while True:
            try:
                with app.state.sessions() as db:
                    app.state.arrival_subjects(db, app.state.now().date())
            except Exception:  # the page counts for itself when asked
                log.exception("counting the subjects of new arrivals ahead failed")
            now: datetime = app.state.now()
            midnight = datetime.combine(
                now.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo
            )
            time.sleep(max(60.0, (midnight - now).total_seconds() + 5))

    threading.Thread(target=keep_counted, name="subjects-ahead", daemon=True).start()


def mount_console(app: FastAPI, config: ConsoleSettings) -> None:
    app.state.console = config
    # The subjects of new arrivals the portal offers, counted once a day and catalogue change.
    app.state.arrival_subjects = ArrivalSubjects()
    settings = [
        ("secret_key", config.secret_key),
        ("token_location", "body"),
        ("token_key", "csrf_token"),
        ("cookie_key", config.csrf_cookie),
        ("cookie_samesite", "strict"),
        ("cookie_secure", config.secure_cookies),
        ("httponly", True),
        ("max_age", int(config.lifetimes.absolute.total_seconds())),
    ]
    CsrfProtect.load_config(lambda: settings)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC), name="staff-static")
    for router in (*ROUTERS, *PORTAL_ROUTERS):
        app.include_router(router)
    app.add_middleware(FormLimits)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so on FormLimits' answers too
    quiet_access_log()

    @app.exception_handler(NotSignedIn)
    def not_signed_in(request: Request, _error: NotSignedIn) -> Response:
        if request.method in ("GET", "HEAD"):
            return RedirectResponse(LOGIN, status_code=303)
        return render(
            request,
            config,
            "error.html",
            status_code=401,
            heading="You are not signed in",
            message="Your session has ended (signed out, or idle too long). Sign in and try again.",
        )

    @app.exception_handler(PatronNotSignedIn)
    def patron_not_signed_in(request: Request, _error: PatronNotSignedIn) -> Response:
        if request.method in ("GET", "HEAD"):
            return RedirectResponse("/my/login", status_code=303)
        return portal_page(request, config, "my/signed_out.html", ended=True, status_code=401)

    @app.exception_handler(NotAllowed)
    def not_allowed(request: Request, error: NotAllowed) -> HTMLResponse:
        return render(
            request,
            config,
            "error.html",
            who=error.who,
            status_code=403,
            heading="Your role cannot open this page",
            message=f"This page is for other roles than {error.who.role}. Ask an administrator "
            "if you need it.",
        )

    @app.exception_handler(CsrfRefused)
    def refused(request: Request, _error: CsrfRefused) -> HTMLResponse:
        if request.url.path.startswith("/my/"):
            return portal_page(request, config, "my/refused.html", status_code=403)
        return render(
            request,
            config,
            "error.html",
            status_code=403,
            heading="The form could not be accepted",
            message="It did not come from this console's own page, or the page was too old. "
            "Go back, reload the page and try again.",
        )

    @app.get("/my", include_in_schema=False)
    def portal_root() -> RedirectResponse:
        return RedirectResponse("/my/", status_code=308)

    @app.get("/staff", include_in_schema=False)
    def staff_root() -> RedirectResponse:
        return RedirectResponse("/staff/", status_code=308)
