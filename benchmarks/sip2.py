"""How fast kiosk-central answers SIP2 devices, and what idle ones cost it (issue 18).

Loads the demo library (default 200,000 items, 50,000 patrons, 20,000 loans) into a
PostgreSQL schema of its own (dropped at the end; ``--database-url sqlite`` for a
temporary SQLite file instead), adds a patron and a shelf of items for each simulated
device and one SIP2 account with every permission, and starts the real ``kiosk-central
sip2 serve`` in its own process on a free loopback port. Then:

- **Devices at once.** ``--devices`` connections (one asyncio client, each device its own
  TCP connection, logged in with a 93 first), each device checking out (11) and checking
  in (09) its own items for its own patron, ``--rounds`` times, with error detection
  (sequence numbers and checksums) on, as devices are set up. Each device waits
  ``--think`` seconds on average (uniformly 0.5 to 1.5 times it) between one answer and
  its next request, and starts at a random moment within the first pause: a pace, not a
  flood. Every round trip is timed, request written to answer read; checkouts and
  checkins separately. The checkouts carry no PIN (AD) unless ``--pin``: a PIN is an
  argon2id verification (tens of milliseconds of CPU, on purpose), which many
  self-checks have checked once per patron (23 or 63) rather than with every item.
- **One device alone** first (``--no-alone``: not), the same requests a little apart
  (0.05 s): what the server's handling takes when nothing else waits.
- **Capacity.** The same devices back to back (``--capacity-rounds``), each sending its
  next request as soon as its last is answered: what the machine can do, in requests
  per second; here a request waits for the devices ahead of it, so its p99 measures
  the queue, not a device's wait.
- **The floor.** A bare TCP echo server (asyncio, in a process of its own) sent the same
  bytes over the same number of connections by the same client at the same pace: what
  loopback, two processes and the client's own event loop cost before SIP2 does anything.
  The floor runs right before each of the server's runs, so both meet the machine alike.
- **Idle connections.** ``--idle`` connections opened and logged in (93;
  ``--idle-connect-only``: connected, no login), then held silent for ``--hold`` seconds
  while the server's memory is sampled: its proportional set size (Pss, from
  /proc/PID/smaps_rollup, of its process and any children: with ``--processes`` above 1
  the pages they share are counted once in all, not once per process) and, beside it,
  the sum of their resident sets (VmRSS); the goal is judged on the first. Then each
  sends a 99 SC Status, which must still be answered. Also
  reported: the memory at start (listening, before any connection), after the devices'
  runs, and its peak (VmHWM, started afresh) while the idle connections logged in (each
  login is an argon2id verification of the account's password, up to one per handler
  thread at once).

The goals: checkout and checkin p99 <= 20 ms with 50 devices at once, and 500 idle
connections held with the server under 100 MB.

    python benchmarks/sip2.py [--database-url URL|sqlite] [--items N] [--patrons M]
                              [--loans K] [--devices D] [--rounds R] [--think S]
                              [--capacity-rounds C] [--idle I] [--hold S]
                              [--idle-connect-only] [--no-alone] [--pin] [--seed S]
                              [--processes P] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared import fiction_titles, tree_cpu_s
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.policy import put_policy
from kiosk.central.models import Item, Patron
from kiosk.central.sip2 import accounts, codec
from kiosk.central.sip2.device import PERMISSIONS
from kiosk.common.clock import SystemClock
from kiosk.common.pins import pin_verifier
from kiosk.demo.central_command import load_library
from kiosk.demo.library import Scale, generate_library

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"
CLOCK = SystemClock()  # the server's own: due dates and expiry dates agree with it
ACCOUNT = "bench-selfcheck"
PASSWORD = "the benchmark's device password"
PIN = "4321"
LOCATION = "Main"
GOAL_P99_MS = 20.0
GOAL_IDLE_MB = 100.0
ALONE_THINK = 0.05  # seconds between requests of the one device measured alone
ANSWER_TIMEOUT = 120.0  # seconds a device waits for an answer before counting a failure
CONNECT_BATCH = 50  # connections opened at once (the listen backlog is 100)
READ_CHUNK = 65536


# --- figures ----------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    """The sample at ``fraction`` of the sorted samples (the rule of the other benchmarks)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(prefix: str, samples: list[float]) -> dict[str, float | int]:
    """Count, p50, p95, p99 and the largest, in milliseconds rounded to 0.01."""
    if not samples:
        return {f"{prefix}_count": 0}
    return {
        f"{prefix}_count": len(samples),
        f"{prefix}_p50_ms": round(statistics.median(samples), 2),
        f"{prefix}_p95_ms": round(percentile(samples, 0.95), 2),
        f"{prefix}_p99_ms": round(percentile(samples, 0.99), 2),
        f"{prefix}_max_ms": round(max(samples), 2),
    }


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    """``field_name`` of /proc/PID/status (VmRSS, VmHWM) of ``pid`` and its living
    descendants, in MB (10^6 bytes)."""
    return _status_kb(pid, field_name) * 1024 / 1e6


