"""No loan history can be read back from the kiosk's card once the server holds it.

Architecture invariant 6, as someone with the SD card in hand would test it: not through
SQLite, which hides deleted rows, but in the raw bytes of ``journal.db`` and its ``-wal``
and ``-shm`` files, and of ``mirror.db`` and its own. The library's server is the real
``kiosk-central serve`` on a loopback port and the sync agent the real ``kiosk sync``;
the lending goes through the kiosk's circulation service on its store, which stays open
all along, as the screens' process does (so the ``-wal`` and ``-shm`` files are there).

Each search is first shown to find what it looks for while it is there, so that a
search that could not find anything cannot pass for privacy.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from kiosk.central.process import CentralProcess
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import CheckoutStatus, ReturnStatus, Unavailable
from kiosk.common.clock import FixedClock, SystemClock
from kiosk.demo.library import Scale, build_demo_library
from kiosk.store import mirroring, outbox
from kiosk.store.store import Store

BIN = Path(sys.executable).parent  # the virtual environment's console scripts
KIOSK, CENTRAL = str(BIN / "kiosk"), str(BIN / "kiosk-central")
ITEMS = 1000
NOW = datetime(2026, 11, 23, 10, 0)


def run(*command: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{command[:3]}: {done.stderr[-2000:]}"
    return done


@dataclass
class Lent:
    """What the kiosk lent: the items, and the borrowers' ids and card numbers."""

    loans: dict[str, str] = field(default_factory=dict)  # item barcode -> patron id
    cards: dict[str, str] = field(default_factory=dict)  # patron id -> card number

    def identifiers(self) -> set[bytes]:
        return {text.encode() for text in (*self.loans, *self.cards, *self.cards.values())}

    def loan_records(self) -> set[bytes]:
        """A loan as the mirror stores it: the item's barcode and the borrower's id side by
        side, in the row (``loans``) or the other way round in its index (``loans_by_patron``).
        Each alone is no secret there: the mirror lists every item and member."""
        return {
            pair
            for barcode, patron in self.loans.items()
            for pair in ((barcode + patron).encode(), (patron + barcode).encode())
        }


def raw_bytes(data: Path, name: str) -> dict[str, bytes]:
    """The database file and its -wal and -shm files, byte for byte, as they are now.

    Copied by another process: closing a file descriptor of a database file drops every
    POSIX lock this process holds on it, SQLite's included, and the sync agent would then
    take itself for the last user of the files and delete the -wal and -shm files."""
    names = [f"{name}{suffix}" for suffix in ("", "-wal", "-shm")]
    copy = data.parent / f"copy-of-{name}"
    copy.mkdir(exist_ok=True)
    run("cp", *(str(data / each) for each in names), str(copy))
    return {each: (copy / each).read_bytes() for each in names}


def found(files: dict[str, bytes], secrets: set[bytes]) -> dict[str, int]:
    """How many of ``secrets`` each file holds."""
    return {name: sum(secret in data for secret in secrets) for name, data in files.items()}


@contextlib.contextmanager
def central_server(tmp_path: Path) -> Iterator[tuple[str, Path, Callable[[], None]]]:
    """``kiosk-central serve`` on a generated library big enough to lend 1,000 items, with
    one kiosk registered: its URL, that kiosk's token file, and a way to back it up
    (``kiosk-central backup``; until one covers them, the kiosk keeps what it lent)."""
    database = f"sqlite:///{tmp_path / 'central.db'}"
    run(CENTRAL, "--db", database, "init")
    demo = (CENTRAL, "--db", database, "demo-data", "--out", str(tmp_path / "cards"))
    run(*demo, "--items", "4000", "--patrons", "600", "--loans", "100", "--seed", "7")
    token = tmp_path / "token"
    token.write_text(run(CENTRAL, "--db", database, "kiosk", "add", "kiosk-a").stdout.split()[-1])
    token.chmod(0o600)
    server = CentralProcess(database, log=tmp_path / "central.log").start()
    backups = tmp_path / "backups"
    backups.mkdir()
    # The test's folder shares the database's disk: said to be copied off the machine, as
    # a site whose backups count for the kiosks would (docs/operations.md).
    settings = tmp_path / "central.toml"
    settings.write_text("[backup]\noff_machine = true\n")
    try:

        def back_up() -> None:
            run(CENTRAL, "--db", database, "--config", str(settings), "backup", str(backups))

        yield server.url, token, back_up
    finally:
        server.stop()


