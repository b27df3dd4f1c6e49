"""Each notice is sent at most once and none is lost: a runner killed with SIGKILL in the
middle of sending, then started again; two runners at once on PostgreSQL (row locks,
SKIP LOCKED) and on SQLite (one writer)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from kiosk.central.models import Notice, Patron
from kiosk.central.notices import outbox
from kiosk.central.notices.finding import Found
from kiosk.central.notices.runner import Runner
from kiosk.common.clock import FixedClock
from tests.central.notices.conftest import NOW, PATRONS, SmtpServer, body, notices_config

MAIL_PATRONS = [pid for pid, row in PATRONS.items() if row[5] == "email" and not row[7]]


def _fill(engine: Engine, count: int) -> None:
    """``count`` hold-ready notices waiting to go, spread over the patrons with email."""
    found = [
        Found(
            MAIL_PATRONS[number % len(MAIL_PATRONS)],
            "hold_ready",
            f"test {number}",
            NOW.date(),
            "email",
            False,
            {"title": f"Title {number}", "pickup_by": "2026-11-30"},
        )
        for number in range(count)
    ]
    with Session(engine) as db:
        assert outbox.enqueue(db, found, NOW - timedelta(days=1), 8) == count
        db.commit()


def _delivered(smtp: SmtpServer) -> Counter[str]:
    with smtp.mail.lock:
        return Counter(str(message["Message-ID"]) for message in smtp.mail.messages)


def _by_status(engine: Engine) -> dict[str, list[Notice]]:
    found: dict[str, list[Notice]] = {}
    with Session(engine) as db:
        for notice in db.scalars(
            select(Notice).where(Notice.kind == "hold_ready", Notice.subject.like("test %"))
        ):
            found.setdefault(notice.status, []).append(notice)
    return found


def test_a_runner_killed_mid_send_sends_nothing_twice_and_loses_nothing(
    library: Engine, database_url: str, smtp: SmtpServer, tmp_path: Path, clock: FixedClock
) -> None:
    _fill(library, 40)
    smtp.mail.delay = 0.05
    config = tmp_path / "central.toml"
    config.write_text(
        '[library]\nname = "Riverside Library"\n'
        f'[notices.email]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
        'from = "library@example.org"\n'
    )
    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.central.cli",
            "--db",
            database_url,
            "--config",
            str(config),
            "notices",
            "run",
            "--once",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "runner.log").open("w"),
    )
    deadline = time.monotonic() + 60
    while len(smtp.mail.messages) < 8:
        assert runner.poll() is None, "the runner finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    smtp.mail.delay = 0
    killed_at = len(smtp.mail.messages)
    assert killed_at < 40
    # Started again (this machine, the dead runner's process gone): the rest goes.
    Runner(library, notices_config(smtp.port), clock.now).run_once()
    delivered = _delivered(smtp)
    assert max(delivered.values()) == 1  # nothing twice
    statuses = _by_status(library)
    assert set(statuses) <= {"sent", "interrupted"}  # nothing left behind
    assert len(statuses.get("interrupted", [])) <= 1  # at most the one in flight
    assert len(statuses["sent"]) + len(statuses.get("interrupted", [])) == 40
    assert len(delivered) >= len(statuses["sent"])
    # The interrupted one is shown to staff and goes once when they resend it.
    for notice in statuses.get("interrupted", []):
        assert notice.last_error
        assert "may or may not" in notice.last_error


def test_runners_at_once_send_each_notice_once(
    library: Engine, smtp: SmtpServer, clock: FixedClock
) -> None:
    runners = 3
    _fill(library, 120)
    smtp.mail.delay = 0.002
    start = threading.Barrier(runners)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        one = Runner(library, notices_config(smtp.port), clock.now, claimant=f"test-{name}:1")
        try:
            start.wait()
            one.run_once()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            one.close()

    threads = [threading.Thread(target=run, args=(str(n),)) for n in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    delivered = _delivered(smtp)
    assert max(delivered.values()) == 1
    statuses = _by_status(library)
    assert list(statuses) == ["sent"]
    assert len(statuses["sent"]) == 120
    with Session(library) as db:
        claimants = {
            n.claimed_by for n in db.scalars(select(Notice).where(Notice.status == "sent"))
        }
    assert len(claimants) >= 1


def test_the_service_sends_as_notices_come_and_stops_on_sigterm(
    library: Engine, database_url: str, smtp: SmtpServer, tmp_path: Path
) -> None:
    config = tmp_path / "central.toml"
    config.write_text(
        "[notices]\npoll_seconds = 0.2\n"
        f'[notices.email]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
        'from = "library@example.org"\n'
    )
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.central.cli",
            "--db",
            database_url,
            "--config",
            str(config),
            "notices",
            "run",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert service.stdout is not None
        assert "running" in service.stdout.readline()
        _fill(library, 5)  # while it runs: the next pass sends them
        deadline = time.monotonic() + 60
        while len(_by_status(library).get("sent", [])) < 5:
            assert time.monotonic() < deadline, _by_status(library)
            time.sleep(0.1)
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=30) == 0
    finally:
        if service.poll() is None:
            service.kill()
    assert max(_delivered(smtp).values()) == 1


def test_runners_at_once_send_each_patron_one_digest(
    library: Engine, smtp: SmtpServer, clock: FixedClock
) -> None:
    with Session(library) as db:
        db.execute(update(Patron).where(Patron.patron_id.in_(MAIL_PATRONS)).values(digest=True))
        found = [
            Found(
                MAIL_PATRONS[n % len(MAIL_PATRONS)],
                "hold_ready",
                f"test {n}",
                NOW.date(),
                "email",
                True,
                {"title": f"Title {n}", "pickup_by": "2026-11-30"},
            )
            for n in range(60)
        ]
        outbox.enqueue(db, found, NOW - timedelta(days=1), 8)
        db.commit()
    start = threading.Barrier(3)

    def run(name: str) -> None:
        one = Runner(library, notices_config(smtp.port), clock.now, claimant=f"test-{name}:1")
        start.wait()
        one.run_once()
        one.close()

    threads = [threading.Thread(target=run, args=(str(n),)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for patron_id in MAIL_PATRONS:
        address = PATRONS[patron_id][2]
        assert address is not None
        digests = [m for m in smtp.mail.to(address) if m["X-Library-Notice"] == "digest"]
        assert len(digests) == 1, patron_id
        lines = body(digests[0]).splitlines()
        listed = [n for n in range(60) if any(line.endswith(f": Title {n}") for line in lines)]
        assert listed == list(range(MAIL_PATRONS.index(patron_id), 60, len(MAIL_PATRONS)))
    assert list(_by_status(library)) == ["sent"]
