"""What the decision path recorded, for staff: the transactions applied, and the
exceptions (physical facts the rules would have refused) until a person resolves them.

Resolving an exception is a person saying what was done about it; it changes no loan,
so it goes to no kiosk. It is audited in its own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar, get_args

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from kiosk.central import audit
from kiosk.central.errors import CentralError
from kiosk.central.models import AppliedTransaction, Kiosk, StaffException

_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")
State = Literal["open", "resolved", "all"]
STATES: tuple[State, ...] = get_args(State)
Order = Literal["oldest", "newest"]
ORDERS: tuple[Order, ...] = get_args(Order)
MAX_NOTE = 400

# Each kind of exception the decision path records (circulation.apply), in staff words.
KINDS: dict[str, str] = {
    "unknown_item": "Item not in the catalogue",
    "unknown_patron": "Patron not registered",
    "was_on_loan": "Item was on loan to someone else",
    "refused_now": "The rules now refuse it",
    "already_returned": "Item returned twice",
    "not_on_loan": "Returned but not on loan",
    "found": "Lost or missing item came back",
    "renewal_without_loan": "Renewal without a loan",
    "already_renewed": "Membership renewed twice",
    "upstream_refused": "The library system refused it",
}


@dataclass(frozen=True, slots=True)
class ExceptionRow:
    exception: StaffException
    kiosk: str  # the kiosk's name, or the device that is no kiosk ("sip2:selfcheck-1")


def _source(found: StaffException, kiosk_name: str | None) -> str:
    return kiosk_name or found.source or "unknown"


def transactions(db: Session, limit: int = 100) -> list[AppliedTransaction]:
    """The latest transactions applied, newest first."""
    return list(
        db.scalars(
            select(AppliedTransaction).order_by(AppliedTransaction.applied_at.desc()).limit(limit)
        )
    )


def open_exceptions(db: Session) -> list[StaffException]:
    """The exceptions no one has resolved yet, oldest first."""
    return [row.exception for row in exceptions(db)]


def _exception_query(query: _Query, state: State, kind: str | None, kiosk_id: int | None) -> _Query:
    if state == "open":
        query = query.where(StaffException.resolved_at.is_(None))
    elif state == "resolved":
        query = query.where(StaffException.resolved_at.is_not(None))
    if kind:
        query = query.where(StaffException.reason == kind)
    if kiosk_id is not None:
        query = query.where(StaffException.kiosk_id == kiosk_id)
    return query


def exceptions(
    db: Session,
    *,
    state: State = "open",
    kind: str | None = None,
    kiosk_id: int | None = None,
    order: Order = "oldest",
    limit: int = 500,
    offset: int = 0,
) -> list[ExceptionRow]:
    """The queue, with each exception's kiosk: open, resolved or all, of one kind or from
    one kiosk when asked, oldest or newest first (by when the server recorded it), ``limit``
    of them after the first ``offset``."""
    query = _exception_query(
        select(StaffException, Kiosk.name).outerjoin(Kiosk, Kiosk.id == StaffException.kiosk_id),
        state,
        kind,
        kiosk_id,
    )
    if order == "oldest":
        query = query.order_by(StaffException.created_at, StaffException.id)
    else:
        query = query.order_by(StaffException.created_at.desc(), StaffException.id.desc())
    rows = db.execute(query.limit(limit).offset(offset)).all()
    return [ExceptionRow(found, _source(found, name)) for found, name in rows]


def exception_count(
    db: Session, *, state: State = "open", kind: str | None = None, kiosk_id: int | None = None
) -> int:
    """How many exceptions ``exceptions`` would list with no limit."""
    query = _exception_query(
        select(func.count()).select_from(StaffException), state, kind, kiosk_id
    )
    return db.scalar(query) or 0


def open_count(db: Session) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(StaffException)
            .where(StaffException.resolved_at.is_(None))
        )
        or 0
    )


def exception(db: Session, exception_id: int) -> ExceptionRow | None:
    row = db.execute(
        select(StaffException, Kiosk.name)
        .outerjoin(Kiosk, Kiosk.id == StaffException.kiosk_id)
        .where(StaffException.id == exception_id)
    ).first()
    return None if row is None else ExceptionRow(row[0], _source(row[0], row[1]))


def resolve_exception(
    db: Session, exception_id: int, note: str, now: datetime, *, actor: str, origin: str
) -> None:
    """Mark the exception resolved with ``note`` (what was done), by ``actor``; audited
    in the same transaction. An exception is resolved once: a second resolution is
    refused, so the first note is never overwritten."""
    note = note.strip()
    if not note:
        raise CentralError("say what was done about it: the note is empty")
    if len(note) > MAX_NOTE:
        raise CentralError(f"the note is longer than {MAX_NOTE} characters")
    found = db.get(StaffException, exception_id)
    if found is None:
        raise CentralError(f"no exception number {exception_id}")
    if found.resolved_at is not None:
        raise CentralError(f"exception {exception_id} was resolved already")
    found.resolved_at, found.resolution, found.resolved_by = now, note, actor[:80]
    audit.record(
        db,
        now,
        actor=actor,
        action="exception.resolve",
        target=f"exception {exception_id}",
        origin=origin,
        detail=note,
    )
    db.commit()
