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

**The floor**: as many bare SIP2 round trips over one logged-in connection to the same
server (99 SC Status, answered without the database): what loopback, the two processes
and the codec cost before anything is decided or written.

The goal: 10,000 transactions relayed in <= 60 s.

    python benchmarks/relay.py [--database-url URL|sqlite] [--transactions N]
                               [--connections C] [--upstream-processes P] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sip2 import sip2_server
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.circulation.apply import apply_batch
from kiosk.central.circulation.policy import PolicyCache, put_policy
from kiosk.central.config import UpstreamSection
from kiosk.central.gateway.client import Connection, Login
from kiosk.central.gateway.outbox import set_relaying
from kiosk.central.gateway.relay import Relay
from kiosk.central.models import AppliedTransaction, Item, Kiosk, Patron, Record, table
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
PUSH = 200  # entries a kiosk push carries
SCALE = Scale(items=2000, patrons=300, loans=50, seed=7)


def _people(engine: Engine, count: int) -> None:
    """``count`` adults and ``count`` fiction copies on the shelf, the same on both sides."""
    expires = CLOCK.now().date() + timedelta(days=365)
    with Session(engine) as session:
        fiction = session.scalar(
            select(Record.brn).where(Record.publication_type == "FICTION").limit(1)
        )
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
                for n in range(count)
            ],
        )
        session.execute(
            insert(table(Item)),
            [
                {
                    "barcode": f"37770000{n:06d}",
                    "brn": fiction,
                    "price": Decimal("5.00"),
                    "status": "available",
                    "home_location": "Main",
                }
                for n in range(count)
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


def _prepare(url: str, people: int) -> Engine:
    engine = database.connect(url)
    database.upgrade(engine)
    now = CLOCK.now()
    library = generate_library(SCALE, now)
    with Session(engine) as session:
        put_policy(session, library.document, now)
    with engine.begin() as connection:
        load_library(connection, library, now)
    _people(engine, people)
    return engine


def _offline_day(people: int) -> list[WireEntry]:
    """Each patron borrows their copy, then every copy comes back, a second apart."""
    start = CLOCK.now() - timedelta(hours=8)
    entries = []
    for seq in range(1, 2 * people + 1):
        n = (seq - 1) % people
        lending = seq <= people
        entries.append(
            WireEntry(
                id=str(uuid.uuid4()),
                seq=seq,
                kind="checkout" if lending else "return",
                decided_at=start + timedelta(seconds=seq),
                item_barcode=f"37770000{n:06d}",
                patron_id=f"PRELAY{n:06d}",
                details={},
                charged=Decimal(0),
                status_after="on_loan" if lending else "available",
                loan_patron_id=f"PRELAY{n:06d}" if lending else None,
                loan_member_type="ADULT" if lending else None,
                loan_due=(start.date() + timedelta(days=21)).isoformat() if lending else None,
                loan_renewals=0 if lending else None,
                fulfilled_hold_of=None,
            )
        )
    return entries


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


def measure(url: str, transactions: int, connections: int, processes: int) -> dict[str, Any]:
    people = max(1, transactions // 2)
    scratch = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        upstream_url = stack.enter_context(_database(url, scratch, "upstream"))
        gateway_url = stack.enter_context(_database(url, scratch, "gateway"))
        log(f"loading both databases ({people:,} patrons and copies each)")
        upstream = _prepare(upstream_url, people)
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
        gateway = _prepare(gateway_url, people)
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
        with Session(upstream) as session:
            arrived = session.scalar(
                select(func.count())
                .select_from(AppliedTransaction)
                .where(AppliedTransaction.item_barcode.like("3777%"))
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
    }
    figures["goals"] = goals(figures)
    return figures


def goals(figures: dict[str, Any]) -> dict[str, str]:
    """The goal met, missed, or "not at goal size" (a smaller run is never called met)."""
    if figures["errors"] or figures["arrived_upstream"] != figures["transactions"]:
        return {"relay_10000": "missed (not every transaction arrived once)"}
    if figures["transactions"] < GOAL_TRANSACTIONS:
        return {"relay_10000": "not at goal size"}
    return {"relay_10000": "met" if figures["relay_s"] <= GOAL_S else "missed"}


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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    url = args.database_url
    if url != "sqlite" and not url.startswith(("postgresql", "postgres")):
        parser.error("--database-url: a PostgreSQL URL, or 'sqlite'")
    if args.transactions < 2:
        parser.error("--transactions must be at least 2")
    if not 1 <= args.connections <= 16:
        parser.error("--connections must be from 1 to 16")
    figures = measure(url, args.transactions, args.connections, args.upstream_processes)
    if args.json:
        print(json.dumps(figures))
    else:
        print_table(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
