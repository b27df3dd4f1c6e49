"""The library's record survives losing its server (issue 20): backups, restore, epochs.

Real kiosks (sync agents on stores in SQLite files) against the real ``kiosk-central
serve`` on a loopback port, and the real ``kiosk-central backup`` and ``restore``
commands, over SQLite and over PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from kiosk.appliance.status import gather, rows
from kiosk.central import backups, database
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.holds import place_hold_by_card
from kiosk.central.models import (
    AppliedTransaction,
    Change,
    ChangeCounter,
    HeartbeatRecord,
    Hold,
    Item,
    Kiosk,
    LedgerEntry,
    Loan,
    ServerState,
)
from kiosk.central.process import CentralProcess, free_port
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import CheckoutStatus, ReturnStatus, Unavailable
from kiosk.common.clock import FixedClock
from kiosk.demo.library import GeneratedLibrary
from kiosk.store import outbox
from kiosk.store.mirror import MirrorLoan
from kiosk.store.store import Store
from kiosk.sync.agent import SyncAgent, SyncError
from kiosk.sync.protocol import (
    APPLIED_HEADER,
    BACKUP_HEADER,
    EPOCH_HEADER,
    HELD_HEADER,
    Durability,
    Entity,
    header_position,
)

from .conftest import NOW, POSTGRES, ServerThread, prepare_central, running_central
from .web.conftest import in_process, register

BIN = Path(sys.executable).parent
CENTRAL = str(BIN / "kiosk-central")
DESK = Actor("staff", "backup-test")


def central_command(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CENTRAL, "--db", database_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def off_machine(folder: Path) -> Path:
    """A central.toml saying the backups are copied off the machine: the tests' folders
    share the database's disk, where a SQLite backup would not count for the kiosks."""
    settings = folder / "off-machine.toml"
    settings.write_text("[backup]\noff_machine = true\n")
    return settings


def back_up(database_url: str, target: Path) -> Path:
    settings = off_machine((target if target.is_dir() else target.parent).parent)
    done = central_command(database_url, "--config", str(settings), "backup", str(target))
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.split(":", 1)[0])


def lose_database(database_url: str, engine: Engine) -> None:
    """The server's disk dies: its database is gone."""
    engine.dispose()
    if engine.dialect.name == "sqlite":
        path = make_url(database_url).database
        assert path
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    with engine.begin() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()


@dataclass
class Lending:
    """Two kiosks and what they did."""

    library: GeneratedLibrary
    agents: dict[str, SyncAgent]
    clock: FixedClock
    made: set[str]  # every journal entry id either kiosk recorded

    def circulation(self, kiosk: str) -> Circulation:
        return Circulation(self.agents[kiosk].store, self.clock, pin_required=False)

    def lend(self, kiosk: str, situation: str, count: int, kind: str = "FICTION") -> list[str]:
        """``count`` available books of ``kind`` to the next patron in ``situation``."""
        circulation = self.circulation(kiosk)
        who = next(c for c in self.library.cards if c["situation"] == situation)
        identified = circulation.identify(who["card"], None)
        assert not isinstance(identified, Unavailable)
        assert identified.session is not None
        lent: list[str] = []
        for barcode in self.library.samples[kind]["available"]:
            if len(lent) == count:
                break
            answer = circulation.checkout(identified.session, barcode)
            assert not isinstance(answer, Unavailable)
            if answer.status is CheckoutStatus.LENT:
                lent.append(barcode)
        assert len(lent) == count, f"{kiosk} lent {lent}"
        self._note(kiosk)
        return lent

    def take_back(self, kiosk: str, barcode: str) -> None:
        answer = self.circulation(kiosk).return_item(barcode)
        assert not isinstance(answer, Unavailable)
        assert answer.status is ReturnStatus.RETURNED, answer
        self._note(kiosk)

    def _note(self, kiosk: str) -> None:
        self.made |= {entry.id for entry in outbox.entries(self.agents[kiosk].store)}

    def sync(self, *kiosks: str) -> None:
        for kiosk in kiosks or tuple(self.agents):
            self.agents[kiosk].sync_once()


def the_record(engine: Engine) -> dict[str, Any]:
    """Who has what, who waits for what, who owes what: as the library sees it."""
    with Session(engine) as session:
        return {
            "loans": sorted(
                session.execute(select(Loan.item_barcode, Loan.patron_id, Loan.due)).all()
            ),
            "holds": sorted(
                session.execute(
                    select(Hold.item_barcode, Hold.patron_id, Hold.position, Hold.ready)
                ).all()
            ),
            "ledger": sorted(
                session.execute(
                    select(LedgerEntry.patron_id, LedgerEntry.amount, LedgerEntry.kind)
                ).all()
            ),
        }


def transactions(engine: Engine) -> tuple[int, set[str]]:
    with Session(engine) as session:
        ids = list(session.scalars(select(AppliedTransaction.id)))
    return len(ids), set(ids)


def mirror_loans(agent: SyncAgent) -> set[tuple[str, str]]:
    with agent.store.mirror.connect() as mirror:
        return {
            (row.item_barcode, row.patron_id)
            for row in mirror.execute(select(MirrorLoan.item_barcode, MirrorLoan.patron_id))
        }


