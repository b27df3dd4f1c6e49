"""``kiosk-central exceptions``: what the rules would have refused, for staff to list and
resolve."""

from __future__ import annotations

import argparse
from datetime import datetime

from sqlalchemy.orm import Session

from kiosk.central.circulation.staff import open_exceptions, resolve_exception
from kiosk.central.commands import Command, emit, in_session
from kiosk.central.commands.staff import ORIGIN, terminal_actor


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--resolve", type=int, metavar="N", help="mark exception N resolved")
    parser.add_argument("--note", default="resolved", help="what was done about it")


def _exceptions(args: argparse.Namespace, session: Session, now: datetime) -> int:
    if args.resolve is not None:
        resolve_exception(
            session, args.resolve, args.note, now, actor=terminal_actor(), origin=ORIGIN
        )
        print(f"exception {args.resolve} resolved")
        return 0
    emit(
        [
            {
                "number": row.id,
                "entry": row.entry_id,
                "reason": row.reason,
                "detail": row.detail,
                "created_at": row.created_at,
            }
            for row in open_exceptions(session)
        ],
        args.json,
    )
    return 0


COMMAND = Command(
    "exceptions",
    "list or resolve exceptions for staff",
    _arguments,
    in_session(_exceptions),
    json=True,
)
