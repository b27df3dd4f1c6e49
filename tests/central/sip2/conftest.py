"""The real ``kiosk-central sip2 serve`` in a child process, over SQLite and PostgreSQL.

``sip2_server`` starts it on a free loopback port (``--port 0``, the port read from
the line it prints when it listens) over a database holding the demo library (300
items, 60 patrons, 40 loans, generated at the start of the test session with the
system's clock, which the child uses too) and three accounts:

- ``selfcheck`` (``PASSWORD``): may do everything (checkout, checkin, renew, hold, pay,
  block), location ``Main``;
- ``authenticator`` (``PASSWORD``): patron authentication only;
- ``retired`` (``PASSWORD``): disabled.

It yields a :class:`RunningSip2`: ``host``, ``port``, ``account``, ``password``,
``database_url``, ``library``, ``engine`` (for looking at the database), ``connect()``
for a raw :class:`Sip2Client` and ``logged_in()`` for one past its 93. When the test
ends the server is stopped with SIGTERM and must exit 0, and its log must hold no
error and no patron's card number or name (set ``allow_errors`` for a test that
provokes errors on purpose).

``start_sip2(database_url, folder, library, config=...)`` starts one with other
``[sip2]`` settings (a short idle timeout, TLS, another charset).

The client speaks bytes, not our codec: a test writes the message as the
specification lays it out, and reads the answer as bytes.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.policy import put_policy
from kiosk.central.sip2 import accounts
from kiosk.central.sip2.device import PERMISSIONS
from kiosk.common.clock import SystemClock
from kiosk.demo.central_command import load_library
from kiosk.demo.library import GeneratedLibrary, Scale, generate_library

PASSWORD = "sip2-test-password"
ACCOUNT = "selfcheck"
AUTHENTICATOR = "authenticator"
RETIRED = "retired"
LOCATION = "Main"
ANSWER_TIMEOUT = 30.0  # seconds a test waits for an answer (PostgreSQL on a busy machine)


class Sip2Client:
    """A device's side of one connection, in bytes: each message sent with its CR, each
    answer read up to and including its CR."""

    def __init__(self, sock: socket.socket, timeout: float = ANSWER_TIMEOUT) -> None:
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buffer = b""

    def __enter__(self) -> Sip2Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        with suppress(OSError):
            self.sock.close()

    def send(self, data: bytes) -> None:
        """``data`` as it is: add the CR yourself (or leave it out on purpose)."""
        self.sock.sendall(data)

    def receive(self) -> bytes:
        """The next answer, its CR included; b"" when the server closed the connection."""
        while b"\r" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                rest, self.buffer = self.buffer, b""
                return rest
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r")
        return line + b"\r"

    def ask(self, message: bytes) -> bytes:
        """Send ``message`` (a CR added when it has none) and read the answer."""
        self.send(message if message.endswith(b"\r") else message + b"\r")
        return self.receive()

    def login(self, account: str = ACCOUNT, password: str = PASSWORD) -> bytes:
        return self.ask(f"9300CN{account}|CO{password}|CP{LOCATION}|".encode())

    def is_closed(self, timeout: float = ANSWER_TIMEOUT) -> bool:
        """Whether the server closes the connection within ``timeout`` (what it sends
        meanwhile is dropped)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except TimeoutError:
            return False
        except OSError:  # reset: closed all the same
            return True
        return True


@dataclass
class RunningSip2:
    host: str
    port: int
    account: str
    password: str
    database_url: str
    library: GeneratedLibrary
    engine: Engine
    log: Path
    process: subprocess.Popen[bytes]
    tls: ssl.SSLContext | None = None  # the client's, when the server has TLS
    allow_errors: bool = False
    started: datetime = field(default_factory=lambda: SystemClock().now())

    def connect(self, timeout: float = ANSWER_TIMEOUT) -> Sip2Client:
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        return Sip2Client(sock, timeout)

    def logged_in(self, account: str = ACCOUNT) -> Sip2Client:
        client = self.connect()
        answer = client.login(account, self.password)
        assert answer == b"941\r", answer
        return client

    def session(self) -> Session:
        return Session(self.engine)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None


