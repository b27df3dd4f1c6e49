"""How fast kiosk-central finds, composes and sends a day's notices (issue 16).

Loads the demo library (default 400,000 items, 500,000 patrons, 200,000 loans, each
demo patron with an email, a phone and preferences: ``kiosk.demo.central_command``)
into a PostgreSQL schema of its own (dropped at the end; ``--database-url sqlite`` for
a temporary SQLite file instead), the loans' due dates spread over six weeks around
today so that some are due soon and some overdue at each notice's day. Then:

- **Finding**: one pass's scans (the frequent one and the daily one) with every notice
  found put in the outbox (``Runner.find``), timed whole; beside it **the floor**: the
  same loans, patrons and titles read by one plain SQL query through the driver's own
  cursor, every row fetched, nothing decided.
- **Composing**: every waiting notice composed in its patron's language, as a send
  would (the templates, the patron read), without sending.
- **Sending**: ``--send`` of the waiting email notices sent by the runner (claims,
  marks, SMTP) to an SMTP server on loopback (aiosmtpd, in a process of its own,
  keeping nothing); beside it the floor: the same number of ready messages sent with
  smtplib over one connection, no database.

The goals: finding and composing one day's notices <= 60 s; sending >= 50 messages a
second.

    python benchmarks/notices.py [--database-url URL|sqlite] [--items N] [--patrons M]
                                 [--loans K] [--send S] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.policy import put_policy
from kiosk.central.config import CentralConfig, EmailSection, NoticesSection
from kiosk.central.config.model import WebSection
from kiosk.central.models import Notice, Patron
from kiosk.central.notices import outbox
from kiosk.central.notices.runner import Report, Runner
from kiosk.common.clock import FixedClock
from kiosk.demo.central_command import load_library
from kiosk.demo.library import Scale, generate_library

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"
GOAL_FIND_AND_COMPOSE_S = 60.0
GOAL_SEND_PER_S = 50.0
GOAL_SCALE = {"patrons": 500_000, "loans": 200_000}
# Ten in the morning, on a Monday: the new arrivals go today too.
NOW = datetime(2026, 11, 23, 10, 0)
SPREAD_DAYS = 42
COMPOSE_BATCH = 2000
FLOOR_QUERY = """
SELECT loans.item_barcode, loans.due, loans.member_type, loans.renewals, records.title,
       records.publication_type, patrons.patron_id, patrons.notify_by, patrons.notices,
       patrons.due_soon_days, patrons.digest, patrons.email, patrons.phone
