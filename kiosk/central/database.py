"""Connecting to the central database, and bringing its schema up to date."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker

from kiosk.central.models import ChangeCounter

MIGRATIONS = Path(__file__).parent / "migrations"


# PostgreSQL connections' application_name: this, then the schema they use.
APPLICATION_PREFIX = "kiosk-central "
# A pooled PostgreSQL connection idle this long is pinged before it is used again.
PING_AFTER_IDLE_S = 1.0


def connect(url: str) -> Engine:
    """An engine for ``url``: ``sqlite:///path.db`` or ``postgresql://...`` (psycopg 3)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed)

        @event.listens_for(engine, "connect")
        def _configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            # SQLite has one writer at a time and its busy handler is no queue: under many
            # kiosks' pushes at once a writer waited past 10 s and its kiosk got a 500
            # (the concurrency test, on a slow disk). Wait as long as a kiosk does for its
            # answer (the agent's read timeout, 30 s); the kiosk then sends it again.
            dbapi_connection.execute("PRAGMA busy_timeout = 30000")
            dbapi_connection.execute("PRAGMA journal_mode = WAL")
            dbapi_connection.execute("PRAGMA synchronous = FULL")
            dbapi_connection.execute("PRAGMA foreign_keys = ON")

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            # Deferred: every writer's first statement bumps the change counter (a write),
            # so no transaction reads first and then fails to upgrade its lock.
            connection.exec_driver_sql("BEGIN")

        return engine
    # One connection per request. Kept small: several workers share PostgreSQL's
    # default of 100 connections, and a request waits for a free one rather than fail.
    engine = create_engine(parsed, pool_size=10, max_overflow=10)
    _ping_when_idle(engine)

    @event.listens_for(engine, "connect")
    def _label(dbapi_connection: Any, _record: Any) -> None:
        # Named by the schema it serves (pg_stat_activity's application_name), so that
        # restore can tell a kiosk-central still using this library from one using
        # another schema of the same database (kiosk.central.backups).
        dbapi_connection.execute(
            "SELECT set_config('application_name', "
            "left(%s::text || coalesce(current_schema(), ''), 63), false)",
            (APPLICATION_PREFIX,),
        )
        dbapi_connection.commit()

    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection before its use only when it was idle for ``PING_AFTER_IDLE_S``,
    rather than before every use as ``pool_pre_ping`` does: that is one more round trip
    in each request, a tenth of a SIP2 checkout's. A connection busy a moment ago is
    alive unless the server has just gone; then the request on it fails, the pool is
    emptied and every later request gets a new connection."""

    @event.listens_for(engine, "checkin")
    def _idle(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                # The server restarted, most likely: the pool's other connections too.
                raise InvalidatePoolError(str(error)) from error
            raise


@contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """On PostgreSQL, what ``session`` sends within is sent without waiting for each
    answer, and the answers are read together at the first statement that fetches its
    result (``pipeline_of``) and at the commit: a transaction's writes in two round trips
    rather than one each. Only for statements whose results SQLAlchemy is not asked for
    (it sees none yet): INSERT, UPDATE and DELETE without RETURNING. An error surfaces
    where the answers are read. On SQLite, which makes no round trips, nothing changes."""
    if session.get_bind().dialect.name != "postgresql" or not psycopg.Pipeline.is_supported():
        yield  # SQLite; or a libpq older than 14, which has no pipeline mode
        return
    session.flush()  # the unit of work reads back the keys it inserts
    driver = session.connection().connection.driver_connection
    assert driver is not None  # a connection checked out, not closed
    with driver.pipeline():
        yield


def pipeline_of(connection: Connection) -> Any | None:
    """The psycopg connection under ``connection`` when it is ``pipelined``, else None: a
    statement whose result is read then runs on it directly, with a cursor of its own."""
    if connection.dialect.name != "postgresql":
        return None
    driver = connection.connection.driver_connection
    return driver if driver is not None and driver.pgconn.pipeline_status else None


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Create or migrate the schema, and the change counter's one row."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        if connection.execute(select(ChangeCounter.id)).first() is None:
            connection.execute(insert(ChangeCounter), {"id": 1, "value": 0})


def known_revisions() -> set[str]:
    """Every schema revision this version of kiosk-central can upgrade from."""
    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


def is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