def _status_kb(pid: int, field_name: str) -> int:
    total = 0
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(f"{field_name}:"):
                    total += int(line.split()[1])
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _status_kb(int(child), field_name)
    except FileNotFoundError:  # it ended meanwhile
        pass
    return total


def pss_mb(pid: int) -> float:
    """The proportional set size (Pss of /proc/PID/smaps_rollup) of ``pid`` and its living
    descendants, in MB: each page shared by n processes counted 1/n in each, so that
    several server processes forked from one are not counted once per process for the
    pages they share, as summing their VmRSS does."""
    total_kb = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total_kb += round(pss_mb(int(child)) * 1e6 / 1024)
    except FileNotFoundError:  # it ended meanwhile
        pass
    return total_kb * 1024 / 1e6


def reset_peak(pid: int) -> None:
    """Start VmHWM afresh from the resident set now (Linux's clear_refs 5)."""
    # Where it is not allowed, the peak stays the process's whole life's.
    with suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def machine_busy_s() -> float:
    """CPU seconds spent by every process on the machine so far (Linux)."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# --- the database -----------------------------------------------------------------------


@dataclass
class Device:
    """One simulated device: its patron's card and the items it lends, pass by pass."""

    card: str
    barcodes: dict[str, list[str]] = field(default_factory=dict)  # by pass name


@contextmanager
def prepared_database(
    url: str, scale: Scale, devices: int, passes: dict[str, int], *, pin: bool
) -> Iterator[tuple[str, list[Device], float]]:
    """The server's database URL, the devices, and the seconds the load took: the demo
    library, a patron and items for each device, the account. A PostgreSQL schema of its
    own, or a temporary SQLite file; dropped afterwards either way."""
    scratch = Path(tempfile.mkdtemp(prefix="sip2-bench-"))
    schema = f"bench_sip2_{uuid.uuid4().hex[:8]}"
    admin: Engine | None = None
    if url == "sqlite":
        server_url = f"sqlite:///{scratch / 'central.db'}"
    else:
        admin = database.connect(url)
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        server_url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    try:
        started = time.perf_counter()
        engine = database.connect(server_url)
        try:
            database.upgrade(engine)
            now = CLOCK.now()
            library = generate_library(scale, now)
            with Session(engine) as session:
                put_policy(session, library.document, now)
            with engine.begin() as connection:
                load_library(connection, library, now)
            del library
            simulated = _devices(engine, devices, passes, now, pin=pin)
            with Session(engine) as session:
                accounts.add_account(
                    session,
                    ACCOUNT,
                    PASSWORD,
                    now,
                    location=LOCATION,
                    may=PERMISSIONS,
                    actor="benchmark",
                    origin="benchmark",
                )
            if admin is not None:
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(text("ANALYZE"))
        finally:
            engine.dispose()
        yield server_url, simulated, time.perf_counter() - started
    finally:
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()
        shutil.rmtree(scratch, ignore_errors=True)


