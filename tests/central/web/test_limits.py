"""The console's form limits (web/limits.py) as the ASGI middleware they are, given the
Content-Length headers a client can send: the server behind it never sees a body it
would have to refuse. Over a socket, uvicorn's own parser refuses some of these first;
the middleware must hold by itself all the same."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Message, Receive, Scope, Send

from kiosk.central.web.limits import FORM_BYTES, FormLimits


async def _app(_scope: Scope, _receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"the form was read"})


def _status(headers: list[tuple[bytes, bytes]], path: str = "/staff/login") -> int:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    asyncio.run(FormLimits(_app)(scope, receive, send))
    status: int = sent[0]["status"]
    return status


FORM = (b"content-type", b"application/x-www-form-urlencoded")
CASES = [
    ("a short form", [(b"content-length", b"42"), FORM], 200),
    ("no length", [FORM], 411),
    ("an empty length", [(b"content-length", b""), FORM], 411),
    ("a negative length", [(b"content-length", b"-1"), FORM], 411),
    ("a superscript two (Latin-1)", [(b"content-length", "²".encode("latin-1")), FORM], 411),
    ("Arabic-Indic digits (UTF-8)", [(b"content-length", "١٢".encode()), FORM], 411),
    ("over the bound", [(b"content-length", str(FORM_BYTES + 1).encode()), FORM], 413),
    ("a file", [(b"content-length", b"42"), (b"content-type", b"multipart/form-data")], 415),
]


@pytest.mark.parametrize(("case", "headers", "status"), CASES, ids=[c[0] for c in CASES])
def test_a_console_form_declares_a_length_in_ascii_digits_within_the_bound(
    case: str, headers: list[tuple[bytes, bytes]], status: int
) -> None:
    assert _status(headers) == status, case


def test_the_kiosks_api_is_not_the_consoles_to_bound() -> None:
    assert _status([FORM], path="/api/v1/push") == 200
