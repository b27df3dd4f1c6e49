"""What staff do to the central server: kiosks, policy, demo data, holds, exceptions."""

from __future__ import annotations

import hashlib
import json
import secrets
import tomllib
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session

from kiosk.central.api import token_hash
from kiosk.central.changes import ChangeLog
from kiosk.central.errors import CentralError
from kiosk.central.models import (
    AppliedTransaction,
    Hold,
    Item,
    Kiosk,
    Loan,
    Patron,
    PolicyVersion,
    Record,
    StaffException,
)
from kiosk.rules import InvalidPolicy, read_policy
from kiosk.sync.protocol import Entity, PolicyRow

if TYPE_CHECKING:  # the generator is imported only by the command that uses it
    from kiosk.demo.library import GeneratedLibrary


def add_kiosk(db: Session, name: str, now: datetime) -> str:
    """Register a kiosk; returns its token, which is shown once and stored only hashed."""
    if db.scalar(select(Kiosk.id).where(Kiosk.name == name)) is not None:
        raise CentralError(f"a kiosk named {name!r} exists already; choose another name")
    token = secrets.token_urlsafe(32)
    db.add(Kiosk(name=name, token_hash=token_hash(token), created_at=now))
    db.commit()
    return token


def kiosks(db: Session) -> list[Kiosk]:
    return list(db.scalars(select(Kiosk).order_by(Kiosk.name)))


def put_policy(db: Session, document: dict[str, Any], now: datetime) -> str:
    """Make ``document`` (the contract's JSON policy) the policy in force; returns its version."""
    try:
        read_policy(document)
    except InvalidPolicy as invalid:
        raise CentralError(f"the policy is not valid: {invalid}") from None
    plain = json.loads(json.dumps(document, default=str))
    version = hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:16]
    log = ChangeLog(db)
    log.lock()
    row = db.get(PolicyVersion, 1)
    if row is None:
        row = PolicyVersion(id=1)
        db.add(row)
    row.version, row.document, row.updated_at = version, plain, now
    log.put(Entity.POLICY, "1", PolicyRow(version=version, document=plain))
    db.commit()
    return version


def import_policy(db: Session, path: Path, now: datetime) -> str:
    document = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    return put_policy(db, document, now)


def load_library(connection: Connection, library: GeneratedLibrary, now: datetime) -> None:
    """Bulk-load a generated library into empty tables (kiosks then take a snapshot)."""
    if connection.scalar(select(func.count()).select_from(Item)):
        raise CentralError("the database already holds items; demo data goes into a new one")
    batch = 20_000
    for start in range(0, len(library.records), batch):
        connection.execute(
            insert(Record),
            [
                {
                    "brn": brn,
                    "title": title,
                    "author": author,
                    "isbn": isbn,
                    "publication_type": kind,
                }
                for brn, title, author, isbn, kind in library.records[start : start + batch]
            ],
        )
    for start in range(0, len(library.items), batch):
        connection.execute(
            insert(Item),
            [
                {
                    "barcode": item.barcode,
                    "brn": item.brn,
                    "price": Decimal(item.price_cents) / 100,
                    "status": item.status,
                    "home_location": item.home_location,
                }
                for item in library.items[start : start + batch]
            ],
        )
    for start in range(0, len(library.patrons), batch):
        connection.execute(insert(Patron), library.patrons[start : start + batch])
    loans = [{**loan, "lent_at": now, "kiosk_id": None} for loan in library.loans.values()]
    for start in range(0, len(loans), batch):
        connection.execute(insert(Loan), loans[start : start + batch])
    if library.holds:
        connection.execute(insert(Hold), [{**hold, "placed_at": now} for hold in library.holds])


def place_hold(db: Session, card: str, barcode: str, now: datetime) -> Hold:
    patron = db.scalar(select(Patron).where(Patron.card == card))
    if patron is None:
        raise CentralError("no patron has that card")
    item = db.get(Item, barcode)
    if item is None:
        raise CentralError(f"no item has barcode {barcode}")
    record = db.get(Record, item.brn)
    log = ChangeLog(db)
    log.lock()
    last = db.scalar(select(func.max(Hold.position)).where(Hold.item_barcode == barcode)) or 0
    on_shelf = db.get(Loan, barcode) is None and last == 0
    hold = Hold(
        item_barcode=barcode,
        patron_id=patron.patron_id,
        position=last + 1,
        ready=on_shelf,
        title=record.title if record else "",
        placed_at=now,
    )
    db.add(hold)
    db.flush()
    log.hold(hold)
    db.commit()
    return hold


def transactions(db: Session, limit: int = 100) -> list[AppliedTransaction]:
    return list(
        db.scalars(
            select(AppliedTransaction).order_by(AppliedTransaction.applied_at.desc()).limit(limit)
        )
    )


def open_exceptions(db: Session) -> list[StaffException]:
    return list(
        db.scalars(
            select(StaffException)
            .where(StaffException.resolved_at.is_(None))
            .order_by(StaffException.created_at)
        )
    )


def resolve_exception(db: Session, exception_id: int, note: str, now: datetime) -> None:
    found = db.get(StaffException, exception_id)
    if found is None:
        raise CentralError(f"no exception number {exception_id}")
    found.resolved_at, found.resolution = now, note
    db.commit()
