"""Backups of the library's database, restoring one, and the epoch a restore begins.

A backup is a tar file anyone can look into (``tar tvf``): the database as it was at
one moment (SQLite's online backup, or ``pg_dump``'s custom format taken in one
snapshot), then ``manifest.json`` saying what it is, the change log position it
covers and the SHA-256 of the database part. It is written under a temporary name in
the target's own folder and renamed into place only once complete and on disk, so a
backup killed midway leaves no file by the name asked for; ``restore`` checks the
manifest and the hash before it touches anything, so a half file is refused.

The one row of ``server_state`` (the epoch, and what the latest backup covers) is left
out of every backup. A database restored by any means (this command, or by hand with
``tar`` and ``pg_restore``) therefore has none, and the first reader makes a new epoch:
kiosks that see it push again every entry they still hold (the server applies each
once) and take a fresh snapshot. See docs/operations.md.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection, Engine, delete, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from kiosk import __version__
from kiosk.central import database
from kiosk.central.errors import CentralError
from kiosk.central.models import ChangeCounter, ServerState, insert_or_skip
from kiosk.sync.protocol import Durability

FORMAT = "kiosk-central backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PAYLOADS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
# The names the timer's backups get in their folder; only these are ever rotated away.
PREFIX, SUFFIX = "kiosk-central-", ".backup"
LOCK_FILE = ".kiosk-central-backup.lock"
PARTIAL = ".partial-"  # in the name of a file being written: never a backup
COPY_BUFFER = 1 << 20


class BackupError(CentralError):
    """A backup cannot be taken, or a file cannot be restored; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Manifest:
    database: str  # "sqlite" or "postgresql"
    covers: int  # the change log position the backup covers
    schema_revision: str  # the database schema's Alembic revision
    taken_at: datetime  # the library's local time
    payload: str  # the tar member holding the database
    size: int
    sha256: str
    pg_schema: str | None  # PostgreSQL: the schema dumped
    kiosk_central: str  # the version that wrote it

    def to_json(self) -> bytes:
        data: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
        data.update(asdict(self))
        data["taken_at"] = self.taken_at.isoformat()
        return json.dumps(data, indent=1).encode() + b"\n"

    @classmethod
    def from_json(cls, raw: bytes, source: Path) -> Manifest:
        try:
            data = json.loads(raw)
            if data.pop("format") != FORMAT:
                raise ValueError("not a kiosk-central backup")
            if data.pop("format_version") != FORMAT_VERSION:
                raise ValueError("written by a newer kiosk-central; restore it with that one")
            data["taken_at"] = datetime.fromisoformat(data["taken_at"])
            manifest = cls(**data)
            if manifest.database not in PAYLOADS or manifest.payload != PAYLOADS[manifest.database]:
                raise ValueError(f"unknown database {manifest.database!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BackupError(f"{source}: its manifest cannot be read: {error}") from None
        return manifest


@dataclass(frozen=True, slots=True)
class BackupDone:
    path: Path
    manifest: Manifest
    seconds: float
    removed: tuple[Path, ...]  # older backups rotated away
    # On the SQLite database's own disk and not said to be copied away: the kiosks were
    # not told it covers anything (the disk failing would lose both).
    on_database_disk: bool = False


# --- the epoch and the latest backup -------------------------------------------------------


def _insert_ignoring(connection: Connection, values: dict[str, Any]) -> None:
    connection.execute(insert_or_skip(connection.dialect.name, ServerState, "id").values(**values))


def _new_epoch(now: datetime, **backup: Any) -> dict[str, Any]:
    return {"id": 1, "epoch": uuid.uuid4().hex, "epoch_started_at": now, **backup}


def server_state(session: Session, now: datetime) -> ServerState:
    """The row, made with a new epoch if the database has none (never made, or restored).
    Several servers may race to make it: one wins and all read the same."""
    state = session.get(ServerState, 1)
    if state is None:
        # The insert in a transaction of its own (committing first what the caller had, as
        # the insert's commit would): on SQLite a transaction that has read cannot take
        # the write lock once another has written since; it fails at once ("database is
        # locked"), not waiting. The first kiosks to ask a new or restored database did.
        session.commit()
        _insert_ignoring(session.connection(), _new_epoch(now))
        session.commit()
        state = session.get(ServerState, 1)
        assert state is not None
    return state


def durability(session: Session, now: datetime, *, immediately: bool) -> Durability:
    """What kiosks are told with each answer (kiosk.sync.protocol.Durability)."""
    state = server_state(session, now)
    return Durability(state.epoch, state.backup_covers, immediately=immediately)


# --- taking a backup -----------------------------------------------------------------------


def on_database_disk(engine: Engine, folder: Path, *, off_machine: bool) -> bool:
    """Whether a backup written into ``folder`` would sit on the SQLite database's own disk
    (device) without being copied off the machine: then it is no copy of the record for
    the kiosks to rely on, since the disk failing loses both. PostgreSQL's database is
    the server's business (its disk is not known here): its backups always count."""
    if off_machine or engine.dialect.name != "sqlite":
        return False
    return same_disk(_sqlite_path(engine), folder)


def same_disk(database_file: Path, folder: Path) -> bool:
    """Whether ``folder`` is on the same device as the SQLite file (False when either
    cannot be looked at: then nothing is known to share it)."""
    try:
        return folder.stat().st_dev == database_file.resolve().parent.stat().st_dev
    except OSError:
        return False


def backup(
    engine: Engine,
    target: Path,
    now: datetime,
    *,
    keep: int | None = None,
    off_machine: bool = False,
) -> BackupDone:
    """Back the database up to ``target``: a file, or a folder in which a new file is named
    by the time (and only then are older ones beyond ``keep`` removed). The database keeps
    serving meanwhile. Once the file is in place, the live database records what it covers,
    and kiosks are told so with their next answer; unless the file is on the SQLite
    database's own disk and ``off_machine`` (central.toml's [backup]) does not say it is
    copied away: then it is recorded as taken, and kiosks keep what they hold."""
    started = time.monotonic()
    into_folder = target.is_dir()
    path = target / f"{PREFIX}{now:%Y%m%d-%H%M%S}{SUFFIX}" if into_folder else target
    folder = path.parent
    if not folder.is_dir():
        raise BackupError(f"{folder}: no such folder to write the backup in")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupError(
            f"{folder}: this user cannot write there. Under systemd, "
            "kiosk-central-backup.service may write only the folders it is allowed: add "
            "this one with a ReadWritePaths= drop-in (docs/operations.md)"
        )
    kind = _kind(engine)
    with Session(engine) as session:
        epoch = server_state(session, now).epoch
    with _folder_lock(folder):
        _remove_partials(folder)
        payload = folder / f".{path.name}{PARTIAL}{os.getpid()}.{kind}"
        partial = folder / f".{path.name}{PARTIAL}{os.getpid()}"
        try:
            if kind == "sqlite":
                covers, revision, schema = _copy_sqlite(_sqlite_path(engine), payload)
            else:
                covers, revision, schema = dump_postgres(engine, payload)
            manifest = _write_tar(
                payload,
                partial,
                kind=kind,
                covers=covers,
                revision=revision,
                schema=schema,
                now=now,
            )
            os.replace(partial, path)
            _sync_folder(folder)
        finally:
            payload.unlink(missing_ok=True)
            partial.unlink(missing_ok=True)
        removed = _rotate(folder, keep) if into_folder and keep is not None else ()
    same_disk = on_database_disk(engine, folder, off_machine=off_machine)
    with engine.begin() as connection:
        connection.execute(
            update(ServerState)
            .where(ServerState.id == 1, ServerState.epoch == epoch)
            .values(backup_at=now, backup_file=str(path)[-400:], backup_on_database_disk=same_disk)
        )
        if not same_disk:
            connection.execute(
                update(ServerState)
                .where(ServerState.id == 1, ServerState.epoch == epoch)
                .where(
                    (ServerState.backup_covers.is_(None)) | (ServerState.backup_covers <= covers)
                )
                .values(backup_covers=covers)
            )
    return BackupDone(path, manifest, time.monotonic() - started, removed, same_disk)


def _kind(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in PAYLOADS:
        raise BackupError(f"cannot back up a {name} database: only SQLite and PostgreSQL")
    return name


def _sqlite_path(engine: Engine) -> Path:
    name = make_url(engine.url).database
    if not name or name == ":memory:":
        raise BackupError("the database is in memory: there is no file to back up")
    return Path(name)


def _folder_lock(folder: Path) -> contextlib.AbstractContextManager[None]:
    """One backup at a time into a folder: a second one would rotate the first's away."""
    return held_alone(
        folder / LOCK_FILE,
        BackupError(f"{folder}: another backup is being written there; try again when it is done"),
    )


@contextlib.contextmanager
def held_alone(lock_file: Path, refusal: Exception) -> Iterator[None]:
    """Held by one process at a time (an flock, gone with its process however it ends);
    another is refused at once with ``refusal``."""
    with lock_file.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise refusal from None
        yield


def _remove_partials(folder: Path) -> None:
    """What a backup killed midway left: never a backup (its name says so), and in the way.
    Only called holding the folder's lock, so none of these is still being written."""
    for leftover in folder.glob(f".*{PARTIAL}*"):
        leftover.unlink(missing_ok=True)


def _rotate(folder: Path, keep: int) -> tuple[Path, ...]:
    """Remove the oldest of the folder's timed backups, keeping the newest ``keep``."""
    timed = sorted(folder.glob(f"{PREFIX}*{SUFFIX}"))
    old = timed[: max(0, len(timed) - keep)]
    for path in old:
        path.unlink(missing_ok=True)
    return tuple(old)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _private(path: Path) -> None:
    """``path`` made empty, readable by the library's own account alone, before anything is
    written in it: it will hold every patron's record (SQLite and pg_dump keep the mode
    of a file that exists, and SQLite gives its journal the same)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)  # a file of that name left before, with another mode


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Every file made meanwhile readable by its owner alone (umask 077), whatever else
    makes one (SQLite's journal, pg_dump)."""
    before = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(before)


def _copy_sqlite(source: Path, payload: Path) -> tuple[int, str, None]:
    """SQLite's online backup in one step: one consistent read of the database while
    writers carry on (WAL). The copy loses the server's state row and its WAL mode, so it
    is one self-contained file."""
    _private(payload)
    with (
        contextlib.closing(sqlite3.connect(source, timeout=30)) as live,
        contextlib.closing(sqlite3.connect(payload, isolation_level=None)) as copy,
    ):
        live.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")
        copy.execute("DELETE FROM server_state")
        covers, revision = _position(copy)
    return covers, revision, None


def _position(copy: sqlite3.Connection) -> tuple[int, str]:
    (covers,) = copy.execute("SELECT value FROM change_counter WHERE id = 1").fetchone() or (0,)
    (revision,) = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    return int(covers), str(revision)


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump and pg_restore, and their environment: the
    password (if the URL has one) goes there, never on a command line others can read.
    The URL's query parameters (sslmode, sslrootcert, sslcert, sslkey, host= a socket
    folder, options, application_name...) go into the string as they are, so the tools
    connect as the server does."""
    url = make_url(engine.url)
    parts: dict[str, Any] = {
        key: value[-1] if isinstance(value, tuple) else value for key, value in url.query.items()
    }
    parts.update(
        (key, value)
        for key, value in {
            "host": url.host,
            "port": str(url.port) if url.port else None,
            "user": url.username,
            "dbname": url.database,
        }.items()
        if value
    )
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    return make_conninfo("", **parts), environment


def _pattern(*names: str) -> str:
    """A pg_dump pattern matching exactly these names (a schema, or schema and table):
    quoted, so that case, dots and pattern characters (* ?) are taken as they are."""
    return ".".join('"' + name.replace('"', '""') + '"' for name in names)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: install PostgreSQL's client tools "
            "(apt install postgresql-client), of the server's major version or newer"
        )
    return found


def _run_tool(command: list[str], environment: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-1000:] or done.returncode}")


def dump_postgres(engine: Engine, payload: Path) -> tuple[int, str, str]:
    """pg_dump's custom format, taken in a snapshot exported by a transaction that reads
    the change log position in that same snapshot: exactly what the dump holds. (Also
    timed alone by benchmarks/backup.py, beside the whole backup.)"""
    conninfo, environment = _libpq(engine)
    pg_dump = _tool("pg_dump")
    _private(payload)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
        covers = connection.scalar(select(ChangeCounter.value).where(ChangeCounter.id == 1)) or 0
        revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
        schema = str(connection.scalar(text("SELECT current_schema()")))
        _run_tool(
            [
                pg_dump,
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--schema={_pattern(schema)}",
                f"--exclude-table-data={_pattern(schema, 'server_state')}",
                f"--file={payload}",
                conninfo,
            ],
            environment,
            "pg_dump",
        )
        connection.rollback()
    return int(covers), str(revision), schema


class _Hashing(io.RawIOBase):
    """A file read through SHA-256, as the tar writer copies it."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.file.read(size)
        self.digest.update(chunk)
        return chunk


def _write_tar(
    payload: Path,
    partial: Path,
    *,
    kind: str,
    covers: int,
    revision: str,
    schema: str | None,
    now: datetime,
) -> Manifest:
    size = payload.stat().st_size
    # Only the library's own account may read it: it holds every patron's record.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(descriptor, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.copybufsize = COPY_BUFFER  # type: ignore[attr-defined]  # 16 kB else
            member = tarfile.TarInfo(PAYLOADS[kind])
            member.size, member.mtime, member.mode = size, int(now.timestamp()), 0o600
            with payload.open("rb") as source:
                hashing = _Hashing(source)
                tar.addfile(member, hashing)
            manifest = Manifest(
                database=kind,
                covers=covers,
                schema_revision=revision,
                taken_at=now,
                payload=PAYLOADS[kind],
                size=size,
                sha256=hashing.digest.hexdigest(),
                pg_schema=schema,
                kiosk_central=__version__,
            )
            # Last: a file that has a manifest was written to its end.
            raw_manifest = manifest.to_json()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(raw_manifest), member.mtime, 0o600
            tar.addfile(info, io.BytesIO(raw_manifest))
        raw.flush()
        os.fsync(raw.fileno())
    return manifest


# --- checking and restoring ----------------------------------------------------------------


def check(source: Path, into: Path | None = None) -> Manifest:
    """The backup's manifest, once its database part is read whole and matches its hash;
    with ``into``, that part is also written there. Raises BackupError saying what is
    wrong with anything else (half written, damaged, not a backup)."""
    try:
        with tarfile.open(source, mode="r:") as tar:
            members = tar.getmembers()
            names = [member.name for member in members]
            if len(names) != 2 or names[1] != MANIFEST or names[0] not in PAYLOADS.values():
                raise BackupError(
                    f"{source}: not a complete kiosk-central backup (it holds {names[:4]}; a "
                    f"backup holds the database then {MANIFEST}): perhaps one stopped midway"
                )
            manifest_file = tar.extractfile(members[1])
            assert manifest_file is not None
            manifest = Manifest.from_json(manifest_file.read(), source)
            payload = tar.extractfile(members[0])
            assert payload is not None
            digest, size = hashlib.sha256(), 0
            with contextlib.ExitStack() as stack:
                out = None
                if into is not None:  # the library's own account alone, as the backup
                    descriptor = os.open(into, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    out = stack.enter_context(open(descriptor, "wb"))
                while chunk := payload.read(COPY_BUFFER):
                    digest.update(chunk)
                    size += len(chunk)
                    if out is not None:
                        out.write(chunk)
                if out is not None:
                    out.flush()
                    os.fsync(out.fileno())
    except FileNotFoundError:
        raise BackupError(f"{source}: no such file") from None
    except (tarfile.TarError, EOFError) as error:
        raise BackupError(
            f"{source}: not a complete kiosk-central backup ({error}): perhaps one stopped "
            "midway, or the file was damaged"
        ) from None
    except OSError as error:
        if error.errno == errno.ENOSPC and into is not None:
            raise BackupError(f"{into.parent}: no room to unpack the backup") from None
        raise BackupError(f"{source}: cannot be read: {error.strerror}") from None
    if (
        names[0] != manifest.payload
        or size != manifest.size
        or digest.hexdigest() != (manifest.sha256)
    ):
        raise BackupError(
            f"{source}: damaged: its database part does not match the checksum its manifest "
            "recorded; restore another backup"
        )
    return manifest


def restore(engine: Engine, source: Path, now: datetime, *, force: bool) -> tuple[Manifest, str]:
    """Replace the database with the backup ``source``, checked first. Refused when the
    database already holds a library, unless ``force``. The restored database starts a new
    epoch (returned), in which the backup it came from counts as its first."""
    kind = _kind(engine)
    manifest = check(source)  # everything is checked before anything is changed
    if manifest.database != kind:
        raise BackupError(
            f"{source} is a backup of a {manifest.database} database; this one is {kind}: "
            "restore it into a database of its own kind (docs/operations.md)"
        )
    if manifest.schema_revision not in database.known_revisions():
        raise BackupError(
            f"{source} was taken by a newer kiosk-central ({manifest.kiosk_central}, schema "
            f"{manifest.schema_revision}) than this one ({__version__}), whose schema this "
            "version does not know: install that version or newer, then restore"
        )
    if kind == "sqlite":
        epoch = _restore_sqlite(engine, source, manifest, now, force)
    else:
        epoch = _restore_postgres(engine, source, manifest, now, force)
    return manifest, epoch


def _refuse_live(where: str, force: bool) -> None:
    if not force:
        raise BackupError(
            f"{where} already holds a library: restoring would replace it. Stop kiosk-central "
            "(every process using this database), then restore with --force"
        )


def _restore_sqlite(
    engine: Engine, source: Path, manifest: Manifest, now: datetime, force: bool
) -> str:
    """Unpacked, checked, upgraded and given its epoch beside the database, then renamed
    over it: the database is the old one or the whole restored one, never between."""
    target = _sqlite_path(engine)
    engine.dispose()
    if target.exists() and target.stat().st_size > 0:
        _refuse_live(str(target), force)
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent}: no such folder for the database")
    unpacked = target.with_name(f".{target.name}{PARTIAL}{os.getpid()}")
    with contextlib.ExitStack() as stack:
        if target.exists():
            stack.enter_context(_alone_on(target))
        return _replace_sqlite(source, manifest, now, target=target, unpacked=unpacked, held=stack)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def _alone_on(target: Path) -> Iterator[None]:
    """The database held by this process alone (SQLite's exclusive locking mode, which a
    WAL database grants only while no other connection has it open, even an idle one),
    until the restored file is ready to take its place: then released, which folds its
    write-ahead log into it. Refused while kiosk-central or anything else uses it."""
    uri = f"file:{urllib.parse.quote(str(target))}?mode=rw"
    try:
        holder = sqlite3.connect(uri, uri=True, timeout=0.5, isolation_level=None)
    except sqlite3.Error as error:
        raise BackupError(f"{target}: cannot be opened ({error})") from None
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        holder.close()
        raise BackupError(
            f"{target} is in use by another process (kiosk-central serve, sip2, notices, a "
            "backup): stop every one of them, then restore (docs/operations.md)"
        ) from None
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            holder.execute("ROLLBACK")
        holder.close()


def _replace_sqlite(
    source: Path,
    manifest: Manifest,
    now: datetime,
    *,
    target: Path,
    unpacked: Path,
    held: contextlib.ExitStack,
) -> str:
    try:
        check(source, into=unpacked)
        with contextlib.closing(sqlite3.connect(unpacked)) as copy:
            result = copy.execute("PRAGMA integrity_check").fetchone()
        if result != ("ok",):
            raise BackupError(f"{source}: its database is damaged ({result}); restore another")
        restored = database.connect(f"sqlite:///{unpacked}")
        try:
            database.upgrade(restored)
            epoch = _start_epoch(restored, source, manifest, now)
        finally:
            restored.dispose()
        held.close()  # the old database released: its log folded into it
        # What is left of the old database's write-ahead log belongs to it alone: kept
        # beside the new file, SQLite would play it into the new one. Renamed aside, and
        # put back should the new file not take the old one's place.
        aside: list[tuple[Path, Path]] = []
        for suffix in ("-wal", "-shm"):
            log = Path(f"{target}{suffix}")
            if log.exists():
                moved = log.with_name(f".{log.name}{PARTIAL}{os.getpid()}")
                os.replace(log, moved)
                aside.append((log, moved))
        try:
            os.replace(unpacked, target)
        except BaseException:
            for log, moved in aside:
                os.replace(moved, log)
            raise
        _sync_folder(target.parent)
        for _log, moved in aside:
            moved.unlink(missing_ok=True)
        return epoch
    finally:
        unpacked.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{unpacked}{suffix}").unlink(missing_ok=True)


def _restore_postgres(
    engine: Engine, source: Path, manifest: Manifest, now: datetime, force: bool
) -> str:
    """Restored into a new schema of the live one's name while the live one waits beside
    it, renamed; dropped only once the restored one is whole, upgraded and given its
    epoch. Should anything fail, the new one goes and the old one is renamed back: the
    library is the old one or the whole restored one, never between."""
    pg_restore = _tool("pg_restore")
    with engine.connect() as connection:
        schema = str(connection.scalar(text("SELECT current_schema()")))
        live = connection.scalar(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = :schema"), {"schema": schema}
        )
        exists = bool(
            connection.scalar(
                text("SELECT count(*) FROM pg_namespace WHERE nspname = :schema"),
                {"schema": schema},
            )
        )
    if manifest.pg_schema != schema:
        raise BackupError(
            f"{source} is a backup of schema {manifest.pg_schema!r}; this database's is "
            f"{schema!r}: restore it where the database URL's schema is the same"
        )
    if live:
        _refuse_live(f"schema {schema!r} ({live} tables)", force)
    _refuse_others_on(engine, schema)
    conninfo, environment = _libpq(engine)
    folder = Path(os.environ.get("TMPDIR", "/tmp"))
    unpacked = folder / f"kiosk-central-restore{PARTIAL}{os.getpid()}.pgdump"
    listing = unpacked.with_suffix(".list")
    quoted = _identifier(schema)
    aside = _identifier(f"{schema[:36]}_before_restore_{os.getpid()}")
    try:
        check(source, into=unpacked)
        # The schema is made here, empty, so the dump's own CREATE SCHEMA is left out.
        entries = subprocess.run(
            [pg_restore, "--list", str(unpacked)],
            capture_output=True,
            text=True,
            check=False,
        )
        if entries.returncode != 0:
            raise BackupError(f"{source}: pg_restore cannot read its dump: {entries.stderr}")
        listing.write_text(
            "\n".join(
                line for line in entries.stdout.splitlines() if f" SCHEMA - {schema} " not in line
            )
            + "\n"
        )
        with engine.begin() as connection:
            if exists:
                connection.execute(text(f"ALTER SCHEMA {quoted} RENAME TO {aside}"))
            connection.execute(text(f"CREATE SCHEMA {quoted}"))
        try:
            _run_tool(
                [
                    pg_restore,
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--use-list={listing}",
                    f"--dbname={conninfo}",
                    str(unpacked),
                ],
                environment,
                "pg_restore",
            )
            engine.dispose()
            database.upgrade(engine)
            epoch = _start_epoch(engine, source, manifest, now)
        except BaseException:
            engine.dispose()
            with engine.begin() as connection:  # the library as it was
                connection.execute(text(f"DROP SCHEMA IF EXISTS {quoted} CASCADE"))
                if exists:
                    connection.execute(text(f"ALTER SCHEMA {aside} RENAME TO {quoted}"))
            raise
        if exists:
            with engine.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {aside} CASCADE"))
        return epoch
    finally:
        unpacked.unlink(missing_ok=True)
        listing.unlink(missing_ok=True)
        engine.dispose()


def _refuse_others_on(engine: Engine, schema: str, wait: float = 5.0) -> None:
    """Refused while another kiosk-central process has a connection to this library's
    schema (each names it in its application_name; kiosk.central.database). A process
    just stopped may take a moment to be gone: waited for up to ``wait`` seconds."""
    engine.dispose()
    deadline = time.monotonic() + wait
    while True:
        with engine.connect() as connection:
            others = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND application_name = left(:label, 63)"
                ),
                {"label": database.APPLICATION_PREFIX + schema},
            )
        if not others:
            engine.dispose()
            return
        if time.monotonic() > deadline:
            engine.dispose()
            raise BackupError(
                f"schema {schema!r} is in use by {others} other connection"
                f"{'s' if others != 1 else ''} of kiosk-central (serve, sip2, notices, a "
                "backup): stop every one of them, then restore (docs/operations.md)"
            )
        time.sleep(0.2)


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def new_epoch(engine: Engine, now: datetime) -> str:
    """Start a new epoch by hand (``kiosk-central new-epoch``), for a database brought back
    by other means than ``restore``: a point-in-time recovery, a VM or disk snapshot, a
    copied SQLite file. Those keep ``server_state`` as it was at that moment, so the
    kiosks would not see that the change log went back. No backup covers anything of the
    new epoch yet: kiosks keep what they push again until the next backup."""
    values = _new_epoch(now)
    with engine.begin() as connection:
        connection.execute(delete(ServerState))
        _insert_ignoring(connection, values)
    return str(values["epoch"])


def _start_epoch(engine: Engine, source: Path, manifest: Manifest, now: datetime) -> str:
    """A new epoch whose first backup is the one restored: what kiosks push again is
    covered only by the next backup."""
    values = _new_epoch(
        now,
        backup_covers=manifest.covers,
        backup_at=manifest.taken_at,
        backup_file=str(source)[-400:],
    )
    with engine.begin() as connection:
        connection.execute(delete(ServerState))
        _insert_ignoring(connection, values)
    return str(values["epoch"])
