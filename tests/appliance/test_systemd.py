"""The systemd units pass ``systemd-analyze verify``, and say what the appliance needs.

verify checks that every command a unit runs exists and is executable, and the
units run /opt/kiosk and /usr/bin/cage, which a build machine does not have. So each
unit is verified inside a scratch root (``--root``) holding the host's own system
units, the unit itself, and a stub executable at each path the unit runs: nothing
about the unit file is changed or left unchecked.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
UNITS = sorted((ROOT / "systemd").glob("*.service"))
HOST_UNITS = next(
    path for path in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if path.is_dir()
)


def executables(unit: Path) -> set[str]:
    found = set()
    for line in unit.read_text().splitlines():
        match = re.match(r"Exec\w*=[-+@!:]*(/\S+)", line)
        if match:
            found.add(match.group(1))
    return found


def scratch_root(tmp_path: Path, unit: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(unit, root / "etc/systemd/system" / unit.name)
    for command in executables(unit):
        stub = root / command.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    return root


def verify(root: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", f"/etc/systemd/system/{name}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_units_are_there() -> None:
    assert [unit.name for unit in UNITS] == [
        "kiosk-central-backup.service",
        "kiosk-central-forget.service",
        "kiosk-central-import.service",
        "kiosk-central-notices.service",
        "kiosk-central-relay.service",
        "kiosk-central-sip2.service",
        "kiosk-central.service",
        "kiosk-sync.service",
        "kiosk.service",
    ]


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path, unit: Path) -> None:
    assert executables(unit)
    result = verify(scratch_root(tmp_path, unit), unit.name)
    # Warnings (an unknown key, a bad value) come with exit status 0: they fail too.
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")


def test_verify_does_catch_a_mistake(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key and a missing program are both reported."""
    unit = tmp_path / "kiosk-sync.service"
    unit.write_text(
        (ROOT / "systemd/kiosk-sync.service").read_text().replace("Restart=", "Restat=")
    )
    root = scratch_root(tmp_path, unit)
    assert "Unknown key 'Restat'" in verify(root, unit.name).stderr
    (root / "opt/kiosk/venv/bin/kiosk").unlink()
    result = verify(root, unit.name)
    assert result.returncode != 0
    assert "/opt/kiosk/venv/bin/kiosk is not executable" in result.stderr


def _timed_service(tmp_path: Path, name: str, calendar: str, command: str) -> dict[str, str]:
    """``name``'s timer verifies and runs its service at ``calendar``, a day missed once the
    machine is back; the service runs ``command`` once, as the server's own account and
    with its database and sandbox. Its directives."""
    root = scratch_root(tmp_path, ROOT / f"systemd/{name}.service")
    shutil.copy(ROOT / f"systemd/{name}.timer", root / "etc/systemd/system")
    result = verify(root, f"{name}.timer")
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")
    timer = directives(f"{name}.timer")
    assert (timer["OnCalendar"], timer["Persistent"]) == (calendar, "true")
    assert timer["WantedBy"] == "timers.target"
    service = directives(f"{name}.service")
    assert service["ExecStart"] == f"/opt/kiosk/venv/bin/kiosk-central {command}"
    assert service["Type"] == "oneshot"
    central = directives("kiosk-central.service")
    for key in ("User", "Group", "Environment", "EnvironmentFile", "ProtectSystem"):
        assert service[key] == central[key], key
    return service


def test_the_backup_timer_verifies_and_runs_its_service_nightly(tmp_path: Path) -> None:
    backup = _timed_service(tmp_path, "kiosk-central-backup", "*-*-* 02:00:00", "backup")
    # The default [backup] directory, writable under ProtectSystem=strict.
    assert "kiosk-central/backups" in backup["StateDirectory"].split()
    # Every file it makes (the backup, its database part while written) the owner's alone.
    assert backup["UMask"] == "0077"


def test_the_forget_timer_verifies_and_runs_its_service_daily(tmp_path: Path) -> None:
    _timed_service(tmp_path, "kiosk-central-forget", "*-*-* 03:30:00", "forget")


def test_the_import_timer_verifies_and_runs_its_service_hourly(tmp_path: Path) -> None:
    service = _timed_service(tmp_path, "kiosk-central-import", "hourly", "import waiting")
    # The default [imports] directory, where it moves what it took to done/ or failed/.
    assert "kiosk-central/imports" in service["StateDirectory"].split()
    assert service["UMask"] == "0077"  # the exports hold every patron's record
    defaults = (ROOT / "kiosk/central/config/defaults.toml").read_text()
    assert 'directory = "/var/lib/kiosk-central/imports"' in defaults


def test_the_documented_drop_in_lets_the_backup_write_another_folder(tmp_path: Path) -> None:
    """central.toml advises another disk for [backup] directory, which ProtectSystem=strict
    keeps read-only: docs/operations.md's drop-in (and the unit's comment) allow it, and
    the unit with it still verifies."""
    service = ROOT / "systemd/kiosk-central-backup.service"
    documented = (ROOT / "docs/operations.md").read_text()
    assert "[Service]\nReadWritePaths=/srv/library-backups\n" in documented
    assert "ReadWritePaths=/srv/library-backups" in service.read_text()
    root = scratch_root(tmp_path, service)
    drop_in = root / "etc/systemd/system/kiosk-central-backup.service.d"
    drop_in.mkdir()
    (drop_in / "backup-directory.conf").write_text(
        "[Service]\nReadWritePaths=/srv/library-backups\n"
    )
    result = verify(root, "kiosk-central-backup.service")
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")


def directives(unit: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / "systemd" / unit).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found[key] = value
    return found


