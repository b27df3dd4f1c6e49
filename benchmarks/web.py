"""How fast the staff console answers 20 members of staff at once, at a large library's scale.

Loads the demo library into a PostgreSQL schema of its own (default 2,000,000 items,
500,000 patrons, 200,000 loans, 200 kiosks with heartbeats, 2,000,000 past checkouts
and returns; a ledger line for each patron who owes), runs the real ``kiosk-central
serve`` in its own process on a loopback port with uvicorn's workers (two, as the
systemd unit starts it), signs in ``--sessions`` members of staff (each a
``requests.Session`` of its own, signed in as a browser is: the sign-in page's CSRF
token, then the form) and has them work at once, each picking its next page from a mix
and waiting a moment between pages (``--think``; 0: back to back, which measures the
machine's capacity rather than a member of staff's wait):

- the patron search (``POST /staff/patrons/search``): by the start of a surname, by a
  whole surname, by "surname, first name", and by a card number;
- a patron's page (``GET /staff/patrons/{patron_id}``);
- an item's page (``GET /staff/items/{barcode}``);
- the Kiosks page (``GET /staff/kiosks``);
- a checkout at the desk (``POST /staff/desk/checkout``, the patron's desk page's form:
  patron_id, barcode, transaction_id), the desk's page its answer redirects to, and,
  after a pause, the return that puts the item back (``POST /staff/desk/return``), so
  that the library stays as it was. Each session lends its own items to its own patron.

Then one member of staff alone opens each page ``--cost-requests`` times back to back:
the server's CPU time per page (its own processes' CPU clock: others' work on a shared
machine delays a page, but adds little to this) and that lone member of staff's p50.

Beside each page, its floor: the same queries in plain SQL (psycopg, no ORM, no HTTP,
no templates), run by as many connections at the same pace on the same samples (for a
checkout and its return: the reads, inserts and updates of one loan, in a
transaction). The floor and the console take turns (``--rounds``), so both meet the
machine in the same state. A page whose route is not in the server yet is reported as
absent, its floor still measured.

Loading 2,000,000 items takes minutes (12.5 on the shared 2-core machine): the schema
is named after the scale and kept with ``--keep`` (``--load-only`` loads it and stops);
a later run with the same scale finds it and loads nothing (it is brought up to the
newest migration). Without ``--keep`` it is dropped at the end. The loader is
benchmarks/shared.py's: benchmarks/backup.py loads and finds the same schema.

    python benchmarks/web.py [--postgres URL] [--items N] [--patrons M] [--loans K]
                             [--kiosks K] [--history H] [--sessions S] [--requests R]
                             [--think S] [--rounds R] [--workers W] [--cost-requests C]
                             [--client-processes P] [--schema NAME] [--keep]
                             [--load-only] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import requests
from shared import (
    CLOCK,
    DEFAULT_POSTGRES,
    PASSWORD,
    Timings,
    clients_at_once,
    drop,
    in_schema,
    load,
    members_at_once,
    schema_name,
    serving,
    summary,
    tree_cpu_s,
)
from sqlalchemy.engine import make_url

from kiosk.central.circulation.changes import ITEMS, PATRONS, WRITERS
from kiosk.demo.library import Scale

GOALS_MS = {"patron_search": 150.0, "patron": 150.0, "item": 150.0, "kiosks": 150.0}
CHECKOUT_GOAL_MS = 100.0
# The pages staff open, and how often each is picked: a desk's day is mostly finding
# patrons and lending; a checkout brings its desk page and its return with it.
MIX = {"patron_search": 30, "patron": 20, "item": 20, "kiosks": 10, "checkout": 20}
SEARCH_MIX = {"prefix": 40, "surname": 20, "surname_first": 20, "card": 20}
SHOWN = ("patron_search", "patron", "item", "kiosks", "checkout", "desk_page", "return")


# --- figures ----------------------------------------------------------------------------


def verdict(p99_ms: float | None, goal_ms: float) -> str:
    if p99_ms is None:
        return "not measured"
    return "met" if p99_ms <= goal_ms else "missed"


def csrf_token(page: str) -> str:
    """The hidden csrf_token of a page's form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if found is None:
        raise RuntimeError("no csrf_token on the page")
    return found.group(1)