@pytest.fixture
def lending(database_url: str, tmp_path: Path) -> Iterator[tuple[Lending, Engine]]:
    engine, library, tokens = prepare_central(database_url)
    clock = FixedClock(NOW)
    with Session(engine) as session, session.begin():
        # A hold placed at the desk before the loss must be there after it.
        waiting = next(c for c in library.cards if c["situation"] == "student, nothing on loan")
        on_loan = library.samples["FICTION"]["on_loan"][0]
        place_hold_by_card(session, waiting["card"], on_loan, NOW, DESK)
    agents = {
        name: SyncAgent(Store.open(tmp_path / name, kiosk_id=name), "", token, clock)
        for name, token in tokens.items()
    }
    try:
        yield Lending(library, agents, clock, set()), engine
    finally:
        for agent in agents.values():
            agent.store.close()
        engine.dispose()


def test_a_restored_backup_loses_nothing_the_kiosks_lent_and_doubles_nothing(
    lending: tuple[Lending, Engine], database_url: str, tmp_path: Path
) -> None:
    kiosks, engine = lending
    server = CentralProcess(database_url, port=free_port(), log=tmp_path / "central.log")
    server.start()
    try:
        for agent in kiosks.agents.values():
            agent.base = server.url + "/v1"
        kiosks.sync()
        # Lent and taken back before the backup, on both kiosks.
        early = kiosks.lend("kiosk-a", "adult, nothing on loan", 3)
        kiosks.lend("kiosk-b", "grade8, nothing on loan", 1, "NONFICTION")
        kiosks.sync("kiosk-a", "kiosk-b")
        kiosks.take_back("kiosk-b", early[0])  # lent on one kiosk, back at the other
        kiosks.sync("kiosk-a", "kiosk-b")
        a, b = kiosks.agents["kiosk-a"], kiosks.agents["kiosk-b"]
        assert a.status.backup == "none"
        assert a.status.held > 0, "never backed up: kept"

        backup = back_up(database_url, tmp_path / "nightly.backup")
        covered = set(kiosks.made)

        # After the backup: more lending, returns (an overdue one, with its fine), on both.
        late = kiosks.lend("kiosk-a", "adult, nothing on loan", 2, "NONFICTION")
        overdue = next(
            loan
            for loan in kiosks.library.loans.values()
            if datetime.fromisoformat(str(loan["due"])) < NOW - timedelta(days=10)
        )
        kiosks.take_back("kiosk-b", str(overdue["item_barcode"]))
        kiosks.sync("kiosk-a", "kiosk-b")
        kiosks.take_back("kiosk-b", late[0])
        kiosks.take_back("kiosk-a", early[1])
        kiosks.sync("kiosk-a", "kiosk-b")
        kiosks.sync("kiosk-a", "kiosk-b")  # the backup's position reaches both kiosks
        for agent in (a, b):
            kept = {entry.id for entry in outbox.entries(agent.store)}
            assert kept, "what no backup covers is kept"
            assert not kept & covered, "what the backup covers is forgotten"
        assert b.status.backup is not None
        assert b.status.backup.isdigit()
        before = the_record(engine)
        count, ids = transactions(engine)
        assert (count, ids) == (len(kiosks.made), kiosks.made)

        refused = central_command(database_url, "restore", str(backup))
        assert refused.returncode == 2, "a live database stays"
        assert "--force" in refused.stderr

        # 15:00: the server's disk dies. Kiosk B lends on, offline, through the restore.
        server.kill()
        lose_database(database_url, engine)
        offline = kiosks.lend("kiosk-b", "adult, nothing on loan", 1, "NONFICTION")
        with pytest.raises(SyncError):
            b.sync_once()
        restored = central_command(database_url, "restore", str(backup))
        assert restored.returncode == 0, restored.stderr
        assert "epoch" in restored.stdout
        assert transactions(engine)[1] == covered  # the backup alone: the rest is on kiosks
        server.start()

        a.sync_once()  # a new epoch: A pushes all it holds again and reloads the library
        assert a.status.backup is not None
        b.sync_once()  # back online after it all
        for agent in (a, b):
            agent.sync_once()
        count, ids = transactions(engine)
        assert ids == kiosks.made, "every transaction of either kiosk is on the server"
        assert count == len(kiosks.made), "each once"
        after = the_record(engine)
        assert offline[0] in {loan[0] for loan in after["loans"]}
        assert [loan for loan in after["loans"] if loan[0] != offline[0]] == before["loans"]
        assert after["holds"] == before["holds"]
        assert after["ledger"] == before["ledger"]
        with Session(engine) as session:
            server_loans = set(session.execute(select(Loan.item_barcode, Loan.patron_id)).all())
        for agent in (a, b):
            assert mirror_loans(agent) == server_loans, "each mirror matches the server"

        # The next backup covers what was pushed again: the kiosks forget it all.
        back_up(database_url, tmp_path)
        kiosks.sync()
        for agent in (a, b):
            assert outbox.entries(agent.store) == []
            assert agent.status.held == 0
    finally:
        server.kill()


