"""What the library forgets each day, in one place: the loans a patron did not ask to
keep (``loan_history``), who sent feedback on days gone (``feedback``), and the counts of
refused sign-ins and registrations by address, which name a network address and are
needed only for their window (an hour at most), and registrations staff never decided
on (``registrations.expire``), and whom and what the transactions relayed to the
library's own system long ago were about (``outbox.forget_relayed``), and who placed a
hold at a kiosk or typed a PIN there once the loans' days have passed
(``forget_holds_and_pins``), and whose holds the audit log's entries of holds were
(``forget_hold_audits``): "patron P1 held title 42" is what a patron was reading. The
notices' daily pass runs it, and ``kiosk-central forget`` for a library that sends no
notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.orm import Session

from kiosk.central.circulation import feedback, loan_history, registrations
from kiosk.central.config.model import RegistrationSection
from kiosk.central.gateway.outbox import forget_relayed
from kiosk.central.models import AppliedTransaction, AuditEntry, PortalSignInFailures

# Longer than any window an address is counted in (the sign-in's 15 minutes, the
# registration form's hour), so a count still in force is never forgotten.
ADDRESSES_KEPT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Forgotten:
    loans: int
    feedback_senders: int
    addresses: int
    registrations: int
    relayed: int
    holds_and_pins: int = 0
    hold_audits: int = 0


def forget_addresses(db: Session, now: datetime) -> int:
    """Delete the refused sign-in and registration counts of addresses last counted more
    than ``ADDRESSES_KEPT`` ago. The caller commits."""
    gone = now - ADDRESSES_KEPT
    result = db.execute(
        delete(PortalSignInFailures).where(PortalSignInFailures.window_start < gone)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# A kiosk's entries that are no loan: a hold placed there (its transaction row keeps no
# details: the holds row carries the hold while it waits) and a PIN typed there (its
# details say only whether it was right). Whose they were is needed while a hold is new
# and a PIN's count stands (the patron's row keeps the count), not for good.
NOT_LOANS = ("hold", "pin")
BATCH = 2000


def forget_holds_and_pins(db: Session, now: datetime, days: int) -> int:
    """Take the patron out of the ``NOT_LOANS`` transactions decided more than ``days``
    ago (the loans' forgetting period), whatever the patron keeps of their loans: the
    row stays, for the kiosk's counts. Commits each batch; on PostgreSQL rows another
    run holds are left to it (SKIP LOCKED), so two runs at once never wait for each
    other, and a row forgotten is never chosen again. Returns how many rows."""
    cutoff = now - timedelta(days=days)
    row = AppliedTransaction
    forgotten = 0
    while True:
        batch = (
            select(row.id)
            .where(row.kind.in_(NOT_LOANS), row.decided_at < cutoff, row.patron_id.is_not(None))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        result = db.execute(
            update(row)
            .where(row.id.in_(batch))
            .values(patron_id=None)
            .execution_options(synchronize_session=False)
        )
        db.commit()
        taken = int(result.rowcount)  # type: ignore[attr-defined]
        if not taken:
            return forgotten
        forgotten += taken


# The audit log's entries of holds (holds._audit): "patron P1; position 2" in the detail,
# and a patron's own in the portal by "patron P1" as actor.
HOLD_ACTIONS = ("hold.place", "hold.cancel", "hold.move", "hold.pickup")
_PATRON_NAMED = "patron %"


def forget_hold_audits(db: Session, now: datetime, days: int) -> int:
    """Take the patron out of the audit log's entries of holds made more than ``days``
    ago (the loans' forgetting period): the entry stays (who on the staff did what to
    which title's queue, when), but no longer says for whom. Commits each batch;
    returns how many entries."""
    cutoff = now - timedelta(days=days)
    forgotten = 0
    while True:
        batch = (
            select(AuditEntry.id)
            .where(
                AuditEntry.action.in_(HOLD_ACTIONS),
                AuditEntry.at < cutoff,
                or_(AuditEntry.detail.like(_PATRON_NAMED), AuditEntry.actor.like(_PATRON_NAMED)),
            )
            .order_by(AuditEntry.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        # Taken by a write that changes nothing (as loan_history's batches are): SQLite's
        # write lock first, so no read has to become a write later.
        rows = db.execute(
            update(AuditEntry)
            .where(AuditEntry.id.in_(batch))
            .values(actor=AuditEntry.actor)
            .returning(AuditEntry.id, AuditEntry.actor, AuditEntry.detail)
            .execution_options(synchronize_session=False)
        ).all()
        if not rows:
            db.commit()
            return forgotten
        # The batch written in one statement by primary key (the driver's executemany).
        db.execute(
            update(AuditEntry),
            [
                {
                    "id": row.id,
                    "actor": "patron" if row.actor.startswith("patron ") else row.actor,
                    "detail": _unnamed(row.detail),
                }
                for row in rows
            ],
        )
        db.commit()
        forgotten += len(rows)


def _unnamed(detail: str) -> str:
    """A hold's audit detail ("patron P1; position 2") without its patron."""
    if not detail.startswith("patron "):
        return detail
    _, _, rest = detail.partition(";")
    return loan_history.FORGOTTEN + (";" + rest if rest else "")


def forget_daily(
    engine: Engine,
    now: datetime,
    forget_loans_after_days: int,
    *,
    registrations_after_days: int = RegistrationSection().expire_after_days,
) -> Forgotten:
    """The day's forgetting, each part in a transaction of its own; running it twice, or
    twice at once, forgets nothing more."""
    with Session(engine) as db:
        senders = feedback.forget_senders(db, now.date())
        addresses = forget_addresses(db, now)
        db.commit()
    with Session(engine) as db:
        loans = loan_history.forget_ended_loans(db, now, forget_loans_after_days)
    with Session(engine) as db:
        expired = registrations.expire(db, now, registrations_after_days)
        db.commit()
    with Session(engine) as db:
        relayed = forget_relayed(db, now)
        db.commit()
    with Session(engine) as db:
        others = forget_holds_and_pins(db, now, forget_loans_after_days)
    with Session(engine) as db:
        hold_audits = forget_hold_audits(db, now, forget_loans_after_days)
    return Forgotten(loans, senders, addresses, expired, relayed, others, hold_audits)
