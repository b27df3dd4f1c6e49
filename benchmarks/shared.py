"""What several benchmarks share, so that each piece is written once:

- **the large library, loaded once and kept**, named after its scale: a PostgreSQL schema
  (``bench_web_...``) or, for ``sqlite``, a file of that name in a folder of the machine's
  temporary one. benchmarks/web.py and benchmarks/backup.py load and find the same one;
- **simulated kiosks syncing as the agent does** (a push of two entries, a pull and a
  heartbeat each round), spread over client processes: benchmarks/sync.py and
  benchmarks/backup.py;
- the real ``kiosk-central serve`` on a loopback port with a central.toml of its own;
- where the machine's CPU went (Linux's /proc).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.circulation.policy import put_policy
from kiosk.central.models import Kiosk, Record
from kiosk.central.process import CentralProcess
from kiosk.central.web.accounts import add_staff
from kiosk.common.clock import SystemClock
from kiosk.demo.central_command import load_library
from kiosk.demo.library import Scale, generate_library
from kiosk.sync.protocol import Heartbeat, PushRequest, WireEntry

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
CLOCK = SystemClock()  # the server's own: sessions, expiry dates and due dates agree
PASSWORD = "the benchmark's staff password"
SQLITE = "sqlite"  # in place of a PostgreSQL URL: the library in a SQLite file
SQLITE_FOLDER = Path(tempfile.gettempdir()) / "kiosk-benchmarks"


# --- the library, loaded once ----------------------------------------------------------


def schema_name(scale: Scale, kiosks: int, history: int) -> str:
    """The schema (or SQLite file) one scale is loaded into (so that a later run at the
    same scale finds it)."""
    return f"bench_web_{scale.items}_{scale.patrons}_{scale.loans}_{kiosks}_{history}_s{scale.seed}"


def in_schema(url: str, schema: str) -> str:
    """``url`` with every connection's search_path set to ``schema``."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def sqlite_file(name: str) -> Path:
    return SQLITE_FOLDER / f"{name}.db"


def library_url(where: str, name: str) -> str:
    """The server's database URL for the library ``name``: a schema of the PostgreSQL
    database ``where``, or with ``where`` "sqlite" a file in SQLITE_FOLDER."""
    return f"sqlite:///{sqlite_file(name)}" if where == SQLITE else in_schema(where, name)


# A schema bearing it was loaded to its end (the words of the benchmark that first
# loaded one, so that schemas kept since are still found).
MARK = "loaded by benchmarks/web.py"


def _loaded(where: str, name: str) -> bool:
    if where == SQLITE:
        return sqlite_file(name).exists()  # renamed into place once loaded
    admin = database.connect(where)
    try:
        with admin.connect() as connection:
            comment: str | None = connection.scalar(
                text(
                    "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace "
                    "WHERE nspname = :s"
                ),
                {"s": name},
            )
    finally:
        admin.dispose()
    return comment == MARK


def drop(where: str, name: str) -> None:
    """The library ``name`` removed."""
    if where == SQLITE:
        for suffix in ("", ".partial"):
            for extra in ("", "-wal", "-shm"):
                Path(f"{sqlite_file(name)}{suffix}{extra}").unlink(missing_ok=True)
        return
    admin = database.connect(where)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
    admin.dispose()