def _devices(
    engine: Engine, count: int, passes: dict[str, int], now: datetime, *, pin: bool
) -> list[Device]:
    """An adult with nothing on loan for each device, and fiction items on the shelf for
    each of its rounds in each pass (a transaction's id is derived from the card, the item
    and the second it was sent, so an item is lent once a pass)."""
    today = now.date()
    verifier = pin_verifier(PIN) if pin else None
    devices: list[Device] = []
    serial = 0
    with Session(engine) as session:
        titles = fiction_titles(session)
        for n in range(count):
            device = Device(card=f"2999{n:010d}")
            session.add(
                Patron(
                    patron_id=f"PBENCH{n:06d}",
                    card=device.card,
                    first_name="Device",
                    surname=f"Bench{n}",
                    member_type="ADULT",
                    expires=today + timedelta(days=365),
                    barred=False,
                    owed=Decimal("0.00"),
                    pin_verifier=verifier,
                )
            )
            for name, rounds in passes.items():
                device.barcodes[name] = []
                for _ in range(rounds):
                    barcode = f"3999{serial:010d}"
                    serial += 1
                    device.barcodes[name].append(barcode)
                    session.add(
                        Item(
                            barcode=barcode,
                            brn=next(titles),
                            price=Decimal("5.00"),
                            status="available",
                            home_location=LOCATION,
                        )
                    )
            devices.append(device)
        session.commit()
    return devices


# --- the servers ------------------------------------------------------------------------


@dataclass
class Sip2Process:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def _listening_port(process: subprocess.Popen[bytes], log: Path, timeout: float) -> int:
    """The port of the line ``kiosk-central sip2: listening on HOST:PORT``."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    line = b""
    try:
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise RuntimeError(f"sip2 serve did not listen within {timeout:.0f} s: {log}")
            byte = os.read(process.stdout.fileno(), 1)
            if not byte:
                process.wait(timeout=10)
                raise RuntimeError(
                    f"sip2 serve exited with status {process.returncode}:\n"
                    + log.read_text(errors="replace")[-4000:]
                )
            line += byte
    finally:
        selector.close()
    return int(line.decode().rstrip().rsplit(":", 1)[1])


@contextmanager
def sip2_server(database_url: str, folder: Path, processes: int = 1) -> Iterator[Sip2Process]:
    """The real ``kiosk-central sip2 serve`` on a free loopback port, with the defaults of
    ``[sip2]`` but ``processes``; stopped with SIGTERM, as systemd does."""
    central_toml = folder / "central.toml"
    central_toml.write_text(f"[sip2]\nprocesses = {processes}\n", encoding="utf-8")
    log = folder / "sip2.log"
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                *("-m", "kiosk.central.cli", "--db", database_url, "--config", str(central_toml)),
                *("sip2", "serve", "--host", "127.0.0.1", "--port", "0"),
            ],
            stdout=subprocess.PIPE,
            stderr=log_file,
        )
    try:
        port = _listening_port(process, log, timeout=120)
        yield Sip2Process(process, port, log)
        if process.poll() is not None:
            raise RuntimeError(f"the SIP2 server died:\n{log.read_text(errors='replace')[-4000:]}")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def _echo_main(ports: Any) -> None:
    """The floor: a bare asyncio TCP server that sends back whatever it reads."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(READ_CHUNK):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(echo, "127.0.0.1", 0, limit=READ_CHUNK)
        ports.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()  # until terminated

    asyncio.run(main())


@contextmanager
def echo_server() -> Iterator[int]:
    """The echo server's port, in a process of its own (spawned: nothing of ours in it)."""
    context = multiprocessing.get_context("spawn")
    ports: Any = context.Queue()
    process = context.Process(target=_echo_main, args=(ports,), daemon=True)
    process.start()
    try:
        yield int(ports.get(timeout=60))
    finally:
        process.terminate()
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join()


# --- the devices ------------------------------------------------------------------------


def _login(sequence: int = 0) -> bytes:
    return codec.frame(
        codec.Login(
            uid_algorithm="0",
            pwd_algorithm="0",
            login_user_id=ACCOUNT,
            login_password=PASSWORD,
            location_code=LOCATION,
        ),
        sequence=sequence,
    )


def _sc_status(sequence: int) -> bytes:
    return codec.frame(
        codec.SCStatus(status_code="0", max_print_width=80, protocol_version="2.00"),
        sequence=sequence,
    )


