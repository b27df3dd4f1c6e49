"""How fast kiosks and kiosk-central exchange the library, the journal and the changes.

Runs the real server as its own process on a loopback port and measures:

- the initial snapshot of the demo library (default 2,000,000 items and 500,000
  patrons) into an empty kiosk: time and bytes on the wire, against the floor of
  plain ``sqlite3`` loading the same rows from a local file into the same tables;
- a delta of 10,000 changes;
- the flush of 10,000 journal entries after a day offline;
- many simulated kiosks pushing and pulling at once (PostgreSQL only; give
  ``--postgres URL``): p50/p99 latency and requests per second. The simulated
  kiosks run in several client processes, so that the client's own Python is not
  what is measured.

    python benchmarks/sync.py [--items N] [--patrons M] [--loans K] [--delta D]
                              [--flush F] [--kiosks K] [--postgres URL] [--json]
                              [--only library|many-kiosks] [--workers W]
                              [--client-processes P] [--interval S] [--rounds R]
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import text
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.circulation.policy import put_policy
from kiosk.central.models import Item
from kiosk.central.process import CentralProcess
from kiosk.common.clock import FixedClock
from kiosk.demo.central_command import load_library
from kiosk.demo.library import Scale, generate_library
from kiosk.store.store import Store
from kiosk.sync.agent import DEFAULT_INTERVAL_S, SyncAgent
from kiosk.sync.protocol import Heartbeat, PushRequest, WireEntry

NOW = datetime(2026, 11, 23, 10, 0)


class CountingSession(requests.Session):
    """Counts the bytes that crossed the wire (compressed bodies)."""

    wire_bytes = 0

    def send(self, request: Any, **kwargs: Any) -> Any:
        response = super().send(request, **kwargs)
        CountingSession.wire_bytes += int(
            response.headers.get("Content-Length") or len(response.raw.data or b"")
        )
        return response


def snapshot_floor(mirror: Path, scratch: Path) -> float:
    """Plain sqlite3 loading the same rows, from a local CSV file, into the same tables."""
    source = sqlite3.connect(mirror)
    target_path = scratch / "floor.db"
    target = sqlite3.connect(target_path, isolation_level=None)
    target.execute("PRAGMA journal_mode = WAL")
    target.execute("PRAGMA synchronous = NORMAL")
    tables = ["records", "items", "patrons", "loans", "holds"]
    for table in tables:
        (schema,) = source.execute(
            "SELECT sql FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        target.execute(schema)
        with open(scratch / f"{table}.csv", "w", newline="") as out:
            csv.writer(out).writerows(source.execute(f"SELECT * FROM {table}"))
    started = time.perf_counter()
    target.execute("BEGIN")
    for table in tables:
        with open(scratch / f"{table}.csv", newline="") as rows:
            width = len(source.execute(f"SELECT * FROM {table} LIMIT 1").description or ())
            target.executemany(
                f"INSERT INTO {table} VALUES ({', '.join('?' * width)})",
                ([value if value != "" else None for value in row] for row in csv.reader(rows)),
            )
    target.execute("COMMIT")
    return time.perf_counter() - started


def make_entries(count: int, barcodes: list[str], patron_id: str) -> list[WireEntry]:
    entries = []
    for seq in range(1, count + 1):
        barcode = barcodes[seq % len(barcodes)]
        entries.append(
            WireEntry(
                id=str(uuid.uuid4()),
                seq=seq,
                kind="return" if seq % 2 else "checkout",
                decided_at=NOW + timedelta(seconds=seq),
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


PARTS = ("library", "many-kiosks")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2_000_000)
    parser.add_argument("--patrons", type=int, default=500_000)
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--delta", type=int, default=10_000)
    parser.add_argument("--flush", type=int, default=10_000)
    parser.add_argument("--kiosks", type=int, default=200)
    parser.add_argument(
        "--rounds", type=int, default=5, help="sync rounds per kiosk (push, pull, heartbeat)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL_S,
        help=f"seconds from the start of one of a kiosk's rounds to the next (default "
        f"{DEFAULT_INTERVAL_S:g}, the sync agent's own); 0: back to back, each kiosk starting "
        "its next round as soon as the last is answered, which measures the server's capacity",
    )
    parser.add_argument("--postgres", help="a PostgreSQL URL for the many-kiosks run")
    parser.add_argument(
        "--only",
        choices=PARTS,
        help="run one part: library (snapshot, delta, flush) or many-kiosks (needs --postgres)",
    )
    parser.add_argument(
        "--workers", type=int, default=4, help="server processes for the many-kiosks run"
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=2,
        help="processes the simulated kiosks are spread over (their threads share one GIL each)",
    )
    parser.add_argument(
        "--server-log", type=Path, help="append the many-kiosks server's own log to this file"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.only == "many-kiosks" and not args.postgres:
        parser.error("--only many-kiosks needs --postgres URL")
    result: dict[str, Any] = {}
    if args.only in (None, "library"):
        result.update(library_part(args))
    if args.only in (None, "many-kiosks") and args.postgres:
        result.update(many_kiosks(args))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    return 0


def library_part(args: argparse.Namespace) -> dict[str, Any]:  # noqa: PLR0915 - one after another
    """The initial snapshot, a delta and a flush, over SQLite."""
    result: dict[str, Any] = {"items": args.items, "patrons": args.patrons}
    scratch = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    url = f"sqlite:///{scratch / 'central.db'}"
    engine = database.connect(url)
    database.upgrade(engine)
    library = generate_library(Scale(args.items, args.patrons, args.loans, 1), NOW)
    with Session(engine) as session:
        put_policy(session, library.document, NOW)
        with engine.begin() as connection:
            load_library(connection, library, NOW)
        tokens = [add_kiosk(session, f"bench-{n}", NOW) for n in range(2)]
    server = CentralProcess(url).start()
    try:
        clock = FixedClock(NOW)
        agent = SyncAgent(Store.open(scratch / "kiosk"), server.url, tokens[0], clock)
        agent.http = CountingSession()
        agent.http.headers["Authorization"] = f"Bearer {tokens[0]}"
        started = time.perf_counter()
        report = agent.sync_once()
        snapshot_s = time.perf_counter() - started
        result["snapshot_s"] = round(snapshot_s, 3)
        result["snapshot_rows"] = report.snapshot_rows
        result["snapshot_wire_mb"] = round(CountingSession.wire_bytes / 1e6, 1)
        floor_s = snapshot_floor(scratch / "kiosk" / "mirror.db", scratch)
        result["snapshot_floor_s"] = round(floor_s, 3)
        result["snapshot_ratio"] = round(snapshot_s / floor_s, 2)
        print(json.dumps(result), file=sys.stderr, flush=True)

        barcodes = [item.barcode for item in library.items[: args.delta]]
        with Session(engine) as session, session.begin():
            log = ChangeLog(session)
            log.lock()
            for barcode in barcodes:
                item = session.get(Item, barcode)
                assert item is not None
                item.home_location = "Annex"
                log.item(item)
        started = time.perf_counter()
        delta = agent.sync_once()
        result["delta_changes"] = delta.changes
        result["delta_s"] = round(time.perf_counter() - started, 2)
        print(json.dumps(result), file=sys.stderr, flush=True)

        adult = next(p for p in library.patrons if p["member_type"] == "ADULT")
        entries = make_entries(
            args.flush, [item.barcode for item in library.items[-500:]], adult["patron_id"]
        )
        with agent.store.journal.begin() as journal:
            for entry in entries:
                journal.exec_driver_sql(
                    "INSERT INTO entries (id, kind, decided_at, item_barcode, patron_id, payload, "
                    "state, charged, status_after, loan_patron_id, loan_member_type, loan_due, "
                    "loan_renewals) VALUES (?, ?, ?, ?, ?, '{}', 'pending', 0, ?, ?, ?, ?, ?)",
                    (
                        entry.id,
                        entry.kind,
                        entry.decided_at.isoformat(),
                        entry.item_barcode,
                        entry.patron_id,
                        entry.status_after,
                        entry.loan_patron_id,
                        entry.loan_member_type,
                        entry.loan_due,
                        entry.loan_renewals,
                    ),
                )
        started = time.perf_counter()
        flushed = agent.sync_once()
        result["flush_entries"] = flushed.pushed + flushed.duplicates + flushed.exceptions
        result["flush_s"] = round(time.perf_counter() - started, 2)
        print(json.dumps(result), file=sys.stderr, flush=True)
    finally:
        server.stop()
    return result


def many_kiosks(args: argparse.Namespace) -> dict[str, Any]:
    """``--kiosks`` kiosks at once, each pushing a small batch and pulling changes."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin_engine = database.connect(args.postgres)
    with admin_engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{args.postgres}?options=-csearch_path%3D{schema}"
    engine = database.connect(url)
    database.upgrade(engine)
    small = generate_library(Scale(20_000, 5_000, 1_000, 2), NOW)
    with Session(engine) as session:
        put_policy(session, small.document, NOW)
        with engine.begin() as connection:
            load_library(connection, small, NOW)
        tokens = [add_kiosk(session, f"k{n}", NOW) for n in range(args.kiosks)]
    # Each kiosk lends its own 20 items to its own patron: one patron at 200 kiosks
    # at the same instant cannot happen, and would measure that patron's lock alone.
    adults = [p["patron_id"] for p in small.patrons if p["member_type"] == "ADULT"]
    kiosks = [
        (
            token,
            [item.barcode for item in small.items[n * 20 : n * 20 + 20]],
            adults[n % len(adults)],
        )
        for n, token in enumerate(tokens)
    ]
    server = CentralProcess(url, workers=args.workers, log=args.server_log).start()
    processes = max(1, min(args.client_processes, args.kiosks))
    ready = multiprocessing.Barrier(processes + 1)
    results: multiprocessing.Queue[tuple[list[float], list[str], float]] = multiprocessing.Queue()
    clients = [
        multiprocessing.Process(
            target=_client,
            args=(server.url, kiosks[n::processes]),
            kwargs={
                "rounds": args.rounds,
                "interval": args.interval,
                "ready": ready,
                "results": results,
            },
        )
        for n in range(processes)
    ]
    for client in clients:
        client.start()
    assert server.process is not None
    server_pid = server.process.pid
    ready.wait()  # every client has its threads and sessions ready: go
    began = time.perf_counter()
    busy_before, server_before = _machine_busy_s(), _tree_cpu_s(server_pid)
    latencies: list[float] = []
    failures: list[str] = []
    client_cpu = 0.0
    for _ in clients:
        timed, failed, cpu = results.get()
        latencies += timed
        failures += failed
        client_cpu += cpu
    elapsed = time.perf_counter() - began
    busy, server_cpu = _machine_busy_s() - busy_before, _tree_cpu_s(server_pid) - server_before
    for client in clients:
        client.join()
    server.stop()
    engine.dispose()
    with admin_engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    if not latencies:
        raise SystemExit(f"every request of the many-kiosks run failed: {failures[:3]}")
    latencies.sort()
    return {
        "kiosks": args.kiosks,
        "interval_s": args.interval,
        "rounds": args.rounds,
        "server_workers": args.workers,
        "client_processes": processes,
        "requests": len(latencies),
        "failed_requests": len(failures),
        "failures": sorted(set(failures)),
        "kiosks_p50_ms": round(statistics.median(latencies), 1),
        "kiosks_p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 1),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        # Where the CPU went during the run, in CPU seconds: the machine has
        # os.cpu_count() of them per second, shared with PostgreSQL and anything else.
        "elapsed_s": round(elapsed, 1),
        "cpus": os.cpu_count(),
        "machine_busy_cpu_s": round(busy, 1),
        "server_cpu_s": round(server_cpu, 1),
        "client_cpu_s": round(client_cpu, 1),
    }


