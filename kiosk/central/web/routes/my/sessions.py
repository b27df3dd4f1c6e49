"""Patrons' sessions in the portal, kept in the database as the staff console's are
(``kiosk.central.web.sessions``: a random id in the cookie, its SHA-256 in the table,
shared by every server process), in a table of their own: a patron's cookie names no
staff session and a member of staff's no patron's.

A session ends after ``IDLE`` without a request (a phone left on a bus), at
``[web] session_lifetime_minutes`` whatever it did, and at sign-out. Sign-ins refused
to one address are counted here too (``address_blocked``), and the registration form's
sendings, under keys of their own (``count_sending``).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from kiosk.central.models import Patron, PatronSession, PortalSignInFailures, insert_or_skip
from kiosk.central.web.sessions import TOUCH_EVERY, Lifetimes, _hash

# Shorter than staff's: the portal is used on shared and lost devices.
IDLE = timedelta(minutes=15)
# Refused sign-ins one address may make in a window before it must wait for the window
# to end: enough for a household mistyping, far too few to try one PIN on many cards.
ADDRESS_FAILURES = 10
ADDRESS_WINDOW = timedelta(minutes=15)


def start(db: Session, patron_id: str, now: datetime) -> str:
    """A new session for the patron; returns the id for the cookie."""
    session_id = secrets.token_urlsafe(32)
    # Sessions idle past the longest idle time ended long ago but for their row: each
    # sign-in clears them, so the table holds no more than the patrons signed in.
    db.execute(delete(PatronSession).where(PatronSession.last_seen < now - IDLE - TOUCH_EVERY))
    db.add(
        PatronSession(id_hash=_hash(session_id), patron_id=patron_id, created_at=now, last_seen=now)
    )
    db.commit()
    return session_id


def find(db: Session, session_id: str, now: datetime, lifetimes: Lifetimes) -> Patron | None:
    """The signed-in patron, or None when there is no such session or it has ended
    (then it is deleted)."""
    if not session_id or len(session_id) > 200:
        return None
    key = _hash(session_id)
    row = db.execute(
        select(PatronSession, Patron)
        .join(Patron, Patron.patron_id == PatronSession.patron_id)
        .where(PatronSession.id_hash == key)
    ).first()
    if row is None:
        return None
    session, patron = row
    portal = replace(lifetimes, idle=min(IDLE, lifetimes.idle))
    if portal.ended(session.created_at, session.last_seen, now):
        drop(db, session_id)
        return None
    if now - session.last_seen > TOUCH_EVERY:
        session.last_seen = now
        db.commit()
    return patron


def drop(db: Session, session_id: str) -> None:
    db.execute(delete(PatronSession).where(PatronSession.id_hash == _hash(session_id)))
    db.commit()


def address_blocked(
    db: Session,
    address: str,
    now: datetime,
    *,
    most: int = ADDRESS_FAILURES,
    window: timedelta = ADDRESS_WINDOW,
) -> datetime | None:
    """Until when ``address`` may not try to sign in (None: it may now): ``most``
    refusals in each ``window``."""
    found = db.get(PortalSignInFailures, address[:64])
    if found is None or now - found.window_start >= window:
        return None
    if found.failures >= most:
        return found.window_start + window
    return None


def count_sending(
    db: Session, address: str, now: datetime, *, most: int, window: timedelta
) -> datetime | None:
    """Count one more sending from ``address`` (a form's key of its own), unless it has
    sent ``most`` in its ``window``: then nothing is counted, and the answer is until
    when it must wait. Checked and counted under the row's lock, before the work the
    limit guards: requests sent at once cannot all pass the check before any counts."""
    key = address[:64]
    db.execute(
        insert_or_skip(db.get_bind().dialect.name, PortalSignInFailures, "address").values(
            address=key, failures=0, window_start=now
        )
    )
    found = db.get(PortalSignInFailures, key, with_for_update=True, populate_existing=True)
    assert found is not None  # made above, and only a window's end resets it
    if now - found.window_start >= window or now < found.window_start:
        found.failures, found.window_start = 0, now
    if found.failures >= most:
        until = found.window_start + window
        db.rollback()
        return until
    found.failures += 1
    db.commit()
    return None


def uncount_sending(db: Session, address: str) -> None:
    """Give back a sending counted by ``count_sending`` that did nothing."""
    db.execute(
        update(PortalSignInFailures)
        .where(PortalSignInFailures.address == address[:64], PortalSignInFailures.failures > 0)
        .values(failures=PortalSignInFailures.failures - 1)
    )
    db.commit()


def count_failure(
    db: Session, address: str, now: datetime, *, window: timedelta = ADDRESS_WINDOW
) -> None:
    """One more refused sign-in from ``address``, in a window of its own."""
    key = address[:64]
    # A write first, as check_pin does: the lock is taken before anything is read. The
    # row is made if missing (two first refusals at once both try: one skips), so the
    # count is always an update of a locked row.
    db.execute(
        insert_or_skip(db.get_bind().dialect.name, PortalSignInFailures, "address").values(
            address=key, failures=0, window_start=now
        )
    )
    found = db.get(PortalSignInFailures, key, with_for_update=True)
    assert found is not None  # made above, and only a window's end resets it
    if now - found.window_start >= window or now < found.window_start:
        found.failures, found.window_start = 1, now
    else:
        found.failures += 1
    db.commit()
