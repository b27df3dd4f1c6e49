"""``kiosk-central import``: load the policy, the catalogue, items or patrons from staff's
files. Each import is audited as made by ``terminal:USER``."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kiosk.central.circulation.importers import import_file
from kiosk.central.circulation.policy import import_policy
from kiosk.central.commands import Command, Verbs, in_session
from kiosk.central.commands.staff import ORIGIN, terminal_actor
from kiosk.central.inbox import SETTLE_SECONDS, InboxError, Outcome, import_waiting
from kiosk.common.clock import SystemClock

TABLES = (
    ("catalogue", "catalogue records: brn, title, author, isbn, publication_type"),
    ("items", "stock items: barcode, brn, price, status, home_location"),
    (
        "patrons",
        "patrons: patron_id, card, first_name, surname, member_type, expires, barred, pin",
    ),
)


def _arguments(parser: argparse.ArgumentParser) -> None:
    what = Verbs(parser, "what", "WHAT")
    waiting = what.add(
        "waiting",
        "import the other system's exports waiting in [imports] directory "
        "(catalogue.csv, items.csv, patrons.csv), each once",
        json=True,
    )
    waiting.add_argument(
        "--settle",
        type=float,
        default=SETTLE_SECONDS,
        metavar="SECONDS",
        help="leave a file changed less than this long ago: it may still be being copied "
        f"(default {SETTLE_SECONDS:g}; 0 when you know the copies are complete)",
    )
    policy = what.add("policy", "make a policy file (TOML) the policy in force")
    policy.add_argument("file", type=Path)
    for kind, text in TABLES:
        table = what.add(kind, f"{text} (CSV with a header row)")
        table.add_argument("file", type=Path)


def _import(args: argparse.Namespace, engine: Engine) -> int:
    if args.what == "waiting":
        return _import_waiting(args, engine)
    return in_session(_import_named)(args, engine)


def _import_waiting(args: argparse.Namespace, engine: Engine) -> int:
    settings = args.config.imports
    if settings.directory is None:
        raise InboxError("central.toml's [imports] directory is empty: there is no inbox")
    outcomes = import_waiting(
        engine,
        settings.directory,
        SystemClock().now(),
        actor=terminal_actor(),
        origin=ORIGIN,
        keep=settings.keep,
        settle_seconds=max(0.0, args.settle),
    )
    if args.json:
        print(json.dumps([_as_json(outcome) for outcome in outcomes]))
    else:
        for outcome in outcomes:
            print(_said(outcome))
        if not outcomes:
            print(f"{settings.directory}: nothing waiting")
    # A refusal fails the run, so that systemd (and a staff member's monitoring) sees it.
    return 1 if any(outcome.refused for outcome in outcomes) else 0


def _said(outcome: Outcome) -> str:
    name = f"{outcome.kind}.csv"
    if outcome.rows is not None:
        return f"{name}: {outcome.rows} rows imported; moved to {outcome.moved_to}"
    if outcome.refused:
        lines = [f"{name}: refused, nothing imported; moved to {outcome.moved_to}"]
        return "\n".join([*lines, *(f"  {problem}" for problem in outcome.problems)])
    return f"{name}: left for the next run: {outcome.waiting_because}"


def _as_json(outcome: Outcome) -> dict[str, object]:
    return {
        "kind": outcome.kind,
        "rows": outcome.rows,
        "moved_to": None if outcome.moved_to is None else str(outcome.moved_to),
        "problems": list(outcome.problems),
        "waiting_because": outcome.waiting_because or None,
    }


def _import_named(args: argparse.Namespace, session: Session, now: datetime) -> int:
    actor = terminal_actor()
    if args.what != "policy":
        count = import_file(session, args.what, args.file, actor=actor, origin=ORIGIN, now=now)
        print(f"{args.file}: {count} rows imported")
        return 0
    version = import_policy(session, args.file, now, actor=actor, origin=ORIGIN)
    print(f"{args.file}: policy version {version} is in force")
    return 0


COMMAND = Command("import", "load data from staff files", _arguments, _import)
