"""The real central server on a loopback port, over SQLite and over PostgreSQL."""

from __future__ import annotations

import copy
import functools
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import requests
import uvicorn
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.api.app import create_app
from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.circulation.policy import put_policy
from kiosk.central.process import free_port
from kiosk.central.web.settings import ConsoleSettings
from kiosk.common.clock import Clock, FixedClock
from kiosk.demo.central_command import load_library
from kiosk.demo.library import GeneratedLibrary, Scale, generate_library
from kiosk.store.store import Store
from kiosk.sync.agent import SyncAgent

POSTGRES = os.environ.get("KIOSK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 23, 10, 0)


def forward(
    handler: BaseHTTPRequestHandler, upstream: str, body: bytes | None
) -> requests.Response:
    """What the test relays do with a request: send it on to the server, as a kiosk sent
    it (its token, content type and the protocol's own headers, ``Kiosk-...``)."""
    headers = {
        key: value
        for key, value in handler.headers.items()
        if key.lower() in ("authorization", "content-type") or key.lower().startswith("kiosk-")
    }
    return requests.request(
        handler.command, upstream + handler.path, data=body, headers=headers, timeout=30
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'central.db'}"
        return
    yield from postgres_schema("t")


@pytest.fixture
def migrated_engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database of ``database_url``'s, its schema up to date."""
    engine = database.connect(database_url)
    database.upgrade(engine)
    yield engine
    engine.dispose()


def postgres_schema(prefix: str) -> Iterator[str]:
    """A URL on a fresh schema of the test PostgreSQL, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_engine = database.connect(POSTGRES)
    with admin_engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    with admin_engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin_engine.dispose()


class ServerThread:
    """uvicorn serving the real app on a loopback port, in this process."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        kiosks_forget_immediately: bool = True,
        console: ConsoleSettings | None = None,
    ) -> None:
        self.port = free_port()
        app = create_app(
            engine, clock.now, console, kiosks_forget_immediately=kiosks_forget_immediately
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Central:
    engine: Engine
    url: str
    tokens: dict[str, str]
    library: GeneratedLibrary
    clock: FixedClock

    def session(self) -> Session:
        return Session(self.engine)

    def agent(
        self,
        directory: Path,
        kiosk: str = "kiosk-a",
        *,
        server: str | None = None,
        read_timeout: float = 30.0,
        connect_timeout: float = 3.05,
    ) -> SyncAgent:
        store = Store.open(directory, kiosk_id=kiosk)
        return SyncAgent(
            store,
            server or self.url,
            self.tokens[kiosk],
            self.clock,
            read_timeout=read_timeout,
            connect_timeout=connect_timeout,
        )


@pytest.fixture
def central(database_url: str) -> Iterator[Central]:
    with running_central(database_url) as running:
        yield running


@functools.cache
def _demo_library() -> GeneratedLibrary:
    """The demo library, generated once per test process (about half a second each)."""
    return generate_library(Scale(items=300, patrons=60, loans=40, seed=5), NOW)


def prepare_central(
    database_url: str, kiosks: tuple[str, ...] = ("kiosk-a", "kiosk-b")
) -> tuple[Engine, GeneratedLibrary, dict[str, str]]:
    """The database with the demo library (300 items, 60 patrons) and ``kiosks``
    registered: its engine, the library, and each kiosk's token."""
    engine = database.connect(database_url)
    database.upgrade(engine)
    library = copy.deepcopy(_demo_library())  # a test may change its own copy
    with Session(engine) as session:
        put_policy(session, library.document, NOW)
        with engine.begin() as connection:
            load_library(connection, library, NOW)
        tokens = {name: add_kiosk(session, name, NOW) for name in kiosks}
    return engine, library, tokens


@contextmanager
def running_central(
    database_url: str, *, kiosks_forget_immediately: bool = True
) -> Iterator[Central]:
    """The demo library (300 items, 60 patrons) served on a loopback port; kiosks
    ``kiosk-a`` and ``kiosk-b`` registered. Kiosks forget what the server applied at once
    unless told otherwise, as with central.toml's [backup] kiosks_forget = "immediately":
    keeping it until a backup covers it is tested in test_backups.py."""
    engine, library, tokens = prepare_central(database_url)
    clock = FixedClock(NOW)
    with ServerThread(engine, clock, kiosks_forget_immediately=kiosks_forget_immediately) as server:
        yield Central(engine, server.url, tokens, library, clock)
    engine.dispose()
