"""``kiosk-central check-config [FILE]``: every mistake in central.toml at once, with
file, line, key and a "did you mean"; exit 2 when there is any, 0 when it is valid."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import make_url

from kiosk.central import backups
from kiosk.central.commands import FileCommand
from kiosk.central.config import DEFAULTS_FILE, SITE_FILE, read_config, refusal, site_file
from kiosk.central.config.loading import with_database
from kiosk.central.config.model import CentralConfig
from kiosk.common import layered
from kiosk.common.layered import ConfigProblem

EXIT_OK = 0
EXIT_INVALID = 2
FILE_HELP = f"the site's central.toml (default: --config, $KIOSK_CENTRAL_CONFIG, else {SITE_FILE})"


def report(problems: Sequence[ConfigProblem], err: TextIO) -> None:
    """Each mistake on a line, then how many; every one stops kiosk-central."""
    layered.report(problems, err, lambda vital, optional: refusal(vital + optional))


def check_config_command(
    path: Path | None, out: TextIO, err: TextIO, environ: Mapping[str, str]
) -> int:
    file = site_file(path, environ)
    config, problems = read_config(file)
    if problems:
        report(problems, err)
        return EXIT_INVALID
    if config is not None:
        _warn_backups_beside_the_database(with_database(config, None, environ), out)
    if file is None:
        print(f"{DEFAULTS_FILE}: valid (no site file: the shipped defaults apply)", file=out)
    else:
        print(f"{file}: valid", file=out)
    return EXIT_OK


def _warn_backups_beside_the_database(config: CentralConfig, out: TextIO) -> None:
    """A valid file may still put the backups where one failing disk loses them with the
    SQLite database: said, not refused (a folder copied away is set off_machine)."""
    settings = config.backup
    url = make_url(config.central.database)
    if settings.directory is None or settings.off_machine or url.get_backend_name() != "sqlite":
        return
    if not url.database or url.database == ":memory:":
        return
    if backups.same_disk(Path(url.database), settings.directory):
        print(
            f"warning: [backup] directory {settings.directory} is on the same disk as the "
            f"database {url.database}: if that disk fails both are lost, so these backups "
            "do not let the kiosks forget what they lent. Write them to another disk, or "
            "set [backup] off_machine = true if the folder is copied off this machine "
            "(docs/operations.md)",
            file=out,
        )


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", type=Path, metavar="FILE", help=FILE_HELP)


def _run(args: argparse.Namespace) -> int:
    return check_config_command(args.file or args.config_file, sys.stdout, sys.stderr, os.environ)


COMMAND = FileCommand(
    "check-config", "check central.toml and report every mistake in it", _arguments, _run
)
