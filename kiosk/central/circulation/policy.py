"""The lending policy in force: put by staff, entered in the change log, read by pushes."""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.errors import CentralError
from kiosk.central.models import PolicyVersion
from kiosk.rules import InvalidPolicy, Policy, read_policy
from kiosk.sync.protocol import Entity, PolicyRow


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
    """Make the policy file (TOML) at ``path`` the policy in force; returns its version."""
    document = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    return put_policy(db, document, now)


class PolicyCache:
    """The policy in force, parsed once per version."""

    def __init__(self) -> None:
        self._cached: tuple[str, Policy] | None = None

    def get(self, session: Session) -> Policy | None:
        version = session.scalar(select(PolicyVersion.version).where(PolicyVersion.id == 1))
        if version is None:
            return None
        if self._cached is None or self._cached[0] != version:
            row = session.get(PolicyVersion, 1)
            if row is None:  # replaced meanwhile: the next push reads it again
                return None
            self._cached = (row.version, read_policy(row.document))
        return self._cached[1]
