"""``kiosk-central kiosk``: register kiosks (each token shown once), put one in a branch,
and list them. A kiosk registered without ``--branch`` (every kiosk from before branches)
stands in none, and routes returns as one undivided library until ``kiosk branch NAME
CODE`` puts it in one."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from sqlalchemy.orm import Session

from kiosk.central.api.kiosks import add_kiosk, kiosks, place_kiosk
from kiosk.central.commands import Command, Verbs, emit, in_session
from kiosk.central.commands.staff import ORIGIN, terminal_actor


def _arguments(parser: argparse.ArgumentParser) -> None:
    verbs = Verbs(parser, "kiosk_command", "ACTION")
    add = verbs.add("add", "register a kiosk and print its token once", json=True)
    add.add_argument("name")
    add.add_argument(
        "--branch",
        metavar="CODE",
        help="the branch it stands in (kiosk-central branch list); without one it routes "
        "returns as one undivided library",
    )
    verbs.add("list", "kiosks with last contact and health", json=True)
    place = verbs.add("branch", "put a kiosk (one registered before branches) in a branch")
    place.add_argument("name")
    place.add_argument("branch", metavar="CODE", help='a branch\'s code, or "none"')


def _kiosk(args: argparse.Namespace, session: Session, now: datetime) -> int:
    if args.kiosk_command == "add":
        token = add_kiosk(session, args.name, now, branch=args.branch)
        if args.json:
            print(json.dumps({"name": args.name, "branch": args.branch, "token": token}))
        else:
            print(f"kiosk {args.name} registered; its token (shown only now): {token}")
        return 0
    if args.kiosk_command == "branch":
        branch = None if args.branch == "none" else args.branch
        place_kiosk(session, args.name, branch, now, actor=terminal_actor(), origin=ORIGIN)
        print(f"kiosk {args.name} is in branch {branch or 'none'} from its next sync")
        return 0
    emit(
        [
            {
                "name": kiosk.name,
                "branch": kiosk.branch,
                "last_seen": kiosk.last_seen,
                "version": kiosk.version,
                "journal_depth": kiosk.journal_depth,
                "last_error": kiosk.last_error,
            }
            for kiosk in kiosks(session)
        ],
        args.json,
    )
    return 0


COMMAND = Command("kiosk", "register and list kiosks", _arguments, in_session(_kiosk), json=True)
