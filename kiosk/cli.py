"""The ``kiosk`` command: the staff's entry point to every part of the kiosk."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from kiosk import __version__, policy_tool, scanners_tool


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk", description="Self-service library kiosk: staff commands."
    )
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    policy = commands.add_parser("policy", help="check, show and try out a lending policy")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = policy_commands.add_parser(
        "check", help="validate a policy file and report every error in it"
    )
    check.add_argument("file", type=Path, help="the policy file (TOML)")
    table = policy_commands.add_parser("table", help="print the privilege matrix of a policy file")
    table.add_argument("file", type=Path, help="the policy file (TOML)")
    evaluate = policy_commands.add_parser(
        "evaluate",
        help="decide one what-if scenario (JSON) and print the answer as JSON",
        description="Reads a scenario as in docs/lending-rules.md and prints one JSON object. "
        "Exit 0 for any valid scenario, 2 for an invalid one.",
    )
    evaluate.add_argument("scenario", help="a scenario JSON file, or - for standard input")

    scanners = commands.add_parser("scanners", help="find barcode scanners and watch their scans")
    scanners_commands = scanners.add_subparsers(
        dest="scanners_command", required=True, metavar="ACTION"
    )
    scanners_list = scanners_commands.add_parser(
        "list", help="the input devices and serial ports present, and which the config uses"
    )
    scanners_list.add_argument("--config", type=Path, help="a kiosk.toml with [scanners]")
    listen = scanners_commands.add_parser(
        "listen",
        help="print one line per scan until interrupted",
        description="Prints one line per scan (with --json one JSON object per line), "
        "flushed at once. Exits 0 on SIGINT or SIGTERM, 2 for a bad config.",
    )
    listen.add_argument("--config", type=Path, help="a kiosk.toml with [scanners], [barcodes]")
    listen.add_argument("--serial", metavar="PORT", help="a serial scanner's port")
    listen.add_argument("--baud", type=int, help="its speed (default 9600)")
    listen.add_argument(
        "--terminator", choices=["cr", "lf", "crlf", "none"], help="its line end (default cr)"
    )
    listen.add_argument(
        "--evdev", metavar="DEVICE", help="a HID scanner: /dev/input path, vendor:product or name"
    )
    listen.add_argument(
        "--layout", choices=["us", "uk", "de", "fr"], default="us", help="its keyboard layout"
    )
    listen.add_argument(
        "--keyboard", action="store_true", help="also take scans typed as lines on standard input"
    )
    listen.add_argument("--json", action="store_true", help="one JSON object per scan")
    return parser


def _scanners(args: argparse.Namespace) -> int:
    if args.scanners_command == "list":
        return scanners_tool.list_command(args.config, sys.stdout, sys.stderr)
    return scanners_tool.listen_command(
        config=args.config,
        serial_port=args.serial,
        baud=args.baud,
        terminator=args.terminator,
        evdev_device=args.evdev,
        layout=args.layout,
        keyboard=args.keyboard,
        as_json=args.json,
        out=sys.stdout,
        err=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "policy":
        if args.policy_command == "check":
            return policy_tool.check(args.file, sys.stdout, sys.stderr)
        if args.policy_command == "table":
            return policy_tool.table(args.file, sys.stdout, sys.stderr)
        return policy_tool.evaluate_command(args.scenario, sys.stdin, sys.stdout, sys.stderr)
    if args.command == "scanners":
        return _scanners(args)
    raise AssertionError(f"unhandled command {args.command!r}")  # argparse allows no other


if __name__ == "__main__":
    sys.exit(main())
