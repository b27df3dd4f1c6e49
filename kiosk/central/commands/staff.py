"""``kiosk-central staff``: the console's staff accounts from the terminal.

``staff add USERNAME --role admin|circulation|viewer --password-file FILE [--branch
CODE]``, ``staff list``, ``staff disable USERNAME``, ``staff password USERNAME
--password-file FILE`` and ``staff branch USERNAME CODE|none`` (where the account works:
the desk's returns are routed from there, and the console shows that branch first).
A password is read from a file only its owner can read (``read_secret``), never from
the command line, where other users see it in the process list and it stays in the
shell's history. Every change is audited as made by ``terminal:USER``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from kiosk.central.commands import Command, Verbs, emit, in_session
from kiosk.central.web.accounts import (
    MIN_PASSWORD,
    ROLES,
    add_staff,
    disable_staff,
    set_password,
    set_staff_branch,
    staff,
)
from kiosk.common.secrets import SecretFile, SecretFileError, read_secret

PASSWORD_FILE = SecretFile(
    "password file", f"put the password (at least {MIN_PASSWORD} characters) in it"
)
ORIGIN = "terminal"


def terminal_actor() -> str:
    try:
        return f"terminal:{getpass.getuser()}"
    except (OSError, KeyError):
        return "terminal:unknown"


def _arguments(parser: argparse.ArgumentParser) -> None:
    verbs = Verbs(parser, "staff_command", "ACTION")
    add = verbs.add("add", "add a staff account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--password-file",
        required=True,
        type=Path,
        metavar="FILE",
        help="a file holding the password, readable by its owner alone (chmod 600)",
    )
    add.add_argument(
        "--branch",
        metavar="CODE",
        help="the branch where they work (kiosk-central branch list): the desk's returns "
        "are routed from it and the console shows it first",
    )
    verbs.add("list", "the staff accounts, their roles and whether they can sign in", json=True)
    disable = verbs.add("disable", "stop an account signing in, and end its sessions now")
    disable.add_argument("username")
    password = verbs.add("password", "give an account a new password (and lift its lockout)")
    password.add_argument("username")
    password.add_argument("--password-file", required=True, type=Path, metavar="FILE")
    place = verbs.add("branch", "set the branch where an account works")
    place.add_argument("username")
    place.add_argument("branch", metavar="CODE", help='a branch\'s code, or "none"')


def _staff(args: argparse.Namespace, session: Session, now: datetime) -> int:
    try:
        return _run(args, session, now)
    except SecretFileError as error:
        print(f"kiosk-central: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, session: Session, now: datetime) -> int:
    actor = terminal_actor()
    if args.staff_command == "add":
        password = read_secret(args.password_file, PASSWORD_FILE)
        add_staff(
            session,
            args.username,
            args.role,
            password,
            now,
            actor=actor,
            origin=ORIGIN,
            branch=args.branch,
        )
        where = f", branch {args.branch}" if args.branch else ""
        print(f"staff account {args.username} added ({args.role}{where})")
    elif args.staff_command == "branch":
        branch = None if args.branch == "none" else args.branch
        set_staff_branch(session, args.username, branch, now, actor=actor, origin=ORIGIN)
        print(f"staff account {args.username} works at branch {branch or 'none'}")
    elif args.staff_command == "disable":
        disable_staff(session, args.username, now, actor=actor, origin=ORIGIN)
        print(f"staff account {args.username} disabled; its sessions have ended")
    elif args.staff_command == "password":
        password = read_secret(args.password_file, PASSWORD_FILE)
        set_password(session, args.username, password, now, actor=actor, origin=ORIGIN)
        print(f"staff account {args.username} has a new password; its sessions have ended")
    else:
        emit(
            [
                {
                    "username": member.username,
                    "role": member.role,
                    "branch": member.branch,
                    "state": "disabled"
                    if member.disabled
                    else "locked"
                    if member.locked_until is not None and member.locked_until > now
                    else "active",
                    "created_at": member.created_at,
                }
                for member in staff(session)
            ],
            args.json,
        )
    return 0


COMMAND = Command(
    "staff", "staff accounts of the console", _arguments, in_session(_staff), json=True
)
