"""The ``kiosk`` command: the staff's entry point to every part of the kiosk.

One module per command holds its arguments and its handler; this module only
registers them, in the order ``kiosk --help`` lists them. Each handler imports what it
drives when it runs, so that ``kiosk policy check`` never loads Kivy or SQLAlchemy.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kiosk import __version__
from kiosk.appliance.logs import LEVELS
from kiosk.commands import (
    check_config,
    circ,
    config,
    demo_data,
    policy,
    run,
    scanners,
    staff_pin,
    status,
    sync,
)
from kiosk.commands.options import spread

COMMANDS = (policy, circ, demo_data, sync, run, scanners, check_config, config, status, staff_pin)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk", description="Self-service library kiosk: staff commands."
    )
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    spread(
        parser,
        "--log-level",
        choices=LEVELS,
        help="log to standard error at this level (services take it from kiosk.toml)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.log_level:
        from kiosk.appliance.logs import setup_logging  # noqa: PLC0415

        setup_logging(args.log_level)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