def _machine_busy_s() -> float:
    """CPU seconds spent by every process on the machine so far (Linux)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` and its living descendants (Linux): the server's workers."""
    total = 0.0
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _tree_cpu_s(int(child))
    except FileNotFoundError:  # it ended meanwhile
        pass
    return total


def _client(
    server: str,
    kiosks: list[tuple[str, list[str], str]],
    *,
    rounds: int,
    interval: float,
    ready: Any,
    results: Any,
) -> None:
    """One client process: a thread per simulated kiosk, all started at once."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(kiosks) + 1)

    def kiosk(token: str, barcodes: list[str], patron_id: str) -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        entries = make_entries(2 * rounds, barcodes, patron_id)
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
        due = time.perf_counter() + random.uniform(0, interval)
        for round_ in range(rounds):
            time.sleep(max(0.0, due - time.perf_counter()))
            due += interval
            for call in ("push", "pull", "heartbeat"):
                began = time.perf_counter()
                try:
                    if call == "push":
                        batch = entries[2 * round_ : 2 * round_ + 2]
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
                except (
                    Exception
                ) as error:  # every failure is counted, by kind, and the kiosk goes on
                    with lock:
                        failures.append(f"{call}: {type(error).__name__}")
                    continue
                with lock:
                    latencies.append((time.perf_counter() - began) * 1000)
            if not interval:
                time.sleep(random.uniform(0, 0.05))

    threads = [threading.Thread(target=kiosk, args=simulated) for simulated in kiosks]
    for thread in threads:
        thread.start()
    ready.wait()
    start.wait()
    cpu = time.process_time()
    for thread in threads:
        thread.join()
    results.put((latencies, failures, time.process_time() - cpu))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
