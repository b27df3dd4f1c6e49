"""The kiosks the API answers: each registered by name, with a token shown once and
kept only as its hash. Staff may give a kiosk a new token (the old one is refused from
that moment) or disable it (its token is refused); both are audited in the change's own
transaction."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import audit
from kiosk.central.circulation.branches import known_branch
from kiosk.central.errors import CentralError
from kiosk.central.models import Kiosk


def token_hash(token: str) -> str:
    """Tokens are long random strings, so a plain SHA-256 is enough to keep them secret."""
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def add_kiosk(db: Session, name: str, now: datetime, *, branch: str | None = None) -> str:
    """Register a kiosk, standing in ``branch`` (a branch's code; None: no branch, and it
    routes returns as one undivided library); returns its token, which is shown once and
    stored only hashed."""
    if db.scalar(select(Kiosk.id).where(Kiosk.name == name)) is not None:
        raise CentralError(f"a kiosk named {name!r} exists already; choose another name")
    if branch is not None:
        known_branch(db, branch)
    token, hashed = _new_token()
    db.add(Kiosk(name=name, token_hash=hashed, created_at=now, branch=branch))
    db.commit()
    return token


def place_kiosk(
    db: Session, name: str, branch: str | None, now: datetime, *, actor: str, origin: str
) -> None:
    """Put the kiosk named ``name`` in ``branch`` (None: in none). It hears of it at its
    next sync; returns it decided before are routed from where it then stood."""
    kiosk = db.scalar(select(Kiosk).where(Kiosk.name == name))
    if kiosk is None:
        raise CentralError(f"no kiosk named {name!r}")
    if branch is not None:
        known_branch(db, branch)
    kiosk.branch = branch
    audit.record(
        db, now, actor=actor, action="kiosk.branch", target=name, origin=origin, detail=branch or ""
    )
    db.commit()


def kiosks(db: Session, branch: str | None = None) -> list[Kiosk]:
    """Every kiosk registered (in ``branch``, when given), by name."""
    query = select(Kiosk).order_by(Kiosk.name)
    if branch is not None:
        query = query.where(Kiosk.branch == branch)
    return list(db.scalars(query))


def find_kiosk(db: Session, kiosk_id: int) -> Kiosk | None:
    return db.get(Kiosk, kiosk_id)


def _existing(db: Session, kiosk_id: int) -> Kiosk:
    found = db.get(Kiosk, kiosk_id)
    if found is None:
        raise CentralError(f"no kiosk number {kiosk_id}")
    return found


def rotate_token(db: Session, kiosk_id: int, now: datetime, *, actor: str, origin: str) -> str:
    """A new token for the kiosk, returned once; the old one is refused from the commit
    on (the API looks a kiosk up by its token's hash at every request). A disabled kiosk
    gets none: disabling it is meant to last."""
    kiosk = _existing(db, kiosk_id)
    if kiosk.disabled_at is not None:
        raise CentralError(f"kiosk {kiosk.name} is disabled; a disabled kiosk gets no new token")
    token, kiosk.token_hash = _new_token()
    audit.record(db, now, actor=actor, action="kiosk.token", target=kiosk.name, origin=origin)
    db.commit()
    return token


def disable_kiosk(db: Session, kiosk_id: int, now: datetime, *, actor: str, origin: str) -> None:
    """The kiosk's token is refused from the commit on: a stolen or retired kiosk can no
    longer read the library or push to it. What it pushed before stays applied."""
    kiosk = _existing(db, kiosk_id)
    if kiosk.disabled_at is not None:
        raise CentralError(f"kiosk {kiosk.name} is disabled already")
    kiosk.disabled_at = now
    audit.record(db, now, actor=actor, action="kiosk.disable", target=kiosk.name, origin=origin)
    db.commit()
