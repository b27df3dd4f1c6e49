"""The central database's engine: on PostgreSQL a pooled connection is pinged before use
only after it was idle, and a server that dropped its connections costs at most the
request that found out; ``pipelined`` writes, on both databases, commit all or nothing
and number the change log as unpipelined ones do."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from kiosk.central import audit, database
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.models import AuditEntry, Change, ChangeCounter, table
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


# --- pipelined writes, on both databases -------------------------------------------------

NOW = datetime(2026, 12, 4, 10, 0)


def count(engine: Engine, model: Any) -> int:
    with Session(engine) as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def record(db: Session, n: int) -> None:
    audit.record(db, NOW, actor="cyril", action="test.write", target=f"row {n}", origin="here")


def test_pipelined_writes_are_committed_and_the_change_log_numbered_in_turn(
    migrated_engine: Engine,
) -> None:
    postgres = migrated_engine.dialect.name == "postgresql"
    with Session(migrated_engine) as db:
        log = ChangeLog(db)
        log.lock()
        assert database.pipeline_of(db.connection()) is None
        with database.pipelined(db):
            assert (database.pipeline_of(db.connection()) is not None) is postgres
            for n in range(3):
                record(db, n)
            log.marker("first")
            log.marker("second")
            first = log.write()  # the counter's new value read inside the pipeline
            db.commit()
        assert database.pipeline_of(db.connection()) is None
    assert first == 1
    assert count(migrated_engine, AuditEntry) == 3
    with Session(migrated_engine) as db:
        assert db.scalars(select(Change.seq).order_by(Change.seq)).all() == [1, 2]
        assert db.scalar(select(ChangeCounter.value)) == 2


def test_a_pipelined_write_that_fails_fails_the_whole_transaction(migrated_engine: Engine) -> None:
    def three_writes_the_second_failing(db: Session) -> None:
        with database.pipelined(db):
            record(db, 1)
            # The counter's row is there already: this insert breaks its primary key.
            db.connection().execute(insert(table(ChangeCounter)).values(id=1, value=0))
            record(db, 2)
            db.commit()

    with Session(migrated_engine) as db:
        with pytest.raises(IntegrityError):
            three_writes_the_second_failing(db)
        db.rollback()
        record(db, 3)  # the session goes on, unpipelined
        db.commit()
    with Session(migrated_engine) as db:
        assert db.scalars(select(AuditEntry.target)).all() == ["row 3"]


def test_a_failed_write_read_back_by_the_change_log_is_sqlalchemys_error(
    migrated_engine: Engine,
) -> None:
    """On PostgreSQL the counter's statement is the first whose answer is read: a write
    queued before it that failed fails there, raised as SQLAlchemy raises its own."""

    def a_failing_write_then_numbered(db: Session) -> None:
        log = ChangeLog(db)
        log.lock()
        with database.pipelined(db):
            db.connection().execute(insert(table(ChangeCounter)).values(id=1, value=0))
            log.marker("after it")
            log.write()

    with Session(migrated_engine) as db:
        with pytest.raises(IntegrityError):
            a_failing_write_then_numbered(db)
        db.rollback()
    with Session(migrated_engine) as db:
        assert db.scalar(select(ChangeCounter.value)) == 0
        assert db.scalars(select(Change.seq)).all() == []
