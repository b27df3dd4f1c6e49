"""The console's HTTP hardening: security headers on every response under ``/staff``,
and an access log that never shows a query string."""

from __future__ import annotations

import logging

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/staff"
# The console's pages and the patron portal's: the same headers and form limits.
PREFIXES = (PREFIX, "/my")


def served_here(path: str) -> bool:
    """Whether ``path`` is the console's or the portal's (not the kiosks' API)."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PREFIXES)


# No inline script or style, nothing from elsewhere, no framing, forms only to us.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """Pure ASGI (the kiosks' API, outside ``/staff`` and ``/my``, pays nothing for it). Pages are
    never stored by the browser or a proxy (``no-store``: a page with a patron's record
    must not survive the member of staff signing out); the static assets are revalidated
    by their ETag."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not served_here(path):
            await self.app(scope, receive, send)
            return
        static = path.startswith(PREFIX + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                headers["cache-control"] = "no-cache" if static else "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class NoQueryStrings(logging.Filter):
    """uvicorn's access log line without the query string: a search's words (a card
    number, a surname) never reach the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def quiet_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(known, NoQueryStrings) for known in access.filters):
        access.addFilter(NoQueryStrings())