@pytest.fixture(scope="session")
def sip2_library() -> GeneratedLibrary:
    """The demo library, generated once for the session at the system's time."""
    return generate_library(Scale(items=300, patrons=60, loans=40, seed=5), SystemClock().now())


def prepare_database(database_url: str, library: GeneratedLibrary) -> Engine:
    """The schema, the library's policy and data, and the three accounts."""
    engine = database.connect(database_url)
    database.upgrade(engine)
    now = SystemClock().now()
    with Session(engine) as session:
        put_policy(session, library.document, now)
        with engine.begin() as connection:
            load_library(connection, library, now)
        for name, may in ((ACCOUNT, PERMISSIONS), (AUTHENTICATOR, ()), (RETIRED, PERMISSIONS)):
            accounts.add_account(
                session,
                name,
                PASSWORD,
                now,
                location=LOCATION if name == ACCOUNT else "",
                may=may,
                actor="test",
                origin="test",
            )
        accounts.disable_account(session, RETIRED, now, actor="test", origin="test")
    return engine


def _listening_port(process: subprocess.Popen[bytes], log: Path, timeout: float) -> int:
    """The port from the line ``kiosk-central sip2: listening on HOST:PORT``."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not selector.select(left):
            process.kill()
            raise RuntimeError(f"sip2 serve did not listen within {timeout:.0f} s: {log}")
        byte = os.read(process.stdout.fileno(), 1)
        if not byte:
            process.wait(timeout=10)
            raise RuntimeError(
                f"sip2 serve exited with status {process.returncode}:\n"
                + log.read_text(errors="replace")
            )
        line += byte
    selector.close()
    return int(line.decode().rstrip().rsplit(":", 1)[1])


@contextmanager
def start_sip2(
    database_url: str,
    folder: Path,
    library: GeneratedLibrary,
    *,
    config: str = "",
    site: str = "",
    tls: ssl.SSLContext | None = None,
    prepare: Callable[[str, GeneratedLibrary], Engine] = prepare_database,
) -> Iterator[RunningSip2]:
    """``kiosk-central sip2 serve`` over a prepared database; ``config`` is the text of
    the site's ``[sip2]`` table (``idle_timeout_seconds = 2``...), ``site`` other tables
    of its central.toml (``[library]``...). ``tls``: the client's context."""
    engine = prepare(database_url, library)
    folder.mkdir(parents=True, exist_ok=True)
    central_toml = folder / "central.toml"
    central_toml.write_text(f"{site}\n[sip2]\n{config}\n", encoding="utf-8")
    log = folder / "sip2.log"
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                *("-m", "kiosk.central.cli", "--db", database_url, "--config", str(central_toml)),
                *("sip2", "serve", "--host", "127.0.0.1", "--port", "0"),
            ],
            stdout=subprocess.PIPE,
            stderr=log_file,
        )
    try:
        port = _listening_port(process, log, timeout=60)
        running = RunningSip2(
            "127.0.0.1", port, ACCOUNT, PASSWORD, database_url, library, engine, log, process, tls
        )
        yield running
        assert process.poll() is None, f"the server died:\n{running.log_text()}"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, running.log_text()
        check_log(running)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
        engine.dispose()


def check_log(running: RunningSip2) -> None:
    """No error (unless allowed), and nothing that names a patron."""
    text = running.log_text()
    if not running.allow_errors:
        assert " ERROR " not in text, text
        assert "Traceback" not in text, text
    for patron in running.library.patrons:
        assert patron["card"] not in text, "a card number in the SIP2 server's log"
        assert f"{patron['first_name']} {patron['surname']}" not in text, "a name in the log"


@pytest.fixture
def sip2_server(
    database_url: str, tmp_path: Path, sip2_library: GeneratedLibrary
) -> Iterator[RunningSip2]:
    with start_sip2(database_url, tmp_path / "sip2", sip2_library) as running:
        yield running
