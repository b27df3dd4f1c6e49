"""``kiosk-central branch``: the library's branches from the terminal.

``branch add CODE NAME`` and ``branch list``. Adding one is audited as made by
``terminal:USER``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TextIO

from sqlalchemy.orm import Session

from kiosk.central.circulation.branches import add_branch, branches, homeless
from kiosk.central.commands import Command, Verbs, emit, in_session
from kiosk.central.commands.staff import ORIGIN, terminal_actor


def _arguments(parser: argparse.ArgumentParser) -> None:
    verbs = Verbs(parser, "branch_command", "ACTION")
    add = verbs.add("add", "add a branch")
    add.add_argument("code", help="as items' home_location name it, e.g. NORTH")
    add.add_argument("name", help='as patrons read it, e.g. "Northside Library"')
    verbs.add("list", "the branches", json=True)


def _branch(args: argparse.Namespace, session: Session, now: datetime) -> int:
    if args.branch_command == "add":
        add_branch(session, args.code, args.name, now, actor=terminal_actor(), origin=ORIGIN)
        print(f"branch {args.code} added")
        _homeless(session, sys.stdout)
        return 0
    emit([{"code": row.code, "name": row.name} for row in branches(session)], args.json)
    # Beside JSON, on stderr: the list stays one JSON value.
    _homeless(session, sys.stderr if args.json else sys.stdout)
    return 0


def _homeless(session: Session, out: TextIO) -> None:
    """Tell staff of items whose home_location names no branch: returns send them to no
    branch, which they can fix by re-importing those items or adding the branch."""
    message = homeless(session).message()
    if message is not None:
        print(message, file=out)


COMMAND = Command("branch", "the library's branches", _arguments, in_session(_branch), json=True)
