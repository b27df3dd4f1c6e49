"""``kiosk status``: whether this kiosk can lend, and what needs a person."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.commands.check_config import DEFAULT_FILE


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = commands.add_parser(
        "status",
        help="whether this kiosk can lend, and what needs a person",
        description="Mode, version, mirror age and cursor, journal depth and oldest pending "
        "entry, last sync result, scanners present, disk free, clock trusted. Exit 0 when "
        "the kiosk can lend, 3 when it cannot, 2 when the config is invalid.",
    )
    status.add_argument("--config", type=Path, help=f"the site's kiosk.toml ({DEFAULT_FILE})")
    status.add_argument(
        "--data", type=Path, help="a data directory (instead of the config's data_dir)"
    )
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.appliance.status import status_command  # noqa: PLC0415 - SQLAlchemy only here
    from kiosk.common.clock import SystemClock  # noqa: PLC0415

    return status_command(
        args.config,
        args.data,
        as_json=args.json,
        clock=SystemClock(),
        out=sys.stdout,
        err=sys.stderr,
    )
