"""How fast gateway mode's relay sends a day of offline transactions upstream (issue 19).

Two databases, each a PostgreSQL schema of its own (dropped at the end; ``--database-url
sqlite`` for two temporary SQLite files instead), each holding a small demo library and
the same ``--transactions / 2`` patrons and copies on the shelf:

- the **upstream** (the library's own system) is the real ``kiosk-central sip2 serve``
  on a free loopback port, with an account that may do everything;
- the **gateway** is in gateway mode, and a kiosk pushes it its offline day through the
  decision path (``apply_batch``, as the kiosks' API does, 200 entries a push): each
  patron borrows a copy, then every copy comes back, ``--transactions`` in all. Each is
  queued in the upstream outbox in its push's transaction (the time that takes is
  reported too, as ``queue_s``).

Then the relay (``kiosk.central.gateway.relay``, in this process) sends the whole
backlog, timed from its first login to its last commit: ``relay_s`` and
``transactions_per_s``. ``--connections`` is ``[upstream] connections``: 1 sends one
transaction at a time; more send those with no item and no patron in common side by
side (default 4). ``--upstream-processes`` is the upstream server's ``[sip2]
processes`` (default 2: the library's system is not meant to be the bottleneck; our
own SIP2 server answers about 108 requests a second on one process of two cores).
Every transaction must reach the upstream once (checked in its database), none refused.

Then, with ``--kiosks`` (default 200; 0: not), **the drain under load**: the relay runs
as ``kiosk-central relay`` does (``run_forever``, looking again every second when
idle) while that many kiosks push at the agent's pace for ``--steady-seconds``
(default 120): each kiosk, every sync interval (15 s, staggered), pushes two
transactions through the decision path (its patron borrows two copies, and returns
them the next round), 27 a second for 200 kiosks. Each transaction's lag is the time
from its push to the relay's commit of its answer; the goal is every one relayed
within two sync intervals (``lag_max_s`` <= 30 s), with the backlog sampled each
second beside it.

**The floor**: as many bare SIP2 round trips over one logged-in connection to the same
server (99 SC Status, answered without the database): what loopback, the two processes
and the codec cost before anything is decided or written.

The goals: 10,000 transactions relayed in <= 60 s; under 200 kiosks, each relayed
within two sync intervals.

    python benchmarks/relay.py [--database-url URL|sqlite] [--transactions N]
                               [--connections C] [--upstream-processes P]
                               [--kiosks K] [--steady-seconds S] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from shared import fiction_titles
from sip2 import sip2_server
from sqlalchemy import Engine, Row, Select, func, insert, select, text
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.circulation.apply import apply_batch
from kiosk.central.circulation.policy import PolicyCache, put_policy
from kiosk.central.config import UpstreamSection
from kiosk.central.gateway.client import Connection, Login
from kiosk.central.gateway.outbox import DONE, set_relaying
from kiosk.central.gateway.relay import Relay
from kiosk.central.models import (
    AppliedTransaction,
    Item,
    Kiosk,
    Patron,
    UpstreamOutbox,
    table,
)
from kiosk.central.sip2 import accounts, codec
from kiosk.central.sip2.device import PERMISSIONS
from kiosk.common.clock import SystemClock
from kiosk.demo.central_command import load_library
from kiosk.demo.library import Scale, generate_library
from kiosk.sync.protocol import WireEntry

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"
CLOCK = SystemClock()
ACCOUNT = "bench-gateway"
PASSWORD = "the benchmark's gateway password"
GOAL_TRANSACTIONS = 10_000
GOAL_S = 60.0
SYNC_INTERVAL_S = 15.0  # the agent's default (kiosk/sync/agent.py)
GOAL_KIOSKS = 200
GOAL_LAG_S = 2 * SYNC_INTERVAL_S
PUSH = 200  # entries a kiosk push carries
SCALE = Scale(items=2000, patrons=300, loans=50, seed=7)


def _people(engine: Engine, count: int, first: int = 0) -> None:
    """``count`` adults and ``count`` fiction copies on the shelf, numbered from ``first``,
    the same on both sides."""
    if count == 0:
        return
    expires = CLOCK.now().date() + timedelta(days=365)
    with Session(engine) as session:
        titles = fiction_titles(session)
        session.execute(
            insert(table(Patron)),
            [
                {
                    "patron_id": f"PRELAY{n:06d}",
                    "card": f"27770000{n:06d}",
                    "first_name": "Relay",
                    "surname": f"Bench{n}",
                    "member_type": "ADULT",
                    "expires": expires,
                    "barred": False,
                    "owed": Decimal("0.00"),
                    "pin_verifier": None,
                }
                for n in range(first, first + count)
            ],
        )
        session.execute(
            insert(table(Item)),
            [
                {
                    "barcode": f"37770000{n:06d}",
                    "brn": next(titles),
                    "price": Decimal("5.00"),
                    "status": "available",
                    "home_location": "Main",
                }
                for n in range(first, first + count)
            ],
        )
        session.commit()


@contextmanager
def _database(url: str, scratch: Path, name: str) -> Iterator[str]:
    """A fresh database: a schema of ``url``'s PostgreSQL, or a SQLite file."""
    if url == "sqlite":
        yield f"sqlite:///{scratch / f'{name}.db'}"
        return
    schema = f"bench_relay_{name}_{uuid.uuid4().hex[:8]}"
    admin = database.connect(url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def _prepare(url: str, people: int, kiosks: int) -> Engine:
    engine = database.connect(url)
    database.upgrade(engine)
    now = CLOCK.now()
    library = generate_library(SCALE, now)
    with Session(engine) as session:
        put_policy(session, library.document, now)
    with engine.begin() as connection:
        load_library(connection, library, now)
    _people(engine, people)
    _people(engine, 2 * kiosks, first=STEADY_FIRST)
    return engine


STEADY_FIRST = 900_000  # the steady phase's patrons and copies: a range of their own


def _entry(
    seq: int, kind: Literal["checkout", "return"], n: int, patron: int, at: datetime
) -> WireEntry:
    lending = kind == "checkout"
    return WireEntry(
        id=str(uuid.uuid4()),
        seq=seq,
        kind=kind,
        decided_at=at,
        item_barcode=f"37770000{n:06d}",
        patron_id=f"PRELAY{patron:06d}",
        details={},
        charged=Decimal(0),
        status_after="on_loan" if lending else "available",
        loan_patron_id=f"PRELAY{patron:06d}" if lending else None,
        loan_member_type="ADULT" if lending else None,
        loan_due=(at.date() + timedelta(days=21)).isoformat() if lending else None,
        loan_renewals=0 if lending else None,
        fulfilled_hold_of=None,
    )


def _offline_day(people: int) -> list[WireEntry]:
    """Each patron borrows their copy, then every copy comes back, a second apart."""
    start = CLOCK.now() - timedelta(hours=8)
    return [
        _entry(
            seq,
            "checkout" if seq <= people else "return",
            (seq - 1) % people,
            (seq - 1) % people,
            start + timedelta(seconds=seq),
        )
        for seq in range(1, 2 * people + 1)
    ]


def _push(engine: Engine, entries: list[WireEntry]) -> float:
    """The offline day through the decision path, as a kiosk's pushes; the seconds."""
    with Session(engine) as session:
        add_kiosk(session, "bench-kiosk", CLOCK.now())
    policies = PolicyCache()
    started = time.perf_counter()
    for first in range(0, len(entries), PUSH):
        with Session(engine) as session:
            kiosk = session.scalar(select(Kiosk).where(Kiosk.name == "bench-kiosk"))
            assert kiosk is not None
            apply_batch(session, kiosk, entries[first : first + PUSH], CLOCK.now(), policies)
            session.commit()
    return time.perf_counter() - started


def _floor(login: Login, count: int) -> float:
    """``count`` bare SIP2 round trips (99 SC Status) over one logged-in connection."""
    status = codec.SCStatus(status_code="0", max_print_width=None, protocol_version="2.00")
    with Connection(login) as connection:
        started = time.perf_counter()
        for _ in range(count):
            connection.ask(status, codec.ACSStatus)
        return time.perf_counter() - started


def _steady(gateway: Engine, relay: Relay, kiosks: int, seconds: float) -> dict[str, Any]:
    """``kiosks`` kiosks pushing at the agent's pace while the relay runs as its service
    does; each transaction's lag from its push to its relayed answer."""
    with Session(gateway) as session:
        for k in range(kiosks):
            add_kiosk(session, f"steady-{k:03d}", CLOCK.now())
        ids = dict(
            session.execute(select(Kiosk.name, Kiosk.id).where(Kiosk.name.like("steady-%"))).all()
        )
    policies = PolicyCache()
    stop = threading.Event()
    relaying = threading.Thread(target=relay.run_forever, args=(stop,), daemon=True)
    backlog: list[int] = []
    waiting = (
        select(func.count())
        .select_from(UpstreamOutbox)
        .where(UpstreamOutbox.status != DONE, UpstreamOutbox.item_barcode >= STEADY_BARCODE)
    )

    def push(k: int, round_: int) -> None:
        patron = STEADY_FIRST + 2 * k
        kind: Literal["checkout", "return"] = "checkout" if round_ % 2 == 0 else "return"
        now = CLOCK.now()
        entries = [
            _entry(2 * round_ + 1 + copy, kind, patron + copy, patron, now) for copy in (0, 1)
        ]
        with Session(gateway) as session:
            kiosk = session.get(Kiosk, ids[f"steady-{k:03d}"])
            assert kiosk is not None
            apply_batch(session, kiosk, entries, now, policies)
            session.commit()

    started = time.monotonic()
    relaying.start()
    pushes = 0
    # Each kiosk's rounds, staggered across the interval as real agents' are; pushed by a
    # few threads, as the server's workers would take them.
    schedule = sorted(
        (round_ * SYNC_INTERVAL_S + k * SYNC_INTERVAL_S / kiosks, k, round_)
        for round_ in range(int(seconds // SYNC_INTERVAL_S))
        for k in range(kiosks)
    )
    with ThreadPoolExecutor(4) as pushers:
        futures = []
        next_sample = 0.0
        for at, k, round_ in schedule:
            while (wait := started + at - time.monotonic()) > 0:
                time.sleep(min(wait, 0.05))
                if time.monotonic() - started >= next_sample:
                    next_sample += 1.0
                    with Session(gateway) as session:
                        backlog.append(session.scalar(waiting) or 0)
            futures.append(pushers.submit(push, k, round_))
            pushes += 1
        for future in futures:
            future.result()
    pushed_s = time.monotonic() - started
    backlog += _drained(gateway, waiting)
    stop.set()
    relaying.join(timeout=60)
    with Session(gateway) as session:
        rows = session.execute(
            select(UpstreamOutbox.decided_at, UpstreamOutbox.done_at).where(
                UpstreamOutbox.item_barcode >= STEADY_BARCODE
            )
        ).all()
    return {
        "kiosks": kiosks,
        "steady_s": round(pushed_s, 1),
        "steady_transactions": len(rows),
        "steady_per_s": round(len(rows) / pushed_s, 1) if pushed_s else None,
        **_lags(rows),
        "backlog_max": max(backlog, default=0),
    }


def _lags(rows: Sequence[Row[datetime, datetime | None]]) -> dict[str, Any]:
    lags = sorted((done - decided).total_seconds() for decided, done in rows if done is not None)

    def quantile(fraction: float) -> float | None:
        return round(lags[min(len(lags) - 1, int(fraction * len(lags)))], 2) if lags else None

    return {
        "lag_p50_s": quantile(0.50),
        "lag_p99_s": quantile(0.99),
        "lag_max_s": round(lags[-1], 2) if lags else None,
        "unrelayed": sum(1 for _, done in rows if done is None),
    }


STEADY_BARCODE = f"37770000{STEADY_FIRST:06d}"


def _drained(gateway: Engine, waiting: Select[int]) -> list[int]:
    """The backlog each second until it is empty (ten minutes at most)."""
    seen = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with Session(gateway) as session:
            seen.append(session.scalar(waiting) or 0)
        if seen[-1] == 0:
            break
        time.sleep(1.0)
    return seen


def measure(
    url: str,
    transactions: int,
    connections: int,
    processes: int,
    *,
    kiosks: int = 0,
    steady_seconds: float = 120.0,
) -> dict[str, Any]:
    people = max(1, transactions // 2)
    scratch = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        upstream_url = stack.enter_context(_database(url, scratch, "upstream"))
        gateway_url = stack.enter_context(_database(url, scratch, "gateway"))
        log(f"loading both databases ({people:,} patrons and copies each)")
        upstream = _prepare(upstream_url, people, kiosks)
        stack.callback(upstream.dispose)
        with Session(upstream) as session:
            accounts.add_account(
                session,
                ACCOUNT,
                PASSWORD,
                CLOCK.now(),
                location="Main",
                may=PERMISSIONS,
                actor="benchmark",
                origin="benchmark",
            )
        gateway = _prepare(gateway_url, people, kiosks)
        stack.callback(gateway.dispose)
        set_relaying(gateway, True)
        entries = _offline_day(people)
        log(f"a kiosk pushes its offline day: {len(entries):,} transactions")
        queue_s = _push(gateway, entries)
        folder = scratch / "upstream"
        folder.mkdir()
        server = stack.enter_context(sip2_server(upstream_url, folder, processes))
        settings = replace(
            UpstreamSection(),
            enabled=True,
            host="127.0.0.1",
            port=server.port,
            user=ACCOUNT,
            institution_id="BENCH",
            location="Main",
            connections=connections,
        )
        login = Login(settings, PASSWORD)
        log("the floor: bare SIP2 round trips")
        floor_s = _floor(login, len(entries))
        log("relaying")
        relay = Relay(gateway, login, CLOCK.now)
        started = time.perf_counter()
        try:
            report = relay.run_once()
        finally:
            relay.close()
        relay_s = time.perf_counter() - started
        steady: dict[str, Any] = {}
        if kiosks:
            log(
                f"the drain: {kiosks} kiosks pushing for {steady_seconds:g} s, relayed as they come"
            )
            steady = _steady(gateway, Relay(gateway, login, CLOCK.now), kiosks, steady_seconds)
        with Session(upstream) as session:
            arrived = session.scalar(
                select(func.count())
                .select_from(AppliedTransaction)
                .where(
                    AppliedTransaction.item_barcode.like("3777%"),
                    AppliedTransaction.item_barcode < STEADY_BARCODE,
                )
            )
    figures: dict[str, Any] = {
        "database": "sqlite" if url == "sqlite" else "postgresql",
        "transactions": len(entries),
        "connections": connections,
        "upstream_processes": processes,
        "queue_s": round(queue_s, 2),
        "relay_s": round(relay_s, 2),
        "transactions_per_s": round(len(entries) / relay_s, 1) if relay_s else None,
        "relay_ms_per_transaction": round(1000 * relay_s / len(entries), 3),
        "floor_s": round(floor_s, 2),
        "floor_ms_per_round_trip": round(1000 * floor_s / len(entries), 3),
        "relayed": report.relayed,
        "refused": report.refused,
        "errors": report.errors,
        "arrived_upstream": arrived,
        **steady,
    }
    figures["goals"] = goals(figures)
    return figures


def goals(figures: dict[str, Any]) -> dict[str, str]:
    """Each goal met, missed, or "not at goal size" (a smaller run is never called met)."""
    found = {}
    if figures["errors"] or figures["arrived_upstream"] != figures["transactions"]:
        found["relay_10000"] = "missed (not every transaction arrived once)"
    elif figures["transactions"] < GOAL_TRANSACTIONS:
        found["relay_10000"] = "not at goal size"
    else:
        found["relay_10000"] = "met" if figures["relay_s"] <= GOAL_S else "missed"
    if "kiosks" not in figures:
        found["drain_200_kiosks"] = "not measured"
    elif figures["unrelayed"]:
        found["drain_200_kiosks"] = "missed (not every transaction was relayed)"
    elif figures["kiosks"] < GOAL_KIOSKS:
        found["drain_200_kiosks"] = "not at goal size"
    else:
        met = figures["lag_max_s"] is not None and figures["lag_max_s"] <= GOAL_LAG_S
        found["drain_200_kiosks"] = "met" if met else "missed"
    return found


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def print_table(figures: dict[str, Any]) -> None:
    print(
        f"relay on {figures['database']}: {figures['transactions']:,} offline transactions "
        f"(queued by the kiosk's pushes in {figures['queue_s']} s); "
        f"{figures['connections']} connections, the upstream on "
        f"{figures['upstream_processes']} processes"
    )
    print(
        f"  relayed upstream in {figures['relay_s']} s: {figures['transactions_per_s']} a "
        f"second, {figures['relay_ms_per_transaction']} ms each   goal <= {GOAL_S:g} s for "
        f"{GOAL_TRANSACTIONS:,}: {figures['goals']['relay_10000']}"
    )
    print(
        f"  floor: as many bare SIP2 round trips (99) in {figures['floor_s']} s, "
        f"{figures['floor_ms_per_round_trip']} ms each"
    )
    print(
        f"  {figures['relayed']:,} relayed, {figures['refused']} refused, "
        f"{figures['arrived_upstream']:,} arrived upstream; errors: {figures['errors'] or 'none'}"
    )
    if "kiosks" in figures:
        print(
            f"  the drain: {figures['kiosks']} kiosks pushing for {figures['steady_s']} s "
            f"({figures['steady_transactions']:,} transactions, {figures['steady_per_s']} a "
            f"second); lag from push to relayed p50 {figures['lag_p50_s']} s, p99 "
            f"{figures['lag_p99_s']} s, max {figures['lag_max_s']} s; backlog at most "
            f"{figures['backlog_max']}   goal max <= {GOAL_LAG_S:g} s: "
            f"{figures['goals']['drain_200_kiosks']}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE,
        help=f"a PostgreSQL URL (two schemas of their own are made in it and dropped), or "
        f"'sqlite' for two temporary SQLite files (default {DEFAULT_DATABASE})",
    )
    parser.add_argument(
        "--transactions",
        type=int,
        default=GOAL_TRANSACTIONS,
        help=f"offline transactions to relay, half checkouts, half returns (default "
        f"{GOAL_TRANSACTIONS:,})",
    )
    parser.add_argument(
        "--connections", type=int, default=4, help="[upstream] connections (default 4)"
    )
    parser.add_argument(
        "--upstream-processes",
        type=int,
        default=2,
        help="the upstream SIP2 server's processes (default 2)",
    )
    parser.add_argument(
        "--kiosks",
        type=int,
        default=GOAL_KIOSKS,
        help=f"kiosks pushing at the agent's pace while the relay runs (default "
        f"{GOAL_KIOSKS}; 0: no such phase)",
    )
    parser.add_argument(
        "--steady-seconds",
        type=float,
        default=120.0,
        help="how long they push (default 120: eight sync intervals)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    url = args.database_url
    if url != "sqlite" and not url.startswith(("postgresql", "postgres")):
        parser.error("--database-url: a PostgreSQL URL, or 'sqlite'")
    if args.transactions < 2:
        parser.error("--transactions must be at least 2")
    if not 1 <= args.connections <= 16:
        parser.error("--connections must be from 1 to 16")
    if args.kiosks < 0 or args.steady_seconds < 2 * SYNC_INTERVAL_S:
        parser.error(f"--kiosks at least 0, --steady-seconds at least {2 * SYNC_INTERVAL_S:g}")
    figures = measure(
        url,
        args.transactions,
        args.connections,
        args.upstream_processes,
        kiosks=args.kiosks,
        steady_seconds=args.steady_seconds,
    )
    if args.json:
        print(json.dumps(figures))
    else:
        print_table(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
