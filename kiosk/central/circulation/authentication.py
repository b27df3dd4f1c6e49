"""A patron's PIN checked by the server, for a device that asks it (SIP2's AD field, an
authenticator's 23 or 63): the same verifier the kiosks check, and the same lockout
(``kiosk.common.pins``: five wrong PINs lock the card for 15 minutes), counted on the
patron's row across every device: the portal and SIP2 devices here, the kiosks in the PIN
entries they push (``apply``), each kiosk following the count in its mirror."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.models import Patron
from kiosk.common.pins import PinState, pin_matches

if TYPE_CHECKING:
    from kiosk.central.gateway.patrons import PatronCheck


class PinAnswer(StrEnum):
    RIGHT = "right"
    WRONG = "wrong"
    LOCKED = "locked"  # too many wrong PINs: not even checked until the lock ends
    NO_PIN = "no_pin"  # the patron has none set: a device may not let them in by PIN
    BLOCKED = "blocked"  # gateway mode: the PIN right, the library's own system blocks the card
    UNKNOWN = "unknown"  # no patron of ours has the card


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
    """Whether ``pin`` is the patron's, counting a wrong one (and clearing the count on a
    right one) with those typed at kiosks; commits the count, which reaches every kiosk in
    the change log. A lock answers LOCKED without checking, so guessing goes no faster
    while it lasts."""
    if PinState(patron.pin_failures, patron.pin_locked_until).locked_at(now):
        db.rollback()
        return PinCheck(PinAnswer.LOCKED, patron.pin_locked_until, verified=False)
    if not patron.pin_verifier:
        db.rollback()
        return PinCheck(PinAnswer.NO_PIN, verified=False)
    # Verified before the lock is taken: the hash takes tens of milliseconds, which no
    # other writer of this patron (on SQLite: no other writer) should wait for.
    return _count(db, patron, right=pin_matches(patron.pin_verifier, pin), now=now)


def check_card_pin(  # noqa: PLR0917 - check_pin's four, with the card and the upstream
    db: Session,
    patron: Patron | None,
    card: str,
    pin: str,
    now: datetime,
    upstream: PatronCheck | None,
) -> PinCheck:
    """:func:`check_pin` for every sign-in by card and PIN (the portal, SIP2 devices),
    in gateway mode too (``upstream`` set). There the library's own system keeps the
    PINs and blocks, but the lock here still holds: a card locked by wrong PINs at the
    kiosks or the portal is refused without asking. Else the other system is asked
    within its budget; its wrong answer counts, and its right one clears the count, as
    one typed at a kiosk (so the kiosks follow); a card it blocks is BLOCKED. Past the
    budget, the local verifier decides. A card no patron here has (``patron`` None) and
    a lock in force still ask the other system (a locked card without its PIN), the
    answer unused, so that how soon the refusal comes never tells a guesser which cards
    are someone's."""
    if patron is None or upstream is None:
        if patron is not None:
            return check_pin(db, patron, pin, now)
        db.rollback()
        if upstream is not None:
            upstream.pace(card, pin)  # the same question, which the other system may know
        return PinCheck(PinAnswer.UNKNOWN, verified=False)
    db.rollback()  # no transaction held across the other system's answer
    if PinState(patron.pin_failures, patron.pin_locked_until).locked_at(now):
        upstream.pace(card, None)  # the PIN kept back: guessing gets past no lock
        return PinCheck(PinAnswer.LOCKED, patron.pin_locked_until, verified=False)
    confirmed = upstream.confirm(card, pin)
    if confirmed is None:
        return check_pin(db, patron, pin, now)
    checked = _count(db, patron, right=confirmed.known and confirmed.pin_right, now=now)
    if checked.right and confirmed.blocked:
        return PinCheck(PinAnswer.BLOCKED)
    return checked


def _count(db: Session, patron: Patron, *, right: bool, now: datetime) -> PinCheck:
    """A PIN found right or wrong, counted on the patron's row and committed."""
    log = ChangeLog(db)
    log.lock_patrons([patron.patron_id])  # as a kiosk's push of a PIN typed there does
    db.refresh(patron)
    before = PinState(patron.pin_failures, patron.pin_locked_until)
    if before.locked_at(now):  # locked meanwhile, elsewhere: this attempt counts for nothing
        db.rollback()
        return PinCheck(PinAnswer.LOCKED, before.locked_until)
    after = before.after(right=right, at=now)
    if after != before:
        patron.pin_failures, patron.pin_locked_until = after.failures, after.locked_until
        log.patron(patron)
    db.commit()
    if right:
        return PinCheck(PinAnswer.RIGHT)
    return PinCheck(PinAnswer.LOCKED if after.locked_until else PinAnswer.WRONG, after.locked_until)
