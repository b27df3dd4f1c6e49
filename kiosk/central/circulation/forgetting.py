"""What the library forgets each day, in one place: the loans a patron did not ask to
keep (``loan_history``), who sent feedback on days gone (``feedback``), and the counts of
refused sign-ins and registrations by address, which name a network address and are
needed only for their window (an hour at most), and registrations staff never decided
on (``registrations.expire``), and whom and what the transactions relayed to the
library's own system long ago were about (``outbox.forget_relayed``). The notices'
daily pass runs it, and ``kiosk-central forget`` for a library that sends no notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from kiosk.central.circulation import feedback, loan_history, registrations
from kiosk.central.config.model import RegistrationSection
from kiosk.central.gateway.outbox import forget_relayed
from kiosk.central.models import PortalSignInFailures

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


def forget_addresses(db: Session, now: datetime) -> int:
    """Delete the refused sign-in and registration counts of addresses last counted more
    than ``ADDRESSES_KEPT`` ago. The caller commits."""
    gone = now - ADDRESSES_KEPT
    result = db.execute(
        delete(PortalSignInFailures).where(PortalSignInFailures.window_start < gone)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


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
    return Forgotten(loans, senders, addresses, expired, relayed)
