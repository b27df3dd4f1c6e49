"""SIP2 device accounts: add, list, disable, and the 93 Login's check.

Each device (a self-check, a sorter, an authenticator) logs in with an account of its
own, so that one that is stolen or retired is disabled alone, and what each may do is
set per account. The password is kept only as an argon2id verifier
(``kiosk.common.pins``, the same hasher as staff passwords and patrons' PINs). A login
gets one answer for every failure (no such account, wrong password, disabled), and an
unknown name costs the same verification as a known one.

Every change is audited (``kiosk.central.audit``), and so is every refused login.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import audit
from kiosk.central.errors import CentralError
from kiosk.central.models import Sip2Account
from kiosk.central.sip2.device import (
    BLOCK,
    CHECKIN,
    CHECKOUT,
    HOLD,
    PAY,
    PERMISSIONS,
    RENEW,
)
from kiosk.common.pins import pin_matches, pin_verifier
from kiosk.common.suggest import did_you_mean

# Devices' configuration screens often take short passwords; 8 is the least we take.
MIN_PASSWORD = 8
MAX_PASSWORD = 255  # the most a SIP2 field (CO) carries
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_LOCATION = 64
# What an account may do when ``add`` is told nothing: what a self-check does.
SELF_CHECK: frozenset[str] = frozenset({CHECKOUT, CHECKIN, RENEW})

# The Sip2Account columns each permission is kept in.
_COLUMNS = {
    CHECKOUT: "may_check_out",
    CHECKIN: "may_check_in",
    RENEW: "may_renew",
    HOLD: "may_hold",
    PAY: "may_pay",
    BLOCK: "may_block",
}

# Checked when the name is unknown, so that it takes as long as a known one.
_dummy: list[str] = []


class Sip2AccountError(CentralError):
    """A SIP2 account command cannot be done; the message says why and what to do."""


def permissions(account: Sip2Account) -> frozenset[str]:
    """What ``account`` may do, as ``Device.may`` names it; empty: patron
    authentication only."""
    return frozenset(word for word, column in _COLUMNS.items() if getattr(account, column))


def read_permissions(text: str) -> frozenset[str]:
    """``checkout,checkin,renew`` (the ``--may`` option) as a set of permissions."""
    words = [word.strip().lower() for word in text.split(",") if word.strip()]
    if not words:
        raise Sip2AccountError(
            f"--may needs one or more of {','.join(PERMISSIONS)}; for an account that only "
            "checks patrons, use --patron-auth-only"
        )
    for word in words:
        if word not in PERMISSIONS:
            raise Sip2AccountError(
                f"{word!r} is not a permission{did_you_mean(word, PERMISSIONS, bracketed=True)}"
                f"; choose from {','.join(PERMISSIONS)}"
            )
    return frozenset(words)


def describe(may: Iterable[str]) -> str:
    """``checkout,checkin,renew`` in PERMISSIONS' order; ``patron-auth-only`` for none."""
    chosen = set(may)
    return ",".join(word for word in PERMISSIONS if word in chosen) or "patron-auth-only"


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Sip2AccountError(f"the password must be at least {MIN_PASSWORD} characters long")
    if len(password) > MAX_PASSWORD:
        raise Sip2AccountError(
            f"the password must be at most {MAX_PASSWORD} characters long (a SIP2 field)"
        )
    if "|" in password or any(ord(c) < 0x20 or ord(c) == 0x7F for c in password):
        raise Sip2AccountError(
            "the password cannot hold a '|' or a control character: SIP2 could not send it"
        )


def _check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise Sip2AccountError(
            f"{name!r}: an account name is 1 to 64 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit"
        )


def _check_location(location: str) -> None:
    if len(location) > MAX_LOCATION:
        raise Sip2AccountError(f"a location code is at most {MAX_LOCATION} characters")
    if "|" in location or any(ord(c) < 0x20 or ord(c) == 0x7F for c in location):
        raise Sip2AccountError("a location code cannot hold a '|' or a control character")


def find(db: Session, name: str) -> Sip2Account:
    account = db.scalar(select(Sip2Account).where(Sip2Account.name == name))
    if account is None:
        raise Sip2AccountError(
            f"no SIP2 account is named {name!r}; see `kiosk-central sip2 account list`"
        )
    return account


def add_account(
    db: Session,
    name: str,
    password: str,
    now: datetime,
    *,
    location: str = "",
    may: Iterable[str] = SELF_CHECK,
    actor: str,
    origin: str,
) -> Sip2Account:
    """A new account, committed with its audit entry. ``may``: a subset of
    ``PERMISSIONS``; empty for patron authentication only."""
    _check_name(name)
    check_password(password)
    _check_location(location)
    chosen = frozenset(may)
    unknown = sorted(chosen - set(PERMISSIONS))
    if unknown:
        raise Sip2AccountError(
            f"{unknown[0]!r} is not a permission; choose from {','.join(PERMISSIONS)}"
        )
    if db.scalar(select(Sip2Account.id).where(Sip2Account.name == name)) is not None:
        raise Sip2AccountError(f"a SIP2 account named {name!r} exists already")
    account = Sip2Account(
        name=name,
        password_verifier=pin_verifier(password),
        location=location,
        disabled=False,
        created_at=now,
        **{column: word in chosen for word, column in _COLUMNS.items()},
    )
    db.add(account)
    audit.record(
        db,
        now,
        actor=actor,
        action="sip2.account.add",
        target=f"sip2 {name}",
        origin=origin,
        detail=f"may {describe(chosen)}; location {location or '-'}",
    )
    db.commit()
    return account


def accounts(db: Session) -> list[Sip2Account]:
    return list(db.scalars(select(Sip2Account).order_by(Sip2Account.name)))


def disable_account(db: Session, name: str, now: datetime, *, actor: str, origin: str) -> None:
    """The account can no longer log in; a device logged in with it is dropped at its
    next message (the server looks again at least once a minute)."""
    account = find(db, name)
    account.disabled = True
    audit.record(
        db, now, actor=actor, action="sip2.account.disable", target=f"sip2 {name}", origin=origin
    )
    db.commit()


def login(
    db: Session, name: str, password: str, now: datetime | None = None, *, origin: str = "sip2"
) -> Sip2Account | None:
    """The account when ``password`` is its password and it is not disabled; None
    otherwise, whatever the reason. With ``now``, a refusal is audited (and committed)."""
    password = password[:MAX_PASSWORD]
    account = db.scalar(select(Sip2Account).where(Sip2Account.name == name))
    if account is None:
        if not _dummy:
            _dummy.append(pin_verifier("no such account, no such password"))
        pin_matches(_dummy[0], password)
        # The name typed is not recorded: it may be a password typed in the wrong field.
        _refused(db, now, "-", "unknown account", origin=origin, reason="")
        return None
    matches = pin_matches(account.password_verifier, password)
    if account.disabled or not matches:
        reason = "disabled" if account.disabled else "wrong password"
        _refused(db, now, account.name, f"sip2 {account.name}", origin=origin, reason=reason)
        return None
    return account


def _refused(
    db: Session, now: datetime | None, actor: str, target: str, *, origin: str, reason: str
) -> None:
    if now is None:
        return
    audit.record(
        db,
        now,
        actor=actor,
        action="sip2.login.refused",
        target=target,
        origin=origin,
        detail=reason,
    )
    db.commit()


def is_enabled(db: Session, name: str) -> bool:
    """Whether the account still exists and is not disabled (asked again while a
    device stays logged in)."""
    disabled = db.scalar(select(Sip2Account.disabled).where(Sip2Account.name == name))
    return disabled is not None and not disabled
