"""A patron's PIN checked by the server, for a device that asks it (SIP2's AD field, an
authenticator's 23 or 63): the same verifier the kiosks check, and the same lockout
(``kiosk.common.pins``: five wrong PINs lock the card for 15 minutes), counted here
across every device, since a device keeps no count of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.orm import Session

from kiosk.central.models import Patron, PinAttempts
from kiosk.common.pins import LOCKOUT_MINUTES, MAX_WRONG_PINS, pin_matches


class PinAnswer(StrEnum):
    RIGHT = "right"
    WRONG = "wrong"
    LOCKED = "locked"  # too many wrong PINs: not even checked until the lock ends
    NO_PIN = "no_pin"  # the patron has none set: a device may not let them in by PIN


@dataclass(frozen=True, slots=True)
class PinCheck:
    answer: PinAnswer
    locked_until: datetime | None = None
    # False when answered without verifying the PIN (a lock in force, no PIN set): a
    # caller that must take as long either way spends a verification itself.
    verified: bool = True

    @property
    def right(self) -> bool:
        return self.answer is PinAnswer.RIGHT


def check_pin(db: Session, patron: Patron, pin: str, now: datetime) -> PinCheck:
    """Whether ``pin`` is the patron's, counting a wrong one; commits the count. A lock
    answers LOCKED without checking, so guessing goes no faster while it lasts."""
    # A write first: on SQLite a transaction that reads and then writes can find another
    # writer in the way and fail; this takes the write lock (a row lock on PostgreSQL)
    # before anything is read, even when no row matches yet.
    db.execute(
        update(PinAttempts)
        .where(PinAttempts.patron_id == patron.patron_id)
        .values(failures=PinAttempts.failures)
    )
    attempts = db.get(PinAttempts, patron.patron_id, with_for_update=True)
    if attempts is not None and attempts.locked_until is not None:
        if now < attempts.locked_until:
            db.rollback()
            return PinCheck(PinAnswer.LOCKED, attempts.locked_until, verified=False)
        attempts.failures, attempts.locked_until = 0, None
    if not patron.pin_verifier:
        db.rollback()
        return PinCheck(PinAnswer.NO_PIN, verified=False)
    if pin_matches(patron.pin_verifier, pin):
        if attempts is not None:
            db.delete(attempts)
        db.commit()
        return PinCheck(PinAnswer.RIGHT)
    if attempts is None:
        attempts = PinAttempts(patron_id=patron.patron_id, failures=0, locked_until=None)
        db.add(attempts)
    attempts.failures += 1
    if attempts.failures >= MAX_WRONG_PINS:
        attempts.locked_until = now + timedelta(minutes=LOCKOUT_MINUTES)
    db.commit()
    return PinCheck(
        PinAnswer.LOCKED if attempts.locked_until else PinAnswer.WRONG, attempts.locked_until
    )
