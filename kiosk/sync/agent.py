"""The kiosk's sync agent: push the journal, follow the server's changes, purge what is done.

It runs beside the kiosk app (``kiosk sync``), never inside a scan: the mirror is
written in small transactions that readers never wait for (WAL), and the journal
is touched only in short ones. Entries are acknowledged only on the server's
answer, and purged only once the mirror shows their effect and a backup of the server
covers them (or ``backup_wait`` after their acknowledgement, whatever the server
says), so no loan history stays on the kiosk for long and nothing is lost or counted
twice, even when the server's disk is lost and its latest backup restored: then the
server names a new epoch, and the agent pushes again every entry it still holds and
replaces its mirror (kiosk.store.outbox.start_epoch).
"""

from __future__ import annotations

import contextlib
import logging
import random
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ValidationError
from sqlalchemy import exc

from kiosk import __version__
from kiosk.common.clock import Clock
from kiosk.common.money import wire_cents
from kiosk.store import mirroring, outbox
from kiosk.store.database import disk_full
from kiosk.store.mirror import (
    MirrorBase,
    MirrorHold,
    MirrorLoan,
    MirrorMessage,
    MirrorPatron,
    Record,
    StockItem,
)
from kiosk.store.outbox import JournalEntry
from kiosk.store.store import Store
from kiosk.sync import last_sync
from kiosk.sync.errors import SyncError as SyncError  # noqa: PLC0414 - callers catch it here
from kiosk.sync.protocol import (
    API_PREFIX,
    APPLIED_HEADER,
    BACKUP_HEADER,
    EPOCH_HEADER,
    HELD_HEADER,
    MAX_PAGE,
    MAX_PUSH,
    MAX_SNAPSHOT_PAGE,
    ROW_FIELDS_HEADER,
    ROW_FIELDS_VERSION,
    ROW_TYPES,
    SNAPSHOT_COLUMNS,
    SNAPSHOT_OPTIONAL,
    Change,
    ChangesPage,
    Durability,
    Entity,
    Heartbeat,
    HeartbeatReply,
    PolicyRow,
    PushRequest,
    PushResponse,
    SnapshotPage,
    WireEntry,
    branch_from_headers,
    branch_names_from_headers,
    branches_from_headers,
    header_position,
)

log = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)

# The mirror table of each entity the server sends (each keyed by its primary key).
MIRROR_TABLES: dict[Entity, type[MirrorBase]] = {
    Entity.RECORD: Record,
    Entity.ITEM: StockItem,
    Entity.PATRON: MirrorPatron,
    Entity.LOAN: MirrorLoan,
    Entity.HOLD: MirrorHold,
    Entity.MESSAGE: MirrorMessage,
}
# Seconds from one sync round to the next unless kiosk.toml's [server] sync_interval says.
DEFAULT_INTERVAL_S = 15.0
# At most this long after the mirror's loans or holds changed, their tables are rebuilt so
# that no ended loan or hold can be read back from the card (mirroring.scrub_lending).
LENDING_SCRUB_AFTER = timedelta(minutes=15)


# How long an entry the server applied is kept when no backup of the server covers it
# yet, unless kiosk.toml's [server] backup_wait_days says: then it goes anyway, so that
# a server nobody backs up does not leave loan history on its kiosks for ever.
DEFAULT_BACKUP_WAIT = timedelta(days=7)
# Any change log position: what "immediately" covers.
EVERY_POSITION = 2**63 - 1


# How soon staff's "Sync now" (kiosk.sync.last_sync.request_sync) is noticed.
REQUEST_POLL_SECONDS = 1.0


class Connectivity(StrEnum):
    UNKNOWN = "unknown"
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the screens and ``kiosk status`` show about syncing."""

    connectivity: Connectivity = Connectivity.UNKNOWN
    last_success: datetime | None = None
    last_error: str | None = None
    snapshot_percent: int | None = None  # while a snapshot is loading
    cursor: int | None = None
    held: int = 0  # entries the server applied, kept until a backup covers them
    backup: str | None = None  # what the server said of its backups (BACKUP_HEADER)


@dataclass(frozen=True, slots=True)
class SyncReport:
    pushed: int
    duplicates: int
    exceptions: int
    changes: int
    purged: int
    snapshot_rows: int


class SyncRefused(SyncError):
    """The server refused the kiosk (401/403): retrying will not help until staff act."""


class NewEpoch(SyncError):
    """The server's database was restored: the round starts again, pushing everything."""


