"""The kiosks the API answers: each registered by name, with a token shown once and
kept only as its hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central.errors import CentralError
from kiosk.central.models import Kiosk


def token_hash(token: str) -> str:
    """Tokens are long random strings, so a plain SHA-256 is enough to keep them secret."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_kiosk(db: Session, name: str, now: datetime) -> str:
    """Register a kiosk; returns its token, which is shown once and stored only hashed."""
    if db.scalar(select(Kiosk.id).where(Kiosk.name == name)) is not None:
        raise CentralError(f"a kiosk named {name!r} exists already; choose another name")
    token = secrets.token_urlsafe(32)
    db.add(Kiosk(name=name, token_hash=token_hash(token), created_at=now))
    db.commit()
    return token


def kiosks(db: Session) -> list[Kiosk]:
    """Every kiosk registered, by name."""
    return list(db.scalars(select(Kiosk).order_by(Kiosk.name)))
