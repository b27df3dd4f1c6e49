"""The sync agent's last result, kept in the data directory for ``kiosk status``.

The agent and ``kiosk status`` are separate processes; the agent writes this small
JSON file after every attempt, atomically (a whole new file renamed over the old),
so a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

STATUS_FILE = "sync-status.json"
# How far the first snapshot has come, while it loads: the screens (another process on
# an installed kiosk) show it on the out-of-service screen.
PROGRESS_FILE = "snapshot-progress.json"
# Older than this, the progress is not believed: the agent stopped in the middle.
PROGRESS_STALE_SECONDS = 120
# Staff's "Sync now" on the screen (another process) asks the agent through this file.
SYNC_NOW_FILE = "sync-now"


@dataclass(frozen=True, slots=True)
class LastSync:
    ok: bool
    attempted_at: datetime
    last_success: datetime | None
    error: str | None = None
    refused: bool = False  # the server refused this kiosk: staff must act
    cursor: int | None = None
    pushed: int = 0
    changes: int = 0
    # Entries the server applied that are kept until a backup of it covers them, what the
    # server said of its backups ("none", "immediately", the position its latest covers;
    # None: it said nothing, being older), and the most days they are kept for.
    held: int = 0
    backup: str | None = None
    backup_wait_days: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("attempted_at", "last_success"):
            data[key] = data[key].isoformat() if data[key] is not None else None
        return data


def save(directory: Path, last: LastSync) -> None:
    _replace(directory / STATUS_FILE, json.dumps(last.to_json(), indent=1) + "\n")


def load(directory: Path) -> LastSync | None:
    """The last result written, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((directory / STATUS_FILE).read_text(encoding="utf-8"))
        return LastSync(
            ok=bool(data["ok"]),
            attempted_at=datetime.fromisoformat(data["attempted_at"]),
            last_success=(
                datetime.fromisoformat(data["last_success"]) if data["last_success"] else None
            ),
            error=data.get("error"),
            refused=bool(data.get("refused", False)),
            cursor=data.get("cursor"),
            pushed=int(data.get("pushed", 0)),
            changes=int(data.get("changes", 0)),
            held=int(data.get("held", 0)),
            backup=data.get("backup"),
            backup_wait_days=data.get("backup_wait_days"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _replace(path: Path, text: str) -> None:
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(text, encoding="utf-8")
    os.replace(scratch, path)


def save_progress(directory: Path, percent: int, at: datetime) -> None:
    _replace(directory / PROGRESS_FILE, json.dumps({"percent": percent, "at": at.isoformat()}))


def clear_progress(directory: Path) -> None:
    (directory / PROGRESS_FILE).unlink(missing_ok=True)


def load_progress(directory: Path, now: datetime) -> int | None:
    """The snapshot's percentage while one is loading, else None."""
    try:
        data = json.loads((directory / PROGRESS_FILE).read_text(encoding="utf-8"))
        percent, at = int(data["percent"]), datetime.fromisoformat(data["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not 0 <= (now - at).total_seconds() <= PROGRESS_STALE_SECONDS:
        return None
    return max(0, min(99, percent))


def request_sync(directory: Path) -> None:
    """Ask the running agent to sync now rather than at its next turn."""
    (directory / SYNC_NOW_FILE).touch()


def take_sync_request(directory: Path) -> bool:
    """Whether a sync was asked for since the last look (and forget the asking)."""
    try:
        (directory / SYNC_NOW_FILE).unlink()
    except FileNotFoundError:
        return False
    return True
