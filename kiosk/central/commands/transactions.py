"""``kiosk-central transactions``: the latest transactions applied."""

from __future__ import annotations

import argparse
from datetime import datetime

from sqlalchemy.orm import Session

from kiosk.central.circulation.staff import transactions
from kiosk.central.commands import Command, emit, in_session


def _arguments(_parser: argparse.ArgumentParser) -> None:
    pass  # only the shared --db and --json


def _transactions(args: argparse.Namespace, session: Session, _now: datetime) -> int:
    emit(
        [
            {
                "id": row.id,
                "kind": row.kind,
                "item": row.item_barcode,
                "decided_at": row.decided_at,
                "outcome": row.outcome,
            }
            for row in transactions(session)
        ],
        args.json,
    )
    return 0


COMMAND = Command(
    "transactions",
    "the latest applied transactions",
    _arguments,
    in_session(_transactions),
    json=True,
)
