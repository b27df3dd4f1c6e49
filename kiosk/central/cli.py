"""``kiosk-central``: run and administer the library's central circulation server.

This module only registers the commands (``kiosk.central.commands``, one module each,
and those other packages offer in the ``kiosk_central.commands`` entry-point group),
builds their parser and runs the one asked for: a command on the config files alone
straight away, any other after loading ``central.toml`` (``--config FILE``; refused
with every mistake in it) into ``args.config`` and opening the database in force.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from kiosk.central import database
from kiosk.central.commands import (
    CONFIG_HELP,
    DB_HELP,
    ENTRY_POINTS,
    JSON_HELP,
    Command,
    FileCommand,
    backup,
    branch,
    check_config,
    config,
    exceptions,
    export,
    forget,
    holds,
    importing,
    init,
    kiosk,
    notices,
    relay,
    serve,
    shared_options,
    sip2,
    staff,
    status,
    transactions,
)
from kiosk.central.config import CentralConfigError, load_config, with_database
from kiosk.central.errors import CentralError, ImportRejected

AnyCommand = Command | FileCommand

BUILT_IN: tuple[AnyCommand, ...] = (
    init.COMMAND,
    importing.COMMAND,
    branch.COMMAND,
    kiosk.COMMAND,
    staff.COMMAND,
    holds.COMMAND,
    notices.COMMAND,
    transactions.COMMAND,
    exceptions.COMMAND,
    export.COMMAND,
    forget.COMMAND,
    serve.COMMAND,
    sip2.COMMAND,
    relay.COMMAND,
    status.COMMAND,
    backup.BACKUP,
    backup.RESTORE,
    backup.NEW_EPOCH,
    check_config.COMMAND,
    config.COMMAND,
)


def registry() -> dict[str, AnyCommand]:
    """Every command by name: the built-in ones, then those of the entry-point group. One
    that cannot be loaded is left out with a word on stderr; the others still work."""
    commands = {command.name: command for command in BUILT_IN}
    for point in sorted(entry_points(group=ENTRY_POINTS), key=lambda point: point.name):
        try:
            command = point.load()
        except Exception as error:  # a broken plug-in must not stop the other commands
            print(f"kiosk-central: command {point.name} ({point.value}): {error}", file=sys.stderr)
            continue
        if not isinstance(command, AnyCommand) or command.name in commands:
            print(
                f"kiosk-central: command {point.name} ({point.value}) left out: "
                + ("not a Command" if not isinstance(command, AnyCommand) else "name taken"),
                file=sys.stderr,
            )
            continue
        commands[command.name] = command
    return commands


def build_parser(commands: dict[str, AnyCommand]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk-central", description="The library's central circulation server."
    )
    parser.add_argument("--db", help=DB_HELP)
    parser.add_argument("--config", dest="config_file", metavar="FILE", type=Path, help=CONFIG_HELP)
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    parser.set_defaults(prints_json=False)
    verbs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands.values():
        sub = verbs.add_parser(
            command.name, help=command.help, parents=shared_options(json=command.json)
        )
        sub.set_defaults(prints_json=command.json)
        command.arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    commands = registry()
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    if args.json and not args.prints_json:
        parser.error(f"argument --json: `kiosk-central {args.command}` prints no JSON")
    command = commands[args.command]
    if isinstance(command, FileCommand):
        return command.run(args)
    try:
        args.config = with_database(load_config(args.config_file), args.db, os.environ)
    except CentralConfigError as refused:
        print(refused, file=sys.stderr)  # each mistake, then that nothing was done
        return 2
    args.db = args.config.central.database
    engine = database.connect(args.db)
    try:
        if command.needs_schema and not database.is_current(engine):
            print(
                "kiosk-central: the database schema is missing or old; run `kiosk-central init`",
                file=sys.stderr,
            )
            return 2
        return command.run(args, engine)
    except ImportRejected as rejected:
        for problem in rejected.problems:
            print(problem, file=sys.stderr)
        print(f"kiosk-central: {rejected}", file=sys.stderr)
        return 2
    except CentralError as error:
        print(f"kiosk-central: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
