"""Power cuts, damaged mirrors, full disks and clocks that jumped: nothing is lost."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event

from kiosk.circulation.service import Circulation
from kiosk.circulation.views import CheckoutStatus, OutOfService, ReturnStatus, Unavailable
from kiosk.common.clock import FixedClock, SystemClock
from kiosk.session import wording
from kiosk.session.i18n import load_translators
from kiosk.store.errors import StoreCorrupt
from kiosk.store.store import MirrorHealth, Store

from .library import ADA, BEN, BEN_OVERDUE, CARDS, FICTION, NONFICTION, PIN, build


def entries(directory: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(directory / "journal.db") as connection:
        return connection.execute("SELECT id, kind FROM entries ORDER BY seq").fetchall()


def checkout_as(circulation: Circulation, patron_id: str, barcode: str) -> object:
    identified = circulation.identify(CARDS[patron_id], PIN)
    assert not isinstance(identified, Unavailable)
    assert identified.session is not None
    return circulation.checkout(identified.session, barcode)


# --- the mirror -----------------------------------------------------------------------


def test_a_deleted_mirror_puts_the_kiosk_out_of_service_and_keeps_the_journal(
    store: Store, clock: FixedClock
) -> None:
    circulation = Circulation(store, clock)
    checkout_as(circulation, ADA, FICTION[0])
    before = entries(store.directory)
    store.close()
    for path in store.directory.glob("mirror.db*"):
        path.unlink()

    reopened = Store.open(store.directory, kiosk_id="kiosk-test")
    assert reopened.mirror_health is MirrorHealth.EMPTY
    answer = Circulation(reopened, clock).return_item(BEN_OVERDUE)
    assert answer == Unavailable(OutOfService.MIRROR_EMPTY)
    assert entries(store.directory) == before


def test_a_corrupt_mirror_is_set_aside_and_lending_resumes_once_rebuilt(
    store: Store, clock: FixedClock, verifier: str
) -> None:
    circulation = Circulation(store, clock)
    checkout_as(circulation, ADA, FICTION[0])
    before = entries(store.directory)
    store.close()
    mirror = store.directory / "mirror.db"
    data = bytearray(mirror.read_bytes())
    data[100:4000] = os.urandom(3900)  # the header and the first pages
    mirror.write_bytes(bytes(data))

    reopened = Store.open(store.directory, kiosk_id="kiosk-test")
    assert reopened.mirror_health is MirrorHealth.SET_ASIDE
    assert list(store.directory.glob("mirror.db.damaged-*"))
    assert Circulation(reopened, clock).identify(CARDS[ADA], PIN) == Unavailable(
        OutOfService.MIRROR_EMPTY
    )
    assert entries(store.directory) == before
    reopened.close()

    rebuilt = build(store.directory, verifier=verifier)  # what the next sync does
    assert rebuilt.mirror_health is MirrorHealth.READY
    view = checkout_as(Circulation(rebuilt, clock), BEN, FICTION[1])
    assert view.status is CheckoutStatus.LENT  # type: ignore[attr-defined]
    assert entries(store.directory)[: len(before)] == before
    rebuilt.close()


def test_a_damaged_journal_stops_the_kiosk_rather_than_being_replaced(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "journal.db").write_bytes(b"this is not a database" * 400)
    with pytest.raises(StoreCorrupt, match=r"journal\.db"):
        Store.open(directory)
    assert (directory / "journal.db").read_bytes().startswith(b"this is not a database")


# --- the disk -------------------------------------------------------------------------


def test_a_full_disk_refuses_the_transaction_whole_and_lending_resumes_after(
    store: Store, circulation: Circulation
) -> None:
    with sqlite3.connect(store.directory / "journal.db") as connection:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]

    def cap_the_file(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # SQLite's own size limit: the write fails with SQLITE_FULL, as on a full card.
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 2}")

    event.listen(store.journal, "connect", cap_the_file)
    store.journal.dispose()  # reconnect under the cap
    try:
        answers = [circulation.return_item(f"399999{n:08d}") for n in range(400)]
    finally:
        event.remove(store.journal, "connect", cap_the_file)
        store.journal.dispose()  # and without it: the space has come back
    full = [answer for answer in answers if isinstance(answer, Unavailable)]
    taken = [answer for answer in answers if not isinstance(answer, Unavailable)]
    assert full, "the journal should have filled up"
    assert set(full) == {Unavailable(OutOfService.DISK_FULL)}
    # kiosk circ's words for it, from the catalog (tests/test_circ_commands.py runs it)
    english = load_translators(("en",))["en"]
    assert wording.out_of_service_sentence(english) == (
        "This kiosk is out of service. Please see a member of staff."
    )
    assert {answer.entry_id for answer in taken} == {row[0] for row in entries(store.directory)}
    with sqlite3.connect(store.directory / "journal.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    resumed = checkout_as(circulation, ADA, NONFICTION[0])
    assert resumed.status is CheckoutStatus.LENT  # type: ignore[attr-defined]


# --- the clock ------------------------------------------------------------------------


@pytest.mark.parametrize("wrong", [datetime(1970, 1, 1, 0, 0), datetime(2026, 11, 23, 9, 59)])
def test_a_clock_behind_the_latest_recorded_time_stops_lending_until_it_catches_up(
    circulation: Circulation, clock: FixedClock, store: Store, wrong: datetime
) -> None:
    circulation.return_item(BEN_OVERDUE)
    recorded = len(entries(store.directory))
    clock.set(wrong)
    assert circulation.return_item(FICTION[0]) == Unavailable(OutOfService.CLOCK_UNTRUSTED)
    assert len(entries(store.directory)) == recorded
    clock.set(datetime(2026, 11, 23, 10, 0))
    assert circulation.return_item(FICTION[0]).status is ReturnStatus.NOT_ON_LOAN  # type: ignore[union-attr]


def test_a_first_start_with_a_clock_in_1970_does_not_lend(store: Store) -> None:
    circulation = Circulation(store, FixedClock(datetime(1970, 1, 1, 0, 0, 5)))
    assert circulation.return_item(BEN_OVERDUE) == Unavailable(OutOfService.CLOCK_UNTRUSTED)


# --- power cuts -----------------------------------------------------------------------

KILLS = 200


def _burst(circulation: Circulation, write_fd: int) -> None:  # pragma: no cover - in the child
    """Lend and take back as fast as possible, reporting each answer once it returned."""
    identified = circulation.identify(CARDS[ADA], None)
    session = identified.session  # type: ignore[union-attr]
    with os.fdopen(write_fd, "w", buffering=1) as report:
        while True:
            for barcode in FICTION[:3]:
                lent = circulation.checkout(session, barcode)  # type: ignore[arg-type]
                if getattr(lent, "entry_id", None):
                    report.write(f"{lent.entry_id}\n")  # type: ignore[union-attr]
                back = circulation.return_item(barcode)
                if getattr(back, "entry_id", None):
                    report.write(f"{back.entry_id}\n")  # type: ignore[union-attr]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_kill_9_at_random_moments_loses_no_answer_and_leaves_no_half_write(
    tmp_path: Path, verifier: str
) -> None:
    directory = tmp_path / "data"
    store = build(directory, verifier=verifier)
    circulation = Circulation(store, SystemClock(), pin_required=False)
    chooser = random.Random(20261123)
    reported_total = 0
    for _ in range(KILLS):
        read_fd, write_fd = os.pipe()
        store.close()  # no SQLite connection may cross a fork; the engines reconnect on use
        child = os.fork()
        if child == 0:  # pragma: no cover - the child never returns
            os.close(read_fd)
            try:
                _burst(circulation, write_fd)
            finally:
                os._exit(1)
        os.close(write_fd)
        time.sleep(chooser.uniform(0.01, 0.2))
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        with os.fdopen(read_fd) as report:
            lines = report.read().split("\n")
        reported = {line for line in lines[:-1] if line}  # the last line may be cut short
        reported_total += len(reported)
        with sqlite3.connect(directory / "journal.db") as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            journal = {row[0] for row in connection.execute("SELECT id FROM entries")}
            half = connection.execute(
                "SELECT count(*) FROM entries WHERE json_valid(payload) = 0 OR decided_at IS NULL"
            ).fetchone()[0]
        missing = reported - journal
        assert not missing, f"answers shown but not in the journal: {sorted(missing)[:3]}"
        assert half == 0
    assert reported_total > KILLS, "the children must have got some work done"
