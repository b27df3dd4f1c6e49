"""``kiosk-central config show [FILE]``: the settings in force, as TOML, secrets masked,
each value the site's file set followed by where (``# FILE:LINE``), and the database
given by ``--db`` or ``$KIOSK_CENTRAL_DB`` shown with that origin."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from kiosk.central.commands import FileCommand, Verbs
from kiosk.central.commands.check_config import EXIT_INVALID, EXIT_OK, FILE_HELP, report
from kiosk.central.config import database_override, mask, read_layers, read_merged, site_file
from kiosk.common.layered import ConfigProblem, show_layers


def show_command(
    path: Path | None, db: str | None, out: TextIO, err: TextIO, environ: Mapping[str, str]
) -> int:
    """Exit 2 (after printing what can be) when the config has mistakes."""
    layers = read_layers(site_file(path, environ))
    if isinstance(layers, ConfigProblem):
        report([layers], err)
        return EXIT_INVALID
    override = database_override(db, environ)
    overrides = {"central.database": override} if override else None
    print(show_layers(layers, mask, overrides), end="", file=out)
    problems = read_merged(layers)[1]
    if problems:
        report(problems, err)
        return EXIT_INVALID
    return EXIT_OK


def _arguments(parser: argparse.ArgumentParser) -> None:
    show = Verbs(parser, "config_command", "ACTION").add(
        "show", "print the settings in force as TOML, secrets masked"
    )
    show.add_argument("file", nargs="?", type=Path, metavar="FILE", help=FILE_HELP)


def _run(args: argparse.Namespace) -> int:
    return show_command(args.file or args.config_file, args.db, sys.stdout, sys.stderr, os.environ)


COMMAND = FileCommand("config", "show the settings in force", _arguments, _run)
