"""kill -9 of the sync agent mid-push, and of the server mid-push: every transaction once.

The server runs as its own process here (``kiosk-central serve``) so that it can
be killed, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.circulation.policy import put_policy
from kiosk.central.models import AppliedTransaction
from kiosk.central.process import CentralProcess
from kiosk.circulation.service import Circulation
from kiosk.common.clock import FixedClock
from kiosk.demo.central_command import load_library
from kiosk.demo.library import Scale, generate_library
from kiosk.store.journal import PENDING, Entry
from kiosk.store.store import Store
from kiosk.sync.agent import SyncAgent, SyncError

from .conftest import forward

NOW = datetime(2026, 11, 23, 10, 0)


@pytest.fixture
def setup(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[CentralProcess, SyncAgent, str, int]]:
    engine = database.connect(database_url)
    database.upgrade(engine)
    library = generate_library(Scale(items=400, patrons=80, loans=20, seed=9), NOW)
    with Session(engine) as session:
        put_policy(session, library.document, NOW)
        with engine.begin() as connection:
            load_library(connection, library, NOW)
        token = add_kiosk(session, "kiosk-a", NOW)
    server = CentralProcess(database_url).start()
    clock = FixedClock(NOW)
    agent = SyncAgent(Store.open(tmp_path / "kiosk"), server.url, token, clock, read_timeout=5.0)
    agent.sync_once()
    circulation = Circulation(agent.store, clock, pin_required=False)
    adult = next(c for c in library.cards if c["situation"] == "adult, nothing on loan")
    identified = circulation.identify(adult["card"], None)
    session_ = identified.session  # type: ignore[union-attr]
    made = 0
    for barcode in (
        library.samples["FICTION"]["available"][:3] + library.samples["NONFICTION"]["available"][:3]
    ):
        for _ in range(4):  # lend and take back, again and again, offline
            circulation.checkout(session_, barcode)  # type: ignore[arg-type]
            circulation.return_item(barcode)
            made += 2
    yield server, agent, token, made
    server.kill()
    agent.store.close()
    engine.dispose()


def applied(database_url: str) -> tuple[int, int]:
    engine = database.connect(database_url)
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(AppliedTransaction)) or 0
        distinct = session.scalar(select(func.count(func.distinct(AppliedTransaction.id)))) or 0
    engine.dispose()
    return int(total), int(distinct)


def acknowledged_all(agent: SyncAgent) -> bool:
    """Every entry went through: none waits for the server. No backup of the server
    covers them, so the kiosk keeps them (test_backups.py), but none is pending."""
    with agent.store.journal.connect() as journal:
        pending = journal.scalar(
            select(func.count()).select_from(Entry).where(Entry.state == PENDING)
        )
    return pending == 0


def drain(agent: SyncAgent) -> None:
    for _ in range(10):
        try:
            agent.sync_once()
            return
        except SyncError:
            time.sleep(0.5)
    raise AssertionError("the agent could not sync after the crashes")


def test_kill_9_of_the_sync_agent_mid_push_then_restart(
    setup: tuple[CentralProcess, SyncAgent, str, int], database_url: str, tmp_path: Path
) -> None:
    server, agent, token, made = setup
    token_file = tmp_path / "token"
    token_file.write_text(token)
    os.chmod(token_file, 0o600)
    chooser = random.Random(11)
    agent.store.close()
    for _ in range(6):
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiosk",
                "sync",
                "--data",
                str(agent.store.directory),
                "--server",
                server.url,
                "--token-file",
                str(token_file),
                "--once",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(chooser.uniform(0.3, 1.5))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    drain(agent)
    assert applied(database_url) == (made, made)
    assert acknowledged_all(agent)


class HoldingProxy(BaseHTTPRequestHandler):
    """Relays to the server, and holds a journal push at one moment until told to go on:
    before the server has it, or after the server applied it and answered."""

    upstream: ClassVar[str] = ""
    hold: ClassVar[str] = "before"
    held: ClassVar[threading.Event] = threading.Event()
    release: ClassVar[threading.Event] = threading.Event()
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: object) -> None:
        return

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        pushing = self.path.startswith("/v1/journal")
        if pushing and HoldingProxy.hold == "before":
            HoldingProxy.held.set()
            HoldingProxy.release.wait(30)
        answer = forward(self, HoldingProxy.upstream, body)
        if pushing and HoldingProxy.hold == "after":
            HoldingProxy.held.set()
            HoldingProxy.release.wait(30)
        with contextlib.suppress(OSError):  # the agent may be dead by now
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

    do_GET = do_POST = _relay


@pytest.mark.parametrize("moment", ["before", "after"])
def test_kill_9_of_the_sync_agent_while_its_push_is_in_flight(
    setup: tuple[CentralProcess, SyncAgent, str, int],
    database_url: str,
    tmp_path: Path,
    moment: str,
) -> None:
    # Killed while the push waits: before the server has it, or once the server applied
    # it and its answer is on the way. Either way the restarted agent leaves each once.
    server, agent, token, made = setup
    token_file = tmp_path / "token"
    token_file.write_text(token)
    os.chmod(token_file, 0o600)
    HoldingProxy.upstream, HoldingProxy.hold = server.url, moment
    HoldingProxy.held, HoldingProxy.release = threading.Event(), threading.Event()
    relay = ThreadingHTTPServer(("127.0.0.1", 0), HoldingProxy)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    agent.store.close()
    try:
        child = subprocess.Popen(
            [
                *(sys.executable, "-m", "kiosk", "sync", "--once"),
                *("--data", str(agent.store.directory), "--token-file", str(token_file)),
                *("--server", f"http://127.0.0.1:{relay.server_address[1]}"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert HoldingProxy.held.wait(30), "the agent never pushed"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert applied(database_url) == ((0, 0) if moment == "before" else (made, made))
    finally:
        # A push held before the server still reaches it afterwards, as a request
        # already on the network does.
        HoldingProxy.release.set()
        relay.shutdown()
    with agent.store.journal.connect() as journal:
        assert journal.scalar(select(func.count()).select_from(Entry)) == made  # none acked
    drain(agent)
    assert applied(database_url) == (made, made)
    assert acknowledged_all(agent)


def test_kill_9_of_the_server_mid_push_then_restart(
    setup: tuple[CentralProcess, SyncAgent, str, int], database_url: str
) -> None:
    server, agent, _, made = setup
    pushing = threading.Thread(target=lambda: _try(agent))
    pushing.start()
    time.sleep(0.15)
    server.kill()
    pushing.join(timeout=60)
    server.start()
    drain(agent)
    assert applied(database_url) == (made, made)


def _try(agent: SyncAgent) -> None:
    with contextlib.suppress(SyncError):  # the server dies under it: that is the point
        agent.sync_once()
