"""*Privacy* (``/my/privacy``): what the library keeps about the patron and for how
long, and their own record to download (``/my/data.json``, ``/my/data.csv``): their
details, loans, holds, money, the transactions recorded with their card, and the loan
history they chose to keep. Only the signed-in patron's: the addresses name no one, so
there is no id to change."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central.circulation import loan_history
from kiosk.central.circulation.holds import patron_holds
from kiosk.central.circulation.lookup import desk_patron
from kiosk.central.models import AppliedTransaction, LedgerEntry, Patron
from kiosk.central.web.deps import Db, Now, Settings
from kiosk.central.web.routes.my.deps import SignedIn, optional, page
from kiosk.central.web.routes.my.sessions import IDLE

router = APIRouter(prefix="/my", include_in_schema=False)

DETAILS = (
    "card",
    "first_name",
    "surname",
    "email",
    "phone",
    "date_of_birth",  # only where registration asked for it
    "language",
    "home_branch",
    "member_type",
    "expires",
    "barred",
    "owed",
    "notify_by",
    "notices",
    "due_soon_days",
    "digest",
    "arrivals",
    "arrival_subjects",
    "keep_loan_history",
)
EVERY_LOAN = 1_000_000  # the download's one page of the history
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA = ("=", "+", "-", "@", "\t", "\r")


@router.get("/privacy", response_class=HTMLResponse)
def privacy(
    request: Request,
    db: Db,
    config: Settings,
    moment: Now,
    saved: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse:
    """Readable signed in or not: the registration form asks consent to it before there
    is anyone to sign in. The choices and the download are the signed-in patron's."""
    patron = optional(request, db, config, moment)
    return page(
        request,
        config,
        "my/privacy.html",
        patron=patron,
        idle_minutes=int(IDLE.total_seconds() // 60),
        lifetime_hours=int(config.lifetimes.absolute.total_seconds() // 3600),
        hold_shelf_days=config.hold_shelf_days,
        forget_days=config.forget_loans_after_days,
        kept=patron is not None and patron.keep_loan_history,
        saved=saved == "1",
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def own_record(
    db: Session, patron: Patron, now: datetime
) -> dict[str, list[dict[str, Any]] | dict[str, Any]]:
    """Everything the library holds about the patron in its records, as plain values
    (never the PIN's verifier)."""
    loans = desk_patron(db, patron.patron_id, now, None)
    ledger = db.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.patron_id == patron.patron_id)
        .order_by(LedgerEntry.at, LedgerEntry.id)
    )
    transactions = db.scalars(
        select(AppliedTransaction)
        .where(AppliedTransaction.patron_id == patron.patron_id)
        .order_by(AppliedTransaction.decided_at, AppliedTransaction.id)
    )
    # Only a patron who keeps their history has one: else it is being forgotten.
    history = (
        loan_history.history(db, patron.patron_id, 1, EVERY_LOAN)[0]
        if patron.keep_loan_history
        else []
    )
    return {
        "details": {name: _plain(getattr(patron, name)) for name in DETAILS},
        "loans": [
            {"item": loan.barcode, "title": loan.title, "due": loan.due, "renewals": loan.renewals}
            for loan in (loans.loans if loans is not None else ())
        ],
        "holds": [
            {
                "item": hold.item_barcode,
                "title": hold.title,
                "place": hold.position,
                "ready": hold.ready,
                "placed": _plain(hold.placed_at),
            }
            for hold in patron_holds(db, patron.patron_id)
        ],
        "money": [
            {
                "at": _plain(entry.at),
                "kind": entry.kind,
                "amount": str(entry.amount),
                "note": entry.note,
            }
            for entry in ledger
        ],
        "transactions": [
            {
                "at": _plain(row.decided_at),
                "kind": row.kind,
                "item": row.item_barcode,
                "title": str(row.details.get("title", "")),
                "charged": str(row.charged),
            }
            for row in transactions
        ],
        "loan_history": [
            {
                "title": past.title,
                "borrowed": _plain(past.borrowed),
                "returned": _plain(past.returned),
            }
            for past in history
        ],
    }


def _download(body: str, media_type: str, name: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/data.json", response_model=None)
def data_json(signed_in: SignedIn, db: Db, moment: Now) -> Response:
    record = own_record(db, signed_in.patron, moment)
    body = json.dumps(record, ensure_ascii=False, indent=2)
    return _download(body, "application/json", "my-library-record.json")


def _cell(value: Any) -> str:
    text = "" if value is None else str(_plain(value))
    return "'" + text if text.startswith(FORMULA) else text


@router.get("/data.csv", response_model=None)
def data_csv(signed_in: SignedIn, db: Db, moment: Now) -> Response:
    """One table: each row a part of the record (``section``), its fields by name."""
    record = own_record(db, signed_in.patron, moment)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "field", "value"])
    details = record["details"]
    assert isinstance(details, dict)
    for name, value in details.items():
        writer.writerow(["details", name, _cell(value)])
    for section in ("loans", "holds", "money", "transactions", "loan_history"):
        rows = record[section]
        assert isinstance(rows, list)
        for number, row in enumerate(rows, start=1):
            for name, value in row.items():
                writer.writerow([f"{section} {number}", name, _cell(value)])
    return _download(out.getvalue(), "text/csv; charset=utf-8", "my-library-record.csv")
