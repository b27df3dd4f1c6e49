"""``kiosk status`` on real data directories beside a real central server: healthy,
offline, with a journal backlog, with a clock it cannot trust, and never synced."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kiosk.appliance.status import status_command
from kiosk.central.process import free_port
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import CheckoutStatus, Unavailable
from kiosk.commands import main
from kiosk.common.clock import FixedClock
from kiosk.sync.agent import SyncAgent, SyncError
from tests.central.conftest import NOW, Central
from tests.central.test_sync import available, card, sign_in


@pytest.fixture
def serial_port() -> Iterator[str]:
    """A real serial device (a pty) standing in for the kiosk's scanner."""
    controller, device = os.openpty()
    yield os.ttyname(device)
    os.close(device)
    os.close(controller)


@pytest.fixture
def config(kiosk_toml: Path, serial_port: str) -> Path:
    with kiosk_toml.open("a") as toml:
        toml.write(f'\n[[scanners.serial]]\nport = "{serial_port}"\nname = "desk"\n')
    return kiosk_toml


@pytest.fixture
def agent(config: Path, central: Central) -> Iterator[SyncAgent]:
    agent = central.agent(config.parent / "kiosk")
    agent.sync_once()
    yield agent
    agent.store.close()


def status(config: Path, clock: FixedClock) -> tuple[int, dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    code = status_command(config, None, as_json=True, clock=clock, out=out, err=err)
    assert err.getvalue() == ""
    return code, json.loads(out.getvalue())


def lend_one(agent: SyncAgent, central: Central) -> None:
    circulation = Circulation(agent.store, central.clock)
    session = sign_in(circulation, card(central, "adult, nothing on loan"))
    view = circulation.checkout(session, available(central)[0])
    assert not isinstance(view, Unavailable)
    assert view.status is CheckoutStatus.LENT


def test_healthy(config: Path, central: Central, agent: SyncAgent, serial_port: str) -> None:
    central.clock.advance(minutes=2)
    code, shown = status(config, central.clock)
    assert code == 0
    assert shown["can_lend"] is True
    assert (shown["name"], shown["mode"], shown["version"]) == ("kiosk-a", "both", "0.1.0")
    assert shown["mirror"]["state"] == "ready"
    assert shown["mirror"]["cursor"] == agent.status.cursor
    assert shown["mirror"]["cursor"] > 0
    assert shown["mirror"]["age_seconds"] == 120
    assert shown["journal"]["pending"] == 0
    assert shown["journal"]["oldest_pending"] is None
    assert shown["last_sync"]["ok"] is True
    assert shown["last_sync"]["attempted_at"] == NOW.isoformat()
    assert shown["scanners"] == [{"name": "desk", "device": serial_port, "present": True}]
    assert shown["disk_free_mb"] > 0
    assert shown["clock"]["trusted"] is True
    assert shown["problems"] == []
    assert shown["warnings"] == []
    assert shown["faults"] == []


@pytest.mark.usefixtures("agent")
def test_healthy_through_the_command(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0] == "kiosk kiosk-a (mode both), version 0.1.0: LENDING"
    assert "  mirror      ready; synced 2026-11-23 10:00" in text
    assert "  journal     0 pending\n" in text
    assert "  scanners    desk (" in text
    assert "  clock       trusted" in text


def test_offline_still_lends_and_says_since_when(
    config: Path, central: Central, agent: SyncAgent
) -> None:
    central.clock.advance(minutes=30)
    cut_off = SyncAgent(
        agent.store,
        f"http://127.0.0.1:{free_port()}",
        central.tokens["kiosk-a"],
        central.clock,
        connect_timeout=0.5,
    )
    with pytest.raises(SyncError):
        cut_off.sync_once()
    code, shown = status(config, central.clock)
    assert code == 0
    assert shown["last_sync"]["ok"] is False
    assert shown["last_sync"]["attempted_at"] == "2026-11-23T10:30:00"
    assert shown["last_sync"]["last_success"] == NOW.isoformat()
    assert shown["last_sync"]["error"].startswith("cannot reach the server")
    assert shown["mirror"]["age_seconds"] == 1800
    (warning,) = shown["warnings"]
    assert warning.startswith(
        "offline since 2026-11-23 10:00 (30 min ago): cannot reach the server"
    )


def test_a_journal_backlog_is_counted_and_dated(
    config: Path, central: Central, agent: SyncAgent
) -> None:
    lend_one(agent, central)
    central.clock.advance(hours=3)
    code, shown = status(config, central.clock)
    assert code == 0
    assert shown["journal"]["pending"] == 1
    assert shown["journal"]["oldest_pending"] == NOW.isoformat()
    assert shown["journal"]["oldest_pending_age_seconds"] == 3 * 3600
    assert shown["warnings"] == [
        "1 transaction waiting for the server since 2026-11-23 10:00",
        "the last sync attempt was 2026-11-23 10:00 (3 h ago) (is kiosk-sync running?)",
    ]
    agent.sync_once()
    code, shown = status(config, central.clock)
    assert (code, shown["journal"]["pending"], shown["warnings"]) == (0, 0, [])


def test_a_clock_behind_the_journal_cannot_lend(
    config: Path, central: Central, agent: SyncAgent
) -> None:
    lend_one(agent, central)
    central.clock.set(datetime(2026, 11, 23, 9, 0))
    code, shown = status(config, central.clock)
    assert code == 3
    assert shown["can_lend"] is False
    assert shown["clock"] == {
        "now": "2026-11-23T09:00:00",
        "latest_recorded": NOW.isoformat(),
        "trusted": False,
    }
    assert shown["problems"] == [
        "the clock is not trusted: it reads 2026-11-23 09:00, before the latest recorded "
        "time 2026-11-23 10:00 (check the network time: timedatectl)"
    ]
    central.clock.set(datetime(1970, 1, 1))
    code, shown = status(config, central.clock)
    assert code == 3
    assert "it reads 1970-01-01 00:00, before the latest recorded time" in shown["problems"][0]


def test_a_kiosk_that_never_synced_cannot_lend(config: Path, central: Central) -> None:
    code, shown = status(config, central.clock)
    assert code == 3
    assert shown["problems"] == ["the mirror is empty: the kiosk has not synced yet"]
    assert shown["warnings"] == ["no sync has been attempted yet (is kiosk-sync running?)"]
    central.clock.set(datetime(1970, 1, 1))
    code, shown = status(config, central.clock)
    assert shown["problems"][1] == (
        "the clock is not trusted: it reads 1970-01-01 00:00, before 2026-01-01 "
        "(check the network time: timedatectl)"
    )


@pytest.mark.usefixtures("agent")
def test_an_absent_scanner_and_a_bad_config(
    config: Path, central: Central, capsys: pytest.CaptureFixture[str]
) -> None:
    text = config.read_text().replace('port = "/dev/', 'port = "/dev/gone-')
    config.write_text(text)
    code, shown = status(config, central.clock)
    assert code == 3
    assert shown["problems"] == ["no scanner is present"]
    assert shown["warnings"][0].startswith("scanner desk (/dev/gone-")
    config.write_text(text.replace('name = "kiosk-a"', 'name = "kiosk-a"\nmode = "lend"'))
    assert main(["status", "--config", str(config)]) == 2
    assert (
        "kiosk.mode: must be one of checkout, return, both, not 'lend'" in capsys.readouterr().err
    )


def test_status_leaves_no_file_behind(config: Path, central: Central, agent: SyncAgent) -> None:
    """Run as root on a stopped kiosk, a -wal or -shm file it made would belong to root
    and lock the kiosk user out of its own journal."""
    agent.store.close()
    data = config.parent / "kiosk"
    before = sorted(path.name for path in data.iterdir())
    assert "journal.db-wal" not in before
    code, shown = status(config, central.clock)
    assert (code, shown["mirror"]["state"]) == (0, "ready")
    assert sorted(path.name for path in data.iterdir()) == before
