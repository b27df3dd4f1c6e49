"""A patron's loan history (issue 15, part 9): off unless the patron opts in.

Every loan, renewal and return is a row of ``transactions`` with the patron's id. For a
patron who keeps no history, the id is removed ``days`` after the loan ended: after its
return, once the patron owes nothing (while they owe, the library keeps what explains
the charge; payments are not matched to fines, so owing anything keeps every loan). The
row stays, without its patron and with their member type, so the reports still count
it; the audit log's entries of the loan (the desk's name the patron) stop naming them
too. A patron who keeps their history reads it in the portal (``history``), and may stop
keeping it and have it forgotten at once (``keep``).

``forget_ended_loans`` runs with the notices' daily work (``kiosk-central notices
run``); several at once on PostgreSQL each take rows the others have not locked, and a
row forgotten is never chosen again, so running it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, case, exists, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FromClause

from kiosk.central import audit
from kiosk.central.circulation.actor import Actor
from kiosk.central.models import AppliedTransaction, AuditEntry, Item, Patron, Record, table

# The kinds that make up a loan; a fault or a membership renewal is not one.
LOAN_KINDS = ("checkout", "renew", "return")
AUDITED_LOANS = ("loan.checkout", "loan.renew", "loan.return")
FORGOTTEN = "a patron no longer named"
BATCH = 2000

_T = table(AppliedTransaction)
_RETURN = _T.alias("ended_by")
_PATRONS = table(Patron)


def _came_back(row: FromClause) -> list[ColumnElement[bool]]:
    """The returns of ``row``'s item at or after ``row``."""
    return [
        _RETURN.c.item_barcode == row.c.item_barcode,
        _RETURN.c.kind == "return",
        _RETURN.c.decided_at >= row.c.decided_at,
    ]


def forget_ended_loans(db: Session, now: datetime, days: int, patron_id: str | None = None) -> int:
    """Remove the patron from the transactions of loans that ended more than ``days``
    ago, for each patron who keeps no history and owes nothing (only ``patron_id``'s,
    when given). Returns how many rows. Commits each batch."""
    cutoff = now - timedelta(days=days)
    row = _T.alias("candidate")
    forgettable = exists().where(
        _PATRONS.c.patron_id == row.c.patron_id,
        _PATRONS.c.keep_loan_history.is_(False),
        _PATRONS.c.owed <= Decimal("0.00"),
    )
    chosen = select(row.c.id).where(
        row.c.patron_id.is_not(None) if patron_id is None else row.c.patron_id == patron_id,
        row.c.kind.in_(LOAN_KINDS),
        row.c.decided_at < cutoff,
        forgettable,
        exists().where(*_came_back(row), _RETURN.c.decided_at < cutoff),
    )
    member_type = (
        select(_PATRONS.c.member_type)
        .where(_PATRONS.c.patron_id == _T.c.patron_id)
        .scalar_subquery()
    )
    # Each batch begins with a write that takes its rows (a no-op UPDATE returning them
    # as they are): on SQLite no read turns into a write that another writer's commit
    # refuses; on PostgreSQL the rows are locked as chosen, and rows another run holds
    # are left to it (SKIP LOCKED), so two runs at once forget each row once and never
    # wait for each other in a circle.
    forgotten = 0
    after = ""  # each batch goes on from the last one's ids: none is read twice
    while True:
        batch = (
            chosen.where(row.c.id > after)
            .order_by(row.c.id)
            .limit(BATCH)
            .with_for_update(of=row, skip_locked=True)
        )
        taken = db.execute(
            update(_T)
            .where(_T.c.id.in_(batch))
            .values(actor=_T.c.actor)
            .returning(_T.c.id, _T.c.patron_id, _T.c.item_barcode, _T.c.applied_at)
        ).all()
        if not taken:
            db.commit()
            return forgotten
        ids = [found.id for found in taken]
        # The last in the database's own order of text (its collation, not Python's).
        after = db.scalar(select(func.max(_T.c.id)).where(_T.c.id.in_(ids))) or after
        db.execute(
            update(_T)
            .where(_T.c.id.in_(ids))
            .values(
                member_type=member_type,
                patron_id=None,
                # A renewal in the portal names its patron as its actor.
                actor=case((_T.c.actor.like("patron %"), None), else_=_T.c.actor),
            )
        )
        _forget_in_audit(db, taken)
        db.commit()
        forgotten += len(taken)