def test_a_backup_while_fifty_kiosks_push_is_exactly_what_it_says_it_covers(
    database_url: str, tmp_path: Path
) -> None:
    names = tuple(f"kiosk-{n}" for n in range(50))
    engine, library, tokens = prepare_central(database_url, names)
    clock = FixedClock(NOW)
    with engine.connect() as connection:
        # A book of its own for each kiosk: on the shelf, lent to no one, held for no one.
        items = list(
            connection.scalars(
                select(Item.barcode)
                .where(
                    Item.status == "available",
                    ~select(Loan.item_barcode).where(Loan.item_barcode == Item.barcode).exists(),
                    ~select(Hold.id).where(Hold.item_barcode == Item.barcode).exists(),
                )
                .order_by(Item.barcode)
                .limit(len(names))
            )
        )
    assert len(items) == len(names)
    who = next(c for c in library.cards if c["situation"] == "adult, nothing on loan")
    stop = threading.Event()
    failures: list[BaseException] = []

    def kiosk(agent: SyncAgent, item: str) -> None:
        try:
            circulation = Circulation(agent.store, clock, pin_required=False)
            while not stop.is_set():  # the same book out and back, pushed each time
                session = circulation.identify(who["card"], None).session  # type: ignore[union-attr]
                assert session is not None
                circulation.checkout(session, item)
                circulation.return_item(item)
                try:
                    agent.sync_once()
                except SyncError as error:
                    # A connection reset under fifty kiosks at once is what the agent
                    # meets in a library too: it tries again on its next round.
                    if "cannot reach the server" not in str(error):
                        raise
        except BaseException as error:  # reported by the test
            failures.append(error)

    with ServerThread(engine, clock, kiosks_forget_immediately=False) as server:
        # Opened one at a time: a store's first opening runs its migrations (Alembic),
        # which keep global state.
        agents = [
            SyncAgent(Store.open(tmp_path / name, kiosk_id=name), server.url, tokens[name], clock)
            for name in names
        ]
        for agent in agents:
            agent.sync_once()
        threads = [
            threading.Thread(target=kiosk, args=(agent, items[n]), daemon=True)
            for n, agent in enumerate(agents)
        ]
        for thread in threads:
            thread.start()
        time.sleep(2)
        taken = [
            backups.backup(engine, tmp_path / f"b{n}.backup", NOW, off_machine=True)
            for n in range(2)
        ]
        # Until a kiosk has pushed after the last backup (under a busy machine the
        # first may take seconds): the restore must leave that push out.
        pushed_after = (
            select(func.count())
            .select_from(Change)
            .where(Change.entity == Entity.ENTRY.value, Change.seq > taken[-1].manifest.covers)
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not failures:
            with Session(engine) as session:
                if session.scalar(pushed_after):
                    break
            time.sleep(0.2)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        for agent in agents:
            agent.store.close()
    assert not failures, failures
    for done in taken:
        assert done.manifest.covers > 0
    last = taken[-1].manifest
    with Session(engine) as session:
        markers = dict(
            session.execute(
                select(Change.key, Change.seq).where(Change.entity == Entity.ENTRY.value)
            ).all()
        )
        state = session.get(ServerState, 1)
        assert state is not None
        assert state.backup_covers == last.covers
    expected = {entry for entry, seq in markers.items() if seq <= last.covers}
    assert len(markers) > len(expected) > 0, "kiosks pushed both before and after the backup"
    # Restored, the backup holds exactly the transactions up to the position it names.
    backups.restore(engine, taken[-1].path, NOW, force=True)
    count, ids = transactions(engine)
    assert ids == expected
    assert count == len(expected)
    engine.dispose()


def test_kill_9_of_a_backup_midway_leaves_nothing_restore_would_take(
    database_url: str, tmp_path: Path
) -> None:
    engine, _library, _tokens = prepare_central(database_url)
    with Session(engine) as session, session.begin():
        kiosk_id = session.scalar(select(Kiosk.id).limit(1))
        # Bulk, so that the copy takes long enough to be killed in the middle.
        session.execute(
            HeartbeatRecord.__table__.insert(),  # type: ignore[attr-defined]
            [
                {"kiosk_id": kiosk_id, "at": NOW, "journal_depth": n, "scanners": 1, "error": False}
                for n in range(100_000)
            ],
        )
    folder = tmp_path / "backups"
    folder.mkdir()
    chooser = random.Random(20)
    killed_midway = 0
    for attempt in range(12):
        if attempt >= 3 and killed_midway:
            break
        child = subprocess.Popen(
            [CENTRAL, "--db", database_url, "backup", str(folder / "nightly.backup")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not list(folder.glob(".*partial*")) and time.monotonic() < deadline:
            if child.poll() is not None:
                break
            time.sleep(0.001)
        time.sleep(chooser.uniform(0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if (folder / "nightly.backup").exists():  # it finished first: a whole backup
            assert backups.check(folder / "nightly.backup").covers >= 0
            (folder / "nightly.backup").unlink()
            continue
        for leftover in folder.glob(".*partial*"):
            done = central_command(database_url, "restore", "--check", str(leftover))
            if done.returncode == 0:
                # Killed after the copy was whole and checked, before its rename: a
                # whole backup under its working name (a quiet, fast machine's window).
                assert "a whole" in done.stdout
                continue
            killed_midway += 1
            assert done.returncode == 2, f"restore took {leftover.name}"
            assert "not a complete" in done.stderr or "damaged" in done.stderr
    assert killed_midway >= 1, "no kill landed in the middle of a backup"
    # The next backup clears what the killed ones left, and is whole.
    path = back_up(database_url, folder / "nightly.backup")
    assert [p.name for p in folder.iterdir() if p.name != backups.LOCK_FILE] == [path.name]
    assert backups.check(path).database == engine.dialect.name
    engine.dispose()


def test_backups_in_a_folder_are_rotated_and_a_damaged_one_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    engine, _library, _tokens = prepare_central(database_url)
    folder = tmp_path / "backups"
    folder.mkdir()
    made = []
    for minute in range(4):
        made.append(backups.backup(engine, folder, NOW + timedelta(minutes=minute), keep=2))
    kept = sorted(p.name for p in folder.glob(f"{backups.PREFIX}*"))
    assert kept == [made[2].path.name, made[3].path.name]
    assert made[3].removed == (made[1].path,)
    damaged = tmp_path / "damaged.backup"
    data = bytearray(made[3].path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # one flipped byte inside the database part
    damaged.write_bytes(bytes(data))
    with pytest.raises(backups.BackupError, match=r"damaged|not a complete"):
        backups.check(damaged)
    half = tmp_path / "half.backup"
    half.write_bytes(made[3].path.read_bytes()[: made[3].path.stat().st_size // 2])
    with pytest.raises(backups.BackupError, match="not a complete"):
        backups.check(half)
    engine.dispose()


def test_the_epoch_is_made_on_sqlite_by_a_transaction_that_read_before_another_wrote(
    tmp_path: Path,
) -> None:
    """Found by benchmarks/backup.py: the first kiosks to ask a new database each made its
    epoch, and on SQLite one whose read came before another's write got "database is
    locked" at once (a 500), rather than waiting for the lock."""
    engine = database.connect(f"sqlite:///{tmp_path / 'central.db'}")
    database.upgrade(engine)
    with Session(engine) as reader:
        assert reader.get(ServerState, 1) is None  # the transaction has read
        with engine.begin() as writer:  # another commits a write meanwhile
            writer.execute(text("UPDATE change_counter SET value = value + 1"))
        state = backups.server_state(reader, NOW)
    with Session(engine) as again:
        assert backups.server_state(again, NOW).epoch == state.epoch
    engine.dispose()


def test_kiosk_status_and_staff_mode_say_what_waits_on_a_backup(tmp_path: Path) -> None:
    with running_central(
        f"sqlite:///{tmp_path / 'central.db'}", kiosks_forget_immediately=False
    ) as central:
        agent = central.agent(tmp_path / "kiosk")
        try:
            agent.sync_once()
            circulation = Circulation(agent.store, central.clock, pin_required=False)
            who = next(
                c for c in central.library.cards if c["situation"] == "adult, nothing on loan"
            )
            identified = circulation.identify(who["card"], None)
            assert not isinstance(identified, Unavailable)
            assert identified.session is not None
            circulation.checkout(
                identified.session, central.library.samples["FICTION"]["available"][0]
            )
            agent.sync_once()
            shown = gather(tmp_path / "kiosk", central.clock)
            assert ("backup", "1 sent, kept until a backup of the server covers them") in rows(
                shown
            )
            (warning,) = [w for w in shown.warnings if "never been backed up" in w]
            assert "(1 now) for at most 7 days" in warning
            with central.engine.connect() as connection:
                held = connection.scalar(
                    select(Kiosk.held_for_backup).where(Kiosk.name == "kiosk-a")
                )
            assert held == 1, "the console's Kiosks page has it from the heartbeat"

            backups.backup(central.engine, tmp_path / "b.backup", NOW, off_machine=True)
            agent.sync_once()
            shown = gather(tmp_path / "kiosk", central.clock)
            assert not [w for w in shown.warnings if "backed up" in w]
            assert "backup" not in dict(rows(shown))
            assert outbox.entries(agent.store) == []
        finally:
            agent.store.close()


def test_the_consoles_kiosks_page_shows_what_waits_on_a_backup(
    database_url: str, tmp_path: Path
) -> None:
    with in_process(database_url) as console:
        register(console, "lobby")
        beat = requests.post(
            f"{console.url}/v1/heartbeat",
            json={
                "version": "0.1.0",
                "journal_depth": 0,
                "oldest_pending": None,
                "last_error": None,
                "scanners": [],
                "disk_free_mb": 5000,
            },
            headers={"Authorization": f"Bearer {console.tokens['lobby']}", HELD_HEADER: "3"},
            timeout=10,
        )
        assert beat.status_code == 200
        assert beat.headers[BACKUP_HEADER] == "none"
        ada = console.login("ada")
        page = ada.get(f"{console.url}/staff/kiosks", timeout=10).text
        assert 'id="never-backed-up"' in page
        assert "3 kept until a backup" in page
        engine = database.connect(console.database_url)
        backups.backup(engine, tmp_path / "b.backup", NOW, off_machine=True)
        engine.dispose()
        page = ada.get(f"{console.url}/staff/kiosks", timeout=10).text
        assert 'id="never-backed-up"' not in page


def test_a_sqlite_backup_on_the_databases_own_disk_lets_no_kiosk_forget(tmp_path: Path) -> None:
    """The disk dies: the database and the backups beside it are gone together. Kiosks
    that forgot what such a backup covered would have lost it; they keep it, and the
    backup command, the console, kiosk status and check-config say why."""
    database_url = f"sqlite:///{tmp_path / 'central.db'}"
    folder = tmp_path / "backups"  # the same disk as the database, as the default folder
    folder.mkdir()
    with running_central(database_url, kiosks_forget_immediately=False) as central:
        agent = central.agent(tmp_path / "kiosk")
        try:
            agent.sync_once()
            circulation = Circulation(agent.store, central.clock, pin_required=False)
            who = next(
                c for c in central.library.cards if c["situation"] == "adult, nothing on loan"
            )
            identified = circulation.identify(who["card"], None)
            assert not isinstance(identified, Unavailable)
            assert identified.session is not None
            circulation.checkout(
                identified.session, central.library.samples["FICTION"]["available"][0]
            )
            agent.sync_once()
            assert len(outbox.entries(agent.store)) == 1

            done = central_command(database_url, "backup", str(folder))
            assert done.returncode == 0, done.stderr
            assert "on the database's own disk, so kiosks keep what they lent" in done.stdout
            assert len(list(folder.glob(f"{backups.PREFIX}*"))) == 1, "the backup is taken"
            with Session(central.engine) as session:
                state = session.get(ServerState, 1)
                assert state is not None
                assert state.backup_covers is None
                assert state.backup_on_database_disk
                assert state.backup_at is not None
            agent.sync_once()
            assert len(outbox.entries(agent.store)) == 1, "the kiosk keeps its loan"
            shown = gather(tmp_path / "kiosk", central.clock)
            (warning,) = [w for w in shown.warnings if "database's own disk" in w]
            assert "(1 now)" in warning

            # Told the folder is copied off the machine, the same backup counts.
            settings = off_machine(tmp_path)
            done = central_command(database_url, "--config", str(settings), "backup", str(folder))
            assert done.returncode == 0, done.stderr
            assert "kiosks may now forget what it covers" in done.stdout
            agent.sync_once()
            assert outbox.entries(agent.store) == []
        finally:
            agent.store.close()

    # check-config says so of a [backup] directory beside the database, not of one said
    # to be copied away.
    site = tmp_path / "site.toml"
    environment = {**os.environ, "KIOSK_CENTRAL_DB": database_url}
    for setting, warned in (("", True), ("off_machine = true\n", False)):
        site.write_text(f'[backup]\ndirectory = "{folder}"\n{setting}')
        checked = subprocess.run(
            [CENTRAL, "check-config", str(site)],
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr
        assert ("is on the same disk as the database" in checked.stdout) is warned, checked.stdout


def test_the_console_says_the_latest_backup_is_on_the_databases_own_disk(tmp_path: Path) -> None:
    with in_process(f"sqlite:///{tmp_path / 'central.db'}") as console:
        engine = database.connect(console.database_url)
        backups.backup(engine, tmp_path, NOW)
        ada = console.login("ada")
        page = ada.get(f"{console.url}/staff/kiosks", timeout=10).text
        assert 'id="backup-on-database-disk"' in page
        assert 'id="never-backed-up"' not in page
        backups.backup(engine, tmp_path, NOW, off_machine=True)
        engine.dispose()
        page = ada.get(f"{console.url}/staff/kiosks", timeout=10).text
        assert 'id="backup-on-database-disk"' not in page


def _rewritten(good: Path, out: Path, work: Path, *, revision: str) -> Path:
    """``good`` with its schema said to be ``revision``: a file that passes ``restore``'s
    checks of the file itself."""
    manifest = backups.check(good)
    payload = work / f"{out.name}.payload"
    backups.check(good, into=payload)
    backups._write_tar(
        payload,
        out,
        kind=manifest.database,
        covers=manifest.covers,
        revision=revision,
        schema=manifest.pg_schema,
        now=NOW,
    )
    payload.unlink()
    return out


def _schemas(engine: Engine) -> set[str]:
    """The test's schema and any a restore set beside it (others' tests make their own)."""
    with engine.connect() as connection:
        mine = str(connection.scalar(text("SELECT current_schema()")))
        return set(
            connection.scalars(
                text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :mine)"),
                {"mine": mine[:36]},
            )
        )


def test_a_backup_of_a_newer_schema_is_refused_before_anything_is_touched(
    database_url: str, tmp_path: Path
) -> None:
    engine, _library, _tokens = prepare_central(database_url)
    good = backups.backup(engine, tmp_path / "good.backup", NOW).path
    newer = _rewritten(good, tmp_path / "newer.backup", tmp_path, revision="9999")
    before = the_record(engine)
    with pytest.raises(backups.BackupError, match=r"newer kiosk-central.*schema 9999"):
        backups.restore(engine, newer, NOW, force=True)
    assert the_record(engine) == before
    assert database.is_current(engine)
    engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # postgresql's own tools
def test_a_postgresql_restore_whose_pg_restore_fails_leaves_the_library_as_it_was(
    database_url: str, tmp_path: Path
) -> None:
    """The live schema is renamed aside, not dropped, until the restored one is whole: a
    whole backup that pg_restore cannot restore (a view on a table of another schema,
    which the backup does not hold, gone since) puts it back."""
    engine, _library, _tokens = prepare_central(database_url)
    good = backups.backup(engine, tmp_path / "good.backup", NOW).path
    elsewhere = f"elsewhere_{random.getrandbits(48):012x}"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {elsewhere}"))
        connection.execute(text(f"CREATE TABLE {elsewhere}.t (x integer)"))
        connection.execute(text(f"CREATE VIEW needs_elsewhere AS SELECT x FROM {elsewhere}.t"))
    broken = backups.backup(engine, tmp_path / "broken.backup", NOW).path
    with engine.begin() as connection:
        connection.execute(text("DROP VIEW needs_elsewhere"))
        connection.execute(text(f"DROP SCHEMA {elsewhere} CASCADE"))
    with Session(engine) as session, session.begin():
        session.execute(text("UPDATE change_counter SET value = value + 7"))
    before, schemas = the_record(engine), _schemas(engine)
    with Session(engine) as session:
        epoch = backups.server_state(session, NOW).epoch
    with pytest.raises(backups.BackupError, match="pg_restore failed"):
        backups.restore(engine, broken, NOW, force=True)
    assert the_record(engine) == before
    assert _schemas(engine) == schemas, "no schema left behind, none lost"
    with Session(engine) as session:
        assert backups.server_state(session, NOW).epoch == epoch, "no new epoch either"
    # And a good one still restores over it, leaving no old schema beside it.
    backups.restore(engine, good, NOW, force=True)
    assert _schemas(engine) == schemas
    engine.dispose()


def test_a_backup_older_than_two_days_is_warned_of_on_the_console_and_the_kiosk(
    tmp_path: Path,
) -> None:
    """Not only "never": a nightly backup that stopped (failing, or its timer off) shows
    once the latest is more than two days old."""
    with in_process(f"sqlite:///{tmp_path / 'central.db'}") as console:
        engine = database.connect(console.database_url)
        backups.backup(engine, tmp_path / "b.backup", datetime.now(), off_machine=True)
        ada = console.login("ada")
        page = ada.get(f"{console.url}/staff/kiosks", timeout=10).text
        assert 'id="backup-stale"' not in page
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE server_state SET backup_at = :then"),
                {"then": datetime.now() - timedelta(days=2, minutes=5)},
            )
        engine.dispose()
        page = ada.get(f"{console.url}/staff/kiosks", timeout=10).text
        assert 'id="backup-stale"' in page
        assert "more than two days ago" in page

    with running_central(
        f"sqlite:///{tmp_path / 'kiosks.db'}", kiosks_forget_immediately=False
    ) as central:
        backups.backup(central.engine, tmp_path / "first.backup", NOW, off_machine=True)
        agent = central.agent(tmp_path / "kiosk")
        try:
            agent.sync_once()
            circulation = Circulation(agent.store, central.clock, pin_required=False)
            who = next(
                c for c in central.library.cards if c["situation"] == "adult, nothing on loan"
            )
            identified = circulation.identify(who["card"], None)
            assert not isinstance(identified, Unavailable)
            assert identified.session is not None
            circulation.checkout(
                identified.session, central.library.samples["FICTION"]["available"][0]
            )
            agent.sync_once()  # applied, and no backup covers it
            assert len(outbox.entries(agent.store)) == 1
            a_day_on = gather(tmp_path / "kiosk", FixedClock(NOW + timedelta(days=1)))
            assert not [w for w in a_day_on.warnings if "backup" in w]
            three_days_on = gather(tmp_path / "kiosk", FixedClock(NOW + timedelta(days=3)))
            (warning,) = [w for w in three_days_on.warnings if "backup" in w]
            assert "no backup of the server has covered what this kiosk sent since" in warning
        finally:
            agent.store.close()


def test_a_backups_files_are_readable_by_their_owner_alone_while_written_too(
    database_url: str, tmp_path: Path
) -> None:
    """The database part is written in a file of its own before the tar holds it: that
    file too is the owner's alone from its first byte (SQLite and pg_dump would make it
    0644 under the usual umask), even where a leftover of another mode had its name."""
    engine, _library, _tokens = prepare_central(database_url)
    payload = tmp_path / "payload"
    payload.write_bytes(b"")
    payload.chmod(0o644)
    if engine.dialect.name == "sqlite":
        source = make_url(database_url).database
        assert source
        backups._copy_sqlite(Path(source), payload)
    else:
        backups.dump_postgres(engine, payload)
    assert payload.stat().st_size > 0
    assert payload.stat().st_mode & 0o777 == 0o600
    folder = tmp_path / "backups"
    folder.mkdir()
    final = back_up(database_url, folder)
    assert final.stat().st_mode & 0o777 == 0o600
    with backups.private_files():
        made = tmp_path / "made-meanwhile"
        made.write_text("")
    assert made.stat().st_mode & 0o777 == 0o600
    engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # postgresql's own tools
def test_pg_dump_and_pg_restore_connect_with_the_urls_own_parameters(
    database_url: str, tmp_path: Path
) -> None:
    """The URL's query (sslmode, options, application_name, a socket folder...) reaches
    the tools as it reaches the server: the test's own schema is chosen by options."""
    url = f"{database_url}&sslmode=disable&application_name=kiosk-backup-test"
    engine, _library, _tokens = prepare_central(url)
    conninfo, _environment = backups._libpq(engine)
    told = conninfo_to_dict(conninfo)
    assert told["sslmode"] == "disable"
    assert told["application_name"] == "kiosk-backup-test"
    assert str(told["options"]).startswith("-csearch_path=")
    before = the_record(engine)
    path = back_up(url, tmp_path / "with-parameters.backup")
    assert backups.check(path).covers >= 0
    engine.dispose()  # restore is refused while another process uses the library
    restored = central_command(url, "restore", "--force", str(path))
    assert restored.returncode == 0, restored.stderr
    assert the_record(engine) == before
    engine.dispose()


def test_pg_dump_patterns_are_quoted() -> None:
    assert backups._pattern("T_Mixed.case*") == '"T_Mixed.case*"'
    assert backups._pattern('a"b', "server_state") == '"a""b"."server_state"'


def test_a_count_or_position_in_other_digits_is_refused_clearly_not_a_crash(
    tmp_path: Path,
) -> None:
    """ "²".isdigit() is True and int("²") fails: the server answered a heartbeat with 500,
    and the kiosk's sync round stopped on the ValueError."""
    with in_process(f"sqlite:///{tmp_path / 'central.db'}") as console:
        register(console, "lobby")
        for held, status in (("²", 422), ("١٢", 422), ("1x", 422), ("12", 200)):
            beat = requests.post(
                f"{console.url}/v1/heartbeat",
                json={
                    "version": "0.1.0",
                    "journal_depth": 0,
                    "oldest_pending": None,
                    "last_error": None,
                    "scanners": [],
                    "disk_free_mb": 5000,
                },
                headers={
                    "Authorization": f"Bearer {console.tokens['lobby']}",
                    HELD_HEADER: held.encode().decode("latin-1"),
                },
                timeout=10,
            )
            assert beat.status_code == status, (held, beat.text)
            if status == 422:
                assert HELD_HEADER.lower() in beat.text.lower()
    # The kiosk's side: a header in other digits is no position (ignored), and a backup
    # position in them is refused as malformed, as any other garbage is.
    assert header_position({APPLIED_HEADER: "²"}, APPLIED_HEADER) is None
    assert header_position({APPLIED_HEADER: "٣"}, APPLIED_HEADER) is None
    assert header_position({APPLIED_HEADER: "42"}, APPLIED_HEADER) == 42
    with pytest.raises(ValueError, match="not a change log position"):
        Durability.from_headers({EPOCH_HEADER: "0" * 32, BACKUP_HEADER: "²"})


# A copied database file is SQLite's; the command is the same for both.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_new_epoch_after_a_recovery_by_other_means_makes_the_kiosks_push_again(
    lending: tuple[Lending, Engine], database_url: str, tmp_path: Path
) -> None:
    """A VM snapshot, a point-in-time recovery or a copied SQLite file brings back
    server_state as it was, epoch and all: the kiosks would never learn that the change
    log went back. kiosk-central new-epoch tells them: they push again what they hold
    and reload the library."""
    kiosks, engine = lending
    server = CentralProcess(database_url, port=free_port(), log=tmp_path / "central.log")
    server.start()
    path = make_url(database_url).database
    assert path
    try:
        for agent in kiosks.agents.values():
            agent.base = server.url + "/v1"
        kiosks.sync()
        kiosks.lend("kiosk-a", "adult, nothing on loan", 1)
        kiosks.sync("kiosk-a")
        snapshot = tmp_path / "snapshot.db"  # the machine's snapshot, server_state and all
        with (
            contextlib.closing(sqlite3.connect(path)) as live,
            contextlib.closing(sqlite3.connect(snapshot)) as copy,
        ):
            live.backup(copy)
        with Session(engine) as session:
            epoch = backups.server_state(session, NOW).epoch
        later = kiosks.lend("kiosk-a", "grade8, nothing on loan", 1, "NONFICTION")
        kiosks.sync("kiosk-a")
        a = kiosks.agents["kiosk-a"]
        assert a.status.held == 2, "no backup: both kept"

        # The disk is lost; the machine comes back from its snapshot.
        server.kill()
        engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(snapshot, path)
        with Session(engine) as session:
            assert backups.server_state(session, NOW).epoch == epoch, "the old epoch, as it was"
        refused = central_command(database_url, "new-epoch")
        assert refused.returncode == 2
        assert "--yes" in refused.stderr
        started = central_command(database_url, "new-epoch", "--yes")
        assert started.returncode == 0, started.stderr
        with Session(engine) as session:
            state = backups.server_state(session, NOW)
            assert state.epoch != epoch
            assert state.backup_covers is None, "nothing of the new epoch is covered"
        assert later[0] not in {loan[0] for loan in the_record(engine)["loans"]}
        server.start()

        a.sync_once()  # the new epoch: pushed again, then a fresh snapshot
        a.sync_once()
        count, ids = transactions(engine)
        assert ids == kiosks.made, "every transaction of the kiosk is on the server"
        assert count == len(kiosks.made), "each once"
        assert later[0] in {loan[0] for loan in the_record(engine)["loans"]}
        with Session(engine) as session:
            server_loans = set(session.execute(select(Loan.item_barcode, Loan.patron_id)).all())
        assert mirror_loans(a) == server_loans, "the mirror reloaded matches the server"
    finally:
        server.kill()


def test_a_sqlite_restore_is_refused_while_another_process_has_the_database_open(
    tmp_path: Path,
) -> None:
    """--force replaces a library, not one still being served: a connection left open
    (kiosk-central serve's idle pool, here) is seen, and nothing is touched. Alone, the
    restore goes ahead, and no log of the old database is left beside the new one."""
    database_url = f"sqlite:///{tmp_path / 'central.db'}"
    engine, _library, _tokens = prepare_central(database_url)
    good = backups.backup(engine, tmp_path / "good.backup", NOW).path
    with Session(engine) as session, session.begin():
        session.execute(text("UPDATE change_counter SET value = value + 7"))
    before = the_record(engine)
    serving = database.connect(database_url)
    with serving.connect() as idle:
        idle.execute(text("SELECT value FROM change_counter")).all()
    with pytest.raises(backups.BackupError, match="in use by another process"):
        backups.restore(engine, good, NOW, force=True)
    assert the_record(engine) == before
    serving.dispose()
    engine.dispose()
    done = central_command(database_url, "restore", "--force", str(good))
    assert done.returncode == 0, done.stderr
    assert not [p.name for p in tmp_path.iterdir() if backups.PARTIAL in p.name]
    with Session(engine) as session:
        assert session.scalar(select(ChangeCounter.value)) == backups.check(good).covers
    engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # postgresql's own tools
def test_a_postgresql_restore_is_refused_while_kiosk_central_still_uses_the_schema(
    database_url: str, tmp_path: Path
) -> None:
    """Each kiosk-central connection names its schema (application_name): one left open
    (a server's idle pool) is seen in pg_stat_activity and nothing is touched; other
    schemas' connections in the same database do not count."""
    engine, _library, _tokens = prepare_central(database_url)
    good = backups.backup(engine, tmp_path / "good.backup", NOW).path
    with Session(engine) as session, session.begin():
        session.execute(text("UPDATE change_counter SET value = value + 7"))
    before = the_record(engine)
    serving = database.connect(database_url)
    with serving.connect() as idle:
        schema = idle.scalar(text("SELECT current_schema()"))
        assert idle.scalar(text("SELECT current_setting('application_name')")) == (
            f"kiosk-central {schema}"
        )
    elsewhere = database.connect(POSTGRES)  # another library's schema, same database
    with elsewhere.connect() as other:
        other.execute(text("SELECT 1")).all()
    with pytest.raises(backups.BackupError, match="in use by 1 other connection"):
        backups.restore(engine, good, NOW, force=True)
    assert the_record(engine) == before
    serving.dispose()
    backups.restore(engine, good, NOW, force=True)  # the other schema's is no matter
    elsewhere.dispose()
    with Session(engine) as session:
        assert session.scalar(select(ChangeCounter.value)) == backups.check(good).covers
    engine.dispose()


def test_a_schema_whose_name_needs_quoting_is_backed_up_and_restored() -> None:
    """pg_dump's --schema is a pattern: unquoted, a schema named with capitals was looked
    for in lower case (and a dot or * would have been read as pattern syntax)."""
    schema = f"T_Mixed{random.getrandbits(32):08x}"
    admin = database.connect(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES}?options=-csearch_path%3D%22{schema}%22"
    try:
        engine, _library, _tokens = prepare_central(url)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT current_schema()")) == schema
        before = the_record(engine)
        folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"kiosk-test-{schema}"
        folder.mkdir()
        try:
            done = backups.backup(engine, folder / "mixed.backup", NOW)
            assert done.manifest.pg_schema == schema
            backups.restore(engine, done.path, NOW, force=True)
        finally:
            shutil.rmtree(folder)
        assert the_record(engine) == before
        engine.dispose()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