def lendable(mirror: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Available books nobody has or waits for, and adult members free to borrow, as the
    kiosk's mirror has them (read with plain sqlite3, read-only)."""
    with contextlib.closing(sqlite3.connect(f"file:{mirror}?mode=ro", uri=True)) as db:
        items = [
            row[0]
            for row in db.execute(
                "SELECT barcode FROM items JOIN records USING (brn) WHERE status = 'available' "
                "AND publication_type IN ('FICTION', 'NONFICTION') "
                "AND barcode NOT IN (SELECT item_barcode FROM loans) "
                "AND barcode NOT IN (SELECT item_barcode FROM holds) ORDER BY barcode"
            )
        ]
        patrons = db.execute(
            "SELECT patron_id, card FROM patrons WHERE member_type = 'ADULT' AND NOT barred "
            "AND owed = 0 AND (expires IS NULL OR expires > date('now', '+1 month')) "
            "AND patron_id NOT IN (SELECT patron_id FROM loans) "
            "AND patron_id NOT IN (SELECT patron_id FROM holds) ORDER BY patron_id"
        ).fetchall()
    return items, patrons


def lend(
    circulation: Circulation, items: list[str], patrons: list[tuple[str, str]], count: int
) -> Lent:
    """Lend ``count`` of ``items``, each borrower taking books until the rules refuse one
    more."""
    lent = Lent()
    borrowers = iter(patrons)
    books = iter(items)
    barcode = next(books)
    while len(lent.loans) < count:
        patron_id, card = next(borrowers)
        identified = circulation.identify(card, None)
        assert not isinstance(identified, Unavailable)
        assert identified.session is not None, identified
        while len(lent.loans) < count:
            answer = circulation.checkout(identified.session, barcode)
            assert not isinstance(answer, Unavailable), answer
            if answer.status is not CheckoutStatus.LENT:
                break  # this borrower has all they may: the next one takes this book
            lent.loans[barcode] = patron_id
            lent.cards[patron_id] = card
            barcode = next(books)
    return lent


def test_lent_and_returned_items_leave_nothing_on_the_card_once_synced(tmp_path: Path) -> None:
    data = tmp_path / "kiosk"
    with central_server(tmp_path) as (url, token, back_up):
        sync = (KIOSK, "sync", "--data", str(data), "--server", url, "--token-file", str(token))
        run(*sync, "--once")  # the first snapshot
        items, patrons = lendable(data / "mirror.db")
        assert len(items) > ITEMS + 100
        store = Store.open(data)  # the screens' process: open from here on
        try:
            circulation = Circulation(store, SystemClock(), pin_required=False)
            lent = lend(circulation, items, patrons, ITEMS)
            assert len(lent.loans) == ITEMS
            assert len(lent.cards) > 50  # many borrowers, each up to the rules' quota

            # Pushed, applied and pulled back: the loans are now the mirror's, as the
            # server sent them; once a backup of the server covers them, the journal
            # forgets its checkouts.
            run(*sync, "--once")
            assert len(outbox.entries(store)) == ITEMS, "kept until a backup covers them"
            back_up()
            run(*sync, "--once")
            assert outbox.entries(store) == []
            mirror = raw_bytes(data, "mirror.db")
            assert sum(found(mirror, lent.loan_records()).values()) >= ITEMS  # the control

            # Every book comes back at the drop station.
            for barcode in lent.loans:
                answer = circulation.return_item(barcode)
                assert not isinstance(answer, Unavailable), answer
                assert answer.status is ReturnStatus.RETURNED, answer
            journal = raw_bytes(data, "journal.db")
            assert sum(found(journal, lent.identifiers()).values()) >= ITEMS  # the control

            # Synced and backed up: the server holds every loan and return durably; the
            # kiosk keeps nothing.
            run(*sync, "--once")
            back_up()
            run(*sync, "--once")
            assert outbox.entries(store) == []
            journal = raw_bytes(data, "journal.db")
            assert found(journal, lent.identifiers()) == dict.fromkeys(journal, 0)
            mirror = raw_bytes(data, "mirror.db")
            assert found(mirror, lent.loan_records()) == dict.fromkeys(mirror, 0)
        finally:
            store.close()


def test_a_partial_purge_leaves_nothing_readable_of_what_it_purged(tmp_path: Path) -> None:
    """The sync agent purges what the mirror reflects while newer entries wait, so the
    journal keeps live rows on the pages that held purged ones, where SQLite may have
    left copies of those while rebalancing its b-trees: secure_delete does not reach
    them, rebuilding the journal from its live rows does. The store's own purge, on a
    real journal written by the circulation service, round after round."""
    data = tmp_path / "kiosk"
    build_demo_library(data, Scale(items=3000, patrons=400, loans=50, seed=11), NOW)
    items, patrons = lendable(data / "mirror.db")
    store = Store.open(data)
    try:
        circulation = Circulation(store, FixedClock(NOW), pin_required=False)
        touched: set[str] = set()
        for round_ in range(6):
            lent = lend(circulation, items[round_ * 200 :], patrons, count=150)
            for barcode in list(lent.loans)[::2]:  # half of them come back at once
                circulation.return_item(barcode)
            touched |= set(lent.loans)
            entries = outbox.entries(store)
            # The server has applied the older half, and the next delta says so; a backup
            # of the server covers them.
            older = entries[: len(entries) // 2 + 1]
            outbox.acknowledge(store, [(entry.id, "applied") for entry in older], NOW, 0)
            reflected = [older[-1].seq]
            mirroring.apply_changes(
                store, policies=[], tables=[], cursor=0, synced_at=NOW, reflected=reflected
            )
            assert outbox.purge(store, covered_through=0, acknowledged_before=NOW) > 0
        waiting = {entry.item_barcode for entry in outbox.entries(store)}
        purged = touched - waiting
        assert waiting
        assert len(purged) > 300
        journal = raw_bytes(data, "journal.db")
        assert sum(found(journal, {b.encode() for b in waiting}).values()) >= len(waiting)
        assert found(journal, {b.encode() for b in purged}) == dict.fromkeys(journal, 0)
    finally:
        store.close()