def load(
    where: str, name: str, scale: Scale, *, kiosks: int, history: int, sessions: int
) -> float | None:
    """The library for this scale, loaded now (returns the seconds it took) or found
    loaded by an earlier run (returns None): the demo library, a ledger line for each
    patron who owes, ``kiosks`` kiosks with heartbeats, ``history`` past transactions
    and ``sessions`` staff accounts. ``where``: a PostgreSQL URL, or "sqlite"."""
    if _loaded(where, name):
        engine = database.connect(library_url(where, name))
        database.upgrade(engine)  # a migration added since it was loaded
        _staff(engine, sessions)
        _heartbeats(engine, CLOCK.now())
        engine.dispose()
        return None
    started = time.perf_counter()
    drop(where, name)
    if where == SQLITE:
        SQLITE_FOLDER.mkdir(exist_ok=True)
        url = f"sqlite:///{sqlite_file(name)}.partial"
    else:
        admin = database.connect(where)
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {name}"))
        admin.dispose()
        url = library_url(where, name)
    engine = database.connect(url)
    database.upgrade(engine)
    now = CLOCK.now()
    library = generate_library(scale, now)
    log(f"generated in {time.perf_counter() - started:.0f} s")
    with Session(engine) as session:
        put_policy(session, library.document, now)
    with engine.begin() as connection:
        load_library(connection, library, now)
    del library
    log(f"loaded in {time.perf_counter() - started:.0f} s")
    _ledger(engine, now)
    _kiosks(engine, kiosks, now)
    _heartbeats(engine, now)
    _history(engine, history, now)
    _staff(engine, sessions)
    tables = "records, items, patrons, loans, holds, ledger, kiosks, transactions"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE" if where == SQLITE else f"ANALYZE {tables}"))
    engine.dispose()
    if where == SQLITE:
        os.replace(f"{sqlite_file(name)}.partial", sqlite_file(name))
    else:
        admin = database.connect(where)
        with admin.begin() as connection:
            connection.execute(text(f"COMMENT ON SCHEMA {name} IS '{MARK}'"))
        admin.dispose()
    return time.perf_counter() - started


