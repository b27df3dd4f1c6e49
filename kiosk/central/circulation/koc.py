"""Koha's offline circulation file (``.koc``), so a library on Koha can load kiosk transactions.

The format is tab-separated text: a header line, then one line per operation,
timestamped to the millisecond in the library's local time::

    Version=1.0<TAB>Generator=kiosk-central<TAB>GeneratorVersion=0.1.0
    2026-11-23 10:00:00 000<TAB>issue<TAB>CARDNUMBER<TAB>ITEMBARCODE
    2026-11-23 10:05:00 000<TAB>return<TAB>ITEMBARCODE

Koha renews when an item is issued again to the patron who has it, so a renewal
is written as an issue. Fault charges have no offline operation in Koha and are
left out (the export says how many).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk import __version__
from kiosk.central.models import AppliedTransaction, Patron


@dataclass(frozen=True, slots=True)
class KocExport:
    written: int
    left_out: int


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} {moment.microsecond // 1000:03d}"


def export_koc(db: Session, since: datetime, out: Path) -> KocExport:
    rows = db.execute(
        select(AppliedTransaction, Patron.card)
        .outerjoin(Patron, Patron.patron_id == AppliedTransaction.patron_id)
        .where(AppliedTransaction.decided_at >= since)
        .order_by(AppliedTransaction.decided_at, AppliedTransaction.kiosk_seq)
    ).all()
    lines = [f"Version=1.0\tGenerator=kiosk-central\tGeneratorVersion={__version__}"]
    left_out = 0
    for transaction, card in rows:
        stamp = _stamp(transaction.decided_at)
        if transaction.kind in ("checkout", "renew") and card:
            lines.append(f"{stamp}\tissue\t{card}\t{transaction.item_barcode}")
        elif transaction.kind == "return":
            lines.append(f"{stamp}\treturn\t{transaction.item_barcode}")
        else:
            left_out += 1
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return KocExport(len(lines) - 1, left_out)
