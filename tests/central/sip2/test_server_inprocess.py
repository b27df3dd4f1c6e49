"""The SIP2 server in this process, with handlers of the test's own and a fixed clock:
what it hands a handler, what it does when one fails, the bounded thread pool, a
disabled account dropped, the clock injected. (``test_server.py`` runs the real
command against the real handlers.)"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kiosk.central import database
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.config import CentralConfig, LibrarySection, Sip2Section
from kiosk.central.sip2 import accounts, codec, server
from kiosk.central.sip2.device import PERMISSIONS, Device, Sip2Settings
from kiosk.central.sip2.server import Answer, Limits, Sip2Server
from kiosk.common.clock import FixedClock
from tests.central.sip2.conftest import ACCOUNT, PASSWORD, Sip2Client

NOW = datetime(2026, 12, 2, 9, 30)
SETTINGS = Sip2Settings(institution_id="SPL", library_name="Springfield")
NAME = "Smith, Jane"
PATRON_STATUS = b"2300120261202    101500AOSPL|AA23000000001234|AC|AD|"


@dataclass
class Serving:
    host: str
    port: int
    server: Sip2Server
    engine: Engine
    loop: asyncio.AbstractEventLoop

    def connect(self) -> Sip2Client:
        return Sip2Client(socket.create_connection((self.host, self.port), timeout=10), 10)

    def logged_in(self) -> Sip2Client:
        client = self.connect()
        assert client.login() == b"941\r"
        return client


@contextmanager
def serving(
    tmp_path: Path,
    *,
    answer: Answer | None = None,
    supported: frozenset[str] = frozenset(),
    workers: int = 2,
    limits: Limits | None = None,
) -> Iterator[Serving]:
    engine = database.connect(f"sqlite:///{tmp_path / 'central.db'}")
    database.upgrade(engine)
    with Session(engine) as session:
        accounts.add_account(
            session, ACCOUNT, PASSWORD, NOW, location="Main", may=PERMISSIONS, actor="t", origin="t"
        )
    sip2 = Sip2Server(
        database.sessions(engine),
        SETTINGS,
        limits=limits,
        now=FixedClock(NOW).now,
        workers=workers,
        answer=answer,
        supported=supported,
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    listening = asyncio.run_coroutine_threadsafe(sip2.start("127.0.0.1", 0), loop).result(10)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield Serving("127.0.0.1", port, sip2, engine, loop)
    finally:
        asyncio.run_coroutine_threadsafe(sip2.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        engine.dispose()


def status_response(request: codec.Request, now: datetime, **fields: object) -> codec.Response:
    assert isinstance(request, codec.PatronStatusRequest)
    values: dict[str, object] = {
        "patron_status": frozenset(),
        "language": "001",
        "transaction_date": now,
        "institution_id": request.institution_id,
        "patron_id": request.patron_id,
        "personal_name": NAME,
        "valid_patron": True,
    }
    values.update(fields)
    return codec.PatronStatusResponse(**values)  # type: ignore[arg-type]


Call = tuple[sessionmaker[Session], PolicyCache, Device, codec.Request, datetime]


def recording(
    calls: list[Call], respond: Callable[..., codec.Response] = status_response
) -> Answer:
    def answer(
        sessions: sessionmaker[Session],
        policies: PolicyCache,
        device: Device,
        request: codec.Request,
        now: datetime,
    ) -> codec.Response:
        calls.append((sessions, policies, device, request, now))
        return respond(request, now)

    return answer


def test_the_98_is_the_clocks_time_and_names_what_is_supported(tmp_path: Path) -> None:
    supported = frozenset({"23", "63"})
    with serving(tmp_path, answer=recording([]), supported=supported) as running:
        device = running.connect()
        answer = device.ask(b"9900302.00")
        device.close()
    assert answer == (
        b"98YNNNNN10000320261202    0930002.00AOSPL|AMSpringfield|"
        # 23 and 63, and what the server answers itself: 99, 97 and 93
        b"BXYNNNYYYYNNNNNNNN|\r"
    )


def test_a_handler_is_given_the_device_the_request_and_the_time(tmp_path: Path) -> None:
    calls: list[Call] = []
    supported = frozenset({"23"})
    with serving(tmp_path, answer=recording(calls), supported=supported) as running:
        device = running.logged_in()
        head = PATRON_STATUS + b"AY3AZ"
        answer = device.ask(head + f"{-sum(head) & 0xFFFF:04X}".encode())
        peer = f"127.0.0.1:{device.sock.getsockname()[1]}"
        device.close()
    assert answer.startswith(b"24              00120261202    093000AOSPL|AA23000000001234|")
    assert b"AESmith, Jane|BLY|AY3AZ" in answer
    ((sessions, policies, device_given, request, now),) = calls
    assert isinstance(sessions, sessionmaker)
    assert isinstance(policies, PolicyCache)
    assert device_given == Device(
        account=ACCOUNT,
        location="Main",
        may=frozenset(PERMISSIONS),
        peer=peer,
        settings=SETTINGS,
    )
    assert device_given.source == "sip2:selfcheck"
    assert isinstance(request, codec.PatronStatusRequest)
    assert (request.patron_id, request.sequence, request.error_detection) == (
        "23000000001234",
        3,
        True,
    )
    assert now == NOW


def test_a_handler_that_raises_gets_96_and_its_message_stays_out_of_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: codec.Request, _now: datetime) -> codec.Response:
        assert isinstance(request, codec.PatronStatusRequest)
        raise ValueError(f"{NAME} {request.patron_id} owes 3.50")

    with (
        serving(tmp_path, answer=recording([], broken)) as running,
        caplog.at_level(logging.INFO, "kiosk.central.sip2"),
        running.logged_in() as device,
    ):
        assert device.ask(PATRON_STATUS) == b"96\r"
        assert device.ask(b"9900302.00").startswith(b"98")  # the connection lives on
    assert "the handler of 23 raised ValueError" in caplog.text
    assert "test_server_inprocess.py" in caplog.text  # where, for whoever fixes it
    assert "Smith" not in caplog.text
    assert "23000000001234" not in caplog.text


def test_an_answer_the_codec_refuses_is_sent_as_96(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def wrong(request: codec.Request, now: datetime) -> codec.Response:
        return status_response(request, now, language="1")  # three characters, not one

    with (
        serving(tmp_path, answer=recording([], wrong)) as running,
        caplog.at_level(logging.INFO, "kiosk.central.sip2"),
        running.logged_in() as device,
    ):
        assert device.ask(PATRON_STATUS) == b"96\r"
    # The last error (the connection's own closing, logged when the device's end
    # arrives, may come after it or not).
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors[-1].endswith(
        "the answer to 23 could not be sent: the language must be 3 printable ASCII characters"
    )
    assert "Smith" not in caplog.text


def test_without_handlers_every_other_message_is_answered_96(tmp_path: Path) -> None:
    with serving(tmp_path, answer=None) as running, running.logged_in() as device:
        assert device.ask(PATRON_STATUS) == b"96\r"
        answer = device.ask(b"9900302.00")
        assert b"|BXNNNNYYYNNNNNNNNN|" in answer  # 99, 97 and 93 alone
        assert answer.startswith(b"98YNNNNN")  # no checkin, checkout, renewal or off-line


def test_a_disabled_account_is_dropped_at_its_next_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "RECHECK_SECONDS", 0.0)
    with serving(tmp_path, answer=recording([])) as running, running.logged_in() as device:
        assert device.ask(PATRON_STATUS).startswith(b"24")
        with Session(running.engine) as session:
            accounts.disable_account(session, ACCOUNT, NOW, actor="t", origin="t")
        device.send(PATRON_STATUS + b"\r")
        assert device.receive() == b""
        assert device.login() == b""  # closed: nothing more


def test_handlers_run_in_a_bounded_pool(tmp_path: Path) -> None:
    """Ten devices asking at once: two handlers at a time (``workers``), all answered."""
    running_now, most = [0], [0]
    lock = threading.Lock()

    def slow(request: codec.Request, now: datetime) -> codec.Response:
        with lock:
            running_now[0] += 1
            most[0] = max(most[0], running_now[0])
        time.sleep(0.2)
        with lock:
            running_now[0] -= 1
        return status_response(request, now)

    with serving(tmp_path, answer=recording([], slow), workers=2) as running:
        devices = [running.logged_in() for _ in range(10)]
        for device in devices:
            device.send(PATRON_STATUS + b"\r")
        assert all(device.receive().startswith(b"24") for device in devices)
        for device in devices:
            device.close()
    assert most[0] == 2


def test_idle_connections_hold_no_thread(tmp_path: Path) -> None:
    with serving(tmp_path, answer=recording([])) as running:
        before = threading.active_count()
        idle = [running.connect() for _ in range(300)]
        try:
            assert idle[-1].ask(b"9900302.00").startswith(b"98")
            assert threading.active_count() <= before + 2  # at most the pool's two
        finally:
            for device in idle:
                device.close()


def test_stopping_the_server_closes_its_connections(tmp_path: Path) -> None:
    with serving(tmp_path, answer=recording([])) as running:
        device = running.logged_in()
        asyncio.run_coroutine_threadsafe(running.server.close(), running.loop).result(30)
        assert device.is_closed(timeout=10)
        device.close()


def test_the_settings_and_limits_come_from_central_toml() -> None:
    config = CentralConfig(
        library=LibrarySection(name="Springfield", currency="USD", time_zone="America/Chicago"),
        sip2=Sip2Section(
            charset="cp850",
            institution_id="SPL",
            idle_timeout_seconds=30,
            max_message_bytes=1024,
            hold_shelf_bin="H",
            shelf_bin="S",
            staff_bin="X",
        ),
    )
    settings = server.settings_of(config)
    assert settings == Sip2Settings(
        charset="cp850",
        institution_id="SPL",
        library_name="Springfield",
        currency="USD",
        time_zone=config.library.zone(),
        hold_shelf_bin="H",
        shelf_bin="S",
        staff_bin="X",
    )
    assert server.limits_of(config) == Limits(idle_timeout=30, max_message_bytes=1024)
