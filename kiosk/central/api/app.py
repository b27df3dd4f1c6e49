"""The HTTP API kiosks sync with: ``/v1/...``, one bearer token per kiosk.

The server keeps no state between requests: several processes may serve one
database. Bodies are gzip-compressed when large (snapshot pages especially).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request, status
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from kiosk import __version__
from kiosk.central.api.feed import changes_page, current_cursor, snapshot_page
from kiosk.central.api.inflight import InFlightLimit, pool_limit
from kiosk.central.api.kiosks import token_hash
from kiosk.central.backups import durability
from kiosk.central.circulation.apply import apply_batch
from kiosk.central.circulation.branches import branch_names
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.errors import ForeignEntry
from kiosk.central.models import HeartbeatRecord, Kiosk
from kiosk.sync.protocol import (
    API_PREFIX,
    APPLIED_HEADER,
    BRANCH_HEADER,
    BRANCH_NAMES_HEADER,
    BRANCHES_HEADER,
    EPOCH_HEADER,
    HELD_HEADER,
    MAX_PAGE,
    MAX_SNAPSHOT_PAGE,
    ROW_FIELDS_HEADER,
    ChangesPage,
    Heartbeat,
    HeartbeatReply,
    PushRequest,
    PushResponse,
    SnapshotPage,
    branch_names_header,
    header_position,
)

if TYPE_CHECKING:
    from kiosk.central.web.settings import ConsoleSettings

log = logging.getLogger(__name__)
HEARTBEATS_KEPT = timedelta(days=7)


def _db(request: Request) -> Session:
    """A session for one step of a request: each step (finding the caller, then answering)
    opens and closes its own, within the one worker thread that runs it. A connection held
    from one step to the next would wait for a free thread while threads wait for a free
    connection: under a burst of kiosks, every request would stall until the pool's timeout.
    """
    session: Session = request.app.state.sessions()
    return session


def _reading(request: Request) -> Session:
    """A session for a step that only reads, each statement on its own (autocommit): no
    BEGIN and ROLLBACK around it on PostgreSQL, two round trips fewer for every request.
    Each statement sees what was committed when it began, as in a transaction at READ
    COMMITTED; what kiosks read is built for that (the change log's numbers commit in
    order, a snapshot page is keyed, not positioned)."""
    session: Session = request.app.state.reading()
    return session


def _durability(request: Request, db: Session) -> dict[str, str]:
    """The headers that tell a kiosk the epoch and what the latest backup covers."""
    state = request.app.state
    told = durability(db, state.now(), immediately=state.kiosks_forget_immediately)
    return told.headers()


def _branch(caller: Kiosk, db: Session) -> dict[str, str]:
    """The headers that tell a kiosk the branch it stands in (none: no header) and the
    library's branch codes (none yet: no header), by which it knows a home_location that
    names no branch: such a copy has no home branch, as the server decides; and their
    names, by which it tells a patron where a hold waits for them."""
    told = {} if caller.branch is None else {BRANCH_HEADER: caller.branch}
    names = branch_names(db)
    if names:
        told[BRANCHES_HEADER] = ",".join(sorted(names))
        told[BRANCH_NAMES_HEADER] = branch_names_header(names)
    return told


_bearer = HTTPBearer(auto_error=False)


def _kiosk(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Kiosk:
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a kiosk token is required (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    with _reading(request) as db:
        found = db.scalar(
            select(Kiosk).where(Kiosk.token_hash == token_hash(credentials.credentials))
        )
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this token belongs to no kiosk; provision the kiosk again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if found.disabled_at is not None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "staff have disabled this kiosk; ask them before provisioning it again",
        )
    return found


Caller = Annotated[Kiosk, Depends(_kiosk)]
router = APIRouter(prefix=API_PREFIX)


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    with _reading(request) as db:
        db.execute(select(func.count()).select_from(Kiosk)).scalar()
    return {"status": "ok", "version": __version__}


@router.get(
    "/snapshot",
    response_model=SnapshotPage,
    responses={200: {"model": SnapshotPage}},
)
def snapshot(
    request: Request,
    caller: Caller,
    after: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SNAPSHOT_PAGE)] = MAX_SNAPSHOT_PAGE,
) -> Response:
    # Absent or malformed: a kiosk from before the rows had versions.
    version = header_position(request.headers, ROW_FIELDS_HEADER) or 0
    try:
        with _reading(request) as db:
            page = snapshot_page(db, after, limit, rows_version=version)
            told = _durability(request, db) | _branch(caller, db)
    except ValueError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    # Serialised here rather than by the response model: a page holds up to fifty
    # thousand rows, and checking them again on the way out would double its cost.
    return Response(
        json.dumps(page, separators=(",", ":")), media_type="application/json", headers=told
    )


@router.get("/changes", response_model=ChangesPage, responses={200: {"model": ChangesPage}})
def changes(
    request: Request,
    caller: Caller,
    since: Annotated[int, Query(ge=0, le=2**63 - 1)],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> Response:
    # Absent or malformed: a kiosk from before the rows had versions.
    version = header_position(request.headers, ROW_FIELDS_HEADER) or 0
    with _reading(request) as db:
        page = changes_page(db, caller.id, since, limit, rows_version=version)
        told = _durability(request, db) | _branch(caller, db)
    # JSON already (see changes_page)
    return Response(page, media_type="application/json", headers=told)


@router.post("/journal", response_model=PushResponse)
def push(
    body: PushRequest,
    caller: Caller,
    request: Request,
    response: Response,
    epoch: Annotated[str | None, Header(alias=EPOCH_HEADER, max_length=64)] = None,
) -> PushResponse:
    if epoch is not None:
        # A kiosk that pushed to an earlier epoch must push everything it holds again,
        # oldest first: applying its newest entries now would put them before the older.
        with _reading(request) as db:
            told = _durability(request, db)
        if told[EPOCH_HEADER] != epoch:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                "this server's database was restored from a backup since this kiosk last "
                "pushed: push every entry again, oldest first",
                headers=told,
            )
    state = request.app.state
    # One transaction for the batch (one commit), each entry applied in the kiosk's
    # order; any failure undoes the whole batch, which the kiosk sends again.
    with _db(request) as db, db.begin():
        try:
            results = apply_batch(db, caller, body.entries, state.now(), state.policies)
        except ForeignEntry as foreign:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"entry {foreign} was recorded by another kiosk; a kiosk may push only its "
                "own transactions",
            ) from None
    # Read after the commit: at or past the change of every entry answered for, so a
    # backup covering it covers them all.
    with _reading(request) as db:
        response.headers.update(_durability(request, db))
        response.headers[APPLIED_HEADER] = str(current_cursor(db))
    return PushResponse(results=results)


@router.post("/heartbeat", response_model=HeartbeatReply)
def heartbeat(
    beat: Heartbeat,
    caller: Caller,
    request: Request,
    response: Response,
    # ASCII digits alone: str.isdigit() took "²", which int() then refused (a 500).
    held: Annotated[str | None, Header(alias=HELD_HEADER, pattern=r"^[0-9]{1,19}$")] = None,
) -> HeartbeatReply:
    now = request.app.state.now()
    with _db(request) as db, db.begin():
        db.execute(
            update(Kiosk)
            .where(Kiosk.id == caller.id)
            .values(
                last_seen=now,
                version=beat.version,
                journal_depth=beat.journal_depth,
                oldest_pending=beat.oldest_pending,
                last_error=beat.last_error[:400] if beat.last_error else None,
                scanners=beat.scanners,
                disk_free_mb=beat.disk_free_mb,
                # Only shown to staff: a kiosk too old to send it shows none.
                held_for_backup=min(int(held), 2**31 - 1) if held is not None else None,
            )
        )
        db.execute(
            insert(HeartbeatRecord).values(
                kiosk_id=caller.id,
                at=now,
                journal_depth=beat.journal_depth,
                disk_free_mb=beat.disk_free_mb,
                scanners=len(beat.scanners),
                error=bool(beat.last_error),
            )
        )
        # A week is kept for the console's 24-hour chart; older beats tell no one anything.
        db.execute(
            delete(HeartbeatRecord).where(
                HeartbeatRecord.kiosk_id == caller.id,
                HeartbeatRecord.at < now - HEARTBEATS_KEPT,
            )
        )
        cursor = current_cursor(db)
    with _reading(request) as db:
        response.headers.update(_durability(request, db))
    return HeartbeatReply(server_time=now, cursor=cursor)


@asynccontextmanager
async def _starting(app: FastAPI) -> AsyncIterator[None]:
    """Each process runs ``app.state.on_start`` as it begins serving (each worker its own,
    as it builds its own app), not as the app is built: a test's app starts none."""
    for start in app.state.on_start:
        start(app)
    yield


