"""Gateway mode between two real kiosk-central databases over loopback.

The *upstream* stands for the library's own system (Koha, Evergreen ...): a real
``kiosk-central sip2 serve`` in a child process, over a database of its own. The
*gateway* is the central server whose decision path queues every transaction for it;
its relay (in this process, or ``kiosk-central relay`` in a child) sends them upstream.
Both hold the demo library and the same ``PEOPLE`` patrons and items, so that a card
and a barcode name the same patron and copy on both sides. Both databases are SQLite
files, or two schemas of the test PostgreSQL, as ``database_url`` says.

``Proxy`` sits between the relay and the upstream to lose an answer on purpose.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kiosk.central.circulation import desk
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.config import UpstreamSection
from kiosk.central.gateway.client import Login
from kiosk.central.gateway.outbox import set_relaying
from kiosk.central.gateway.relay import RUN, Relay
from kiosk.central.models import AppliedTransaction, Item, Patron, Record
from kiosk.central.process import free_port
from kiosk.common.clock import SystemClock
from kiosk.demo.library import GeneratedLibrary
from tests.central.conftest import postgres_schema
from tests.central.sip2.conftest import (
    ACCOUNT,
    PASSWORD,
    RunningSip2,
    prepare_database,
    sip2_library,
    start_sip2,
)

__all__ = ["sip2_library"]

PEOPLE = 40
ACTOR = Actor("desk-tester", "127.0.0.1")


def card(n: int) -> str:
    return f"2888000000{n:04d}"


def barcode(n: int) -> str:
    return f"3888000000{n:04d}"


def patron_id(n: int) -> str:
    return f"PGATE{n:05d}"


def add_people(engine: Engine, count: int = PEOPLE, owed: Decimal = Decimal("0.00")) -> None:
    """``count`` adult patrons with nothing on loan (each owing ``owed``) and ``count``
    fiction copies on the shelf, the same on both sides."""
    today = date.today()
    with Session(engine) as session:
        fiction = session.scalar(
            select(Record.brn).where(Record.publication_type == "FICTION").limit(1)
        )
        session.add_all(
            Patron(
                patron_id=patron_id(n),
                card=card(n),
                first_name="Gateway",
                surname=f"Tester{n}",
                member_type="ADULT",
                expires=today + timedelta(days=365),
                barred=False,
                owed=owed,
                pin_verifier=None,
            )
            for n in range(count)
        )
        session.add_all(
            Item(
                barcode=barcode(n),
                brn=fiction,
                price=Decimal("5.00"),
                status="available",
                home_location="Main",
            )
            for n in range(count)
        )
        session.commit()


def second_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Another database of the same kind as ``database_url``'s."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'upstream.db'}"
        return
    yield from postgres_schema("u")


@pytest.fixture
def upstream_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    yield from second_database(database_url, tmp_path)


def _prepare_upstream(url: str, library: GeneratedLibrary) -> Engine:
    engine = prepare_database(url, library)
    add_people(engine, owed=Decimal("3.00"))
    return engine


@pytest.fixture
def upstream(
    upstream_url: str, tmp_path: Path, sip2_library: GeneratedLibrary
) -> Iterator[RunningSip2]:
    """The library's own system: ``kiosk-central sip2 serve`` on a loopback port."""
    with start_sip2(
        upstream_url, tmp_path / "upstream", sip2_library, prepare=_prepare_upstream
    ) as running:
        yield running


@dataclass
class Gateway:
    """The gateway's database, in gateway mode, and how to decide on it."""

    engine: Engine
    folder: Path
    policies: PolicyCache

    def session(self) -> Session:
        return Session(self.engine)

    def now(self) -> datetime:
        return SystemClock().now()

    def checkout(self, n: int, item: int | None = None) -> desk.LoanAnswer:
        with self.session() as db:
            found = desk.checkout(
                db,
                self.policies,
                patron_id=patron_id(n),
                barcode=barcode(n if item is None else item),
                now=self.now(),
                actor=ACTOR,
            )
        assert found.done, found
        return found

    def check_in(self, n: int) -> desk.LoanAnswer:
        with self.session() as db:
            found = desk.check_in(
                db, self.policies, barcode=barcode(n), now=self.now(), actor=ACTOR
            )
        assert found.done, found
        return found

    def renew(self, n: int) -> desk.LoanAnswer:
        with self.session() as db:
            found = desk.renew(
                db,
                self.policies,
                patron_id=patron_id(n),
                barcode=barcode(n),
                now=self.now(),
                actor=ACTOR,
            )
        assert found.done, found
        return found


