"""The central database's engine on PostgreSQL: a pooled connection is pinged before use
only after it was idle, and a server that dropped its connections costs at most the
request that found out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from kiosk.central import database
from tests.central.conftest import POSTGRES, postgres_schema


@pytest.fixture
def engine() -> Iterator[Engine]:
    for url in postgres_schema("db"):
        engine = database.connect(url)
        yield engine
        engine.dispose()


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """When the engine's dialect pinged a connection (the real ping, counted)."""
    pinged: list[float] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pinged.append(time.monotonic())
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pinged


def backend(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.scalar(text("SELECT pg_backend_pid()"))
        return pid


def terminate(pid: int) -> None:
    """What a restart of the server does to a connection: it ends it."""
    admin = database.connect(POSTGRES)
    with admin.begin() as connection:
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    time.sleep(0.2)  # the backend is gone once the signal is handled


def test_a_connection_used_again_at_once_is_not_pinged(engine: Engine, pings: list[float]) -> None:
    first = backend(engine)
    for _ in range(20):
        assert backend(engine) == first
    assert pings == []


def test_a_connection_idle_a_while_is_pinged_and_a_dead_one_replaced_unseen(
    engine: Engine, pings: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.1)
    first = backend(engine)
    time.sleep(0.15)
    assert backend(engine) == first
    assert len(pings) == 1

    terminate(first)
    time.sleep(0.15)
    replaced = backend(engine)  # no error: the ping found it dead
    assert replaced != first
    assert len(pings) == 2


def test_a_connection_dropped_while_busy_fails_one_request_and_the_next_reconnects(
    engine: Engine, pings: list[float]
) -> None:
    first = backend(engine)
    terminate(first)
    with pytest.raises(OperationalError) as failed:
        backend(engine)
    assert failed.value.connection_invalidated
    assert backend(engine) != first
    assert pings == []
