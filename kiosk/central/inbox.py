"""The import inbox: the other system's exports, imported on a schedule (gateway mode).

A library whose record is another system (Koha, Evergreen ...) exports its catalogue,
items and patrons as CSV on a schedule of its own and copies them into
``[imports] directory`` as ``catalogue.csv``, ``items.csv`` and ``patrons.csv``.
``kiosk-central import waiting`` (the ``kiosk-central-import`` timer) imports what is
there, in that order (items name records, patrons nothing else), each file all or
nothing as ``kiosk-central import`` does, and moves it out of the way: into ``done/``
or, when it was refused, into ``failed/`` beside a ``.problems.txt`` saying why, each
named by the time it was taken. So a file is imported once, a refused one is not
tried again every hour, and staff can see both.

A file changed in the last ``settle_seconds`` may still be being copied: it is left
for the next run, and so is every file after it in the order. Its inode's change time
says so, which ``cp -p`` and ``rsync -a`` cannot set back as they do the modification
time. A file is moved into ``importing/`` before it is read: a copy written to the
inbox meanwhile is a new file, for the next run. One found there by a run was being
imported when the last run was stopped; imported or not, nobody can say from the file,
and importing it again an hour later could undo what was lent since (imports override
item statuses), so it goes to ``failed/`` for staff to check against the audit log.

After a refusal the later files are left too: items imported without the catalogue
they name would be refused for it, and staff fix the order's first problem first.

Two runs at once (the timer and someone at a terminal) would import one file twice:
the second waits for nothing and says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kiosk.central.backups import held_alone
from kiosk.central.circulation.importers import import_file
from kiosk.central.errors import CentralError, ImportRejected

ORDER = ("catalogue", "items", "patrons")
DONE, FAILED, IMPORTING = "done", "failed", "importing"
INTERRUPTED = (
    "the run importing this file was stopped (the machine or the service stopped): it may "
    "or may not have been imported; the console's audit log shows an import.{kind} then "
    "if it was; send it again if not"
)
LOCK = ".import.lock"
SETTLE_SECONDS = 60.0


class InboxError(CentralError):
    """The inbox cannot be read: no such folder, or another run holds it."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one waiting file."""

    kind: str
    moved_to: Path | None  # None: left in the inbox for the next run
    rows: int | None = None  # imported; None when it was not
    problems: tuple[str, ...] = ()
    waiting_because: str = ""  # why it was left

    @property
    def refused(self) -> bool:
        return bool(self.problems)


def import_waiting(
    engine: Engine,
    folder: Path,
    now: datetime,
    *,
    actor: str,
    origin: str,
    keep: int,
    settle_seconds: float = SETTLE_SECONDS,
    wall: Callable[[], float] = time.time,
) -> list[Outcome]:
    """Import the files waiting in ``folder``, in ``ORDER``; one outcome a file found."""
    if not folder.is_dir():
        raise InboxError(
            f"the import folder {folder} does not exist: create it, writable by the user "
            "kiosk-central runs as, and have the other system's exports copied into it "
            "(or set [imports] directory in central.toml)"
        )
    outcomes: list[Outcome] = []
    refusal = InboxError(f"another import of {folder} is running; this one imported nothing")
    with held_alone(folder / LOCK, refusal):
        stamp = now.strftime("%Y%m%d-%H%M%S")
        outcomes += _interrupted(folder, stamp, keep)
        held_back = next((_refusal(o.kind) for o in outcomes if o.refused), "")
        for kind in ORDER:
            waiting = folder / f"{kind}.csv"
            if not waiting.is_file():
                continue
            if not held_back and wall() - _changed(waiting) < settle_seconds:
                held_back = (
                    f"{waiting.name} changed less than {settle_seconds:g} s ago and may "
                    "still be being copied"
                )
            if held_back:
                outcomes.append(Outcome(kind, None, waiting_because=held_back))
                continue
            outcome = _import_one(engine, waiting, kind, stamp, now, actor=actor, origin=origin)
            _keep_newest(folder / (FAILED if outcome.refused else DONE), kind, keep)
            outcomes.append(outcome)
            if outcome.refused:
                held_back = _refusal(kind)
    return outcomes


def _refusal(kind: str) -> str:
    return f"{kind}.csv was refused; fix it and send it again first"


def _changed(path: Path) -> float:
    status = path.stat()
    return max(status.st_mtime, status.st_ctime)


def _interrupted(folder: Path, stamp: str, keep: int) -> list[Outcome]:
    """What an interrupted run left in ``importing/``: failed, for staff to check."""
    found = []
    for kind in ORDER:
        left = folder / IMPORTING / f"{kind}.csv"
        if left.is_file():
            problems = (INTERRUPTED.format(kind=kind),)
            found.append(_refused(left, folder, kind, stamp, problems))
            _keep_newest(folder / FAILED, kind, keep)
    return found


def _import_one(
    engine: Engine, waiting: Path, kind: str, stamp: str, now: datetime, *, actor: str, origin: str
) -> Outcome:
    folder = waiting.parent
    taken = _move(waiting, folder / IMPORTING, kind)
    try:
        with Session(engine) as session:
            rows = import_file(session, kind, taken, actor=actor, origin=origin, now=now)
    except ImportRejected as rejected:
        return _refused(taken, folder, kind, stamp, tuple(rejected.problems))
    return Outcome(kind, _move(taken, folder / DONE, f"{kind}-{stamp}"), rows=rows)


def _refused(
    taken: Path, folder: Path, kind: str, stamp: str, problems: tuple[str, ...]
) -> Outcome:
    moved = _move(taken, folder / FAILED, f"{kind}-{stamp}")
    # Beside the file: the problems name lines and columns, never what was in them
    # beyond what staff's own file holds.
    problems_file = moved.with_suffix(".problems.txt")
    problems_file.write_text("\n".join(problems) + "\n", encoding="utf-8")
    os.chmod(problems_file, 0o600)
    return Outcome(kind, moved, problems=problems)


def _move(waiting: Path, into: Path, name: str) -> Path:
    into.mkdir(mode=0o700, exist_ok=True)
    target = into / f"{name}.csv"
    count = 1
    while target.exists():  # two runs in one second: neither file is lost
        count += 1
        target = into / f"{name}-{count}.csv"
    waiting.rename(target)
    return target


def _keep_newest(folder: Path, kind: str, keep: int) -> None:
    """The exports hold every patron's record: keep only the newest ``keep`` of a kind."""
    if not folder.is_dir():
        return
    kept = sorted(folder.glob(f"{kind}-*.csv"))  # named by the time taken
    for old in kept[: max(0, len(kept) - keep)]:
        old.unlink(missing_ok=True)
        old.with_suffix(".problems.txt").unlink(missing_ok=True)