@pytest.fixture
def gateway(database_url: str, tmp_path: Path, sip2_library: GeneratedLibrary) -> Iterator[Gateway]:
    engine = prepare_database(database_url, sip2_library)
    add_people(engine, owed=Decimal("3.00"))
    set_relaying(engine, True)
    yield Gateway(engine, tmp_path / "gateway", PolicyCache())
    engine.dispose()


def settings_for(port: int, **changes: object) -> UpstreamSection:
    return replace(
        UpstreamSection(
            enabled=True,
            host="127.0.0.1",
            port=port,
            user=ACCOUNT,
            answer_timeout_seconds=20,
            retry_seconds=0.2,
            retry_max_seconds=1,
        ),
        **changes,  # type: ignore[arg-type]
    )


def relay_to(
    gateway: Gateway, port: int, holder: str | None = None, run: int = RUN, **changes: object
) -> Relay:
    """An in-process relay from the gateway to ``port``."""
    return Relay(
        gateway.engine,
        Login(settings_for(port, **changes), PASSWORD),
        SystemClock().now,
        holder=holder,
        run=run,
    )


def upstream_transactions(running: RunningSip2) -> list[tuple[str, str]]:
    """(kind, barcode) of every transaction the upstream applied, in its order."""
    with running.session() as session:
        rows = session.execute(
            select(AppliedTransaction.kind, AppliedTransaction.item_barcode)
            .where(AppliedTransaction.item_barcode.like("3888%"))
            .order_by(AppliedTransaction.change_seq)
        ).all()
    return [(kind, item) for kind, item in rows]


def count_upstream(running: RunningSip2, kind: str, item: str) -> int:
    with running.session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(AppliedTransaction)
                .where(AppliedTransaction.kind == kind, AppliedTransaction.item_barcode == item)
            )
            or 0
        )


class Proxy:
    """A loopback TCP relay to ``port`` that forwards SIP2 one message at a time, and
    can lose the answer to the next message starting with ``lose_answer_to``: it lets
    the upstream apply it, then closes the connection without passing its answer on."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.lose_answer_to: bytes | None = None
        self.lost = 0
        # Called with each message before it goes on (a test acts while one is in flight).
        self.on_message: Callable[[bytes], None] | None = None
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closing = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _line(sock: socket.socket, buffer: bytearray) -> bytes | None:
        while b"\r" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        end = buffer.index(b"\r") + 1
        line = bytes(buffer[:end])
        del buffer[:end]
        return line

    def _serve(self, client: socket.socket) -> None:
        with suppress(OSError), client, socket.create_connection(("127.0.0.1", self.target)) as up:
            ours, theirs = bytearray(), bytearray()
            while True:
                message = self._line(client, ours)
                if message is None:
                    return
                if self.on_message is not None:
                    self.on_message(message)
                up.sendall(message)
                answer = self._line(up, theirs)
                if answer is None:
                    return
                prefix = self.lose_answer_to
                if prefix is not None and message.startswith(prefix):
                    self.lose_answer_to = None
                    self.lost += 1
                    return
                client.sendall(answer)

    def close(self) -> None:
        self.closing = True
        self.listener.close()


@pytest.fixture
def proxy(upstream: RunningSip2) -> Iterator[Proxy]:
    running = Proxy(upstream.port)
    yield running
    running.close()


def unused_port() -> int:
    return free_port()


def write_secret(path: Path, value: str) -> Path:
    path.write_text(value + "\n", encoding="utf-8")
    os.chmod(path, 0o600)
    return path
