"""A server that fails in every way a network can: after recovery, each transaction once.

A real HTTP proxy on a loopback port stands between the kiosk and the real
server and injects the fault: a 500, garbage, a reset connection, a hang past the
kiosk's timeout, or a push the server applied whose answer never arrives.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, select

from kiosk.central.models import AppliedTransaction
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import CheckoutStatus
from kiosk.sync.agent import Connectivity, SyncError

from .conftest import Central, forward
from .test_sync import available, card, journal_size, sign_in


class FaultyProxy(BaseHTTPRequestHandler):
    upstream: ClassVar[str] = ""
    fault: ClassVar[str] = "none"  # applies to journal pushes only
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: object) -> None:  # quiet
        return

    def _reset(self) -> None:
        # SO_LINGER 0: close with a TCP reset, as a dropped network does.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        fault = FaultyProxy.fault if self.path.startswith("/v1/journal") else "none"
        if fault == "error500":
            self._answer(500, b'{"detail": "internal error"}')
            return
        if fault == "garbage":
            self._answer(200, b"\x00\xffnot json{")
            return
        if fault == "reset":
            self._reset()
            return
        if fault == "hang":
            time.sleep(2.5)
            self._reset()
            return
        upstream = forward(self, FaultyProxy.upstream, body)
        if fault == "lose_response":
            self._reset()  # the server applied the batch; its answer is lost on the way
            return
        self._answer(upstream.status_code, upstream.content, upstream.headers)

    def _answer(self, code: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            if name.lower().startswith("kiosk-"):  # the protocol's own (epoch, backups)
                self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _relay


@pytest.fixture
def proxy(central: Central) -> Iterator[str]:
    FaultyProxy.upstream = central.url
    FaultyProxy.fault = "none"
    server = ThreadingHTTPServer(("127.0.0.1", 0), FaultyProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("fault", ["error500", "garbage", "reset", "hang", "lose_response"])
def test_after_any_failure_every_transaction_is_applied_exactly_once(
    central: Central, proxy: str, tmp_path: Path, fault: str
) -> None:
    # Timeouts are short only while the fault is on, so that a hang fails fast; a busy
    # machine must not turn the snapshot before it, or the recovery after it, into one.
    agent = central.agent(tmp_path / "a", server=proxy, read_timeout=30.0, connect_timeout=5.0)
    generous = agent.timeouts
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    session = sign_in(circulation, card(central, "adult, nothing on loan"))
    items = available(central)[:3]
    for barcode in items:
        assert (
            getattr(circulation.checkout(session, barcode), "status", None) is CheckoutStatus.LENT
        )

    FaultyProxy.fault = fault
    agent.timeouts = (1.0, 1.0)
    with pytest.raises(SyncError):
        agent.sync_once()
    agent.timeouts = generous
    assert agent.status.connectivity is Connectivity.OFFLINE
    assert agent.status.last_error
    assert journal_size(agent) == 3, "nothing is forgotten while the server is unreachable"

    FaultyProxy.fault = "none"
    report = agent.sync_once()
    assert agent.status.connectivity.value == "online"
    applied_now = report.pushed + report.duplicates
    assert applied_now == 3
    if fault == "lose_response":
        assert report.duplicates == 3, "the lost batch was applied once, then found applied"
    with central.session() as db:
        ids = list(db.scalars(select(AppliedTransaction.id)))
        assert len(ids) == len(set(ids)) == 3
        assert db.scalar(select(func.count()).select_from(AppliedTransaction)) == 3
    assert journal_size(agent) == 0
