"""The ``kiosk`` command: the staff's entry point to every part of the kiosk."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from kiosk import __version__, policy_tool


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "policy":
        if args.policy_command == "check":
            return policy_tool.check(args.file, sys.stdout, sys.stderr)
        if args.policy_command == "table":
            return policy_tool.table(args.file, sys.stdout, sys.stderr)
        return policy_tool.evaluate_command(args.scenario, sys.stdin, sys.stdout, sys.stderr)
    raise AssertionError(f"unhandled command {args.command!r}")  # argparse allows no other


if __name__ == "__main__":
    sys.exit(main())
