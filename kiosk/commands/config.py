"""``kiosk config show``: the settings in force, as TOML, secrets masked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from kiosk.appliance.sections import KIOSK_SECTIONS
from kiosk.commands.check_config import DEFAULT_FILE, EXIT_INVALID, EXIT_OK, report
from kiosk.common.layered import masking, show_layers
from kiosk.config import SECRET_KEYS, ConfigProblem, check_config, read_layers, site_file


def show_command(path: Path | None, out: TextIO, err: TextIO) -> int:
    """The settings in force as TOML, secrets masked; where the site's file set a value,
    a comment says so. Exit 2 (after printing) when the config has mistakes."""
    layers = read_layers(site_file(path))
    if isinstance(layers, ConfigProblem):
        report([layers], err)
        return EXIT_INVALID
    print(show_layers(layers, masking(SECRET_KEYS)), end="", file=out)
    site = layers.site
    problems = check_config(site.path if site else None, sections=KIOSK_SECTIONS)
    if problems:
        report(problems, err)
        return EXIT_INVALID
    return EXIT_OK


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = commands.add_parser("config", help="show the settings in force")
    actions = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="print the effective config as TOML, secrets masked")
    show.add_argument("file", nargs="?", type=Path, help=f"the site's kiosk.toml ({DEFAULT_FILE})")
    config.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return show_command(args.file, sys.stdout, sys.stderr)