def _ledger(engine: Engine, now: datetime) -> None:
    """A fine for each patron who owes (what they owe), and a payment before it for one
    in ten of them: the patron page shows a ledger."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ledger (patron_id, amount, kind, entry_id, at, note) "
                "SELECT patron_id, owed, 'fine', NULL, :at, 'overdue' FROM patrons WHERE owed > 0"
            ),
            {"at": now - timedelta(days=9)},
        )
        connection.execute(
            text(
                "INSERT INTO ledger (patron_id, amount, kind, entry_id, at, note) "
                "SELECT patron_id, -1.50, 'payment', NULL, :at, 'paid at the desk' "
                "FROM patrons WHERE owed > 0 AND patron_id LIKE '%0'"
            ),
            {"at": now - timedelta(days=20)},
        )


def _kiosks(engine: Engine, count: int, now: datetime) -> None:
    """``count`` kiosks, registered as staff register them."""
    with Session(engine) as db:
        for number in range(count):
            add_kiosk(db, f"branch-{number:03d}", now)


def _heartbeats(engine: Engine, now: datetime) -> None:
    """Each kiosk's last heartbeat, as of ``now`` (so that a schema kept from an earlier
    run shows the same lights): most green, some amber or red, the last never heard
    from."""
    with Session(engine) as db:
        names = list(db.scalars(select(Kiosk.name).order_by(Kiosk.name)))
        for number, name in enumerate(names[:-1]):
            silent = (
                timedelta(hours=3)
                if number % 25 == 0
                else timedelta(minutes=5)
                if number % 10 == 0
                else timedelta(seconds=number % 15)
            )
            db.execute(
                update(Kiosk)
                .where(Kiosk.name == name)
                .values(
                    last_seen=now - silent,
                    version="0.1.0",
                    journal_depth=number % 7,
                    oldest_pending=now - timedelta(minutes=number % 50) if number % 7 else None,
                    last_error="server unreachable" if number % 33 == 0 else None,
                    scanners=["hid:Honeywell"] if number % 40 else [],
                    disk_free_mb=150 if number % 50 == 0 else 12_000,
                )
            )
        db.commit()


def _history(engine: Engine, count: int, now: datetime) -> None:
    """``count`` past transactions (checkouts and returns in turn, at the kiosks, over the
    last year), spread over the items two by two: what an item's page lists as its last
    transactions, and what each new one is inserted among."""
    if count <= 0:
        return
    if engine.dialect.name == SQLITE:  # no generate_series, md5 or intervals
        series = (
            "WITH RECURSIVE series(g) AS "
            "(SELECT 1 UNION ALL SELECT g + 1 FROM series WHERE g < :count), "
        )
        spread = "substr(barcode, -3), barcode"
        ago = "CAST((:count - g) * (31536000.0 / :count) AS INTEGER)"
        at = f"datetime(:now, '-' || {ago} || ' seconds')"
        numbers = "series"
    else:
        series, spread = "WITH ", "md5(barcode)"
        at = ":now - (:count - g) * (31536000.0 / :count) * interval '1 second'"
        numbers = "generate_series(1::bigint, :count) AS g"
    with engine.begin() as connection:
        if engine.dialect.name != SQLITE:
            # Misled by the series' estimates, PostgreSQL merged 5e13 rows it foresaw for
            # the 2,000,000 there are, and ran for over an hour; hashed, under a minute.
            connection.execute(text("SET LOCAL enable_mergejoin = off"))
        connection.execute(
            text(
                f"{series}shelf AS (SELECT barcode, row_number() OVER (ORDER BY {spread}) AS n "
                "FROM items), "
                "people AS (SELECT patron_id, row_number() OVER (ORDER BY patron_id) AS n "
                "FROM patrons), "
                "counts AS (SELECT (SELECT count(*) FROM items) AS items, "
                "(SELECT count(*) FROM patrons) AS patrons, "
                "(SELECT count(*) FROM kiosks) AS kiosks, (SELECT min(id) FROM kiosks) AS first) "
                "INSERT INTO transactions (id, kiosk_id, kiosk_seq, kind, item_barcode, "
                "patron_id, decided_at, applied_at, outcome, change_seq, details, charged, actor) "
                "SELECT 'history-' || g, c.first + g % c.kiosks, g, "
                "CASE WHEN g % 2 = 0 THEN 'checkout' ELSE 'return' END, s.barcode, p.patron_id, "
                f"{at}, {at}, 'applied', 0, '{{}}', 0, NULL "
                f"FROM {numbers} CROSS JOIN counts AS c "
                "JOIN shelf AS s ON s.n = 1 + (g / 2) % c.items "
                "JOIN people AS p ON p.n = 1 + ((g / 2) * 7919) % c.patrons"
            ),
            {"now": now, "count": count},
        )


def _staff(engine: Engine, sessions: int) -> None:
    """One circulation account per session (made once; a rerun with more makes more)."""
    with Session(engine) as db:
        have = set(db.scalars(text("SELECT username FROM staff")))
        for number in range(sessions):
            username = f"desk-{number:02d}"
            if username not in have:
                now = CLOCK.now()
                add_staff(db, username, "circulation", PASSWORD, now, actor="bench", origin="bench")


# --- the server ----------------------------------------------------------------------------


@contextmanager
def serving(url: str, workers: int, scratch: Path) -> Iterator[CentralProcess]:
    """The real ``kiosk-central serve`` on a loopback port, its log and central.toml in
    ``scratch``."""
    config = scratch / "central.toml"
    config.write_text(
        '[library]\nname = "Benchmark Library"\n[web]\nsecure_cookies = false\n',
        encoding="utf-8",
    )
    server = CentralProcess(url, workers=workers, log=scratch / "server.log", config=config)
    server.start(timeout=120)
    try:
        yield server
    finally:
        server.stop()


# --- simulated kiosks ------------------------------------------------------------------------


def make_entries(
    count: int, barcodes: list[str], patron_id: str, *, decided_from: datetime, first: int = 1
) -> list[WireEntry]:
    """Journal entries ``first`` to ``first + count - 1``, returns and checkouts in turn, of
    ``barcodes`` in turn, each decided a second after ``decided_from`` and the one before."""
    entries = []
    for seq in range(first, first + count):
        barcode = barcodes[seq % len(barcodes)]
        entries.append(
            WireEntry(
                id=str(uuid.uuid4()),
                seq=seq,
                kind="return" if seq % 2 else "checkout",
                decided_at=decided_from + timedelta(seconds=seq),
                item_barcode=barcode,
                patron_id=patron_id,
                details={},
                charged=Decimal(0),
                status_after="available" if seq % 2 else "on_loan",
                loan_patron_id=None if seq % 2 else patron_id,
                loan_member_type=None if seq % 2 else "ADULT",
                loan_due=None if seq % 2 else "2026-12-14",
                loan_renewals=None if seq % 2 else 0,
                fulfilled_hold_of=None,
            )
        )
    return entries


# One simulated kiosk: its token, the items it lends and the patron it lends them to.
SimulatedKiosk = tuple[str, list[str], str]
# One request timed: when it began (time.monotonic(), the same clock in every process on
# Linux) and how long its answer took, in milliseconds.
Timed = tuple[float, float]


class Kiosks:
    """Simulated kiosks, each a thread doing the agent's round (push, pull, heartbeat) every
    ``interval`` seconds from a random moment within the first, spread over ``processes``
    client processes (their threads share one GIL each, so that the client's own Python is
    not what is measured). ``rounds`` rounds each, or with ``rounds`` None until
    :meth:`stop`."""

    def __init__(
        self,
        server: str,
        kiosks: list[SimulatedKiosk],
        *,
        processes: int,
        rounds: int | None,
        interval: float,
        decided_from: datetime,
    ) -> None:
        self.processes = max(1, min(processes, len(kiosks)))
        self.ready = multiprocessing.Barrier(self.processes + 1)
        self.halt = multiprocessing.Event()
        self.results: multiprocessing.Queue[tuple[list[Timed], list[str], float]] = (
            multiprocessing.Queue()
        )
        self.clients = [
            multiprocessing.Process(
                target=_client,
                args=(server, kiosks[n :: self.processes]),
                kwargs={
                    "rounds": rounds,
                    "interval": interval,
                    "decided_from": decided_from,
                    "ready": self.ready,
                    "halt": self.halt,
                    "results": self.results,
                },
                daemon=True,  # ended with this process, should it stop on an error
            )
            for n in range(self.processes)
        ]

    def start(self) -> float:
        """Once every client has its threads and sessions ready: go (the time.monotonic()
        of the start)."""
        for client in self.clients:
            client.start()
        self.ready.wait()
        return time.monotonic()

    def stop(self) -> None:
        """Each kiosk finishes the request it is on and starts no other round."""
        self.halt.set()

    def collect(self) -> tuple[list[Timed], list[str], float]:
        """Every request timed, every failure (by kind) and the clients' CPU seconds, once
        each kiosk has done its rounds (or been stopped)."""
        timed: list[Timed] = []
        failures: list[str] = []
        cpu = 0.0
        for _ in self.clients:
            got, failed, used = self.results.get()
            timed += got
            failures += failed
            cpu += used
        for client in self.clients:
            client.join()
        return timed, failures, cpu


def _client(
    server: str,
    kiosks: list[SimulatedKiosk],
    *,
    rounds: int | None,
    interval: float,
    decided_from: datetime,
    ready: Any,
    halt: Any,
    results: Any,
) -> None:
    """One client process: a thread per simulated kiosk, all started at once."""
    timed: list[Timed] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(kiosks) + 1)

    def kiosk(token: str, barcodes: list[str], patron_id: str) -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        beat = Heartbeat(
            version="bench",
            journal_depth=0,
            oldest_pending=None,
            last_error=None,
            scanners=["keyboard"],
            disk_free_mb=20_000,
        ).model_dump_json()
        cursor = 0
        start.wait()
        # Paced kiosks start at random moments within the first interval, as real ones do.
        due = time.monotonic() + random.uniform(0, interval)
        for round_ in itertools.count() if rounds is None else range(rounds):
            if halt.wait(max(0.0, due - time.monotonic())):
                break
            due += interval
            for call in ("push", "pull", "heartbeat"):
                began = time.monotonic()
                try:
                    if call == "push":
                        batch = make_entries(
                            2, barcodes, patron_id, decided_from=decided_from, first=2 * round_ + 1
                        )
                        response = http.post(
                            f"{server}/v1/journal",
                            data=PushRequest(entries=batch).model_dump_json(),
                            headers={"Content-Type": "application/json"},
                            timeout=60,
                        )
                        response.raise_for_status()
                    elif call == "pull":
                        response = http.get(
                            f"{server}/v1/changes", params={"since": cursor}, timeout=60
                        )
                        response.raise_for_status()
                        cursor = response.json()["cursor"]
                    else:
                        response = http.post(
                            f"{server}/v1/heartbeat",
                            data=beat,
                            headers={"Content-Type": "application/json"},
                            timeout=60,
                        )
                        response.raise_for_status()
                except Exception as error:  # every failure is counted, by kind; the kiosk goes on
                    with lock:
                        failures.append(f"{call}: {type(error).__name__}")
                    continue
                with lock:
                    timed.append((began, (time.monotonic() - began) * 1000))
            if not interval:
                time.sleep(random.uniform(0, 0.05))

    threads = [threading.Thread(target=kiosk, args=simulated) for simulated in kiosks]
    cpu = all_at_once(threads, ready, start)
    results.put((timed, failures, cpu))


@dataclass
class Timings:
    """Milliseconds by kind of request, and what failed."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def add(self, kind: str, began: float) -> None:
        self.samples.setdefault(kind, []).append((time.perf_counter() - began) * 1000)

    def merge(self, other: Timings) -> None:
        for kind, values in other.samples.items():
            self.samples.setdefault(kind, []).extend(values)
        self.failures.extend(other.failures)