class SyncAgent:
    def __init__(
        self,
        store: Store,
        server: str,
        token: str,
        clock: Clock,
        *,
        ca_file: Path | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 30.0,
        page_size: int = MAX_PAGE,
        snapshot_page_size: int = MAX_SNAPSHOT_PAGE,
        on_progress: Callable[[int, int], None] | None = None,
        scanners: Callable[[], list[str]] = list,
        backup_wait: timedelta = DEFAULT_BACKUP_WAIT,
    ) -> None:
        self.store = store
        self.base = server.rstrip("/") + API_PREFIX
        self.clock = clock
        self.page_size = page_size
        self.snapshot_page_size = snapshot_page_size
        self.on_progress = on_progress
        self.scanners = scanners
        self.backup_wait = backup_wait
        self.timeouts = (connect_timeout, read_timeout)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        # Verification is always on: a CA file narrows whom to trust, never widens it.
        # Given with each request: requests lets REQUESTS_CA_BUNDLE in the environment
        # override a session's own CA file, and staff's file must win.
        self.verify: str | bool = str(ca_file) if ca_file is not None else True
        previous = last_sync.load(store.directory)
        self._status = SyncStatus(last_success=previous.last_success if previous else None)
        self._lock = threading.Lock()
        # When the mirror's loans or holds first changed since they were last rebuilt; a
        # new agent cannot know what an earlier one left, so it rebuilds them at once.
        self._lending_changed: datetime | None = datetime.min
        # What the server last said of its epoch and backups (None: nothing yet, or a
        # server from before backups), and the epoch the journal was pushed to.
        self._durability: Durability | None = None
        self._epoch = outbox.server_epoch(store)[0]

    # --- status ------------------------------------------------------------------------

    @property
    def status(self) -> SyncStatus:
        with self._lock:
            return self._status

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)

    # --- HTTP --------------------------------------------------------------------------

    def _call(self, method: str, path: str, answer: type[Model], **kwargs: Any) -> Model:
        return self._exchange(method, path, answer, **kwargs)[0]

    def _exchange(
        self, method: str, path: str, answer: type[Model], **kwargs: Any
    ) -> tuple[Model, requests.structures.CaseInsensitiveDict[str]]:
        """The server's answer, checked, and its headers (after ``_observe``)."""
        try:
            response = self.http.request(
                method, self.base + path, timeout=self.timeouts, verify=self.verify, **kwargs
            )
        except requests.RequestException as error:
            raise SyncError(f"cannot reach the server: {type(error).__name__}: {error}") from None
        if response.status_code == 409:  # pushed to an earlier epoch: start the new one
            self._observe(response.headers)
        if response.status_code in (401, 403):
            raise SyncRefused(
                f"the server refused this kiosk ({response.status_code}): {_detail(response)}"
            )
        if response.status_code != 200:
            raise SyncError(f"the server answered {response.status_code}: {_detail(response)}")
        try:
            model = answer.model_validate_json(response.content)
        except ValidationError as error:
            raise SyncError(
                f"the server's answer to {path} is malformed: {error.error_count()} errors"
            ) from None
        self._observe(response.headers)
        return model, response.headers

    def _observe(self, headers: requests.structures.CaseInsensitiveDict[str]) -> None:
        """Note what the server says of its backups; on a new epoch, make every entry
        pending again and the mirror due for a snapshot, and start the round again."""
        try:
            told = Durability.from_headers(headers)
        except ValueError as error:
            raise SyncError(f"the server's answer is malformed: {error}") from None
        if told is None:
            return  # a server from before backups: entries wait for backup_wait
        with self._lock:
            self._durability = told
        if self._epoch == told.epoch:
            return
        if self._epoch is None:
            outbox.adopt_epoch(self.store, told.epoch)
            self._epoch = told.epoch
            return
        again = outbox.start_epoch(self.store, told.epoch)
        self._epoch = told.epoch
        log.warning(
            "the server's database was restored from a backup (epoch %s): pushing again "
            "the %d entries this kiosk holds, then reloading the library",
            told.epoch,
            again,
        )
        raise NewEpoch("the server was restored from a backup")

    # --- one round ---------------------------------------------------------------------

    def sync_once(self) -> SyncReport:
        """Push, (snapshot,) pull, purge, heartbeat. Raises SyncError when the server
        cannot be reached or answers wrongly; whatever was done before that stays done."""
        attempted = self.clock.now()
        try:
            try:
                pushed, duplicates, exceptions, snapshot_rows, changes = self._exchange_round()
            except NewEpoch:  # the journal now says what to do: push it all, snapshot
                pushed, duplicates, exceptions, snapshot_rows, changes = self._exchange_round()
            purged = self.purge()
            self.heartbeat(self.status.last_error)
        except SyncError as error:
            self._set(connectivity=Connectivity.OFFLINE, last_error=str(error))
            self._save(attempted, error=error)
            raise
        except exc.OperationalError as error:  # a full disk fails the round, not the agent
            if not disk_full(error, self.store.directory / "journal.db"):
                raise
            full = SyncError(f"the kiosk's disk is full: {error.orig}")
            self._set(last_error=str(full))
            self._save(attempted, error=full)
            raise full from None
        self._set(
            connectivity=Connectivity.ONLINE,
            last_success=self.clock.now(),
            last_error=None,
            cursor=self._cursor(),
        )
        report = SyncReport(pushed, duplicates, exceptions, changes, purged, snapshot_rows)
        self._save(attempted, report=report)
        log.info(
            "synced: pushed %d (%d already there, %d for staff), %d snapshot rows, "
            "%d changes, %d entries purged",
            pushed,
            duplicates,
            exceptions,
            snapshot_rows,
            changes,
            purged,
        )
        return report

    def _exchange_round(self) -> tuple[int, int, int, int, int]:
        """Push, then a snapshot when one is due (``_snapshot_due``), then pull."""
        pushed, duplicates, exceptions = self.push()
        snapshot_rows = self.snapshot() if self._snapshot_due() else 0
        return pushed, duplicates, exceptions, snapshot_rows, self.pull()

    def _snapshot_due(self) -> bool:
        """Whether the mirror is to be replaced: it has none yet, follows an earlier epoch
        of the server, or was built from rows of an older version than this kiosk now
        reads (ROW_FIELDS_VERSION; None: built before the mirror said). Upgraded, a kiosk
        must not go on from its cursor: the server passed over, for the older version,
        the entities and fields it did not know (the library's message, a patron's email
        flag or PIN state, a hold's pickup) and moved the cursor past them. The journal is
        not the mirror's: a snapshot keeps every entry the server has not applied."""
        if outbox.server_epoch(self.store)[1] or self._cursor() is None:
            return True
        built = mirroring.row_fields(self.store)
        if built is not None and built >= ROW_FIELDS_VERSION:
            return False
        log.info(
            "the mirror was built from rows of version %s and this kiosk reads version %d: "
            "reloading the library",
            "unknown" if built is None else built,
            ROW_FIELDS_VERSION,
        )
        return True

    def _save(
        self,
        attempted: datetime,
        *,
        error: SyncError | None = None,
        report: SyncReport | None = None,
    ) -> None:
        """Keep this attempt's result in the data directory for ``kiosk status``."""
        status = self.status
        try:
            last_sync.save(
                self.store.directory,
                last_sync.LastSync(
                    ok=error is None,
                    attempted_at=attempted,
                    last_success=status.last_success,
                    error=str(error)[:400] if error is not None else None,
                    refused=isinstance(error, SyncRefused),
                    cursor=self._cursor(),
                    pushed=report.pushed if report else 0,
                    changes=report.changes if report else 0,
                    held=status.held,
                    backup=status.backup,
                    backup_wait_days=self.backup_wait.days,
                ),
            )
        except OSError as failure:  # a full disk must not stop syncing
            log.warning("cannot write %s: %s", last_sync.STATUS_FILE, failure)

    def run(
        self,
        stop: threading.Event,
        interval: float = DEFAULT_INTERVAL_S,
        max_backoff: float = 300.0,
        *,
        alive: Callable[[], object] | None = None,
        alive_every: float | None = None,
    ) -> None:
        """Sync every ``interval`` seconds until ``stop`` is set, backing off (with jitter)
        while the server is unreachable. ``alive`` is called at each turn and at least every
        ``alive_every`` seconds while waiting (systemd's watchdog)."""
        failures = 0
        while not stop.is_set():
            if alive is not None:
                alive()
            try:
                self.sync_once()
                failures = 0
                wait = interval
            except SyncError as error:
                failures += 1
                wait = min(max_backoff, interval * 2 ** min(failures, 10)) * random.uniform(
                    0.5, 1.0
                )
                log.warning("sync failed (%s); next try in %.0f s", error, wait)
            deadline = time.monotonic() + wait
            while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
                stop.wait(min(left, alive_every or left, REQUEST_POLL_SECONDS))
                if alive is not None:
                    alive()
                if last_sync.take_sync_request(self.store.directory):
                    break

    # --- push --------------------------------------------------------------------------

    def push(self) -> tuple[int, int, int]:
        """Send pending entries, oldest first, and mark each one the server answered for."""
        pushed = duplicates = exceptions = 0
        while True:
            rows = outbox.pending(self.store, MAX_PUSH)
            if not rows:
                return pushed, duplicates, exceptions
            entries = [_wire_entry(row) for row in rows]
            answer, headers = self._exchange(
                "POST",
                "/journal",
                PushResponse,
                data=PushRequest(entries=entries).model_dump_json(),
                headers={
                    "Content-Type": "application/json",
                    # The server refuses a push to an epoch it no longer is (409).
                    **({EPOCH_HEADER: self._epoch} if self._epoch else {}),
                },
            )
            outcomes = {result.id: result for result in answer.results}
            outbox.acknowledge(
                self.store,
                [(entry_id, result.outcome.value) for entry_id, result in outcomes.items()],
                self.clock.now(),
                header_position(headers, APPLIED_HEADER),
            )
            pushed += sum(result.outcome.value == "applied" for result in answer.results)
            duplicates += sum(result.outcome.value == "duplicate" for result in answer.results)
            exceptions += sum(result.outcome.value == "exception" for result in answer.results)
            if len(outcomes) < len(entries):
                raise SyncError("the server answered for fewer entries than were sent")

    # --- snapshot ----------------------------------------------------------------------

    def snapshot(self) -> int:
        """Replace the mirror with the server's library, page by page. The next page is
        fetched while the current one is written, so the server and the kiosk work at
        once."""
        # The rows it knows: a server leaves out the entities of a later version.
        known = {ROW_FIELDS_HEADER: str(ROW_FIELDS_VERSION)}
        first, headers = self._exchange(
            "GET",
            "/snapshot",
            SnapshotPage,
            params={"limit": self.snapshot_page_size},
            headers=known,
        )
        total = sum(first.totals.values()) or 1
        done = 0
        reflected = outbox.acknowledged_through(self.store)
        mirroring.clear(self.store)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot") as fetcher:
            page: SnapshotPage | None = first
            while page is not None:
                following = (
                    fetcher.submit(
                        self._call,
                        "GET",
                        "/snapshot",
                        SnapshotPage,
                        params={"after": page.after, "limit": self.snapshot_page_size},
                        headers=known,
                    )
                    if page.after is not None
                    else None
                )
                _load_page(self.store, page)
                done += len(page.rows)
                self._show_progress(min(99, done * 100 // total))
                if self.on_progress is not None:
                    self.on_progress(done, total)
                page = following.result() if following is not None else None
        mirroring.finish_snapshot(
            self.store, first.cursor, self.clock.now(), reflected, row_fields=ROW_FIELDS_VERSION
        )
        # Taken before the branch is kept: should the branch's headers fail the round,
        # the mirror is whole all the same and is not loaded again at the next.
        outbox.snapshot_taken(self.store)
        self._keep_branch(headers)
        self._set(snapshot_percent=None)
        with contextlib.suppress(OSError):
            last_sync.clear_progress(self.store.directory)
        self.store.refresh_health()
        return done

    def _show_progress(self, percent: int) -> None:
        if percent == self.status.snapshot_percent:
            return
        self._set(snapshot_percent=percent)
        try:
            last_sync.save_progress(self.store.directory, percent, self.clock.now())
        except OSError as failure:  # a full disk must not stop the snapshot
            log.warning("cannot write %s: %s", last_sync.PROGRESS_FILE, failure)

    # --- pull --------------------------------------------------------------------------

    def _cursor(self) -> int | None:
        return mirroring.cursor(self.store)

    def pull(self) -> int:
        """Apply the server's changes since the mirror's cursor, a page per transaction."""
        applied = 0
        while True:
            cursor = self._cursor()
            if cursor is None:
                return applied
            page, headers = self._exchange(
                "GET",
                "/changes",
                ChangesPage,
                params={"since": cursor, "limit": self.page_size},
                headers={ROW_FIELDS_HEADER: str(ROW_FIELDS_VERSION)},
            )
            policies, tables = _mirror_changes(page.changes)
            if self._lending_changed is None and any(
                changes.model in mirroring.LENDING for changes in tables
            ):
                self._lending_changed = self.clock.now()
            mirroring.apply_changes(
                self.store,
                policies=policies,
                tables=tables,
                cursor=page.cursor,
                synced_at=self.clock.now(),
                reflected=outbox.seqs_of(self.store, page.reflected),
            )
            applied += len(page.changes)
            self._keep_branch(headers)
            if not page.more:
                return applied

    def _keep_branch(self, headers: requests.structures.CaseInsensitiveDict[str]) -> None:
        """The branch the server says this kiosk stands in, the library's branch codes
        and their names, into the mirror when they are news (staff moved the kiosk, gave
        it its first, or added a branch). A malformed code fails the round (returns are
        routed by it); a name is only shown, so one the kiosk cannot show is left out,
        said in the log, and the round goes on."""
        try:
            told = branch_from_headers(headers)
            codes = branches_from_headers(headers)
        except ValueError as error:
            raise SyncError(f"the server's answer is malformed: {error}") from None
        names, left_out = branch_names_from_headers(headers)
        kept = (
            mirroring.branch(self.store),
            mirroring.branches(self.store),
            mirroring.branch_names(self.store),
        )
        if (told, codes, names) != kept:
            for problem in left_out:  # said once, when the names are news
                log.warning("a branch's name left out: %s", problem)
            mirroring.set_branch(self.store, told, codes, names)

    # --- purge -------------------------------------------------------------------------

    def purge(self) -> int:
        """Forget entries the mirror already shows and a backup of the server covers (or
        acknowledged longer than ``backup_wait`` ago): no loan history stays on the kiosk,
        nor can be read back from its card (kiosk.store.outbox.purge). Loans and holds
        the server ended leave the mirror's tables within LENDING_SCRUB_AFTER."""
        told = self._durability
        covered: int | None = None
        if told is not None and told.epoch == self._epoch:
            covered = EVERY_POSITION if told.immediately else told.covers
        purged = outbox.purge(
            self.store,
            covered_through=covered,
            acknowledged_before=self.clock.now() - self.backup_wait,
        )
        held, _ = outbox.held(self.store)
        self._set(held=held, backup=_backup_text(told))
        changed = self._lending_changed
        if changed is not None and self.clock.now() - changed >= LENDING_SCRUB_AFTER:
            mirroring.scrub_lending(self.store)
            self._lending_changed = None
        return purged

    # --- heartbeat ---------------------------------------------------------------------

    def heartbeat(self, last_error: str | None) -> HeartbeatReply:
        depth, oldest = outbox.waiting(self.store)
        held, _ = outbox.held(self.store)
        beat = Heartbeat(
            version=__version__,
            journal_depth=depth,
            oldest_pending=oldest,
            last_error=last_error[:400] if last_error else None,
            scanners=self.scanners(),
            disk_free_mb=shutil.disk_usage(self.store.directory).free // 2**20,
        )
        return self._call(
            "POST",
            "/heartbeat",
            HeartbeatReply,
            data=beat.model_dump_json(),
            headers={"Content-Type": "application/json", HELD_HEADER: str(held)},
        )


def _backup_text(told: Durability | None) -> str | None:
    """What the server said of its backups, as ``kiosk status`` keeps it: None when it
    said nothing (older than backups), "none", "immediately", or the position covered."""
    if told is None:
        return None
    return told.headers()[BACKUP_HEADER]


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail)[:200] if detail else response.reason


def _wire_entry(entry: JournalEntry) -> WireEntry:
    """A journal entry as the server is sent it: the same fields, taken by name."""
    return WireEntry.model_validate(entry, from_attributes=True)


def _mirror_values(entity: Entity, data: dict[str, Any]) -> dict[str, Any]:
    """A wire row as the mirror table's columns (typed, so money becomes cents on insert)."""
    row = ROW_TYPES[entity].model_validate(data)
    values: dict[str, Any] = row.model_dump()
    return values


# How a snapshot row's wire values become the mirror's stored ones (same column order).
_STORED: dict[Entity, Callable[[list[Any]], tuple[Any, ...]]] = {
    Entity.RECORD: tuple,
    Entity.ITEM: lambda row: (row[0], row[1], wire_cents(row[2]), row[3], row[4]),
    Entity.PATRON: lambda row: (
        *row[:5],
        int(row[5]),
        wire_cents(row[6]),
        row[7],
        row[8] or 0,  # null from a server that counts no PINs for kiosks
        row[9],
        int(bool(row[10])),  # null from a server that does not say who has an email
    ),
    Entity.LOAN: tuple,
    Entity.HOLD: lambda row: (*row[:4], int(row[4]), *row[5:8]),
    Entity.MESSAGE: tuple,
}


def _by_name(page: SnapshotPage) -> list[list[Any]]:
    """The page's rows in this kiosk's columns (``SNAPSHOT_COLUMNS``), read by name: a
    column a server one version older does not send (``SNAPSHOT_OPTIONAL``) is null, one
    a newer server adds is passed over; a column the kiosk needs and is not sent is an
    error."""
    wanted = SNAPSHOT_COLUMNS[page.entity]
    if page.columns == list(wanted):
        return page.rows
    sent = {name: index for index, name in enumerate(page.columns)}
    missing = [
        name
        for name in wanted
        if name not in sent and name not in SNAPSHOT_OPTIONAL.get(page.entity, ())
    ]
    if missing or len(sent) != len(page.columns):
        raise SyncError(
            f"the snapshot's {page.entity} columns are not this kiosk's: {page.columns}"
        )
    at = [sent.get(name) for name in wanted]
    return [[None if index is None else row[index] for index in at] for row in page.rows]


def _load_page(store: Store, page: SnapshotPage) -> None:
    try:
        rows_in_order = _by_name(page)
    except IndexError as error:
        raise SyncError(f"the snapshot's {page.entity} rows are malformed: {error}") from None
    if page.entity is Entity.POLICY:
        mirroring.load_policies(store, ((version, document) for version, document in rows_in_order))
        return
    try:
        rows = [_STORED[page.entity](row) for row in rows_in_order]
    except (ArithmeticError, IndexError, TypeError, ValueError) as error:
        raise SyncError(f"the snapshot's {page.entity} rows are malformed: {error}") from None
    mirroring.load_rows(store, MIRROR_TABLES[page.entity], rows)


def _mirror_changes(
    changes: list[Change],
) -> tuple[list[tuple[dict[str, Any], str]], list[mirroring.TableChanges]]:
    """A page of changes as the mirror applies them: the policies in order, and for each
    table its changed keys and the rows as they are now. Within a page the last change
    of a row is its state, so each table gets one delete and one insert for all its
    changed rows."""
    policies: list[tuple[dict[str, Any], str]] = []
    final: dict[tuple[Entity, str], Change] = {}
    for change in changes:
        if change.entity is Entity.POLICY:
            if change.data is not None:
                policy = PolicyRow.model_validate(change.data)
                policies.append((policy.document, policy.version))
        elif change.entity in MIRROR_TABLES:
            final[(change.entity, change.key)] = change
    tables = []
    for entity, model in MIRROR_TABLES.items():
        touched = [change for (kind, _), change in final.items() if kind is entity]
        if touched:
            tables.append(
                mirroring.TableChanges(
                    model,
                    [change.key for change in touched],
                    [_mirror_values(entity, change.data) for change in touched if change.data],
                )
            )
    return policies, tables