def _requests(card: str, barcodes: list[str], *, pin: bool) -> list[tuple[str, bytes]]:
    """The device's checkouts and checkins, in order, framed with sequence numbers and
    checksums (built before the clock starts: the client's work is not the server's)."""
    when = CLOCK.now().replace(microsecond=0)
    messages: list[tuple[str, bytes]] = []
    for barcode in barcodes:
        checkout = codec.Checkout(
            sc_renewal_policy=False,
            no_block=False,
            transaction_date=when,
            nb_due_date=None,
            institution_id=LOCATION,
            patron_id=card,
            item_id=barcode,
            patron_password=PIN if pin else None,
        )
        checkin = codec.Checkin(
            no_block=False,
            transaction_date=when,
            return_date=None,
            current_location=LOCATION,
            institution_id=LOCATION,
            item_id=barcode,
        )
        for kind, message in (("checkout", checkout), ("checkin", checkin)):
            messages.append((kind, codec.frame(message, sequence=len(messages) % 10)))
    return messages


EXPECTED = {"checkout": b"121", "checkin": b"101Y"}  # ok 1 (and desensitize / resensitize)


@dataclass
class Run:
    samples: dict[str, list[float]] = field(default_factory=lambda: {"checkout": [], "checkin": []})
    failures: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    server_cpu_s: float = 0.0
    machine_busy_s: float = 0.0


async def _device(
    port: int,
    messages: list[tuple[str, bytes]],
    *,
    think: float,
    rng: random.Random,
    logged_in: asyncio.Barrier,
    run: Run,
    check: bool,
) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=READ_CHUNK)
    except OSError as error:
        run.failures.append(f"connect: {type(error).__name__}")
        await logged_in.wait()  # the others start all the same
        return
    try:
        writer.write(_login())
        try:
            answer = await asyncio.wait_for(reader.readuntil(b"\r"), ANSWER_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, OSError) as error:
            answer = type(error).__name__.encode()
        if check and not answer.startswith(b"941"):
            run.failures.append(f"login: {answer[:20]!r}")
            await logged_in.wait()
            return
        await logged_in.wait()
        if think:
            await asyncio.sleep(rng.uniform(0, think))
        for kind, message in messages:
            began = time.perf_counter()
            writer.write(message)
            try:
                answer = await asyncio.wait_for(reader.readuntil(b"\r"), ANSWER_TIMEOUT)
            except (TimeoutError, asyncio.IncompleteReadError, OSError) as error:
                run.failures.append(f"{kind}: {type(error).__name__}")
                return
            run.samples[kind].append((time.perf_counter() - began) * 1000)
            if check and not answer.startswith(EXPECTED[kind]):
                # the screen message says why, and names no patron (a bench one)
                run.failures.append(f"{kind}: {answer[:80].decode(errors='replace')}")
            if think:
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
    finally:
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()


def devices_run(
    port: int,
    plans: list[list[tuple[str, bytes]]],
    *,
    think: float,
    seed: int,
    server_pid: int | None,
    check: bool,
) -> Run:
    """Every device at once, timed from the moment all have logged in."""
    run = Run()

    async def main() -> None:
        logged_in = asyncio.Barrier(len(plans) + 1)
        tasks = [
            asyncio.create_task(
                _device(
                    port,
                    messages,
                    think=think,
                    rng=random.Random(seed * 1000 + n),
                    logged_in=logged_in,
                    run=run,
                    check=check,
                )
            )
            for n, messages in enumerate(plans)
        ]
        await logged_in.wait()
        began = time.perf_counter()
        busy = machine_busy_s()
        cpu = tree_cpu_s(server_pid) if server_pid else 0.0
        await asyncio.gather(*tasks)
        run.elapsed_s = time.perf_counter() - began
        run.machine_busy_s = machine_busy_s() - busy
        run.server_cpu_s = (tree_cpu_s(server_pid) - cpu) if server_pid else 0.0

    asyncio.run(main())
    return run


