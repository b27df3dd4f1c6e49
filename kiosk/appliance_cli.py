"""The ``kiosk`` command's appliance part: ``check-config``, ``config show``, ``staff-pin``,
``status``, the global ``--log-level``, and ``kiosk sync --config``'s settings.

Kept apart from :mod:`kiosk.cli` so that each part of the command grows on its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_commands(parser: argparse.ArgumentParser, commands: Any) -> None:
    """--log-level, check-config, config show, staff-pin, status, and sync's --config."""
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="log to standard error at this level (services take it from kiosk.toml)",
    )
    commands.choices["sync"].add_argument(
        "--config",
        type=Path,
        help="a kiosk.toml giving --data ([kiosk] data_dir) and the [server] settings; "
        "options given as well win",
    )
    default = "$KIOSK_CONFIG, else /etc/kiosk/kiosk.toml"
    check = commands.add_parser(
        "check-config",
        help="check kiosk.toml and report every mistake in it",
        description="Reads the shipped defaults and FILE over them and reports every mistake "
        "with its file, line and key. Exit 0 when valid, 2 when there is any mistake.",
    )
    check.add_argument("file", nargs="?", type=Path, help=f"the site's kiosk.toml ({default})")
    config = commands.add_parser("config", help="show the settings in force")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = config_commands.add_parser(
        "show", help="print the effective config as TOML, secrets masked"
    )
    show.add_argument("file", nargs="?", type=Path, help=f"the site's kiosk.toml ({default})")
    status = commands.add_parser(
        "status",
        help="whether this kiosk can lend, and what needs a person",
        description="Mode, version, mirror age and cursor, journal depth and oldest pending "
        "entry, last sync result, scanners present, disk free, clock trusted. Exit 0 when "
        "the kiosk can lend, 3 when it cannot, 2 when the config is invalid.",
    )
    status.add_argument("--config", type=Path, help=f"the site's kiosk.toml ({default})")
    status.add_argument(
        "--data", type=Path, help="a data directory (instead of the config's data_dir)"
    )
    status.add_argument("--json", action="store_true", help="one JSON object")
    commands.add_parser(
        "staff-pin",
        help="make the verifier of a new staff PIN for [staff] pin_verifier",
        description="Reads the PIN twice without echo and prints the line to paste into "
        "kiosk.toml. The PIN itself is never stored.",
    )


def check_config(args: argparse.Namespace) -> int:
    from kiosk import config_tool  # noqa: PLC0415 - the config's imports only when needed

    return config_tool.check_config_command(args.file, sys.stdout, sys.stderr)


def config_show(args: argparse.Namespace) -> int:
    from kiosk import config_tool  # noqa: PLC0415

    return config_tool.show_command(args.file, sys.stdout, sys.stderr)


def status(args: argparse.Namespace) -> int:
    from kiosk.common.clock import SystemClock  # noqa: PLC0415
    from kiosk.status import status_command  # noqa: PLC0415

    return status_command(
        args.config,
        args.data,
        as_json=args.json,
        clock=SystemClock(),
        out=sys.stdout,
        err=sys.stderr,
    )


def staff_pin(_args: argparse.Namespace) -> int:
    import getpass  # noqa: PLC0415

    from kiosk import config_tool  # noqa: PLC0415

    return config_tool.staff_pin_command(getpass.getpass, sys.stdout, sys.stderr)


def sync_settings(
    args: argparse.Namespace,
) -> tuple[Path, str, Path, Path | None, float, tuple[float, float]] | str:
    """Where and how to sync: the options, over ``--config``'s [kiosk] and [server]."""
    from kiosk.config import ConfigError, load_config  # noqa: PLC0415

    interval, timeouts = 15.0, (3.05, 30.0)
    data, server, token_file, ca_file = args.data, args.server, args.token_file, args.ca_file
    if args.config is not None:
        try:
            config = load_config(args.config)
        except ConfigError as error:
            return str(error)
        server_faults = [str(f) for f in config.faults if f.key.startswith("server.")]
        if server_faults and not (args.server and args.token_file):
            return "\n".join([*server_faults, "the kiosk cannot sync until this is fixed"])
        if not args.log_level:
            from kiosk.logs import setup_logging  # noqa: PLC0415

            setup_logging(config.kiosk.log_level)
        data = data or config.kiosk.data_dir
        server = server or config.server.url
        token_file = token_file or config.server.token_file
        ca_file = ca_file or config.server.ca_file
        interval = config.server.sync_interval
        timeouts = (config.server.connect_timeout, config.server.read_timeout)
    missing = [
        option
        for option, value in (("--data", data), ("--server", server), ("--token-file", token_file))
        if not value
    ]
    if missing:
        return f"give {', '.join(missing)} or --config FILE"
    return data, server, token_file, ca_file, args.interval or interval, timeouts


def scanner_report(config_path: Path | None) -> Callable[[], list[str]]:
    """What the heartbeat says of the scanners kiosk.toml names: each one's source,
    device and whether it is plugged in now (the screens run in another process)."""
    if config_path is None:
        return list
    from kiosk.config import ConfigError, load_config  # noqa: PLC0415
    from kiosk.scanners_tool import presence  # noqa: PLC0415

    try:
        settings = load_config(config_path).scanners
    except ConfigError:
        return list  # sync_settings has said what is wrong
    lines = ["keyboard: present"] if settings.keyboard else []

    def report() -> list[str]:
        found = [
            f"{source} {device}: {'present' if here else 'absent'}"[:100]
            for source, device, here in presence(settings)
        ]
        return (lines + found)[:20]

    return report


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check-config": check_config,
    "config": config_show,
    "staff-pin": staff_pin,
    "status": status,
}