def members_at_once(
    members: list[Any], act: Callable[[Any, Timings], None], ready: Any
) -> tuple[Timings, float]:
    """In one client process, ``act(member, timings)`` for each member in a thread of its
    own, all at once when every client process is ready (``all_at_once``): their timings
    together, and this process's CPU seconds."""
    timings, lock = Timings(), threading.Lock()
    start = threading.Barrier(len(members) + 1)

    def one(member: Any) -> None:
        own = Timings()
        start.wait()
        act(member, own)
        with lock:
            timings.merge(own)

    threads = [threading.Thread(target=one, args=(member,)) for member in members]
    return timings, all_at_once(threads, ready, start)


def fiction_titles(session: Session) -> itertools.cycle[int]:
    """The library's fiction records in catalogue order, over and over: the titles of
    the copies a benchmark adds, a title to a copy while they last. All of one title,
    every checkout and return waited on that title's hold-queue lock (taken with the
    item and the patron: circulation.changes), as if the library lent nothing else."""
    brns = list(
        session.scalars(
            select(Record.brn).where(Record.publication_type == "FICTION").order_by(Record.brn)
        )
    )
    if not brns:
        raise SystemExit("benchmark setup: the demo library has no fiction")
    return itertools.cycle(brns)


@dataclass
class Clients:
    """What ``clients_at_once`` gathered: each client process's result, and from the moment
    all were ready until the last result came, the seconds, every process's CPU on the
    machine and the server's CPU (0 without one)."""

    results: list[Any]
    elapsed_s: float
    machine_cpu_s: float
    server_cpu_s: float


