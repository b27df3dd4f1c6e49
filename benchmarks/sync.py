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
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from shared import Kiosks, machine_busy_s, make_entries, tree_cpu_s
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
            args.flush,
            [item.barcode for item in library.items[-500:]],
            adult["patron_id"],
            decided_from=NOW,
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
    simulated = Kiosks(
        server.url,
        kiosks,
        processes=args.client_processes,
        rounds=args.rounds,
        interval=args.interval,
        decided_from=NOW,
    )
    assert server.process is not None
    server_pid = server.process.pid
    simulated.start()  # every client has its threads and sessions ready: go
    began = time.perf_counter()
    busy_before, server_before = machine_busy_s(), tree_cpu_s(server_pid)
    timed, failures, client_cpu = simulated.collect()
    latencies = [milliseconds for _, milliseconds in timed]
    elapsed = time.perf_counter() - began
    busy, server_cpu = machine_busy_s() - busy_before, tree_cpu_s(server_pid) - server_before
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
        "client_processes": simulated.processes,
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


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