def create_app(
    engine: Engine,
    now: Callable[[], datetime],
    console: ConsoleSettings | None = None,
    *,
    kiosks_forget_immediately: bool = False,
) -> FastAPI:
    """The API over ``engine``; ``now`` is the library's local clock. With ``console``,
    the staff console too, under ``/staff`` (``kiosk.central.web``). Kiosks are told
    they may forget what is applied once a backup covers it, or at once when
    ``kiosks_forget_immediately`` (central.toml's [backup] kiosks_forget)."""
    app = FastAPI(
        title="kiosk-central",
        version=__version__,
        description="The library's circulation server that self-service kiosks sync with. "
        "See docs/sync-protocol.md.",
        lifespan=_starting,
    )
    app.state.on_start = []
    # Level 1: most of gzip's saving on this repetitive JSON at a fraction of the CPU.
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=1)
    app.add_middleware(InFlightLimit, limit=pool_limit(engine))
    app.state.sessions = sessionmaker(engine, expire_on_commit=False)
    # SQLite keeps its own transaction handling (see db.connect): switching a connection
    # to autocommit and back would undo it.
    app.state.reading = (
        sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)
        if engine.dialect.name == "postgresql"
        else app.state.sessions
    )
    app.state.now = now
    app.state.kiosks_forget_immediately = kiosks_forget_immediately
    app.state.policies = PolicyCache()
    app.include_router(router)
    if console is not None:
        from kiosk.central.web.console import mount_console  # noqa: PLC0415 - only when served

        mount_console(app, console)

    @app.exception_handler(Exception)
    def unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error: %s", error)
        return JSONResponse({"detail": "internal error; see the server's log"}, status_code=500)

    return app
