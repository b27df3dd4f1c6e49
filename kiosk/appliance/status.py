"""``kiosk status``: can this kiosk lend, and what needs a person.

It reads the data directory without changing it (the databases are opened read-only;
the sync agent's last result comes from ``sync-status.json``), so it can run beside
the kiosk and the sync agent at any time. Exit status: 0 the kiosk can lend (it may
still list warnings), 3 it cannot (the reasons are listed), 2 the config is invalid.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from kiosk import __version__
from kiosk.appliance.sections import KIOSK_SECTIONS, SCANNERS_SECTION
from kiosk.circulation.service import EARLIEST_TRUSTED_TIME, OfflineGuard, clock_trusted
from kiosk.common.clock import Clock
from kiosk.config import ConfigError, KioskConfig, load_config
from kiosk.store import inspection
from kiosk.store.database import disk_full
from kiosk.store.store import JOURNAL_FILE, MIRROR_FILE
from kiosk.sync import last_sync

CAN_LEND, INVALID_CONFIG, CANNOT_LEND = 0, 2, 3
# Below this the next transactions may not fit: the kiosk counts as full. The screens
# go out of service at the same mark (kiosk.appliance.kiosk_run), so both always agree.
DISK_FULL_MB = 50
DISK_LOW_MB = 200
# Older than this, waiting entries or an unrefreshed mirror need someone to look.
STALE_SECONDS = 3600
# Kept longer than this with no backup of the server covering it: backups are failing.
BACKUP_STALE_SECONDS = 2 * 86400


@dataclass
class KioskStatus:
    version: str
    data_dir: str
    now: datetime
    name: str | None = None
    mode: str | None = None
    mirror: dict[str, Any] = field(default_factory=dict)
    journal: dict[str, Any] = field(default_factory=dict)
    last_sync: dict[str, Any] | None = None
    scanners: list[dict[str, Any]] | None = None  # None: no config, so none known
    disk_free_mb: int | None = None
    clock: dict[str, Any] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why it cannot lend
    warnings: list[str] = field(default_factory=list)  # lending, but look at these

    @property
    def can_lend(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["can_lend"] = self.can_lend
        return json.loads(json.dumps(data, default=_plain))  # type: ignore[no-any-return]


def _plain(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _age(now: datetime, then: datetime | None) -> int | None:
    return None if then is None else int((now - then).total_seconds())


def _when(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    seconds = _age(now, then) or 0
    if seconds < 0:
        ago = "in the future"
    elif seconds < 120:
        ago = f"{seconds} s ago"
    elif seconds < 7200:
        ago = f"{seconds // 60} min ago"
    elif seconds < 172800:
        ago = f"{seconds // 3600} h ago"
    else:
        ago = f"{seconds // 86400} days ago"
    return f"{then:%Y-%m-%d %H:%M} ({ago})"


def gather(
    data_dir: Path,
    clock: Clock,
    config: KioskConfig | None = None,
    presence: Callable[[Any], list[tuple[str, str, bool]]] | None = None,
    offline: OfflineGuard | None = None,
) -> KioskStatus:
    """Everything ``kiosk status`` says, read from ``data_dir`` (and ``config``; the
    offline guard is ``config``'s [offline], else ``offline``, else its defaults)."""
    now = clock.now()
    if config is not None:
        offline = OfflineGuard(
            timedelta(hours=config.offline.max_mirror_age_hours),
            config.offline.items_per_session,
        )
    status = KioskStatus(__version__, str(data_dir), now)
    if config is not None:
        status.name, status.mode = config.kiosk.name, config.kiosk.mode
        status.faults = [str(fault) for fault in config.faults]
    if not data_dir.is_dir():
        status.problems.append(f"the data directory {data_dir} does not exist")
        return status
    if not os.access(data_dir, os.R_OK | os.X_OK):
        status.problems.append(
            f"{data_dir} cannot be read by this user: run sudo -u kiosk kiosk status"
        )
        return status
    free = shutil.disk_usage(data_dir).free // 2**20
    status.disk_free_mb = free
    if free < DISK_FULL_MB:
        status.problems.append(f"the disk is full ({free} MB free)")
    elif free < DISK_LOW_MB:
        status.warnings.append(f"the disk is nearly full ({free} MB free)")
    latest = _journal(status, data_dir / JOURNAL_FILE)
    _mirror(status, data_dir / MIRROR_FILE, offline or OfflineGuard())
    _sync(status, data_dir)
    status.clock = {
        "now": now,
        "latest_recorded": latest,
        "trusted": clock_trusted(now, latest),
    }
    if not status.clock["trusted"]:
        status.problems.append(
            f"the clock is not trusted: it reads {now:%Y-%m-%d %H:%M}, before "
            + (
                f"the latest recorded time {latest:%Y-%m-%d %H:%M}"
                if latest is not None and now < latest
                else f"{EARLIEST_TRUSTED_TIME:%Y-%m-%d}"
            )
            + " (check the network time: timedatectl)"
        )
    if config is not None and presence is not None:
        _scanners(status, config, presence)
    return status


def _journal(status: KioskStatus, path: Path) -> datetime | None:
    if not path.exists():
        status.journal = {"pending": 0, "oldest_pending": None}
        return None
    try:
        journal = inspection.read_journal(path)
    except Exception as error:
        if disk_full(error, path):  # no room for SQLite's -shm: the full disk, said already
            status.warnings.append("journal.db cannot be read until the disk has room")
            return None
        status.problems.append(f"journal.db cannot be read: {error}")
        return None
    pending, oldest_at = journal.pending, journal.oldest_pending
    status.journal = {
        "kiosk_id": journal.kiosk_id,
        "pending": pending,
        "oldest_pending": oldest_at,
        "oldest_pending_age_seconds": _age(status.now, oldest_at),
        "oldest_held": journal.oldest_held,
    }
    age = _age(status.now, oldest_at)
    if age is not None and age > STALE_SECONDS:
        status.warnings.append(
            f"{pending} transaction{'s' if pending != 1 else ''} waiting for the server "
            f"since {oldest_at:%Y-%m-%d %H:%M}"
        )
    return journal.latest_time


def _mirror(status: KioskStatus, path: Path, offline: OfflineGuard) -> None:
    if not path.exists():
        status.mirror = {"state": "empty"}
        status.problems.append("the mirror is empty: the kiosk has not synced yet")
        return
    try:
        mirror = inspection.read_mirror(path)
    except Exception as error:
        status.mirror = {"state": "unreadable"}
        if disk_full(error, path):  # as the journal's
            status.warnings.append("mirror.db cannot be read until the disk has room")
            return
        status.problems.append(f"mirror.db cannot be read: {error}")
        return
    status.mirror = {
        "state": "ready"
        if mirror.cursor is not None and mirror.policy_version is not None
        else "empty",
        "cursor": mirror.cursor,
        "synced_at": mirror.synced_at,
        "age_seconds": _age(status.now, mirror.synced_at),
        "reflected_through": mirror.reflected_through,
        "policy_version": mirror.policy_version,
    }
    if status.mirror["state"] != "ready":
        status.problems.append("the mirror is empty: the kiosk has not synced yet")
        return
    # As the screens decide it (Circulation's offline guard): older than the limit, a
    # patron may borrow only a few items a visit.
    age = status.mirror["age_seconds"]
    guarded = age is None or age > offline.max_age.total_seconds()
    status.mirror["offline_guard"] = guarded
    if guarded:
        hours = offline.max_age.total_seconds() / 3600
        status.warnings.append(
            f"the mirror was last refreshed {_when(status.now, mirror.synced_at)}, more than "
            f"{hours:g} h ago: patrons may borrow at most {offline.items} items a visit "
            "until the kiosk syncs ([offline] in kiosk.toml)"
        )


def _sync(status: KioskStatus, data_dir: Path) -> None:
    last = last_sync.load(data_dir)
    if last is None:
        status.warnings.append("no sync has been attempted yet (is kiosk-sync running?)")
        return
    status.last_sync = last.to_json()
    _backups(status, last)
    if last.refused:
        status.warnings.append(f"the server refuses this kiosk: {last.error}")
    elif not last.ok:
        status.warnings.append(
            f"offline since {_when(status.now, last.last_success)}: {last.error}"
        )
    age = _age(status.now, last.attempted_at)
    if age is not None and age > STALE_SECONDS:
        status.warnings.append(
            f"the last sync attempt was {_when(status.now, last.attempted_at)}"
            " (is kiosk-sync running?)"
        )


def _backups(status: KioskStatus, last: last_sync.LastSync) -> None:
    """A server that has never been backed up: this kiosk keeps what it lent until the
    limit, and the library has no copy of its record."""
    if last.backup == "none":
        limit = f"at most {last.backup_wait_days} days" if last.backup_wait_days else "a while"
        status.warnings.append(
            "no backup of the server lets kiosks forget: it has never been backed up, or only "
            "onto its database's own disk (lost with it if that disk fails); this kiosk keeps "
            f"the transactions it sent ({last.held} now) for {limit} "
            "(kiosk-central backup, [backup] off_machine, docs/operations.md)"
        )
        return
    held_since = status.journal.get("oldest_held")
    age = _age(status.now, held_since)
    if last.backup != "immediately" and age is not None and age > BACKUP_STALE_SECONDS:
        status.warnings.append(
            f"no backup of the server has covered what this kiosk sent since "
            f"{held_since:%Y-%m-%d %H:%M}, more than {BACKUP_STALE_SECONDS // 86400} days: "
            "the server's backups may be failing (journalctl -u kiosk-central-backup.service, "
            "docs/operations.md)"
        )


def _scanners(
    status: KioskStatus,
    config: KioskConfig,
    presence: Callable[[Any], list[tuple[str, str, bool]]],
) -> None:
    found = presence(config[SCANNERS_SECTION])
    status.scanners = [
        {"name": source, "device": device, "present": present} for source, device, present in found
    ]
    for source, device, present in found:
        if not present:
            status.warnings.append(f"scanner {source} ({device}) is not plugged in")
    if not any(present for *_, present in found) and not config[SCANNERS_SECTION].keyboard:
        status.problems.append(
            "no scanner is present"
            + ("" if found else ": kiosk.toml names none ([[scanners.hid]], [[scanners.serial]])")
        )


def rows(status: KioskStatus) -> list[tuple[str, str]]:
    """The status as (label, text) pairs: for the terminal and the staff screen alike."""
    now = status.now
    found: list[tuple[str, str]] = []

    def row(label: str, text: str) -> None:
        found.append((label, text))

    disk = f", {status.disk_free_mb:,} MB free" if status.disk_free_mb is not None else ""
    row("data", f"{status.data_dir}{disk}")
    mirror = status.mirror
    if mirror.get("state") == "ready":
        row(
            "mirror",
            f"ready; synced {_when(now, mirror['synced_at'])}, cursor {mirror['cursor']}",
        )
    else:
        row("mirror", str(mirror.get("state", "unknown")))
    journal = status.journal
    if journal:
        oldest = journal.get("oldest_pending")
        row(
            "journal",
            f"{journal['pending']} pending"
            + (f", oldest {_when(now, oldest)}" if oldest is not None else ""),
        )
    last = status.last_sync
    if last is not None and last.get("held"):
        row("backup", f"{last['held']} sent, kept until a backup of the server covers them")
    if last is not None:
        attempted = datetime.fromisoformat(last["attempted_at"])
        row(
            "last sync",
            f"ok {_when(now, attempted)}"
            if last["ok"]
            else f"failed {_when(now, attempted)}: {last['error']}",
        )
    else:
        row("last sync", "never")
    if status.scanners is not None:
        row(
            "scanners",
            "; ".join(
                f"{s['name']} ({s['device']}): {'present' if s['present'] else 'absent'}"
                for s in status.scanners
            )
            or "none configured",
        )
    if status.clock:
        trusted = "trusted" if status.clock["trusted"] else "NOT trusted"
        row("clock", f"{trusted} ({now:%Y-%m-%d %H:%M})")
    return found


def _text(status: KioskStatus) -> str:
    head = f"kiosk {status.name or '?'} (mode {status.mode or '?'}), version {status.version}: "
    head += "LENDING" if status.can_lend else "OUT OF SERVICE"
    lines = [head, *(f"  {label:<10}  {text}" for label, text in rows(status))]
    lines.extend(f"  fault: {fault}" for fault in status.faults)
    lines.extend(f"problem: {problem}" for problem in status.problems)
    lines.extend(f"warning: {warning}" for warning in status.warnings)
    return "\n".join(lines)


def status_command(
    config_path: Path | None,
    data_dir: Path | None,
    *,
    as_json: bool,
    clock: Clock,
    out: TextIO,
    err: TextIO,
    presence: Callable[[Any], list[tuple[str, str, bool]]] | None = None,
) -> int:
    config = None
    if config_path is not None or data_dir is None:
        try:
            config = load_config(config_path, sections=KIOSK_SECTIONS)
        except ConfigError as error:
            print(str(error), file=err)
            return INVALID_CONFIG
        data_dir = data_dir or config.kiosk.data_dir
    if config is not None and presence is None:
        from kiosk.devices.inventory import presence as scanners_present  # noqa: PLC0415

        presence = scanners_present
    status = gather(data_dir, clock, config, presence)
    if as_json:
        print(json.dumps(status.to_json(), indent=2), file=out)
    else:
        print(_text(status), file=out)
    return CAN_LEND if status.can_lend else CANNOT_LEND
