"""Staff accounts: add, list, disable, new password, the branch where each works, and
signing in with a lockout.

Passwords are kept only as argon2id verifiers (``kiosk.common.pins``: the same
hasher as patrons' PINs, OWASP's minimum cost). Five wrong passwords in a row lock the
account for fifteen minutes. Whoever signs in gets one answer for every failure (no
such user, wrong password, locked, disabled), and an unknown name costs the same
verification as a known one, so the answer tells nothing about which accounts exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from kiosk.central import audit
from kiosk.central.circulation.branches import known_branch
from kiosk.central.errors import CentralError
from kiosk.central.models import StaffMember, StaffSession
from kiosk.common.pins import pin_matches, pin_verifier

Role = Literal["admin", "circulation", "viewer"]
ROLES: tuple[Role, ...] = get_args(Role)
# What each role may do includes what the roles after it may.
RANK: dict[str, int] = {"viewer": 0, "circulation": 1, "admin": 2}

MAX_WRONG_PASSWORDS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" only costs us time
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

# Checked when the username is unknown, so that an unknown name takes as long as a
# known one (made once, lazily: it costs one hash).
_dummy: list[str] = []


class AccountError(CentralError):
    """A staff command cannot be done; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    staff_id: int
    username: str
    role: Role
    # The branch where they work (None: none): the desk's returns are routed from it,
    # and the console's lists show it first.
    branch: str | None = None


def as_role(value: str) -> Role | None:
    """``value`` as a role; None when it names none."""
    return next((role for role in ROLES if role == value), None)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters long")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must be at most {MAX_PASSWORD} characters long")


def _check_username(username: str) -> None:
    if not USERNAME.fullmatch(username):
        raise AccountError(
            f"{username!r}: a username is 1 to 64 lower-case letters, digits, '.', '_' or '-',"
            " starting with a letter or digit"
        )


def _find(db: Session, username: str) -> StaffMember:
    member = db.scalar(select(StaffMember).where(StaffMember.username == username))
    if member is None:
        raise AccountError(
            f"no staff account is named {username!r}; see `kiosk-central staff list`"
        )
    return member


def add_staff(
    db: Session,
    username: str,
    role: str,
    password: str,
    now: datetime,
    *,
    actor: str,
    origin: str,
    branch: str | None = None,
) -> None:
    """A new account, working at ``branch`` (a branch's code; None: none), committed with
    its audit entry."""
    _check_username(username)
    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role; choose one of {', '.join(ROLES)}")
    check_password(password)
    if branch is not None:
        known_branch(db, branch)
    if db.scalar(select(StaffMember.id).where(StaffMember.username == username)) is not None:
        raise AccountError(f"a staff account named {username!r} exists already")
    db.add(
        StaffMember(
            username=username,
            role=role,
            password_verifier=pin_verifier(password),
            disabled=False,
            failed_attempts=0,
            locked_until=None,
            created_at=now,
            branch=branch,
        )
    )
    detail = role if branch is None else f"{role}; branch {branch}"
    audit.record(
        db, now, actor=actor, action="staff.add", target=username, origin=origin, detail=detail
    )
    db.commit()


def set_staff_branch(
    db: Session, username: str, branch: str | None, now: datetime, *, actor: str, origin: str
) -> None:
    """The account now works at ``branch`` (None: at none); its open sessions see it at
    their next page. Refused, naming the nearest, for a code that is no branch."""
    member = _find(db, username)
    if branch is not None:
        known_branch(db, branch)
    member.branch = branch
    audit.record(
        db,
        now,
        actor=actor,
        action="staff.branch",
        target=username,
        origin=origin,
        detail=branch or "none",
    )
    db.commit()


def staff(db: Session) -> list[StaffMember]:
    return list(db.scalars(select(StaffMember).order_by(StaffMember.username)))


def disable_staff(db: Session, username: str, now: datetime, *, actor: str, origin: str) -> None:
    """The account can no longer sign in, and every session of it ends now."""
    member = _find(db, username)
    member.disabled = True
    db.execute(delete(StaffSession).where(StaffSession.staff_id == member.id))
    audit.record(db, now, actor=actor, action="staff.disable", target=username, origin=origin)
    db.commit()


def set_password(
    db: Session, username: str, password: str, now: datetime, *, actor: str, origin: str
) -> None:
    """A new password; the lockout is lifted and every session of the account ends."""
    check_password(password)
    member = _find(db, username)
    member.password_verifier = pin_verifier(password)
    member.failed_attempts = 0
    member.locked_until = None
    db.execute(delete(StaffSession).where(StaffSession.staff_id == member.id))
    audit.record(db, now, actor=actor, action="staff.password", target=username, origin=origin)
    db.commit()


def authenticate(
    db: Session, username: str, password: str, now: datetime, *, origin: str
) -> SignedIn | None:
    """The account when ``password`` is its password and it may sign in; None otherwise,
    whatever the reason. Each wrong password counts; the fifth in a row locks the account
    for :data:`LOCKOUT`. Commits the count and an audit entry."""
    password = password[:MAX_PASSWORD]
    member = db.scalar(select(StaffMember).where(StaffMember.username == username))
    if member is None:
        if not _dummy:
            _dummy.append(pin_verifier("no such account, no such password"))
        pin_matches(_dummy[0], password)
        # The typed name is not recorded: it may be a password typed in the wrong field.
        audit.record(
            db, now, actor="-", action="signin.refused", target="unknown account", origin=origin
        )
        db.commit()
        return None
    locked = member.locked_until is not None and member.locked_until > now
    matches = pin_matches(member.password_verifier, password)
    if locked or member.disabled or not matches:
        reason = "locked" if locked else "disabled" if member.disabled else "wrong password"
        if not locked and not member.disabled:
            # One statement, so two wrong passwords at once both count.
            db.execute(
                update(StaffMember)
                .where(StaffMember.id == member.id)
                .values(failed_attempts=StaffMember.failed_attempts + 1)
            )
            db.refresh(member)
            if member.failed_attempts >= MAX_WRONG_PASSWORDS:
                member.failed_attempts = 0
                member.locked_until = now + LOCKOUT
                reason = f"wrong password; locked for {LOCKOUT.seconds // 60} minutes"
        audit.record(
            db,
            now,
            actor=member.username,
            action="signin.refused",
            target=member.username,
            origin=origin,
            detail=reason,
        )
        db.commit()
        return None
    member.failed_attempts = 0
    member.locked_until = None
    db.commit()  # the session's start is audited with the session (sessions.start)
    role = as_role(member.role)
    return None if role is None else SignedIn(member.id, member.username, role, member.branch)