def clients_at_once(
    client: Callable[..., None], each: list[dict[str, Any]], server_pid: int | None = None
) -> Clients:
    """A client process for each of ``each`` (``client(**kwargs, ready=, results=)``,
    which puts one result on ``results``), timed from when every one is ready (its
    members signed in, its connections open) until every one has answered."""
    ready = multiprocessing.Barrier(len(each) + 1)
    results: multiprocessing.Queue[Any] = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(
            target=client, kwargs={**kwargs, "ready": ready, "results": results}
        )
        for kwargs in each
    ]
    for process in processes:
        process.start()
    ready.wait()
    began, busy = time.perf_counter(), machine_busy_s()
    server = tree_cpu_s(server_pid) if server_pid else 0.0
    gathered = [results.get() for _ in processes]
    elapsed, busy = time.perf_counter() - began, machine_busy_s() - busy
    server = (tree_cpu_s(server_pid) - server) if server_pid else 0.0
    for process in processes:
        process.join()
    return Clients(gathered, elapsed, busy, server)


def all_at_once(threads: list[threading.Thread], ready: Any, start: threading.Barrier) -> float:
    """A client process's threads started, each waiting at ``start``; once every client
    process is at ``ready``, all go at once. The CPU seconds this process spent from then
    until every thread ended."""
    for thread in threads:
        thread.start()
    ready.wait()
    start.wait()
    cpu = time.process_time()
    for thread in threads:
        thread.join()
    return time.process_time() - cpu


# --- figures -----------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    """The sample at ``fraction`` of the sorted samples (the rule of circulation.py and sip2.py)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(samples: list[float]) -> dict[str, float | int]:
    """Count, p50, p95, p99 and the largest, in milliseconds rounded to 0.1."""
    if not samples:
        return {"count": 0}
    return {
        "count": len(samples),
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 0.95), 1),
        "p99_ms": round(percentile(samples, 0.99), 1),
        "max_ms": round(max(samples), 1),
    }


# --- the machine ---------------------------------------------------------------------------


def machine_busy_s() -> float:
    """CPU seconds spent by every process on the machine so far (Linux)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` and its descendants (Linux): the server's workers, living
    (their utime and stime) and ended (their parent's cutime and cstime, once it has
    waited for them): uvicorn replaces a worker that misses its health check, and the
    ended one's seconds must not drop out of the count (a negative CPU time in CI)."""
    total = 0.0
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += sum(int(field) for field in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += tree_cpu_s(int(child))
    except FileNotFoundError:  # it ended meanwhile
        pass
    return total


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