def run_figures(prefix: str, run: Run, floor: Run) -> dict[str, Any]:
    requests = sum(len(samples) for samples in run.samples.values())
    floor_samples = run_samples(floor)
    figures: dict[str, Any] = {}
    for kind, samples in run.samples.items():
        figures.update(summary(f"{prefix}{kind}", samples))
    figures.update(summary(f"{prefix}floor", floor_samples))
    floor_p99 = percentile(floor_samples, 0.99) if floor_samples else 0.0
    for kind, samples in run.samples.items():
        if samples and floor_p99 > 0:
            figures[f"{prefix}{kind}_p99_x_floor"] = round(percentile(samples, 0.99) / floor_p99, 1)
    figures[f"{prefix}requests"] = requests
    figures[f"{prefix}failed_requests"] = len(run.failures)
    figures[f"{prefix}failures"] = sorted(set(run.failures))[:10]
    figures[f"{prefix}requests_per_s"] = round(requests / run.elapsed_s, 1) if run.elapsed_s else 0
    figures[f"{prefix}floor_requests_per_s"] = (
        round(len(floor_samples) / floor.elapsed_s, 1) if floor.elapsed_s else 0
    )
    figures[f"{prefix}server_cpu_ms_per_request"] = (
        round(1000 * run.server_cpu_s / requests, 2) if requests else 0
    )
    figures[f"{prefix}machine_busy"] = (
        round(run.machine_busy_s / (run.elapsed_s * (os.cpu_count() or 1)), 2)
        if run.elapsed_s
        else 0
    )
    return figures


def run_samples(run: Run) -> list[float]:
    return [sample for samples in run.samples.values() for sample in samples]


# --- idle connections -------------------------------------------------------------------


def idle_run(port: int, pid: int, count: int, hold: float, *, login: bool) -> dict[str, Any]:
    """``count`` connections opened (and logged in), held silent for ``hold`` seconds
    while the server's memory is sampled, then each asked a 99."""
    figures: dict[str, Any] = {"idle_connections": count, "idle_logged_in": login}

    async def main() -> None:
        connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        started = time.perf_counter()
        for first in range(0, count, CONNECT_BATCH):
            connections += await asyncio.gather(
                *(
                    asyncio.open_connection("127.0.0.1", port, limit=READ_CHUNK)
                    for _ in range(first, min(count, first + CONNECT_BATCH))
                )
            )
        figures["idle_connect_s"] = round(time.perf_counter() - started, 2)
        await asyncio.sleep(1.0)
        figures["rss_idle_connected_mb"] = round(rss_mb(pid), 1)
        if login:
            started = time.perf_counter()
            for _, writer in connections:
                writer.write(_login())
            answers = await asyncio.gather(
                *(
                    asyncio.wait_for(reader.readuntil(b"\r"), ANSWER_TIMEOUT)
                    for reader, _ in connections
                ),
                return_exceptions=True,
            )
            figures["idle_login_s"] = round(time.perf_counter() - started, 2)
            figures["idle_logins_refused"] = sum(
                not (isinstance(a, bytes) and a.startswith(b"941")) for a in answers
            )
            figures["rss_login_peak_mb"] = round(rss_mb(pid, "VmHWM"), 1)
        samples: list[float] = []
        proportional: list[float] = []
        deadline = time.perf_counter() + hold
        while time.perf_counter() < deadline:
            samples.append(rss_mb(pid))
            proportional.append(pss_mb(pid))
            await asyncio.sleep(0.25)
        samples.append(rss_mb(pid))
        proportional.append(pss_mb(pid))
        figures["rss_idle_held_mb"] = round(max(samples), 1)
        figures["rss_idle_held_last_mb"] = round(samples[-1], 1)
        figures["pss_idle_held_mb"] = round(max(proportional), 1)
        figures["idle_hold_s"] = hold
        for n, (_, writer) in enumerate(connections):
            writer.write(_sc_status(n % 10))
        statuses = await asyncio.gather(
            *(
                asyncio.wait_for(reader.readuntil(b"\r"), ANSWER_TIMEOUT)
                for reader, _ in connections
            ),
            return_exceptions=True,
        )
        figures["idle_answered_after_hold"] = sum(
            isinstance(a, bytes) and a.startswith(b"98") for a in statuses
        )
        for _, writer in connections:
            writer.close()
        await asyncio.gather(
            *(writer.wait_closed() for _, writer in connections), return_exceptions=True
        )

    asyncio.run(main())
    return figures


