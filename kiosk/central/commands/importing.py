"""``kiosk-central import``: load the policy, the catalogue, items or patrons from staff's
files. Each import is audited as made by ``terminal:USER``."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from kiosk.central.circulation.importers import import_file
from kiosk.central.circulation.policy import import_policy
from kiosk.central.commands import Command, Verbs, in_session
from kiosk.central.commands.staff import ORIGIN, terminal_actor

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
    policy = what.add("policy", "make a policy file (TOML) the policy in force")
    policy.add_argument("file", type=Path)
    for kind, text in TABLES:
        table = what.add(kind, f"{text} (CSV with a header row)")
        table.add_argument("file", type=Path)


def _import(args: argparse.Namespace, session: Session, now: datetime) -> int:
    actor = terminal_actor()
    if args.what != "policy":
        count = import_file(session, args.what, args.file, actor=actor, origin=ORIGIN, now=now)
        print(f"{args.file}: {count} rows imported")
        return 0
    version = import_policy(session, args.file, now, actor=actor, origin=ORIGIN)
    print(f"{args.file}: policy version {version} is in force")
    return 0


COMMAND = Command("import", "load data from staff files", _arguments, in_session(_import))
