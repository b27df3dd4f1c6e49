"""A full disk, for real: the kiosk's data directory on a small tmpfs that fills up.

The kiosk is driven only through its programs, as on an installed kiosk: the sync agent
(``kiosk sync``) runs all along and keeps ``journal.db`` and ``mirror.db`` open, as
``kiosk-sync.service`` does; staff lend from the terminal with ``kiosk circ``; ``kiosk
status`` says whether it can lend; ``kiosk-central serve`` is the library's server.

The disk is ``DISK_FULL_MB`` (the mark below which ``kiosk status`` and the screens
call the disk full; a constant, not a setting) plus 8 MB, so both sides of that mark
are seen on the same filesystem, and then its very last bytes are used up.

Mounting needs root (or CAP_SYS_ADMIN): elsewhere the test is skipped with the reason,
and under CI (``$CI`` set) it fails instead, so that CI never passes without it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kiosk.appliance.status import DISK_FULL_MB
from kiosk.central.process import CentralProcess
from kiosk.sync import last_sync
from tests.screens.xvfb import start_kiosk

MIB = 2**20
BIN = Path(sys.executable).parent  # the virtual environment's console scripts
KIOSK = str(BIN / "kiosk")
CENTRAL = str(BIN / "kiosk-central")


def _mount_tmpfs(where: Path, size_mb: int) -> None:
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        refusal = mounted.stderr.strip() if mounted.returncode != 0 else None
    except FileNotFoundError:
        refusal = "there is no mount command"
    if refusal is None:
        return
    reason = f"cannot mount a tmpfs here (root or CAP_SYS_ADMIN is needed): {refusal}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the full-disk test, so it fails rather than skips")
    pytest.skip(reason)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "disk"
    where.mkdir()
    _mount_tmpfs(where, DISK_FULL_MB + 8)
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], check=False).returncode != 0:
            subprocess.run(["umount", "--lazy", str(where)], check=False)


# --- the programs ---------------------------------------------------------------------


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@dataclass
class Answer:
    """``kiosk circ --json``: its exit status, one JSON object per answer, its stderr."""

    status: int
    lines: list[dict[str, Any]]
    stderr: str

    @property
    def recorded(self) -> list[str]:
        """The transactions this run reported: each is durable in the journal."""
        return [line["entry_id"] for line in self.lines if line.get("entry_id")]

    @property
    def out_of_service(self) -> str | None:
        return self.lines[-1].get("cause") if self.lines else None


def circ(data: Path, *args: str) -> Answer:
    done = run(KIOSK, "circ", "--data", str(data), "--json", *args)
    assert "Traceback" not in done.stderr, done.stderr
    return Answer(
        done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr
    )


def status(data: Path) -> tuple[int, dict[str, Any]]:
    done = run(KIOSK, "status", "--data", str(data), "--json")
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.3)


def pending(data: Path) -> int:
    count: int = status(data)[1]["journal"]["pending"]
    return count


# --- the disk -------------------------------------------------------------------------


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def fill(disk: Path, name: str, *, leave: int) -> None:
    """Take all but ``leave`` bytes of the disk's free space with a file of zeros."""
    size = free_bytes(disk) - leave
    assert size > 0, f"only {free_bytes(disk)} bytes free"
    descriptor = os.open(disk / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.posix_fallocate(descriptor, 0, size)
    finally:
        os.close(descriptor)


def fill_to_the_last_byte(disk: Path, name: str) -> None:
    descriptor = os.open(disk / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for block in (4096, 512, 1):
            while True:
                try:
                    os.write(descriptor, b"\0" * block)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(descriptor)
    assert free_bytes(disk) == 0


def journal_copy(data: Path, into: Path) -> sqlite3.Connection:
    """journal.db as a power cut now would leave it (the file and its WAL), opened on
    another disk: SQLite recovers the WAL there as the kiosk would at its next start."""
    into.mkdir()
    for suffix in ("", "-wal"):
        source = data / f"journal.db{suffix}"
        if source.exists():
            (into / source.name).write_bytes(source.read_bytes())
    return sqlite3.connect(into / "journal.db")


# --- the test -------------------------------------------------------------------------


@dataclass
class Library:
    card: str
    pin: str
    items: list[str]


def library(cards_file: Path) -> Library:
    cards = json.loads(cards_file.read_text())
    adult = next(c for c in cards["cards"] if c["situation"] == "adult, nothing on loan")
    items = (
        cards["items"]["FICTION"]["available"][:3] + cards["items"]["NONFICTION"]["available"][:2]
    )
    return Library(adult["card"], adult["pin"], items)


def lend_and_take_back(
    data: Path, lib: Library, items: list[str]
) -> tuple[list[str], Answer | None]:
    """One round at the terminal: the patron borrows the books and brings them back.
    Returns what was recorded and, if the kiosk went out of service, its answer."""
    recorded: list[str] = []
    for answer in (
        circ(data, "checkout", "--card", lib.card, "--pin", lib.pin, *_items(items)),
        circ(data, "return", *_items(items)),
    ):
        recorded += answer.recorded
        if answer.status == 3:
            return recorded, answer
        assert answer.status == 0, answer
    return recorded, None


def lend_until_out_of_service(
    data: Path, lib: Library, items: list[str]
) -> tuple[list[str], Answer]:
    """Rounds until the kiosk answers that it is out of service (at most 100)."""
    recorded: list[str] = []
    for _ in range(100):
        done, out = lend_and_take_back(data, lib, items)
        recorded += done
        if out is not None:
            return recorded, out
    raise AssertionError(f"still lending after {len(recorded)} transactions")


def _items(barcodes: list[str]) -> list[str]:
    return [arg for barcode in barcodes for arg in ("--item", barcode)]


def test_a_full_disk_stops_lending_with_the_reason_loses_nothing_and_lending_resumes(
    small_disk: Path, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'central.db'}"
    assert run(CENTRAL, "--db", database, "init").returncode == 0
    made = run(CENTRAL, "--db", database, "demo-data", "--out", str(tmp_path / "cards"))
    assert made.returncode == 0, made.stderr
    added = run(CENTRAL, "--db", database, "kiosk", "add", "branch-1")
    token = tmp_path / "token"
    token.write_text(added.stdout.split()[-1] + "\n")
    token.chmod(0o600)
    lib = library(tmp_path / "cards" / "demo-cards.json")
    server = CentralProcess(database, log=tmp_path / "central.log").start()
    data = small_disk / "data"
    sync = [KIOSK, "sync", "--data", str(data), "--server", server.url]
    sync += ["--token-file", str(token)]
    agent_log = tmp_path / "agent.log"
    agent: subprocess.Popen[bytes] | None = None
    try:
        # The first snapshot lands on the small disk; above the mark the kiosk lends.
        first = run(*sync, "--once")
        assert first.returncode == 0, first.stderr
        code, shown = status(data)
        assert (code, shown["can_lend"]) == (0, True), shown["problems"]
        assert shown["disk_free_mb"] > DISK_FULL_MB
        with agent_log.open("wb") as log:
            agent = subprocess.Popen([*sync, "--interval", "1"], stdout=log, stderr=log)

        # Lending with room to spare: the agent pushes each transaction and purges it.
        acknowledged: list[str] = []
        for _ in range(2):
            recorded, out = lend_and_take_back(data, lib, lib.items)
            assert out is None
            acknowledged += recorded
        assert len(acknowledged) == 20
        wait_for("the agent to push and purge every transaction", lambda: pending(data) == 0)

        # The library's network goes down: from here the transactions wait in the journal.
        server.stop()

        # Below the mark the kiosk counts as full, before a single write has failed.
        fill(small_disk, "filler-1", leave=(DISK_FULL_MB - 1) * MIB + MIB // 2)
        code, shown = status(data)
        assert code == 3
        assert not shown["can_lend"]
        assert f"the disk is full ({DISK_FULL_MB - 1} MB free)" in shown["problems"]

        # Two megabytes left: lending goes on until the journal cannot take the next
        # transaction, which is refused whole with the reason.
        fill(small_disk, "filler-2", leave=2 * MIB)
        waiting, out = lend_until_out_of_service(data, lib, lib.items)
        assert out.out_of_service == "disk_full", out.lines[-1]
        assert out.lines[-1]["message"] == (
            "This kiosk is out of service. Please see a member of staff."
        )
        assert waiting, "some transactions should have fitted in 2 MB"

        # Then the very last bytes. A smaller transaction may still fit where the refused
        # one began (SQLite reuses that space), one book at a time, until none does.
        fill_to_the_last_byte(small_disk, "filler-3")
        squeezed, out = lend_until_out_of_service(data, lib, lib.items[:1])
        waiting += squeezed
        assert (out.out_of_service, out.recorded) == ("disk_full", []), out.lines
        assert pending(data) == len(waiting)
        code, shown = status(data)
        assert code == 3
        assert shown["problems"] == ["the disk is full (0 MB free)"]
        assert shown["journal"]["pending"] == len(waiting)

        # The network comes back while the disk is full. The server takes the waiting
        # transactions, but the kiosk has no room to mark them sent: the agent's round
        # fails with the reason and the agent carries on (it used to die here).
        server.start()
        last_sync.request_sync(data)  # staff mode's "Sync now"
        wait_for(
            "the agent to meet the full disk",
            lambda: "the kiosk's disk is full" in agent_log.read_text(errors="replace"),
        )
        assert agent.poll() is None, agent_log.read_text()
        applied = set(_server_ids(tmp_path / "central.db"))
        assert applied == set(acknowledged) | set(waiting)

        # The kiosk starts again on the full disk, as after a power cut: nothing holds
        # the journal open any more, and SQLite finds no room even to open it.
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0, agent_log.read_text()
        fill_to_the_last_byte(small_disk, "filler-4")  # whatever stopping it gave back
        refused = circ(
            data, "checkout", "--card", lib.card, "--pin", lib.pin, "--item", lib.items[0]
        )
        assert (refused.status, refused.out_of_service, refused.recorded) == (3, "disk_full", [])
        assert "damaged" not in refused.stderr
        code, shown = status(data)
        assert code == 3
        assert shown["problems"] == ["the disk is full (0 MB free)"]

        # The journal came through intact: every transaction the kiosk reported is there
        # or already on the server, and nothing that was refused is.
        journal = journal_copy(data, tmp_path / "journal-copy")
        assert journal.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        kept = [row[0] for row in journal.execute("SELECT id FROM entries ORDER BY seq")]
        journal.close()
        assert [entry for entry in kept if entry in set(waiting)] == waiting
        assert set(kept) <= set(acknowledged) | set(waiting)  # the rest: purged once sent
        assert not list(data.glob("mirror.db.damaged-*")), "a full disk is not a damaged mirror"

        # Space comes back: the kiosk lends again, with the same mirror and journal.
        for filler in ("filler-1", "filler-2", "filler-3", "filler-4"):
            os.unlink(small_disk / filler)
        code, shown = status(data)
        assert (code, shown["can_lend"], shown["problems"]) == (0, True, [])
        lent = circ(data, "checkout", "--card", lib.card, "--pin", lib.pin, *_items(lib.items))
        assert lent.status == 0, lent.lines
        # (books lent just before the disk filled were not taken back: still theirs)
        assert {line["status"] for line in lent.lines} <= {"lent", "already_yours"}
        assert len(lent.recorded) == [line["status"] for line in lent.lines].count("lent")
        back = circ(data, "return", *_items(lib.items))
        assert (back.status, [line["status"] for line in back.lines]) == (0, ["returned"] * 5)
        assert len(back.recorded) == 5
        recorded = lent.recorded + back.recorded

        # And the agent, started again, delivers everything exactly once: the waiting
        # transactions the server already had come back as duplicates.
        synced = run(*sync, "--once")
        assert synced.returncode == 0, synced.stderr
        assert f"pushed {len(recorded)} ({len(waiting)} already there" in synced.stdout
        assert pending(data) == 0
        assert sorted(_server_ids(tmp_path / "central.db")) == sorted(
            acknowledged + waiting + recorded
        )
        journal = journal_copy(data, tmp_path / "journal-after")
        assert journal.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        journal.close()
    finally:
        if agent is not None and agent.poll() is None:
            agent.kill()
            agent.wait(timeout=30)
        server.stop()


def _server_ids(central_db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(f"file:{central_db}?mode=ro", uri=True)) as db:
        return [row[0] for row in db.execute("SELECT id FROM transactions")]


def test_the_screens_say_the_disk_is_full_and_come_back_by_themselves_when_it_is_not(
    small_disk: Path, tmp_path: Path, display: str
) -> None:
    """A kiosk started on a full disk: SQLite cannot even open its files there. The
    screens say the storage is full (not that the records cannot be opened), and lend
    again once staff free space, without a restart."""
    data = small_disk / "data"
    made = run(KIOSK, "demo-data", "--out", str(data), "--items", "200", "--patrons", "20")
    assert made.returncode == 0, made.stderr
    fill_to_the_last_byte(small_disk, "fill")
    trace = tmp_path / "trace.jsonl"  # the trace and Kivy's files cannot go on the full disk
    kiosk = start_kiosk(display, data, "wait 30\n", trace)
    try:
        first = json.loads(trace.read_text().splitlines()[0])
        assert first["screen"] == "out_of_service"
        assert "This kiosk's storage is full, so it cannot record loans." in first["texts"]
        (small_disk / "fill").unlink()
        wait_for(
            "the welcome screen",
            lambda: any(
                json.loads(line)["screen"] == "welcome" for line in trace.read_text().splitlines()
            ),
        )
    finally:
        kiosk.send_signal(signal.SIGTERM)
        kiosk.communicate(timeout=60)
    assert kiosk.returncode == 0