# --- the whole -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE,
        help=f"a PostgreSQL URL (a schema of its own is made in it and dropped), or 'sqlite' "
        f"for a temporary SQLite file (default {DEFAULT_DATABASE})",
    )
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--patrons", type=int, default=50_000)
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--devices", type=int, default=50, help="devices at once (default 50)")
    parser.add_argument(
        "--rounds", type=int, default=20, help="checkouts and checkins per device (default 20)"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="seconds a device waits, on average, between an answer and its next request "
        "(default 1.0; 0: back to back)",
    )
    parser.add_argument(
        "--capacity-rounds",
        type=int,
        default=10,
        help="rounds per device of the back-to-back run (default 10; 0: none)",
    )
    parser.add_argument("--idle", type=int, default=500, help="idle connections (default 500)")
    parser.add_argument(
        "--hold", type=float, default=10.0, help="seconds the idle connections are held"
    )
    parser.add_argument(
        "--idle-connect-only",
        action="store_true",
        help="the idle connections only connect (by default each logs in first)",
    )
    parser.add_argument(
        "--no-alone",
        dest="alone",
        action="store_false",
        help="skip the run of one device alone (the handlers' own time, no other device)",
    )
    parser.add_argument("--pin", action="store_true", help="each checkout carries the PIN (AD)")
    parser.add_argument(
        "--processes", type=int, default=1, help="the server's [sip2] processes (default 1)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    url = args.database_url
    if url != "sqlite" and not url.startswith(("postgresql", "postgres")):
        parser.error("--database-url: a PostgreSQL URL, or 'sqlite'")
    if args.devices < 1 or args.rounds < 1:
        parser.error("--devices and --rounds must be at least 1")

    figures = measure(args)
    if args.json:
        print(json.dumps(figures))
    else:
        print_table(figures)
    return 0


def measure(args: argparse.Namespace) -> dict[str, Any]:
    scale = Scale(args.items, args.patrons, args.loans, args.seed)
    passes = {
        "alone": args.rounds if args.alone else 0,
        "paced": args.rounds,
        "capacity": args.capacity_rounds,
    }
    figures: dict[str, Any] = {
        "database": "sqlite" if args.database_url == "sqlite" else "postgresql",
        "items": args.items,
        "patrons": args.patrons,
        "loans": args.loans,
        "devices": args.devices,
        "rounds": args.rounds,
        "think_s": args.think,
        "capacity_rounds": args.capacity_rounds,
        "pin": args.pin,
        "processes": args.processes,
        "cpus": os.cpu_count(),
    }
    with prepared_database(args.database_url, scale, args.devices, passes, pin=args.pin) as (
        server_url,
        devices,
        build_s,
    ):
        figures["build_s"] = round(build_s, 1)
        log(f"library loaded in {build_s:.0f} s")
        folder = Path(tempfile.mkdtemp(prefix="sip2-bench-server-"))
        try:
            with (
                echo_server() as echo_port,
                sip2_server(server_url, folder, args.processes) as server,
            ):
                figures["rss_start_mb"] = round(rss_mb(server.pid), 1)
                figures["pss_start_mb"] = round(pss_mb(server.pid), 1)
                for name, think, prefix, taking in (
                    ("alone", ALONE_THINK, "alone_", devices[:1]),
                    ("paced", args.think, "", devices),
                    ("capacity", 0.0, "capacity_", devices),
                ):
                    if not passes[name]:
                        continue
                    plans = [_requests(d.card, d.barcodes[name], pin=args.pin) for d in taking]
                    floor = devices_run(
                        echo_port, plans, think=think, seed=args.seed, server_pid=None, check=False
                    )
                    run = devices_run(
                        server.port,
                        plans,
                        think=think,
                        seed=args.seed,
                        server_pid=server.pid,
                        check=True,
                    )
                    figures.update(run_figures(prefix, run, floor))
                    log(f"{name}: {json.dumps(run_figures(prefix, run, floor))}")
                figures["rss_after_devices_mb"] = round(rss_mb(server.pid), 1)
                figures["rss_peak_after_devices_mb"] = round(rss_mb(server.pid, "VmHWM"), 1)
                reset_peak(server.pid)  # the idle logins' own peak from here
                if args.idle:
                    figures.update(
                        idle_run(
                            server.port,
                            server.pid,
                            args.idle,
                            args.hold,
                            login=not args.idle_connect_only,
                        )
                    )
                errors = [
                    line
                    for line in server.log.read_text(errors="replace").splitlines()
                    if " ERROR " in line
                ]
                figures["server_errors"] = len(errors)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    figures["goals"] = goals(figures)
    return figures


def goals(figures: dict[str, Any]) -> dict[str, str]:
    """Each goal: met, missed, "not at goal size" (a smaller run is never called met) or
    "not measured". A failed request or refused login misses it."""
    verdicts: dict[str, str] = {}
    for kind in ("checkout", "checkin"):
        p99 = figures.get(f"{kind}_p99_ms")
        if p99 is None:
            verdicts[f"{kind}_p99"] = "not measured"
        elif figures["failed_requests"]:
            verdicts[f"{kind}_p99"] = "missed (requests failed)"
        elif figures["devices"] < 50:
            verdicts[f"{kind}_p99"] = "not at goal size"
        else:
            verdicts[f"{kind}_p99"] = "met" if p99 <= GOAL_P99_MS else "missed"
    held = figures.get("pss_idle_held_mb")
    if held is None:
        verdicts["idle_rss"] = "not measured"
    elif figures.get("idle_logins_refused") or (
        figures["idle_answered_after_hold"] < figures["idle_connections"]
    ):
        verdicts["idle_rss"] = "missed (connections refused or lost)"
    elif figures["idle_connections"] < 500:
        verdicts["idle_rss"] = "not at goal size"
    else:
        verdicts["idle_rss"] = "met" if held < GOAL_IDLE_MB else "missed"
    return verdicts


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def print_table(figures: dict[str, Any]) -> None:
    verdicts = figures["goals"]
    pin = "with the PIN" if figures["pin"] else "no PIN"
    print(
        f"SIP2 on {figures['database']} ({figures['items']:,} items, {figures['patrons']:,} "
        f"patrons), {figures['rounds']} checkouts and checkins per device, {pin}; "
        f"{figures['cpus']} CPUs"
    )
    print(f"{'':28} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}   goal")
    headings = {
        "alone_": f"one device alone ({ALONE_THINK:g} s between requests):",
        "": f"{figures['devices']} devices at once ({figures['think_s']:g} s between requests "
        "on average):",
        "capacity_": f"{figures['devices']} devices back to back (capacity):",
    }
    for prefix, heading in headings.items():
        if not figures.get(f"{prefix}checkout_count"):
            continue
        print(heading)
        for label, kind in (
            ("checkout (11)", "checkout"),
            ("checkin (09)", "checkin"),
            ("floor: bare TCP echo", "floor"),
        ):
            key = f"{prefix}{kind}"
            values = " ".join(
                f"{figures[f'{key}_{p}_ms']:8.2f}" for p in ("p50", "p95", "p99", "max")
            )
            goal = (
                f"p99 <= {GOAL_P99_MS:g} ms: {verdicts[f'{kind}_p99']}"
                if not prefix and kind != "floor"
                else ""
            )
            print(f"  {label:26} {values}   {goal}")
        print(
            f"  {figures[f'{prefix}requests']} requests, "
            f"{figures[f'{prefix}failed_requests']} failed, "
            f"{figures[f'{prefix}requests_per_s']} a second (the echo's "
            f"{figures[f'{prefix}floor_requests_per_s']}); server CPU "
            f"{figures[f'{prefix}server_cpu_ms_per_request']} ms a request; machine "
            f"{figures[f'{prefix}machine_busy']:.0%} busy"
        )
    print(
        f"server memory at start ({figures['processes']} server processes): "
        f"{figures['pss_start_mb']} MB proportional ({figures['rss_start_mb']} MB resident)"
    )
    print(
        f"after the devices' runs: {figures['rss_after_devices_mb']} MB "
        f"(peak {figures['rss_peak_after_devices_mb']} MB)"
    )
    if "rss_idle_held_mb" in figures:
        how = "logged in" if figures["idle_logged_in"] else "connected"
        print(
            f"{figures['idle_connections']} idle connections ({how}) held "
            f"{figures['idle_hold_s']:g} s: {figures['pss_idle_held_mb']} MB proportional "
            f"(goal < {GOAL_IDLE_MB:g} MB: {verdicts['idle_rss']}; "
            f"{figures['rss_idle_held_mb']} MB resident); "
            f"{figures['idle_answered_after_hold']} answered a 99 after"
        )
        print(f"  connected, before logging in: {figures['rss_idle_connected_mb']} MB")
        if "rss_login_peak_mb" in figures:
            print(
                f"  peak while they logged in: {figures['rss_login_peak_mb']} MB "
                f"({figures['idle_login_s']} s for the logins)"
            )
    print(f"server errors logged: {figures['server_errors']}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
