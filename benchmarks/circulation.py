"""How long a checkout or a return takes on the kiosk, at the scale of a large library.

Builds (once, then cached under benchmarks/.cache/) a mirror with the demo data
generator, then runs checkout-then-return cycles through the real circulation
path, each ending in a durable journal commit (WAL, synchronous=FULL). In the
same run it measures the floor: plain ``sqlite3`` doing the same minimal reads
(item and title, its loan, its holds, the patron, the patron's loans) and one
journal insert under the same synchronous setting. Each kiosk operation runs right
after the floor's, so that both meet the same machine: on a shared machine the
disk's flushes vary tenfold from one minute to the next.

Then it times the purge of the run's entries, as the sync agent does after a sync
(deleted with secure_delete, the journal rebuilt, the write-ahead logs folded in and
truncated), and the rebuild of the mirror's loans and holds that follows a change to
them; with ``--secure-delete off`` the kiosk runs without secure_delete, to measure
what it costs a checkout.

    python benchmarks/circulation.py [--items N] [--patrons M] [--loans K]
                                     [--cycles C] [--seed S] [--secure-delete on|off]
                                     [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path

from kiosk.circulation.service import Circulation
from kiosk.circulation.views import CheckoutStatus, PatronSession, ReturnStatus
from kiosk.common.clock import FixedClock
from kiosk.demo.library import Scale, build_demo_library
from kiosk.store import mirroring, outbox
from kiosk.store.store import Store

CACHE = Path(__file__).parent / ".cache"
NOW = datetime(2026, 11, 23, 10, 0)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def cached_mirror(scale: Scale) -> tuple[Path, float | None]:
    """The cached data directory for this scale, and the build time if built now."""
    directory = (
        CACHE / f"items{scale.items}-patrons{scale.patrons}-loans{scale.loans}-seed{scale.seed}"
    )
    if (directory / "demo-cards.json").exists():
        return directory, None
    shutil.rmtree(directory, ignore_errors=True)
    started = time.perf_counter()
    build_demo_library(directory, scale, NOW)
    return directory, time.perf_counter() - started


def borrower_and_items(directory: Path, cycles: int, seed: int) -> tuple[str, list[str]]:
    """An adult with nothing on loan, and available Fiction and Non Fiction items to lend."""
    with sqlite3.connect(directory / "mirror.db") as mirror:
        (patron_id,) = mirror.execute(
            "SELECT patron_id FROM patrons WHERE member_type = 'ADULT' AND NOT barred "
            "AND owed = 0 AND expires > ? AND patron_id NOT IN (SELECT patron_id FROM loans) "
            "AND patron_id NOT IN (SELECT patron_id FROM holds) LIMIT 1",
            (NOW.date().isoformat(),),
        ).fetchone()
        candidates = [
            row[0]
            for row in mirror.execute(
                "SELECT barcode FROM items JOIN records USING (brn) "
                "WHERE status = 'available' AND publication_type IN ('FICTION', 'NONFICTION') "
                "AND barcode NOT IN (SELECT item_barcode FROM loans) "
                "AND barcode NOT IN (SELECT item_barcode FROM holds)"
            )
        ]
    chooser = random.Random(seed)
    return patron_id, chooser.sample(candidates, k=min(cycles, len(candidates)))


def timed(work: Callable[[], object], samples: list[float]) -> object:
    started = time.perf_counter_ns()
    result = work()
    samples.append((time.perf_counter_ns() - started) / 1e6)
    return result


class Kiosk:
    """The real circulation path on the data directory: one checkout or return each."""

    def __init__(self, directory: Path, patron_id: str, *, secure_delete: bool = True) -> None:
        self.store = Store.open(directory, secure_delete=secure_delete)
        self.circulation = Circulation(self.store, FixedClock(NOW))
        with sqlite3.connect(directory / "mirror.db") as mirror:
            first_name, member_type = mirror.execute(
                "SELECT first_name, member_type FROM patrons WHERE patron_id = ?", (patron_id,)
            ).fetchone()
        self.session = PatronSession(patron_id, first_name, member_type)

    def checkout(self, barcode: str) -> object:
        return self.circulation.checkout(self.session, barcode)

    def give_back(self, barcode: str) -> object:
        return self.circulation.return_item(barcode)

    def check(self, barcode: str, lent: object, back: object) -> None:
        if getattr(lent, "status", None) is not CheckoutStatus.LENT:
            raise SystemExit(f"benchmark setup: checkout of {barcode} gave {lent}")
        if getattr(back, "status", None) is not ReturnStatus.RETURNED:
            raise SystemExit(f"benchmark setup: return of {barcode} gave {back}")

    def purge(self) -> tuple[float, float]:
        """Seconds to forget every entry once the mirror shows them all, as the sync agent
        does after a sync (the deletes, the journal rebuilt, the write-ahead logs folded
        in and truncated); and to rebuild the mirror's loans and holds, as it does at
        most every quarter of an hour."""
        mirroring.apply_changes(
            self.store,
            policies=[],
            tables=[],
            cursor=0,
            synced_at=NOW,
            reflected=[outbox.newest_seq(self.store)],
        )
        # Applied by the server and covered by its backup: all of them may go.
        applied = [(entry.id, "applied") for entry in outbox.entries(self.store)]
        outbox.acknowledge(self.store, applied, NOW, position=0)
        started = time.perf_counter()
        outbox.purge(self.store, covered_through=0, acknowledged_before=NOW)
        purged = time.perf_counter()
        mirroring.scrub_lending(self.store)
        return purged - started, time.perf_counter() - purged

    def close(self) -> None:
        self.store.close()


class Floor:
    """The least any kiosk must do: the same reads, one durable insert, one commit."""

    def __init__(self, directory: Path, patron_id: str, scratch: Path) -> None:
        self.patron_id = patron_id
        self.mirror = sqlite3.connect(directory / "mirror.db", isolation_level=None)
        self.mirror.execute("PRAGMA journal_mode = WAL")
        self.journal = sqlite3.connect(scratch / "floor-journal.db", isolation_level=None)
        self.journal.execute("PRAGMA journal_mode = WAL")
        self.journal.execute("PRAGMA synchronous = FULL")
        self.journal.execute(
            "CREATE TABLE entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, "
            "kind TEXT, decided_at TEXT, item_barcode TEXT, patron_id TEXT, payload TEXT)"
        )

    def _reads(self, barcode: str, with_patron: bool) -> None:
        mirror = self.mirror
        mirror.execute("BEGIN")
        mirror.execute(
            "SELECT i.*, r.title, r.publication_type FROM items i JOIN records r USING (brn) "
            "WHERE barcode = ?",
            (barcode,),
        ).fetchone()
        mirror.execute("SELECT * FROM loans WHERE item_barcode = ?", (barcode,)).fetchone()
        mirror.execute("SELECT patron_id FROM holds WHERE item_barcode = ?", (barcode,)).fetchall()
        if with_patron:
            mirror.execute(
                "SELECT * FROM patrons WHERE patron_id = ?", (self.patron_id,)
            ).fetchone()
            mirror.execute(
                "SELECT item_barcode FROM loans WHERE patron_id = ?", (self.patron_id,)
            ).fetchall()
        mirror.execute("COMMIT")

    def _record(self, kind: str, barcode: str) -> None:
        self.journal.execute("BEGIN IMMEDIATE")
        self.journal.execute(
            "INSERT INTO entries (id, kind, decided_at, item_barcode, patron_id, payload) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                str(uuid.uuid4()),
                kind,
                NOW.isoformat(),
                barcode,
                self.patron_id,
                '{"due": "2026-12-14"}',
            ),
        )
        self.journal.execute("COMMIT")

    def checkout(self, barcode: str) -> None:
        self._reads(barcode, True)
        self._record("checkout", barcode)

    def give_back(self, barcode: str) -> None:
        self._reads(barcode, False)
        self._record("return", barcode)

    def close(self) -> None:
        self.mirror.close()
        self.journal.close()


Samples = dict[str, list[float]]


def run(
    directory: Path, patron_id: str, items: list[str], *, secure_delete: bool
) -> tuple[Samples, Samples, tuple[float, float]]:
    """Each operation of the kiosk right after the same operation of the floor, so that
    both meet the same machine (other work, the disk's flushes) and can be compared.
    Then the purge of all the kiosk's entries, timed."""
    floor = Floor(directory, patron_id, directory)
    kiosk = Kiosk(directory, patron_id, secure_delete=secure_delete)
    floor_samples: Samples = {"checkout": [], "return": []}
    kiosk_samples: Samples = {"checkout": [], "return": []}
    for barcode in items:
        timed(partial(floor.checkout, barcode), floor_samples["checkout"])
        lent = timed(partial(kiosk.checkout, barcode), kiosk_samples["checkout"])
        timed(partial(floor.give_back, barcode), floor_samples["return"])
        back = timed(partial(kiosk.give_back, barcode), kiosk_samples["return"])
        kiosk.check(barcode, lent, back)
    floor.close()
    purge = kiosk.purge()
    kiosk.close()
    return kiosk_samples, floor_samples, purge


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2_000_000)
    parser.add_argument("--patrons", type=int, default=500_000)
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--secure-delete",
        choices=("on", "off"),
        default="on",
        help="off only to measure what a kiosk's secure_delete costs (a kiosk has it on)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    scale = Scale(args.items, args.patrons, args.loans, args.seed)
    cached, build_s = cached_mirror(scale)
    patron_id, items = borrower_and_items(cached, args.cycles, args.seed)
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        shutil.copyfile(cached / "mirror.db", scratch / "mirror.db")
        kiosk, floor, (purge_s, scrub_s) = run(
            scratch, patron_id, items, secure_delete=args.secure_delete == "on"
        )
    every = kiosk["checkout"] + kiosk["return"]
    floor_every = floor["checkout"] + floor["return"]
    result = {
        "items": args.items,
        "patrons": args.patrons,
        "loans": args.loans,
        "operations": len(every),
        "p50_ms": round(percentile(every, 0.5), 3),
        "p99_ms": round(percentile(every, 0.99), 3),
        "checkout_p99_ms": round(percentile(kiosk["checkout"], 0.99), 3),
        "return_p99_ms": round(percentile(kiosk["return"], 0.99), 3),
        "floor_p50_ms": round(percentile(floor_every, 0.5), 3),
        "floor_p99_ms": round(percentile(floor_every, 0.99), 3),
        "ratio_p50": round(percentile(every, 0.5) / percentile(floor_every, 0.5), 2),
        "ratio_p99": round(percentile(every, 0.99) / percentile(floor_every, 0.99), 2),
        "mean_ms": round(statistics.fmean(every), 3),
        "secure_delete": args.secure_delete,
        "purge_ms": round(purge_s * 1000, 1),  # forgetting the run's entries, as after a sync
        "lending_scrub_ms": round(scrub_s * 1000, 1),  # the mirror's loans and holds rebuilt
        "mirror_mb": round((cached / "mirror.db").stat().st_size / 1e6, 1),
        "build_s": None if build_s is None else round(build_s, 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>16}: {value}")
        if build_s is None:
            print(f"(mirror reused from {cached}; delete it to measure build_s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
