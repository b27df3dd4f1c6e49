"""``kiosk-central``'s commands, one module each: its arguments and its handler.

A command is a ``Command``: its name, a line of help, a function declaring its
arguments on the parser it is given, and its handler, which is given the parsed
arguments and an engine on the database. Before it runs, ``central.toml`` is loaded
(``--config FILE``, see ``kiosk.central.config``): the handler finds it in
``args.config``, a ``CentralConfig`` holding the database in force (``args.db``, from
``--db``, else ``$KIOSK_CENTRAL_DB``, else ``[central] database``). A mistake in the
file stops every such command. A ``FileCommand`` (``check-config``, ``config show``)
works on the config files alone: it runs before the config is loaded, with no
database, so that it can report a broken file. ``kiosk.central.cli`` registers the
commands of this package, and any command a Python package offers in the
entry-point group ``kiosk_central.commands`` (the demo's ``demo-data`` is one)::

    [project.entry-points."kiosk_central.commands"]
    demo-data = "kiosk.demo.central_command:COMMAND"

Options are accepted where people type them: ``--db`` and ``--config`` at every level,
before or after a verb (``kiosk-central --db X init`` and ``kiosk-central init --db X``), and
``--json`` likewise wherever a command prints JSON. Verbs made with ``Verbs`` keep
that: each of their parsers gets the shared options, whose inner copies default to
``argparse.SUPPRESS`` so that an option given before the verb is not undone by the
verb's own default.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kiosk.central.config import DB_ENV, SITE_FILE
from kiosk.common.clock import SystemClock

ENTRY_POINTS = "kiosk_central.commands"
DB_HELP = (
    f"database URL, sqlite:///PATH or postgresql://USER@HOST/DB (default: ${DB_ENV}, "
    "else central.toml's [central] database)"
)
CONFIG_HELP = (
    "the site's central.toml, read over the shipped defaults (default: "
    f"$KIOSK_CENTRAL_CONFIG, else {SITE_FILE} when it exists)"
)
JSON_HELP = "print JSON rather than text"

Handler = Callable[[argparse.Namespace, Engine], int]
FileHandler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    """One ``kiosk-central`` command."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Handler
    # Whether it prints JSON with --json (a command with verbs says so for each verb).
    json: bool = False
    # Whether it needs the database's schema up to date (every command but init).
    needs_schema: bool = True


@dataclass(frozen=True)
class FileCommand:
    """A ``kiosk-central`` command on the config files alone (``check-config``, ``config
    show``): run before central.toml is loaded and with no database."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: FileHandler
    json: bool = False


def shared_options(*, json: bool) -> list[argparse.ArgumentParser]:
    """The options a parser below the top level accepts again, as ``parents``: given
    there, they count; not given, they leave what the levels above set."""
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--db", default=argparse.SUPPRESS, help=DB_HELP)
    shared.add_argument(
        "--config",
        dest="config_file",
        metavar="FILE",
        type=Path,
        default=argparse.SUPPRESS,
        help=CONFIG_HELP,
    )
    if json:
        shared.add_argument(
            "--json", action="store_true", default=argparse.SUPPRESS, help=JSON_HELP
        )
    return [shared]


class Verbs:
    """The verbs of a command (``kiosk add``, ``kiosk list``), each keeping the shared
    options."""

    def __init__(self, parser: argparse.ArgumentParser, dest: str, metavar: str) -> None:
        self._verbs = parser.add_subparsers(dest=dest, required=True, metavar=metavar)

    def add(self, name: str, help: str, *, json: bool = False) -> argparse.ArgumentParser:
        verb = self._verbs.add_parser(name, help=help, parents=shared_options(json=json))
        verb.set_defaults(prints_json=json)
        return verb


def in_session(
    handler: Callable[[argparse.Namespace, Session, datetime], int],
) -> Handler:
    """A handler given a session on the database and the library's time."""

    def run(args: argparse.Namespace, engine: Engine) -> int:
        with Session(engine) as session:
            return handler(args, session, SystemClock().now())

    return run


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM (systemd stopping the service) or SIGINT (Ctrl-C) sets: a
    long-running command finishes what it has in hand and returns when it is set."""
    stop = threading.Event()

    def stopping(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    return stop


def emit(rows: Sequence[dict[str, Any]], as_json: bool) -> None:
    """Rows for staff: one line each (``key=value  key=value``), or one JSON list."""
    if as_json:
        print(json.dumps(rows, default=str))
        return
    for row in rows:
        print("  ".join(f"{key}={value}" for key, value in row.items()))
