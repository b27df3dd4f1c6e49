"""Server-side sessions of the staff console, kept in the database.

The browser holds only a random id (256 bits) in an ``HttpOnly``, ``SameSite=Strict``
cookie (``Secure`` and ``__Host-`` prefixed when ``[web] secure_cookies``); the table
holds the id's SHA-256, so a copy of the database opens no session. A session ends when
it has been idle for ``[web] session_idle_minutes``, when it is
``session_lifetime_minutes`` old whatever it did, at sign-out, and when its account is
disabled or given a new password. Every server process shares the table, so a session
works whichever worker answers.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from kiosk.central import audit
from kiosk.central.models import StaffMember, StaffSession
from kiosk.central.web.accounts import SignedIn, as_role

# last_seen is written at most this often: a page's assets do not each cost a write.
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta

    def ended(self, created_at: datetime, last_seen: datetime, now: datetime) -> bool:
        """Whether a session begun at ``created_at`` and last used at ``last_seen`` is
        over at ``now``: idle too long, too old, or the clock put back before it."""
        return (
            now - last_seen > self.idle
            or now - created_at > self.absolute
            or now < created_at - TOUCH_EVERY
        )


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(db: Session, who: SignedIn, now: datetime, *, origin: str) -> str:
    """A new session for ``who``; returns the id for the cookie (shown to no one else)."""
    session_id = secrets.token_urlsafe(32)
    db.add(
        StaffSession(
            id_hash=_hash(session_id), staff_id=who.staff_id, created_at=now, last_seen=now
        )
    )
    audit.record(
        db, now, actor=who.username, action="session.start", target=who.username, origin=origin
    )
    db.commit()
    return session_id


def find(db: Session, session_id: str, now: datetime, lifetimes: Lifetimes) -> SignedIn | None:
    """The signed-in member of staff for ``session_id``, or None when there is no such
    session, it has expired (then it is deleted) or its account is disabled."""
    if not session_id or len(session_id) > 200:
        return None
    key = _hash(session_id)
    row = db.execute(
        select(StaffSession, StaffMember)
        .join(StaffMember, StaffMember.id == StaffSession.staff_id)
        .where(StaffSession.id_hash == key)
    ).first()
    if row is None:
        return None
    session, member = row
    expired = lifetimes.ended(session.created_at, session.last_seen, now)
    if expired or member.disabled:
        db.execute(delete(StaffSession).where(StaffSession.id_hash == key))
        db.commit()
        return None
    if now - session.last_seen > TOUCH_EVERY:
        session.last_seen = now
        db.commit()
    role = as_role(member.role)
    return None if role is None else SignedIn(member.id, member.username, role, member.branch)


def end(db: Session, session_id: str, who: SignedIn, now: datetime, *, origin: str) -> None:
    """Sign-out: the session is deleted, so its id opens nothing again."""
    db.execute(delete(StaffSession).where(StaffSession.id_hash == _hash(session_id)))
    audit.record(
        db, now, actor=who.username, action="session.end", target=who.username, origin=origin
    )
    db.commit()


def drop(db: Session, session_id: str) -> None:
    """Forget a session without an audit entry (one replaced by a new sign-in)."""
    db.execute(delete(StaffSession).where(StaffSession.id_hash == _hash(session_id)))
    db.commit()


def keep_cookie(response: Response, name: str, session_id: str, *, secure: bool) -> None:
    """The browser's cookie for a session, staff's or a patron's: sent to this site
    alone, never read by a script, sent over HTTPS alone when ``secure``."""
    response.set_cookie(name, session_id, path="/", secure=secure, httponly=True, samesite="strict")


def forget_cookie(response: Response, name: str, *, secure: bool) -> None:
    response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="strict")
