"""How fast the patron portal answers 200 patrons at once, at a large library's scale.

Finds (or loads) the same PostgreSQL schema as benchmarks/web.py (default 2,000,000
items, 500,000 patrons, 200,000 loans, 2,000,000 past transactions), runs the real
``kiosk-central serve`` on a loopback port with uvicorn's two workers, and has
``--patrons`` patrons with loans use the portal at once, each a ``requests.Session`` of
its own signed in as a browser is (the sign-in page's CSRF token, then card and PIN),
each picking its next page from a mix after a pause (``--think``: 0 to twice 10 s by
default, a phone's reading of a list of loans or of search results; 200 patrons then
ask about 20 pages a second; the first page after a pause too, so that the patrons
arrive spread over one pause rather than all in one instant):

- their account (``GET /my/``): loans, money owed, holds;
- a catalogue search (``POST /my/catalogue``): a title's first word, an author's
  surname, or an ISBN, from the library's own records;
- a renewal of one of their loans (``POST /my/renew``): allowed, or refused in plain
  words once at the limit or held for someone else; the account page is its answer;
- My details (``GET /my/details``) and the privacy page (``GET /my/privacy``).

Each patron's sign-in is timed too, beside the PIN verifier alone (argon2id, verified
``--verifier-checks`` times in this process): the portal's sign-in should cost little
more than the verifier it must run.

Beside the pages, their floor: the same reads in plain SQL (psycopg, no ORM, no HTTP,
no templates) by as many connections at the same pace: for the account, the patron,
their loans with titles, their holds and their ledger; for a search, the records by
the folded title's range and the first copies of each. The floor and the portal take
turns (``--rounds``), so both meet the machine in the same state.

The sampled patrons are given the benchmark's PIN (their verifier replaced in the
kept schema, their wrong-PIN count cleared): the demo's PINs are drawn at random.

    python benchmarks/portal.py [--postgres URL] [--patrons-at-once N] [--requests R]
                                [--think S] [--rounds R] [--workers W]
                                [--client-processes P] [--json]
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
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import requests
from shared import (
    Clients,
    Timings,
    clients_at_once,
    drop,
    in_schema,
    load,
    members_at_once,
    schema_name,
    serving,
)
from web import beside_floor, csrf_token, plain_dsn, scale_arguments

from kiosk.common.pins import pin_matches, pin_verifier
from kiosk.demo.library import Scale

PIN = "2468"
PAGE_GOAL_MS = 200.0
SEARCH_GOAL_MS = 150.0
MIX = {"account": 35, "search": 30, "renew": 15, "details": 10, "privacy": 10}
SEARCH_MIX = {"title": 50, "author": 30, "isbn": 20}
SHOWN = ("sign_in", "account", "search", "renew", "details", "privacy")


@dataclass
class Samples:
    patrons: list[tuple[str, str]]  # (patron_id, card) with loans to renew
    loans: dict[str, list[str]]  # each patron's barcodes on loan
    searches: dict[str, list[str]]
    dsn: str


def draw_samples(url: str, schema: str, count: int, seed: int) -> Samples:
    rng = random.Random(seed)
    with psycopg.connect(plain_dsn(url, schema)) as connection:
        borrowers = connection.execute(
            "SELECT p.patron_id, p.card FROM patrons p WHERE NOT p.barred "
            "AND p.pending_loans IS NULL AND EXISTS "
            "(SELECT 1 FROM loans l WHERE l.patron_id = p.patron_id) "
            "ORDER BY p.patron_id LIMIT %s",
            (count * 20,),
        ).fetchall()
        if len(borrowers) < count:
            raise SystemExit(f"only {len(borrowers)} patrons with loans: fewer than {count}")
        chosen = rng.sample(borrowers, count)
        ids = [patron_id for patron_id, _ in chosen]
        # The benchmark's PIN for these patrons alone (one verifier: the demo shares one
        # among many too), and no wrong PINs left from an earlier run.
        connection.execute(
            "UPDATE patrons SET pin_verifier = %s, pin_failures = 0, pin_locked_until = NULL "
            "WHERE patron_id = ANY(%s)",
            (pin_verifier(PIN), ids),
        )
        loans: dict[str, list[str]] = {}
        for patron_id, barcode in connection.execute(
            "SELECT patron_id, item_barcode FROM loans WHERE patron_id = ANY(%s)", (ids,)
        ):
            loans.setdefault(patron_id, []).append(barcode)
        bounds = connection.execute("SELECT min(brn), max(brn) FROM records").fetchone()
        assert bounds is not None
        low, high = bounds
        records = connection.execute(
            "SELECT title, author, isbn FROM records WHERE brn = ANY(%s)",
            ([rng.randint(low, high) for _ in range(3000)],),
        ).fetchall()
        connection.commit()
    words = [title.split()[0] for title, _, _ in records if title.split()]
    surnames = [author.split()[-1] for _, author, _ in records if author.split()]
    isbns = [isbn for _, _, isbn in records if isbn]
    return Samples(
        patrons=chosen,
        loans=loans,
        searches={"title": words, "author": surnames, "isbn": isbns or words},
        dsn=plain_dsn(url, schema),
    )


# --- one patron, through the portal or as plain SQL --------------------------------------


class PortalPatron:
    """A patron signed in to the portal on their phone: the HTML only, as a browser that
    has the stylesheets cached."""

    def __init__(self, server: str, card: str, timings: Timings) -> None:
        self.server = server
        self.http = requests.Session()
        token = csrf_token(self.http.get(f"{server}/my/login", timeout=60).text)
        began = time.perf_counter()
        answer = self.http.post(
            f"{server}/my/login",
            data={"card": card, "pin": PIN, "csrf_token": token},
            allow_redirects=False,
            timeout=60,
        )
        if answer.status_code != 303:
            raise RuntimeError(f"a patron could not sign in: {answer.status_code}")
        timings.add("sign_in", began)
        self.token = csrf_token(self.http.get(f"{server}/my/", timeout=60).text)

    def _get(self, kind: str, path: str) -> None:
        response = self.http.get(f"{self.server}{path}", timeout=60)
        if response.status_code != 200:
            raise RuntimeError(f"{kind}: {response.status_code}")

    def _post(self, kind: str, path: str, form: dict[str, str]) -> None:
        response = self.http.post(
            f"{self.server}{path}", data={**form, "csrf_token": self.token}, timeout=60
        )
        if response.status_code != 200:
            raise RuntimeError(f"{kind}: {response.status_code}")

    def account(self) -> None:
        self._get("account", "/my/")

    def search(self, text: str) -> None:
        self._post("search", "/my/catalogue", {"text": text})

    def renew(self, barcode: str) -> None:
        form = {"barcode": barcode, "transaction_id": f"portal-{uuid.uuid4().hex}"}
        self._post("renew", "/my/renew", form)

    def details(self) -> None:
        self._get("details", "/my/details")

    def privacy(self) -> None:
        self._get("privacy", "/my/privacy")

    def close(self) -> None:
        self.http.close()


# Connections a client process's plain-SQL patrons share: 200 of their own would pass
# PostgreSQL's max_connections (100 by default), as the portal's own pool never does.
FLOOR_CONNECTIONS = 10


@dataclass
class Shared:
    """One connection, used by one patron at a time."""

    connection: psycopg.Connection[Any]
    lock: threading.Lock


class PlainPatron:
    """The same reads as plain SQL: what no portal could do faster."""

    def __init__(self, shared: Shared, patron_id: str) -> None:
        self.connection = shared.connection
        self.lock = shared.lock
        self.patron_id = patron_id

    def _account(self) -> None:
        sql, patron_id = self.connection.execute, self.patron_id
        sql("SELECT * FROM patrons WHERE patron_id = %s", (patron_id,)).fetchone()
        sql(
            "SELECT l.item_barcode, l.due, l.renewals, r.title FROM loans l "
            "JOIN items i ON i.barcode = l.item_barcode JOIN records r ON r.brn = i.brn "
            "WHERE l.patron_id = %s ORDER BY l.due",
            (patron_id,),
        ).fetchall()
        sql(
            "SELECT h.id, h.position, h.ready, r.title FROM holds h "
            "LEFT JOIN items i ON i.barcode = h.item_barcode "
            "JOIN records r ON r.brn = coalesce(h.brn, i.brn) WHERE h.patron_id = %s",
            (patron_id,),
        ).fetchall()
        sql(
            "SELECT * FROM ledger WHERE patron_id = %s ORDER BY at DESC LIMIT 20", (patron_id,)
        ).fetchall()

    def _search(self, text: str) -> None:
        prefix = text.lower()
        found = self.connection.execute(
            'SELECT brn, title, author FROM records WHERE lower(title) COLLATE "C" >= %s '
            'AND lower(title) COLLATE "C" < %s ORDER BY lower(title) COLLATE "C", brn '
            "LIMIT 51",
            (prefix, prefix + "\uffff"),
        ).fetchall()
        brns = [row[0] for row in found[:50]]
        self.connection.execute(
            "SELECT i.barcode, i.brn, i.status, l.due FROM items i "
            "LEFT JOIN loans l ON l.item_barcode = i.barcode WHERE i.brn = ANY(%s)",
            (brns,),
        ).fetchall()

    def _renew(self, barcode: str) -> None:
        with self.connection.transaction():
            sql = self.connection.execute
            sql("SELECT * FROM loans WHERE item_barcode = %s FOR UPDATE", (barcode,)).fetchone()
            sql("SELECT 1 FROM holds WHERE item_barcode = %s LIMIT 1", (barcode,)).fetchone()
            sql("UPDATE loans SET renewals = renewals WHERE item_barcode = %s", (barcode,))

    def _details(self) -> None:
        self.connection.execute(
            "SELECT * FROM patrons WHERE patron_id = %s", (self.patron_id,)
        ).fetchone()

    def _privacy(self) -> None:
        self._details()

    # Each page's reads on the shared connection, one patron at a time: the lock's wait
    # is the floor's own queue for a connection.
    def account(self) -> None:
        with self.lock:
            self._account()

    def search(self, text: str) -> None:
        with self.lock:
            self._search(text)

    def renew(self, barcode: str) -> None:
        with self.lock:
            self._renew(barcode)

    def details(self) -> None:
        with self.lock:
            self._details()

    def privacy(self) -> None:
        with self.lock:
            self._privacy()

    def close(self) -> None:
        pass  # the shared connections are closed by their client process


Patron = PortalPatron | PlainPatron


def work(
    patron: Patron,
    samples: Samples,
    number: int,
    *,
    requests_each: int,
    think: float,
    seed: int,
    timings: Timings,
) -> None:
    rng = random.Random(seed * 1000 + number)
    patron_id, _ = samples.patrons[number]
    pages, weights = list(MIX), list(MIX.values())
    for _ in range(requests_each):
        # The pause comes before each page, so the patrons' first pages are spread over
        # one pause as their later ones are, not all sent in the same instant (a burst of
        # 200 that no library's morning makes, and a tenth of the pages timed).
        time.sleep(rng.uniform(0, 2 * think))
        page = rng.choices(pages, weights)[0]
        began = time.perf_counter()
        try:
            if page == "search":
                kind = rng.choices(list(SEARCH_MIX), list(SEARCH_MIX.values()))[0]
                patron.search(rng.choice(samples.searches[kind]))
            elif page == "renew":
                patron.renew(rng.choice(samples.loans[patron_id]))
            else:
                getattr(patron, page)()
            timings.add(page, began)
        except Exception as error:  # counted; the patron goes on
            timings.failures.append(f"{page}: {type(error).__name__}: {str(error)[:80]}")


def _client(
    target: str,
    *,
    portal: bool,
    samples: Samples,
    numbers: list[int],
    options: dict[str, Any],
    ready: Any,
    results: Any,
) -> None:
    """One client process: a thread per patron, all started at once once signed in (the
    sign-ins timed apart, one after another)."""
    signing_in = Timings()
    shared = (
        []
        if portal
        else [
            Shared(psycopg.connect(target, autocommit=True), threading.Lock())
            for _ in range(min(FLOOR_CONNECTIONS, len(numbers)))
        ]
    )
    patrons: list[Patron] = [
        PortalPatron(target, samples.patrons[number][1], signing_in)
        if portal
        else PlainPatron(shared[n % len(shared)], samples.patrons[number][0])
        for n, number in enumerate(numbers)
    ]

    def one(pair: tuple[Patron, int], timings: Timings) -> None:
        work(pair[0], samples, pair[1], timings=timings, **options)

    timings, _cpu = members_at_once(list(zip(patrons, numbers, strict=True)), one, ready)
    timings.merge(signing_in)
    for patron in patrons:
        patron.close()
    for one_connection in shared:
        one_connection.connection.close()
    results.put((timings.samples, timings.failures))


def phase(
    target: str,
    *,
    portal: bool,
    samples: Samples,
    args: argparse.Namespace,
    round_: int,
    server_pid: int | None,
) -> tuple[Timings, Clients]:
    """Every patron at once, from the moment all are signed in."""
    processes = max(1, min(args.client_processes, len(samples.patrons)))
    numbers = list(range(len(samples.patrons)))
    options = {"requests_each": args.requests, "think": args.think, "seed": args.seed + round_}
    each = [
        {
            "target": target,
            "portal": portal,
            "samples": samples,
            "numbers": numbers[n::processes],
            "options": options,
        }
        for n in range(processes)
    ]
    ran = clients_at_once(_client, each, server_pid)
    timings = Timings()
    for got, failed in ran.results:
        timings.merge(Timings(got, failed))
    return timings, ran


def verifier_ms(checks: int) -> dict[str, float]:
    """The PIN verifier alone: what every sign-in must spend."""
    verifier = pin_verifier(PIN)
    spent = []
    for _ in range(checks):
        began = time.perf_counter()
        assert pin_matches(verifier, PIN)
        spent.append((time.perf_counter() - began) * 1000)
    return {"p50_ms": round(statistics.median(spent), 1), "max_ms": round(max(spent), 1)}


def check_pages(server: str, samples: Samples) -> None:
    """Before timing anything: a sampled patron signs in and sees their own loans, and a
    search finds its title, so that a page timed is a page that worked."""
    timings = Timings()
    patron = PortalPatron(server, samples.patrons[0][1], timings)
    try:
        account = patron.http.get(f"{server}/my/", timeout=60).text
        barcode = samples.loans[samples.patrons[0][0]][0]
        if barcode not in account:
            raise SystemExit("the account page does not show the patron's loan")
        word = samples.searches["title"][0]
        found = patron.http.post(
            f"{server}/my/catalogue",
            data={"text": word, "csrf_token": patron.token},
            timeout=60,
        ).text
        if not re.search(re.escape(word), found, re.IGNORECASE):
            raise SystemExit(f"a catalogue search for {word!r} found nothing")
    finally:
        patron.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    scale = Scale(args.items, args.patrons, args.loans, args.seed)
    schema = args.schema or schema_name(scale, args.kiosks, args.history)
    result: dict[str, Any] = {
        "items": args.items,
        "patrons": args.patrons,
        "patrons_at_once": args.patrons_at_once,
        "think_s": args.think,
        "server_workers": args.workers,
        "schema": schema,
    }
    load_s = load(
        args.postgres, schema, scale, kiosks=args.kiosks, history=args.history, sessions=1
    )
    result["load_s"] = None if load_s is None else round(load_s, 1)
    try:
        samples = draw_samples(args.postgres, schema, args.patrons_at_once, args.seed)
        portal, floor = Timings(), Timings()
        spent = {"portal": [0.0, 0.0, 0.0], "floor": [0.0, 0.0, 0.0]}
        scratch = Path(tempfile.mkdtemp(prefix="portal-bench-"))
        with serving(in_schema(args.postgres, schema), args.workers, scratch) as server:
            assert server.process is not None
            check_pages(server.url, samples)
            for round_ in range(args.rounds):
                for name in ("floor", "portal"):
                    timings, ran = phase(
                        server.url if name == "portal" else samples.dsn,
                        portal=name == "portal",
                        samples=samples,
                        args=args,
                        round_=round_,
                        server_pid=server.process.pid if name == "portal" else None,
                    )
                    (portal if name == "portal" else floor).merge(timings)
                    for n, value in enumerate((ran.elapsed_s, ran.machine_cpu_s, ran.server_cpu_s)):
                        spent[name][n] += value
                    print(
                        f"round {round_ + 1} {name}: "
                        f"{sum(len(v) for v in timings.samples.values())} timed in "
                        f"{ran.elapsed_s:.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )
        result.update(beside_floor(portal, floor, list(SHOWN), goal_of))
        result["pin_verifier"] = verifier_ms(args.verifier_checks)
        pages = sum(len(portal.samples.get(kind, [])) for kind in MIX)
        elapsed, machine, server_cpu = spent["portal"]
        result["portal_pages"] = pages
        result["portal_pages_per_s"] = round(pages / elapsed, 1)
        result["server_cpu_ms_per_page"] = round(1000 * server_cpu / max(1, pages), 1)
        cpus = os.cpu_count() or 1
        result["machine_busy_portal"] = round(machine / elapsed / cpus, 2)
        result["machine_busy_floor"] = round(spent["floor"][1] / spent["floor"][0] / cpus, 2)
        result["cpus"] = cpus
    finally:
        if not args.keep:
            drop(args.postgres, schema)
    return result


def goal_of(kind: str) -> float | None:
    return SEARCH_GOAL_MS if kind == "search" else None if kind == "sign_in" else PAGE_GOAL_MS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scale_arguments(parser)
    parser.add_argument("--patrons-at-once", type=int, default=200)
    parser.add_argument("--requests", type=int, default=10, help="pages each patron opens a round")
    parser.add_argument(
        "--think",
        type=float,
        default=10.0,
        help="mean seconds a patron reads a page before the next (0 to twice this)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="turns of the floor then the portal")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--verifier-checks", type=int, default=20)
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return 0
    for key, value in result.items():
        if key != "pages":
            print(f"{key:>24}: {value}")
    print(f"{'page':<10} {'n':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'floor p99':>10}  goal")
    for kind, row in result["pages"].items():

        def ms(key: str, row: dict[str, Any] = row) -> str:
            value = row.get(key)
            return "-" if value is None else f"{value:.1f}"

        goal = f"p99 <= {row['goal_p99_ms']:.0f}: {row['verdict']}" if "goal_p99_ms" in row else ""
        print(
            f"{kind:<10} {row.get('count', 0):>6} {ms('p50_ms'):>8} {ms('p95_ms'):>8} "
            f"{ms('p99_ms'):>8} {ms('floor_p99_ms'):>10}  {goal}"
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
