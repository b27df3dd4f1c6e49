"""Bounds on what a browser may send the console, checked before anything reads a body.

FastAPI parses a route's form before its dependencies run, so before the session and
the role are checked: without a bound here, anyone, signed in or not, could make the
server spool large uploads to its disk through any form (the sign-in page's among
them). Every console form is a few short fields; only the upload pages take files, and
they bound their own (``uploads``).
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from kiosk.central.web.headers import PREFIX, served_here

FORM_BYTES = 64 * 1024
# The pages that take a file; each reads its body with its own limit and its own page.
UPLOADS = frozenset({f"{PREFIX}/imports", f"{PREFIX}/policy/upload"})


class FormLimits:
    """Pure ASGI, for the console's paths only: a body must declare its length (411), be
    at most ``FORM_BYTES`` (413) and hold no file (415), but on ``UPLOADS``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = _refusal(scope) if scope["type"] == "http" else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, text = refusal
        await PlainTextResponse(text, status_code=status)(scope, receive, send)


def _refusal(scope: Scope) -> tuple[int, str] | None:
    path: str = scope.get("path", "")
    if scope.get("method") in ("GET", "HEAD", "OPTIONS") or path in UPLOADS:
        return None
    if not served_here(path):
        return None
    headers = {key.lower(): value for key, value in scope.get("headers", [])}
    # Bytes, whose isdigit() is ASCII's alone: the text's also takes "²", which int() refuses.
    length: bytes = headers.get(b"content-length", b"")
    if not length.isdigit():
        return 411, "A console form must say how long it is (Content-Length)."
    if int(length) > FORM_BYTES:
        return 413, "That is more than any console form sends."
    if headers.get(b"content-type", b"").lower().startswith(b"multipart/"):
        return 415, "This page takes no file."
    return None
