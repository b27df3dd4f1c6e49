"""``kiosk-central notices``: the notices to patrons (kiosk.central.notices).

``notices run`` finds what is due and sends it, then again every ``[notices]
poll_seconds`` until SIGTERM (kiosk-central-notices.service); ``--once`` makes one pass
(for a timer, and tests); ``--as-of DATE`` does that day's work as if it were that date
(tests, a day the runner missed); ``--dry-run`` (with ``--as-of``: staff previewing
tomorrow) only counts what the pass would add. ``notices preview KIND --patron CARD``
prints what the patron would be sent today (or an example, when nothing of that kind is
due for them), sending nothing. ``notices check`` reports every mistake in the library's
templates (exit 2 if any). ``notices print`` lists the notices for patrons with no
channel, for staff to print and post.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kiosk.central.commands import Command, Verbs, emit, stop_on_signals
from kiosk.central.models import Notice, Patron
from kiosk.central.notices.finding import daily, frequent
from kiosk.central.notices.preferences import KINDS
from kiosk.central.notices.runner import Runner, policy_of, print_list, timing
from kiosk.central.notices.templates import SAMPLES, Templates
from kiosk.common.clock import SystemClock


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date as YYYY-MM-DD: {text!r}") from None


def _arguments(parser: argparse.ArgumentParser) -> None:
    verbs = Verbs(parser, "notices_command", "ACTION")
    run = verbs.add("run", "find the notices that are due and send them")
    run.add_argument("--once", action="store_true", help="one pass, then stop")
    run.add_argument(
        "--as-of", type=_day, metavar="DATE", help="do DATE's work as if it were that day"
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="say how many notices of each kind the pass would add, sending and writing "
        "nothing (with --as-of: what tomorrow brings)",
    )
    preview = verbs.add("preview", "print what a patron would be sent, sending nothing")
    preview.add_argument("kind", choices=KINDS, metavar="KIND", help=", ".join(KINDS))
    preview.add_argument("--patron", required=True, metavar="CARD", help="the patron's card")
    preview.add_argument("--as-of", type=_day, metavar="DATE", help="as if it were DATE")
    verbs.add("check", "report every mistake in the library's notice templates")
    verbs.add("print", "list the notices to print for patrons with no email or phone", json=True)


def _notices(args: argparse.Namespace, engine: Engine) -> int:
    command = args.notices_command
    if command == "run":
        return _run(args, engine)
    if command == "preview":
        return _preview(args, engine)
    if command == "check":
        return _check(args)
    return _print(args, engine)


def _run(args: argparse.Namespace, engine: Engine) -> int:
    logging.basicConfig(
        level=args.config.central.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    runner = Runner(engine, args.config, SystemClock().now)
    if args.dry_run:
        now = runner.now()
        if args.as_of is not None:
            now = datetime.combine(args.as_of, now.time())
        counted = runner.dry_run(now)
        for (kind, channel), count in sorted(counted.items()):
            print(f"kind={kind}  by={channel}  notices={count}")
        print(f"kiosk-central notices: {sum(counted.values())} would be added; nothing sent")
        return 0
    if args.once or args.as_of is not None:
        try:
            report = runner.run_once(args.as_of)
        finally:
            runner.close()
        print(f"kiosk-central notices: {report.words()}", flush=True)
        return 0
    stop = stop_on_signals()
    print("kiosk-central notices: running", flush=True)
    runner.run_forever(stop)
    return 0


def _preview(args: argparse.Namespace, engine: Engine) -> int:
    runner = Runner(engine, args.config, SystemClock().now)
    now = runner.now()
    if args.as_of is not None:
        now = datetime.combine(args.as_of, now.time())
    with Session(engine) as db:
        patron = db.scalar(select(Patron).where(Patron.card == args.patron))
        if patron is None:
            print("kiosk-central: no patron has that card", file=sys.stderr)
            return 2
        when = timing(args.config, db)
        found = [
            notice
            for notice in (*frequent(db, now, when), *daily(db, now, policy_of(db), when))
            if notice.patron_id == patron.patron_id and notice.kind == args.kind
        ]
    if found:
        facts = found[0].facts
        print(f"# {args.kind}, due {found[0].day.isoformat()}, by {found[0].channel}")
    else:
        facts = SAMPLES[args.kind]
        print(f"# nothing of kind {args.kind} is due for this patron then: an example")
    composed = runner.compose([_unsaved(patron.patron_id, args.kind, facts)], patron)
    print(f"Subject: {composed.subject}\n\n{composed.text}\n# SMS: {composed.sms}")
    return 0


def _unsaved(patron_id: str, kind: str, facts: dict[str, Any]) -> Notice:
    return Notice(patron_id=patron_id, kind=kind, facts=facts, digest=False)


def _check(args: argparse.Namespace) -> int:
    templates = Templates(args.config.notices.templates, args.config.library.currency)
    for problem in templates.problems:
        print(problem)
    if templates.problems:
        print(f"{len(templates.problems)} mistakes: the shipped templates stand in for them")
        return 2
    print("the notice templates are good")
    return 0


def _print(args: argparse.Namespace, engine: Engine) -> int:
    with Session(engine) as db:
        rows = [
            {
                "notice": notice.id,
                "kind": notice.kind,
                "day": notice.day.isoformat(),
                "patron": patron.patron_id if patron else notice.patron_id,
                "name": f"{patron.first_name} {patron.surname}" if patron else "",
            }
            for notice, patron in print_list(db)
        ]
    emit(rows, args.json)
    return 0


COMMAND = Command("notices", "send the notices to patrons", _arguments, _notices, json=True)