FROM loans
JOIN patrons ON patrons.patron_id = loans.patron_id
JOIN items ON items.barcode = loans.item_barcode
JOIN records ON records.brn = items.brn
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def prepared_database(url: str, scale: Scale) -> Iterator[tuple[str, float]]:
    """The database URL and the seconds the load took: the demo library with its loans'
    due dates spread around today. A schema of its own or a temporary SQLite file,
    dropped afterwards either way."""
    scratch = Path(tempfile.mkdtemp(prefix="notices-bench-"))
    schema = f"bench_notices_{uuid.uuid4().hex[:8]}"
    admin: Engine | None = None
    if url == "sqlite":
        bench_url = f"sqlite:///{scratch / 'central.db'}"
    else:
        admin = database.connect(url)
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        bench_url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    try:
        started = time.perf_counter()
        engine = database.connect(bench_url)
        try:
            database.upgrade(engine)
            library = generate_library(scale, NOW)
            for number, loan in enumerate(library.loans.values()):
                # Due from three weeks ago to three weeks ahead, a few loans each day.
                day = NOW.date() + timedelta(days=number % SPREAD_DAYS - SPREAD_DAYS // 2)
                loan["due"] = day.isoformat()
            with Session(engine) as session:
                put_policy(session, library.document, NOW)
            with engine.begin() as connection:
                load_library(connection, library, NOW)
            del library
            if admin is not None:
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(text("ANALYZE"))
        finally:
            engine.dispose()
        yield bench_url, time.perf_counter() - started
    finally:
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def smtp_sink() -> Iterator[int]:
    """aiosmtpd on a loopback port, in a process of its own, keeping nothing."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the SMTP server did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def config_for(port: int) -> CentralConfig:
    return CentralConfig(
        web=WebSection(base_url="https://library.example"),
        notices=replace(
            NoticesSection(),
            email=EmailSection(
                host="127.0.0.1", port=port, security="none", from_address="library@example.org"
            ),
        ),
    )


def floor_query(engine: Engine) -> tuple[float, int]:
    """The seconds one plain query takes to read every loan with its patron and title,
    all rows fetched through the driver's cursor, and how many rows."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        cursor.execute(FLOOR_QUERY)
        rows = len(cursor.fetchall())
        took = time.perf_counter() - started
        cursor.close()
    finally:
        raw.close()
    return took, rows


def compose_all(engine: Engine, runner: Runner) -> tuple[float, int]:
    """Every waiting notice composed in its patron's language, as a send would."""
    started = time.perf_counter()
    composed = 0
    last = 0
    while True:
        with Session(engine) as db:
            rows = db.execute(
                select(Notice, Patron)
                .join(Patron, Patron.patron_id == Notice.patron_id)
                .where(Notice.id > last)
                .order_by(Notice.id)
                .limit(COMPOSE_BATCH)
            ).all()
        if not rows:
            break
        for notice, patron in rows:
            runner.compose([notice], patron, notice.channel)
            composed += 1
        last = rows[-1][0].id
    return time.perf_counter() - started, composed


def only_first(engine: Engine, count: int, now: datetime) -> int:
    """Keep the first ``count`` waiting email notices due now; the rest wait till later.
    Returns how many are due."""
    with Session(engine) as db:
        ids = db.scalars(
            select(Notice.id)
            .where(
                Notice.status == outbox.WAITING, Notice.channel == "email", Notice.send_after <= now
            )
            .order_by(Notice.id)
            .limit(count)
        ).all()
        if not ids:
            return 0
        db.execute(
            update(Notice)
            .where(Notice.status == outbox.WAITING, Notice.id > ids[-1])
            .values(send_after=now + timedelta(days=365))
        )
        db.commit()
    return len(ids)


def floor_send(port: int, count: int) -> float:
    """Seconds to send ``count`` ready messages over one SMTP connection."""
    messages = []
    for number in range(count):
        message = EmailMessage()
        message["From"] = "library@example.org"
        message["To"] = f"patron{number}@example.org"
        message["Subject"] = "Due soon"
        message.set_content("Hello,\n\nThis is due back soon.\n")
        message.add_alternative("<p>Hello,</p><p>This is due back soon.</p>", subtype="html")
        messages.append(message)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as connection:
        for message in messages:
            connection.send_message(message)
    return time.perf_counter() - started


def measure(args: argparse.Namespace) -> dict[str, Any]:
    scale = Scale(args.items, args.patrons, args.loans, args.seed)
    figures: dict[str, Any] = {
        "database": "sqlite" if args.database_url == "sqlite" else "postgresql",
        "items": args.items,
        "patrons": args.patrons,
        "loans": args.loans,
        "cpus": os.cpu_count(),
    }
    with prepared_database(args.database_url, scale) as (url, build_s):
        figures["build_s"] = round(build_s, 1)
        log(f"library loaded in {build_s:.0f} s")
        engine = database.connect(url)
        try:
            with smtp_sink() as port:
                clock = FixedClock(NOW)
                runner = Runner(engine, config_for(port), clock.now, claimant="bench:1")
                floor_s, floor_rows = floor_query(engine)
                report = Report()
                started = time.perf_counter()
                runner.find(NOW, report)
                find_s = time.perf_counter() - started
                figures |= {
                    "floor_query_s": round(floor_s, 3),
                    "floor_rows": floor_rows,
                    "find_s": round(find_s, 3),
                    "found": sum(report.found.values()),
                    "found_by_kind": dict(sorted(report.found.items())),
                    "added": report.added,
                    "find_times_floor": round(find_s / floor_s, 1) if floor_s else None,
                }
                log(f"found {figures['found']} notices in {find_s:.1f} s (floor {floor_s:.2f} s)")
                compose_s, composed = compose_all(engine, runner)
                figures |= {
                    "compose_s": round(compose_s, 3),
                    "composed": composed,
                    "find_and_compose_s": round(find_s + compose_s, 3),
                }
                log(f"composed {composed} in {compose_s:.1f} s")
                due = only_first(engine, args.send, NOW)
                sending = Report()
                started = time.perf_counter()
                runner.send(NOW, sending)
                send_s = time.perf_counter() - started
                runner.close()
                floor_send_s = floor_send(port, due) if due else 0.0
                figures |= {
                    "sent": sending.sent,
                    "send_s": round(send_s, 3),
                    "sent_per_s": round(sending.sent / send_s, 1) if send_s else None,
                    "floor_send_per_s": round(due / floor_send_s, 1) if floor_send_s else None,
                }
                log(f"sent {sending.sent} in {send_s:.1f} s")
        finally:
            engine.dispose()
    at_goal = args.patrons >= GOAL_SCALE["patrons"] and args.loans >= GOAL_SCALE["loans"]
    figures["goals"] = (
        {
            "find_and_compose_60_s": "met"
            if figures["find_and_compose_s"] <= GOAL_FIND_AND_COMPOSE_S
            else "missed",
            "send_50_per_s": "met" if (figures["sent_per_s"] or 0) >= GOAL_SEND_PER_S else "missed",
        }
        if at_goal and figures["database"] == "postgresql"
        else {"find_and_compose_60_s": "not at goal size", "send_50_per_s": "not at goal size"}
    )
    return figures


def print_table(figures: dict[str, Any]) -> None:
    print(
        f"{figures['database']}: {figures['patrons']:,} patrons, {figures['loans']:,} loans "
        f"(built in {figures['build_s']} s)"
    )
    print(
        f"  the floor (one plain query, {figures['floor_rows']:,} rows): "
        f"{figures['floor_query_s']} s"
    )
    print(
        f"  finding {figures['found']:,} notices: {figures['find_s']} s "
        f"({figures['find_times_floor']} x the floor)"
    )
    print(
        f"  composing {figures['composed']:,}: {figures['compose_s']} s; "
        f"find and compose {figures['find_and_compose_s']} s (goal <= 60 s)"
    )
    print(
        f"  sending {figures['sent']}: {figures['sent_per_s']} a second "
        f"(floor, smtplib alone: {figures['floor_send_per_s']}; goal >= 50)"
    )
    for goal, state in figures["goals"].items():
        print(f"  {goal}: {state}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE,
        help=f"a PostgreSQL URL (a schema of its own is made in it and dropped), or 'sqlite' "
        f"for a temporary SQLite file (default {DEFAULT_DATABASE})",
    )
    parser.add_argument("--items", type=int, default=400_000)
    parser.add_argument("--patrons", type=int, default=500_000)
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument(
        "--send", type=int, default=2000, help="email notices sent to the SMTP server"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    url = args.database_url
    if url != "sqlite" and not url.startswith(("postgresql", "postgres")):
        parser.error("--database-url: a PostgreSQL URL, or 'sqlite'")
    if args.loans > args.items:
        parser.error("--loans: at most --items")
    figures = measure(args)
    if args.json:
        print(json.dumps(figures, default=str))
    else:
        print_table(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
