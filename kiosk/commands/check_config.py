"""``kiosk check-config``: every mistake in kiosk.toml at once, with file, line and key.

The printing is common's (:mod:`kiosk.common.layered`), as for ``kiosk-central
check-config``; the words about parts the kiosk lends without are the kiosk's.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from kiosk.appliance.sections import KIOSK_SECTIONS
from kiosk.common import layered
from kiosk.common.layered import counted
from kiosk.config import (
    ConfigProblem,
    check_config,
    site_file,
)

EXIT_OK = 0
EXIT_NOT_DONE = 1
EXIT_INVALID = 2


def report(problems: Sequence[ConfigProblem], err: TextIO) -> None:
    layered.report(problems, err, _summary, optional_mark=" [the kiosk lends without it]")


def _summary(vital: int, optional: int) -> str:
    parts = []
    if vital:
        parts.append(f"{vital} stop{'s' if vital == 1 else ''} the kiosk")
    if optional:
        parts.append(
            f"{optional} in {'a part' if optional == 1 else 'parts'} it lends without "
            "(shown in staff mode)"
        )
    return f"{counted(vital + optional, 'error')}: {'; '.join(parts)}"


def check_config_command(path: Path | None, out: TextIO, err: TextIO) -> int:
    """Every mistake at once; exit 2 when there is any, 0 when the file is valid."""
    file = site_file(path)
    problems = check_config(file, sections=KIOSK_SECTIONS)
    if problems:
        report(problems, err)
        return EXIT_INVALID
    print(f"{file}: valid", file=out)
    return EXIT_OK


DEFAULT_FILE = "$KIOSK_CONFIG, else /etc/kiosk/kiosk.toml"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check-config",
        help="check kiosk.toml and report every mistake in it",
        description="Reads the shipped defaults and FILE over them and reports every mistake "
        "with its file, line and key. Exit 0 when valid, 2 when there is any mistake.",
    )
    check.add_argument("file", nargs="?", type=Path, help=f"the site's kiosk.toml ({DEFAULT_FILE})")
    check.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return check_config_command(args.file, sys.stdout, sys.stderr)