def _forget_in_audit(db: Session, taken: Sequence[Row[Any]]) -> None:
    """The desk's and the portal's audit entries of these loans name their patron (in
    the detail, or as the portal's actor): the patron is taken out of those that name
    them about the same item, up to the loan's last forgotten transaction (a later loan
    of the item to them is not ended). Who on the staff made the change stays."""
    latest: dict[tuple[str, str], datetime] = {}
    for found in taken:
        key = (found.patron_id, found.item_barcode)
        latest[key] = max(latest.get(key, found.applied_at), found.applied_at)
    for (patron_id, barcode), until in latest.items():
        named = f"patron {patron_id}"
        db.execute(
            update(AuditEntry)
            .where(
                AuditEntry.action.in_(AUDITED_LOANS),
                AuditEntry.target == f"item {barcode}",
                AuditEntry.at <= until,
                or_(
                    AuditEntry.actor == named,
                    AuditEntry.detail.contains(f"{named},", autoescape=True),
                    AuditEntry.detail.endswith(named, autoescape=True),
                ),
            )
            .values(
                actor=case((AuditEntry.actor == named, "patron"), else_=AuditEntry.actor),
                detail=func.replace(AuditEntry.detail, named, FORGOTTEN),
            )
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True, slots=True)
class PastLoan:
    title: str
    borrowed: datetime
    returned: datetime | None  # None: still on loan


def history(db: Session, patron_id: str, page: int, per_page: int) -> tuple[list[PastLoan], bool]:
    """The patron's loans, newest first, page ``page`` (from 1) of ``per_page``, and
    whether another page follows; each with the first return of its item after it."""
    returned = (
        select(func.min(_RETURN.c.decided_at))
        .where(
            _RETURN.c.item_barcode == _T.c.item_barcode,
            _RETURN.c.kind == "return",
            _RETURN.c.decided_at >= _T.c.decided_at,
        )
        .scalar_subquery()
    )
    rows = db.execute(
        select(Record.title, _T.c.details, _T.c.decided_at, returned)
        .select_from(_T)
        .outerjoin(Item, Item.barcode == _T.c.item_barcode)
        .outerjoin(Record, Record.brn == Item.brn)
        .where(_T.c.patron_id == patron_id, _T.c.kind == "checkout")
        .order_by(_T.c.decided_at.desc(), _T.c.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    shown = [
        PastLoan(title or str((details or {}).get("title", "")), borrowed, back)
        for title, details, borrowed, back in rows[:per_page]
    ]
    return shown, len(rows) > per_page


def keep(
    db: Session, patron_id: str, wanted: bool, *, forget_now: bool, now: datetime, actor: Actor
) -> int:
    """Keep the patron's loan history from now on, or stop keeping it; with
    ``forget_now``, their ended loans are forgotten at once (those they still owe for
    are kept until paid, as always). Returns how many rows were forgotten. Commits."""
    db.execute(update(Patron).where(Patron.patron_id == patron_id).values(keep_loan_history=wanted))
    audit.record(
        db,
        now,
        actor=actor.username,
        action="patron.loan_history",
        target=f"patron {patron_id}",
        origin=actor.origin,
        detail="kept" if wanted else ("not kept, forgotten now" if forget_now else "not kept"),
    )
    db.commit()
    if wanted or not forget_now:
        return 0
    # A second on: a loan returned this very second is ended too.
    return forget_ended_loans(db, now + timedelta(seconds=1), 0, patron_id)