def test_the_kiosk_runs_under_cage_with_a_watchdog_and_hardening() -> None:
    kiosk = directives("kiosk.service")
    assert kiosk["ExecStart"].startswith("/usr/bin/cage -- /opt/kiosk/venv/bin/kiosk run ")
    assert kiosk["Type"] == "notify"
    assert kiosk["NotifyAccess"] == "all"  # cage is the main process
    assert int(kiosk["WatchdogSec"]) > 0
    assert kiosk["Restart"] == "always"
    assert kiosk["User"] == "kiosk"
    assert set(kiosk["SupplementaryGroups"].split()) == {"input", "video", "render", "dialout"}
    assert kiosk["PAMName"] == "kiosk"
    assert kiosk["TTYPath"] == "/dev/tty1"
    for unit in ("kiosk.service", "kiosk-sync.service"):
        found = directives(unit)
        assert found["NoNewPrivileges"] == "yes"
        assert found["ProtectSystem"] == "strict"
        assert found["ProtectHome"] in ("yes", "tmpfs")
        assert found["PrivateTmp"] == "yes"
        assert found["StateDirectory"] == "kiosk"
        assert found["Type"] == "notify"
        assert int(found["WatchdogSec"]) > 0
    assert directives("kiosk-sync.service")["ExecStart"] == (
        "/opt/kiosk/venv/bin/kiosk sync --config /etc/kiosk/kiosk.toml"
    )


def test_the_central_units_share_a_user_a_database_and_hardening() -> None:
    """kiosk-central and its SIP2 server: one user, one database, one environment file;
    the SIP2 server after the schema is made, listening where central.toml says."""
    central = directives("kiosk-central.service")
    sip2 = directives("kiosk-central-sip2.service")
    assert sip2["ExecStart"] == "/opt/kiosk/venv/bin/kiosk-central sip2 serve"
    assert "ExecStartPre" not in sip2  # kiosk-central.service runs init
    assert "kiosk-central.service" in sip2["After"].split()
    assert int(sip2["LimitNOFILE"]) >= 1024  # a descriptor per device
    for key in ("User", "Group", "Environment", "EnvironmentFile", "Type", "Restart"):
        assert sip2[key] == central[key], key
    for key in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"):
        assert sip2[key] == central[key], key
    assert sip2["StateDirectory"] == central["StateDirectory"] == "kiosk-central"


def test_the_notices_runner_is_a_service_beside_the_server() -> None:
    """One long-running runner (it looks every [notices] poll_seconds): the server's user,
    database, environment and hardening; stopped by SIGTERM with time to finish a send."""
    central = directives("kiosk-central.service")
    notices = directives("kiosk-central-notices.service")
    assert notices["ExecStart"] == "/opt/kiosk/venv/bin/kiosk-central notices run"
    assert "ExecStartPre" not in notices  # kiosk-central.service runs init
    assert "kiosk-central.service" in notices["After"].split()
    assert int(notices["TimeoutStopSec"]) > 30  # a send's own timeout
    for key in ("User", "Group", "Environment", "EnvironmentFile", "Type", "Restart"):
        assert notices[key] == central[key], key
    for key in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"):
        assert notices[key] == central[key], key
    assert notices["StateDirectory"] == "kiosk-central"


def test_the_gateway_relay_is_a_service_beside_the_server() -> None:
    """One long-running relay (gateway mode): the server's user, database, environment
    and hardening; stopped by SIGTERM with time for an answer and its commit."""
    central = directives("kiosk-central.service")
    relay = directives("kiosk-central-relay.service")
    assert relay["ExecStart"] == "/opt/kiosk/venv/bin/kiosk-central relay"
    assert "ExecStartPre" not in relay  # kiosk-central.service runs init
    assert "kiosk-central.service" in relay["After"].split()
    assert int(relay["TimeoutStopSec"]) > 30  # an answer's own timeout
    for key in ("User", "Group", "Environment", "EnvironmentFile", "Type", "Restart"):
        assert relay[key] == central[key], key
    for key in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"):
        assert relay[key] == central[key], key
    assert relay["StateDirectory"] == "kiosk-central"


UDEV_KEYS = {
    "ACTION",
    "SUBSYSTEM",
    "KERNEL",
    "ENV",
    "ATTRS",
    "GROUP",
    "MODE",
    "SYMLINK",
    "GOTO",
    "LABEL",
}


def test_the_udev_rule_is_well_formed() -> None:
    """Each rule is comma-separated KEY[{attr}] OP "value" pairs of udev's own keys, with
    at least one match and one assignment; every GOTO has its LABEL."""
    text = (ROOT / "config/99-kiosk-scanners.rules").read_text()
    pair = re.compile(r'\s*([A-Z]+)(?:\{([\w]+)\})?\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(?:,|$)')
    labels, gotos, rules = set(), set(), 0
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pairs, position = [], 0
        while position < len(line):
            match = pair.match(line, position)
            assert match, f"cannot read {line[position:]!r}"
            pairs.append(match.groups())
            position = match.end()
        assert {key for key, *_ in pairs} <= UDEV_KEYS
        operators = {op for _, _, op, _ in pairs}
        labels |= {value for key, _, _, value in pairs if key == "LABEL"}
        gotos |= {value for key, _, _, value in pairs if key == "GOTO"}
        if "LABEL" not in {key for key, *_ in pairs}:
            assert operators & {"==", "!="}
            assert operators & {"=", "+=", ":="}
            rules += 1
    assert gotos <= labels
    assert rules == 4
    assert 'GROUP="input"' in text
    assert 'GROUP="dialout"' in text
