"""``kiosk-central backup [FILE]`` and ``kiosk-central restore FILE``: the library's record
copied while it serves, and put back after a loss (docs/operations.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sqlalchemy import Engine

from kiosk.central import backups
from kiosk.central.commands import Command
from kiosk.common.clock import SystemClock


def _backup_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="the file to write, or a folder to write a file named by the time into "
        "(default: central.toml's [backup] directory)",
    )
    parser.add_argument(
        "--keep",
        type=int,
        help="in a folder, how many backups to keep (default: [backup] keep)",
    )


def _backup(args: argparse.Namespace, engine: Engine) -> int:
    settings = args.config.backup
    target = args.file or settings.directory
    if target is None:
        raise backups.BackupError(
            "name the file to write (kiosk-central backup FILE): central.toml's [backup] "
            "directory is empty"
        )
    keep = settings.keep if args.keep is None else args.keep
    if keep < 1:
        raise backups.BackupError(f"--keep must be 1 or more, not {keep}")
    with backups.private_files():  # the files hold every patron's record
        done = backups.backup(
            engine, target, SystemClock().now(), keep=keep, off_machine=settings.off_machine
        )
    manifest = done.manifest
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(done.path),
                    "covers": manifest.covers,
                    "bytes": done.path.stat().st_size,
                    "seconds": round(done.seconds, 3),
                    "removed": [str(path) for path in done.removed],
                    "kiosks_may_forget": not done.on_database_disk,
                }
            )
        )
    else:
        print(
            f"{done.path}: backed up in {done.seconds:.1f} s "
            f"({done.path.stat().st_size / 2**20:,.1f} MB), up to change {manifest.covers}; "
            + (
                "it is on the database's own disk, so kiosks keep what they lent until a "
                "backup elsewhere covers it: write backups to another disk, or set [backup] "
                "off_machine = true if this folder is copied off the machine "
                "(docs/operations.md)"
                if done.on_database_disk
                else "kiosks may now forget what it covers"
            )
        )
        for path in done.removed:
            print(f"removed the older backup {path}")
    return 0


def _restore_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the backup to restore")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a database that already holds a library (stop kiosk-central first)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check that the file is a whole, undamaged backup, and say what it holds",
    )


def _restore(args: argparse.Namespace, engine: Engine) -> int:
    if args.check:
        manifest = backups.check(args.file)
        taken = f"{manifest.taken_at:%Y-%m-%d %H:%M}"
        print(
            f"{args.file}: a whole {manifest.database} backup taken {taken}, up to change "
            f"{manifest.covers} (schema {manifest.schema_revision})"
        )
        return 0
    with backups.private_files():
        manifest, epoch = backups.restore(engine, args.file, SystemClock().now(), force=args.force)
    print(
        f"restored {args.file}, taken {manifest.taken_at:%Y-%m-%d %H:%M} (up to change "
        f"{manifest.covers}); the library starts epoch {epoch}. Start kiosk-central: each "
        "kiosk pushes again what it lent and took back since, then reloads the library. "
        "Take a backup once they have (docs/operations.md)."
    )
    return 0


def _new_epoch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--yes",
        action="store_true",
        help="the database was brought back by other means than restore (required)",
    )


def _new_epoch(args: argparse.Namespace, engine: Engine) -> int:
    if not args.yes:
        raise backups.BackupError(
            "new-epoch is for a database brought back by other means than kiosk-central "
            "restore (point-in-time recovery, a VM or disk snapshot, a copied SQLite file): "
            "every kiosk then pushes again all it holds and reloads the library. Stop "
            "kiosk-central first, then run kiosk-central new-epoch --yes (docs/operations.md)"
        )
    epoch = backups.new_epoch(engine, SystemClock().now())
    print(
        f"the library starts epoch {epoch}. Start kiosk-central: each kiosk pushes again "
        "what it still holds, then reloads the library. Take a backup once they have "
        "(docs/operations.md)."
    )
    return 0


BACKUP = Command(
    "backup",
    "copy the database while it serves, to FILE or central.toml's [backup] directory",
    _backup_arguments,
    _backup,
    json=True,
)
RESTORE = Command(
    "restore",
    "replace the database with a backup (refused over a library without --force)",
    _restore_arguments,
    _restore,
    needs_schema=False,
)
NEW_EPOCH = Command(
    "new-epoch",
    "after a recovery by other means than restore: kiosks push again and reload the library",
    _new_epoch_arguments,
    _new_epoch,
)
