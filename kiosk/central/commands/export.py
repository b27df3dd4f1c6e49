"""``kiosk-central export``: write the transactions for another system (Koha's .koc)."""

from __future__ import annotations

import argparse
from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy.orm import Session

from kiosk.central.circulation.koc import export_koc
from kiosk.central.commands import Command, Verbs, in_session


def _arguments(parser: argparse.ArgumentParser) -> None:
    formats = Verbs(parser, "format", "FORMAT")
    koc = formats.add("koc", "Koha's offline circulation file (.koc)")
    koc.add_argument("--since", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    koc.add_argument("--out", type=Path, required=True, help="the .koc file to write")


def _export(args: argparse.Namespace, session: Session, _now: datetime) -> int:
    written = export_koc(session, datetime.combine(args.since, time.min), args.out)
    print(
        f"{args.out}: {written.written} operations since {args.since}"
        + (
            f"; {written.left_out} fault charges left out (Koha has no such operation)"
            if written.left_out
            else ""
        )
    )
    return 0


COMMAND = Command(
    "export", "write transactions for another system", _arguments, in_session(_export)
)