def plain_dsn(url: str, schema: str) -> str:
    """A libpq connection string for psycopg itself, in ``schema``."""
    parsed = make_url(url)
    parts = {
        "host": parsed.host or "",
        "port": str(parsed.port or ""),
        "dbname": parsed.database or "",
        "user": parsed.username or "",
        "password": parsed.password or "",
    }
    words = [f"{key}={value}" for key, value in parts.items() if value]
    return " ".join([*words, f"options=-csearch_path={schema}"])


# --- what each session works on ---------------------------------------------------------


@dataclass
class Samples:
    """What the sessions look up, drawn from the loaded library with ``--seed``."""

    patrons: list[str]  # patron ids for the patron page
    barcodes: list[str]  # item barcodes for the item page
    searches: dict[str, list[str]]  # texts typed into the search, by kind
    borrowers: list[str]  # one patron per session, free to borrow
    lendable: list[list[str]]  # each session's own items to lend and take back
    dsn: str = ""
    kiosks: int = 0


def draw_samples(url: str, schema: str, sessions: int, seed: int, count: int = 4000) -> Samples:
    rng = random.Random(seed)
    with psycopg.connect(plain_dsn(url, schema), autocommit=True) as connection:

        def column(sql: str, *params: Any) -> list[Any]:
            return [row[0] for row in connection.execute(sql, params)]

        today = CLOCK.now().date()
        patrons = column("SELECT patron_id FROM patrons")
        borrowing = column("SELECT DISTINCT patron_id FROM loans")
        holding = column("SELECT DISTINCT patron_id FROM holds")
        # Half any patron, half one with loans or holds (whose page has most to show).
        active = borrowing + holding
        chosen = rng.sample(patrons, min(count // 2, len(patrons)))
        chosen += [rng.choice(active) for _ in range(count // 2)] if active else []
        items = column("SELECT barcode FROM items")
        lent = column("SELECT item_barcode FROM loans")
        barcodes = rng.sample(items, min(count // 2, len(items)))
        barcodes += [rng.choice(lent) for _ in range(count // 2)] if lent else []
        people = connection.execute(
            "SELECT card, surname, first_name FROM patrons WHERE patron_id = ANY(%s) "
            "ORDER BY patron_id",
            (rng.sample(patrons, min(count, len(patrons))),),
        ).fetchall()
        searches = {
            "prefix": [surname[:3].lower() for _, surname, _ in people],
            "surname": [surname for _, surname, _ in people],
            "surname_first": [f"{surname}, {first}" for _, surname, first in people],
            "card": [card for card, _, _ in people],
        }
        free = column(
            "SELECT patron_id FROM patrons p WHERE member_type = 'ADULT' AND NOT barred "
            "AND owed = 0 AND expires > %s "
            "AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.patron_id = p.patron_id) "
            "AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.patron_id = p.patron_id) "
            "ORDER BY patron_id LIMIT 1000",
            today + timedelta(days=60),
        )
        shelf = column(
            "SELECT barcode FROM items i JOIN records r USING (brn) "
            "WHERE status = 'available' AND publication_type IN ('FICTION', 'NONFICTION') "
            "AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.item_barcode = i.barcode) "
            "AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.item_barcode = i.barcode) "
            "ORDER BY barcode LIMIT %s",
            sessions * 40,
        )
        kiosks = connection.execute("SELECT count(*) FROM kiosks").fetchone()
    if len(free) < sessions or len(shelf) < sessions * 2:
        raise SystemExit("the library is too small for this many sessions' checkouts")
    borrowers = rng.sample(free, sessions)
    rng.shuffle(shelf)
    per = len(shelf) // sessions
    return Samples(
        patrons=chosen,
        barcodes=barcodes,
        searches=searches,
        borrowers=borrowers,
        lendable=[shelf[n * per : (n + 1) * per] for n in range(sessions)],
        dsn=plain_dsn(url, schema),
        kiosks=kiosks[0] if kiosks else 0,
    )


# --- one member of staff, through the console or as plain SQL ---------------------------


class Absent(Exception):
    """The server has no such route yet."""


def _absent(response: requests.Response) -> bool:
    """FastAPI's own answer for a path no route takes (the console's not-found page is
    HTML)."""
    return response.status_code in (404, 405) and response.headers.get(
        "content-type", ""
    ).startswith("application/json")


class ConsoleDesk:
    """A member of staff signed in to the console, opening pages as a browser does (the
    HTML only: the stylesheets and scripts are cached after the first page)."""

    def __init__(self, server: str, username: str, absent: set[str]) -> None:
        self.server = server
        self.http = requests.Session()
        self.absent = absent
        self.http.get(f"{server}/staff/login", timeout=30)
        answer = self.http.post(
            f"{server}/staff/login",
            data={
                "username": username,
                "password": PASSWORD,
                "csrf_token": csrf_token(self.http.get(f"{server}/staff/login", timeout=30).text),
            },
            allow_redirects=False,
            timeout=30,
        )
        if answer.status_code != 303:
            raise RuntimeError(f"{username} could not sign in: {answer.status_code}")
        # The sign-in page's token serves every form: the console keeps the browser's
        # valid CSRF cookie (kiosk.central.web.pages._csrf_token).
        self.token = csrf_token(self.http.get(f"{server}/staff/kiosks", timeout=30).text)

    def _check(self, kind: str, response: requests.Response, *expected: int) -> None:
        if _absent(response):
            raise Absent(kind)
        if response.status_code not in expected:
            raise RuntimeError(f"{kind}: {response.status_code}")

    def kiosks(self) -> None:
        self._check("kiosks", self.http.get(f"{self.server}/staff/kiosks", timeout=60), 200)

    def search(self, typed: str) -> None:
        response = self.http.post(
            f"{self.server}/staff/patrons/search",
            data={"text": typed, "csrf_token": self.token},
            timeout=60,
        )
        self._check("patron_search", response, 200)

    def patron(self, patron_id: str) -> None:
        response = self.http.get(f"{self.server}/staff/patrons/{patron_id}", timeout=60)
        self._check("patron", response, 200)

    def item(self, barcode: str) -> None:
        response = self.http.get(f"{self.server}/staff/items/{barcode}", timeout=60)
        self._check("item", response, 200)

    def lend(self, action: str, patron_id: str, barcode: str) -> str:
        """A checkout or return form of the patron's desk page sent (the transaction id
        as the page draws it); the page its answer redirects to."""
        response = self.http.post(
            f"{self.server}/staff/desk/{action}",
            data={
                "patron_id": patron_id,
                "barcode": barcode,
                "transaction_id": f"desk-{uuid.uuid4().hex}",
                "csrf_token": self.token,
            },
            allow_redirects=False,
            timeout=60,
        )
        self._check(action, response, 303)
        return str(response.headers["location"])

    def desk_page(self, location: str) -> None:
        self._check("desk_page", self.http.get(f"{self.server}{location}", timeout=60), 200)

    def close(self) -> None:
        self.http.close()


class PlainDesk:
    """The same pages' queries in plain SQL on a psycopg connection of its own: the floor.
    Each page's statements are those the server runs for it (each read on its own, as
    autocommit; a checkout or a return in one transaction)."""

    def __init__(self, dsn: str) -> None:
        self.connection = psycopg.connect(dsn, autocommit=True)

    def _all(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, params, prepare=True).fetchall()

    def kiosks(self) -> None:
        self._all("SELECT * FROM kiosks ORDER BY name")

    def search(self, typed: str) -> None:
        """kiosk.central.circulation.patrons.search_patrons: the card, then each range of
        the case-folded indexes, cut at 51 (50 shown, and whether there are more)."""
        columns = "patron_id, first_name, surname, card, member_type, expires, barred, owed"
        if self._all(f"SELECT {columns} FROM patrons WHERE card = %s", typed):
            return
        surname, first = 'lower(surname) COLLATE "C"', 'lower(first_name) COLLATE "C"'

        def starts(key: str, prefix: str) -> tuple[str, list[str]]:
            low = prefix.lower()
            return f"{key} >= %s AND {key} < %s", [low, low[:-1] + chr(ord(low[-1]) + 1)]

        wheres: list[tuple[str, list[str], str]] = []
        if "," in typed:
            last, _, given = (part.strip() for part in typed.partition(","))
            (one, first_params), (two, second_params) = (
                starts(surname, last),
                starts(first, given),
            )
            wheres.append((f"{one} AND {two}", first_params + second_params, surname))
        else:
            wheres.append((*starts(surname, typed), surname))
            wheres.append((*starts(first, typed), first))
        for where, params, key in wheres:
            order = (
                f"{key}, {surname}, {first}, patron_id"
                if key == first
                else (f"{surname}, {first}, patron_id")
            )
            self._all(
                f"SELECT {columns} FROM patrons WHERE {where} ORDER BY {order} LIMIT 51", *params
            )

    def patron(self, patron_id: str) -> None:
        """kiosk.central.circulation.patrons.patron_view, and the policy's member types."""
        self._all("SELECT * FROM patrons WHERE patron_id = %s", patron_id)
        self._all(
            "SELECT l.*, r.title FROM loans l LEFT JOIN items i ON i.barcode = l.item_barcode "
            "LEFT JOIN records r ON r.brn = i.brn WHERE l.patron_id = %s "
            "ORDER BY l.due, l.item_barcode",
            patron_id,
        )
        self._all(
            "SELECT * FROM ledger WHERE patron_id = %s ORDER BY at DESC, id DESC LIMIT 200",
            patron_id,
        )
        for hold in self._all(
            "SELECT item_barcode, position FROM holds WHERE patron_id = %s ORDER BY id", patron_id
        ):
            self._all("SELECT count(*) FROM holds WHERE item_barcode = %s AND position < %s", *hold)
        self._all("SELECT * FROM policy WHERE id = 1")

    def item(self, barcode: str) -> None:
        """kiosk.central.circulation.catalogue.item_view: the item, its record, its loan,
        its hold queue, the names of those patrons, its last transactions and their
        kiosks' names, the policy's version."""
        found = self._all("SELECT * FROM items WHERE barcode = %s", barcode)
        self._all("SELECT * FROM records WHERE brn = %s", found[0][1])
        loan = self._all("SELECT * FROM loans WHERE item_barcode = %s", barcode)
        queue = self._all(
            "SELECT * FROM holds WHERE item_barcode = %s ORDER BY position, id", barcode
        )
        people = sorted({row[2] for row in queue} | {row[1] for row in loan})
        if people:
            self._all(
                "SELECT patron_id, first_name, surname FROM patrons WHERE patron_id = ANY(%s)",
                people,
            )
        last = self._all(
            "SELECT * FROM transactions WHERE item_barcode = %s "
            "ORDER BY decided_at DESC, applied_at DESC LIMIT 10",
            barcode,
        )
        kiosks = sorted({row[1] for row in last if row[1] is not None})
        if kiosks:
            self._all("SELECT id, name FROM kiosks WHERE id = ANY(%s)", kiosks)
        self._all("SELECT version FROM policy WHERE id = 1")

    def lend(self, action: str, patron_id: str, barcode: str) -> str:
        """One loan made or ended, as kiosk.central.circulation.desk does it, in one
        transaction: the staff writers' shared lock and the item's and patron's own, the
        transaction id not seen before, what the rules decide on (the item and its
        record, its loan and holds, the patron and their loans, the item's last return),
        then the loan, the change log, the transaction's record and the audit entry."""
        now = CLOCK.now()
        transaction_id = f"desk-{uuid.uuid4().hex}"
        with self.connection.transaction():
            self._all(
                "SELECT pg_advisory_xact_lock_shared(%s, 0), "
                "pg_advisory_xact_lock(%s, hashtext(%s)), pg_advisory_xact_lock(%s, hashtext(%s))",
                WRITERS,
                ITEMS,
                barcode,
                PATRONS,
                patron_id,
            )
            self._all("SELECT * FROM transactions WHERE id = %s", transaction_id)
            self._all("SELECT version FROM policy WHERE id = 1")
            self._all(
                "SELECT i.*, r.publication_type FROM items i JOIN records r ON r.brn = i.brn "
                "WHERE i.barcode = %s",
                barcode,
            )
            self._all("SELECT * FROM loans WHERE item_barcode = %s", barcode)
            self._all(
                "SELECT l.*, i.*, r.publication_type FROM loans l "
                "JOIN items i ON i.barcode = l.item_barcode JOIN records r ON r.brn = i.brn "
                "WHERE l.patron_id = %s",
                patron_id,
            )
            self._all(
                "SELECT * FROM holds WHERE item_barcode = %s ORDER BY item_barcode, position",
                barcode,
            )
            self._all("SELECT * FROM patrons WHERE patron_id = %s", patron_id)
            self._all(
                "SELECT item_barcode, max(decided_at) FROM transactions "
                "WHERE item_barcode = %s AND kind = 'return' GROUP BY item_barcode",
                barcode,
            )
            if action == "checkout":
                self._all(
                    "INSERT INTO loans (item_barcode, patron_id, member_type, due, renewals, "
                    "lent_at, kiosk_id) VALUES (%s, %s, 'ADULT', %s, 0, %s, NULL) RETURNING 1",
                    barcode,
                    patron_id,
                    (now + timedelta(days=21)).date().isoformat(),
                    now,
                )
            else:
                self._all("DELETE FROM loans WHERE item_barcode = %s RETURNING 1", barcode)
            (seq,) = self._all(
                "UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value"
            )[0]
            self._all(
                "INSERT INTO changes (seq, entity, key, data, kiosk_id) "
                "VALUES (%s, 'loan', %s, %s, NULL) RETURNING 1",
                seq,
                barcode,
                None if action == "return" else json.dumps({"patron_id": patron_id}),
            )
            self._all(
                "INSERT INTO transactions (id, kiosk_id, kiosk_seq, kind, item_barcode, "
                "patron_id, decided_at, applied_at, outcome, change_seq, details, charged, actor)"
                " VALUES (%s, NULL, 0, %s, %s, %s, %s, %s, 'applied', %s, '{}', 0, 'floor') "
                "RETURNING 1",
                transaction_id,
                action,
                barcode,
                patron_id,
                now,
                now,
                seq,
            )
            self._all(
                "INSERT INTO audit (at, actor, action, target, origin, detail) "
                "VALUES (%s, 'floor', %s, %s, '127.0.0.1', '') RETURNING id",
                now,
                f"loan.{action}",
                f"item {barcode}",
            )
        return f"/staff/desk/{patron_id}"

    def desk_page(self, location: str) -> None:
        """The desk's page for the patron (kiosk.central.circulation.lookup.desk_patron and
        their holds)."""
        patron_id = location.removeprefix("/staff/desk/").split("?")[0]
        self._all("SELECT version FROM policy WHERE id = 1")
        self._all("SELECT * FROM patrons WHERE patron_id = %s", patron_id)
        self._all(
            "SELECT l.*, r.title, r.publication_type FROM loans l "
            "LEFT JOIN items i ON i.barcode = l.item_barcode LEFT JOIN records r ON r.brn = i.brn"
            " WHERE l.patron_id = %s ORDER BY l.due, l.item_barcode",
            patron_id,
        )
        self._all("SELECT * FROM holds WHERE patron_id = %s ORDER BY id", patron_id)

    def close(self) -> None:
        self.connection.close()


Desk = ConsoleDesk | PlainDesk


def open_page(
    desk: Desk,
    page: str,
    samples: Samples,
    rng: random.Random,
    timings: Timings,
    *,
    number: int,
    think: float,
) -> None:
    """One page of the mix (a checkout with its desk page and its return), timed."""
    began = time.perf_counter()
    if page == "kiosks":
        desk.kiosks()
        timings.add("kiosks", began)
    elif page == "patron_search":
        kind = rng.choices(list(SEARCH_MIX), list(SEARCH_MIX.values()))[0]
        desk.search(rng.choice(samples.searches[kind]))
        timings.add("patron_search", began)
        timings.add(f"patron_search_{kind}", began)
    elif page == "patron":
        desk.patron(rng.choice(samples.patrons))
        timings.add("patron", began)
    elif page == "item":
        desk.item(rng.choice(samples.barcodes))
        timings.add("item", began)
    else:
        borrower, barcode = samples.borrowers[number], rng.choice(samples.lendable[number])
        location = desk.lend("checkout", borrower, barcode)
        timings.add("checkout", began)
        began = time.perf_counter()
        desk.desk_page(location)
        timings.add("desk_page", began)
        time.sleep(rng.uniform(0, 2 * think))
        began = time.perf_counter()
        desk.lend("return", borrower, barcode)
        timings.add("return", began)


def work(
    desk: Desk,
    samples: Samples,
    number: int,
    *,
    requests_each: int,
    think: float,
    seed: int,
    timings: Timings,
) -> None:
    """One member of staff's turn: ``requests_each`` pages picked from the mix, each after
    a pause of 0 to 2 x ``think`` seconds."""
    rng = random.Random(seed * 1000 + number)
    pages, weights = list(MIX), list(MIX.values())
    skip = desk.absent if isinstance(desk, ConsoleDesk) else set()
    for _ in range(requests_each):
        # The pause before each page: the members of staff begin spread over one pause,
        # as they go on, not all in the same instant.
        time.sleep(rng.uniform(0, 2 * think))
        page = rng.choices(pages, weights)[0]
        if page in skip:
            continue
        try:
            open_page(desk, page, samples, rng, timings, number=number, think=think)
        except Absent as absent:
            skip.add(str(absent))
            if str(absent) in ("checkout", "return"):
                skip.add("checkout")
        except Exception as error:  # counted by kind; the member of staff goes on
            timings.failures.append(f"{page}: {type(error).__name__}: {str(error)[:80]}")


def server_cost(
    server: str, pid: int, samples: Samples, *, count: int, seed: int
) -> dict[str, dict[str, float]]:
    """What each page costs the server alone: one member of staff opening ``count`` of it
    back to back, the server's CPU time over them (its workers' own clock, which others'
    work on the machine slows but does not add to) and the answers' p50. A checkout's
    cost is that of the checkout, its desk page and its return."""
    desk = ConsoleDesk(server, "desk-00", set())
    rng = random.Random(seed)
    costs: dict[str, dict[str, float]] = {}
    try:
        for page in MIX:
            timings = Timings()
            before = tree_cpu_s(pid)
            try:
                for _ in range(count):
                    open_page(desk, page, samples, rng, timings, number=0, think=0)
            except Absent:
                continue
            cpu = tree_cpu_s(pid) - before
            costs[page] = {
                "server_cpu_ms": round(1000 * cpu / count, 1),
                "alone_p50_ms": round(statistics.median(timings.samples[page]), 1),
            }
    finally:
        desk.close()
    return costs


def _client(
    target: str,
    *,
    console: bool,
    samples: Samples,
    numbers: list[int],
    options: dict[str, Any],
    ready: Any,
    results: Any,
) -> None:
    """One client process: a thread per member of staff, all started at once."""
    absent: set[str] = set()
    desks: list[Desk] = [
        ConsoleDesk(target, f"desk-{number:02d}", absent) if console else PlainDesk(target)
        for number in numbers
    ]

    def member(pair: tuple[Desk, int], timings: Timings) -> None:
        work(pair[0], samples, pair[1], timings=timings, **options)

    timings, cpu = members_at_once(list(zip(desks, numbers, strict=True)), member, ready)
    for desk in desks:
        desk.close()
    results.put((timings.samples, timings.failures, sorted(absent), cpu))


@dataclass
class Phase:
    timings: Timings
    absent: set[str]
    elapsed_s: float
    machine_cpu_s: float  # every process on the machine, ours or not
    server_cpu_s: float  # the server's processes (0 for the floor)


def phase(
    target: str,
    *,
    console: bool,
    samples: Samples,
    args: argparse.Namespace,
    round_: int,
    server_pid: int | None = None,
) -> Phase:
    """Every member of staff at once, through the console (``target`` its URL) or as
    plain SQL (``target`` a connection string), from the moment all are signed in."""
    processes = max(1, min(args.client_processes, args.sessions))
    numbers = list(range(args.sessions))
    options = {
        "requests_each": args.requests,
        "think": args.think,
        "seed": args.seed * 100 + round_,
    }
    each = [
        {
            "target": target,
            "console": console,
            "samples": samples,
            "numbers": numbers[n::processes],
            "options": options,
        }
        for n in range(processes)
    ]
    ran = clients_at_once(_client, each, server_pid)
    timings, absent = Timings(), set()
    for got, failed, missing, _cpu in ran.results:
        timings.merge(Timings(got, failed))
        absent.update(missing)
    return Phase(timings, absent, ran.elapsed_s, ran.machine_cpu_s, ran.server_cpu_s)


# --- the run ----------------------------------------------------------------------------


def check_pages(server: str, samples: Samples) -> None:
    """Before timing anything: each page present says what it should (a search by card
    finds its patron, the patron's and item's pages name them), so that a page timed
    is a page that worked."""
    desk = ConsoleDesk(server, "desk-00", set())
    try:
        card = samples.searches["card"][0]
        with psycopg.connect(samples.dsn) as connection:
            row = connection.execute(
                "SELECT patron_id FROM patrons WHERE card = %s", (card,)
            ).fetchone()
        assert row is not None
        checks = [
            ("patron_search", "POST", "/staff/patrons/search", {"text": card}, row[0]),
            ("patron", "GET", f"/staff/patrons/{row[0]}", None, row[0]),
            ("item", "GET", f"/staff/items/{samples.barcodes[0]}", None, samples.barcodes[0]),
            ("kiosks", "GET", "/staff/kiosks", None, "branch-000"),
        ]
        for kind, method, path, form, expected in checks:
            data = None if form is None else {**form, "csrf_token": desk.token}
            response = desk.http.request(method, f"{server}{path}", data=data, timeout=60)
            if _absent(response):
                continue
            if response.status_code != 200 or expected not in response.text:
                raise SystemExit(
                    f"{kind}: {method} {path} answered {response.status_code} without "
                    f"{expected!r}: nothing would be measured"
                )
    finally:
        desk.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    scale = Scale(args.items, args.patrons, args.loans, args.seed)
    schema = args.schema or schema_name(scale, args.kiosks, args.history)
    result: dict[str, Any] = {
        "items": args.items,
        "patrons": args.patrons,
        "loans": args.loans,
        "kiosks": args.kiosks,
        "history": args.history,
        "sessions": args.sessions,
        "think_s": args.think,
        "server_workers": args.workers,
        "schema": schema,
    }
    load_s = load(
        args.postgres,
        schema,
        scale,
        kiosks=args.kiosks,
        history=args.history,
        sessions=args.sessions,
    )
    result["load_s"] = None if load_s is None else round(load_s, 1)
    if args.load_only:
        return result
    try:
        samples = draw_samples(args.postgres, schema, args.sessions, args.seed)
        result["kiosks_loaded"] = samples.kiosks
        console_timings, floor_timings = Timings(), Timings()
        absent: set[str] = set()
        spent = {name: [0.0, 0.0, 0.0] for name in ("console", "floor")}  # s, machine, server
        scratch = Path(tempfile.mkdtemp(prefix="web-bench-"))
        with serving(in_schema(args.postgres, schema), args.workers, scratch) as server:
            assert server.process is not None
            check_pages(server.url, samples)
            for round_ in range(args.rounds):
                for console in (False, True):
                    name = "console" if console else "floor"
                    ran = phase(
                        server.url if console else plain_dsn(args.postgres, schema),
                        console=console,
                        samples=samples,
                        args=args,
                        round_=round_,
                        server_pid=server.process.pid if console else None,
                    )
                    for n, value in enumerate((ran.elapsed_s, ran.machine_cpu_s, ran.server_cpu_s)):
                        spent[name][n] += value
                    absent |= ran.absent
                    into = console_timings if console else floor_timings
                    for kind, values in ran.timings.samples.items():
                        into.samples.setdefault(kind, []).extend(values)
                    into.failures += ran.timings.failures
                    print(
                        f"round {round_ + 1} {name}: "
                        f"{sum(len(ran.timings.samples.get(k, [])) for k in SHOWN)} "
                        f"timed in {ran.elapsed_s:.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )
            costs = (
                server_cost(
                    server.url,
                    server.process.pid,
                    samples,
                    count=args.cost_requests,
                    seed=args.seed,
                )
                if args.cost_requests > 0
                else {}
            )
        result.update(figures(console_timings, floor_timings, absent))
        for page, cost in costs.items():
            result["pages"][page].update(cost)
        requests_made = sum(len(console_timings.samples.get(k, [])) for k in SHOWN)
        elapsed, machine, server_cpu = spent["console"]
        result["console_requests"] = requests_made
        result["console_requests_per_s"] = round(requests_made / elapsed, 1)
        # What a page costs the server, on average, in CPU milliseconds.
        result["server_cpu_ms_per_request"] = round(1000 * server_cpu / max(1, requests_made), 1)
        # How busy the whole machine was (1.0 = every core), others' work included.
        result["machine_busy_console"] = round(machine / elapsed / (os.cpu_count() or 1), 2)
        result["machine_busy_floor"] = round(
            spent["floor"][1] / spent["floor"][0] / (os.cpu_count() or 1), 2
        )
        result["cpus"] = os.cpu_count()
        result["server_log"] = str(scratch / "server.log")
    finally:
        if not args.keep:
            drop(args.postgres, schema)
    return result


def figures(console: Timings, floor: Timings, absent: set[str]) -> dict[str, Any]:
    kinds = [*SHOWN, *(f"patron_search_{kind}" for kind in SEARCH_MIX)]
    found = beside_floor(
        console,
        floor,
        kinds,
        lambda kind: GOALS_MS.get(kind, CHECKOUT_GOAL_MS if kind == "checkout" else None),
    )
    for kind, row in found["pages"].items():
        if kind in absent or (kind in ("desk_page", "return") and "checkout" in absent):
            row["absent"] = True
    return found


def beside_floor(
    measured: Timings,
    floor: Timings,
    kinds: list[str],
    goal_of: Callable[[str], float | None],
) -> dict[str, Any]:
    """Each kind's figures beside its floor's, with its goal and verdict where it has one,
    and what failed (the pages and floor figures of benchmarks/web.py and portal.py)."""
    pages: dict[str, Any] = {}
    for kind in kinds:
        row: dict[str, Any] = dict(summary(measured.samples.get(kind, [])))
        base = summary(floor.samples.get(kind, []))
        row.update({f"floor_{key}": value for key, value in base.items()})
        goal = goal_of(kind)
        if goal is not None:
            row["goal_p99_ms"] = goal
            row["verdict"] = verdict(row.get("p99_ms"), goal)
        pages[kind] = row
    return {
        "pages": pages,
        "failed_requests": len(measured.failures),
        "failures": sorted(set(measured.failures))[:20],
        "floor_failures": sorted(set(floor.failures))[:20],
    }


def scale_arguments(parser: argparse.ArgumentParser) -> None:
    """The library's scale and where it is loaded, as web.py and portal.py take them."""
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="a PostgreSQL URL")
    parser.add_argument("--items", type=int, default=2_000_000)
    parser.add_argument("--patrons", type=int, default=500_000)
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--kiosks", type=int, default=200)
    parser.add_argument(
        "--history",
        type=int,
        default=2_000_000,
        help="past checkouts and returns in the transactions table",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schema", help="the schema's name (default: named after the scale)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the loaded schema for the next run"
    )
    parser.add_argument("--json", action="store_true")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scale_arguments(parser)
    parser.add_argument("--sessions", type=int, default=20, help="members of staff at once")
    parser.add_argument(
        "--requests", type=int, default=150, help="pages each member of staff opens per round"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="mean seconds between one page and the next (0 to twice this); 0: back to back",
    )
    parser.add_argument("--rounds", type=int, default=2, help="turns of the floor then the console")
    parser.add_argument(
        "--workers", type=int, default=2, help="server processes (the systemd unit's 2)"
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=2,
        help="processes the members of staff are spread over (their threads share one GIL each)",
    )
    parser.add_argument(
        "--cost-requests",
        type=int,
        default=40,
        help="then each page this many times by one member of staff alone, for its "
        "server CPU time (0: not)",
    )
    parser.add_argument(
        "--load-only",
        action="store_true",
        help="load the schema (or find it loaded) and keep it; measure nothing",
    )
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


def print_table(result: dict[str, Any]) -> None:
    for key, value in result.items():
        if key != "pages":
            print(f"{key:>24}: {value}")
    if "pages" not in result:
        return
    print(
        f"{'page':<30} {'n':>6} {'p50':>8} {'p95':>8} {'p99':>8} "
        f"{'floor p50':>10} {'floor p99':>10} {'alone p50':>10} {'server cpu':>10}  goal"
    )
    for kind, row in result["pages"].items():
        if row.get("absent"):
            print(f"{kind:<30} {'(no route in the server yet)':>42}")
            continue

        def ms(key: str, row: dict[str, Any] = row) -> str:
            value = row.get(key)
            return "-" if value is None else f"{value:.1f}"

        goal = f"p99 <= {row['goal_p99_ms']:.0f}: {row['verdict']}" if "goal_p99_ms" in row else ""
        print(
            f"{kind:<30} {row.get('count', 0):>6} {ms('p50_ms'):>8} {ms('p95_ms'):>8} "
            f"{ms('p99_ms'):>8} {ms('floor_p50_ms'):>10} {ms('floor_p99_ms'):>10} "
            f"{ms('alone_p50_ms'):>10} {ms('server_cpu_ms'):>10}  {goal}"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
