"""The lending policy in force: put by staff, entered in the change log, read by pushes.

A policy that is not valid is refused with every problem at its key path
(``ImportRejected``); given an ``actor``, putting one is audited as ``policy.put`` in
the transaction that puts it.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import audit
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.errors import ImportRejected
from kiosk.central.models import PolicyVersion
from kiosk.rules import InvalidPolicy, Policy, read_policy
from kiosk.sync.protocol import Entity, PolicyRow


def put_policy(
    db: Session,
    document: dict[str, Any],
    now: datetime,
    *,
    actor: str | None = None,
    origin: str = "",
    source: str = "policy",
) -> str:
    """Make ``document`` (the contract's JSON policy) the policy in force; returns its
    version. Raises ImportRejected listing every problem (each as ``source: path:
    message``) for a policy that is not valid."""
    try:
        read_policy(document)
    except InvalidPolicy as invalid:
        raise ImportRejected(
            source, [f"{source}: {problem}" for problem in invalid.problems]
        ) from None
    plain = json.loads(json.dumps(document, default=str))
    version = hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:16]
    log = ChangeLog(db)
    log.lock()
    row = db.get(PolicyVersion, 1)
    if row is None:
        row = PolicyVersion(id=1)
        db.add(row)
    replaced = row.version
    row.version, row.document, row.updated_at = version, plain, now
    log.put(Entity.POLICY, "1", PolicyRow(version=version, document=plain))
    if actor is not None:
        audit.record(
            db,
            now,
            actor=actor,
            action="policy.put",
            target=f"policy {version}",
            origin=origin,
            detail=f"from {source}, replacing {replaced}" if replaced else f"from {source}",
        )
    db.commit()
    return version


def import_policy(
    db: Session,
    path: Path,
    now: datetime,
    *,
    actor: str | None = None,
    origin: str = "",
    source: str | None = None,
) -> str:
    """Make the policy file (TOML) at ``path`` the policy in force; returns its version.
    Raises ImportRejected for a file that cannot be read, is not UTF-8 or not TOML, or
    whose policy is not valid, naming it ``source`` (the file's name unless given)."""
    name = source or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ImportRejected(name, [f"{name}: cannot read: {error.strerror}"]) from None
    except UnicodeDecodeError:
        raise ImportRejected(name, [f"{name}: is not UTF-8 text"]) from None
    try:
        document = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise ImportRejected(name, [f"{name}: not valid TOML: {error}"]) from None
    return put_policy(db, document, now, actor=actor, origin=origin, source=name)


@dataclass(frozen=True, slots=True)
class InForce:
    """The policy in force: its version, when it was put, and the policy itself."""

    version: str
    updated_at: datetime
    policy: Policy


def policy_in_force(db: Session) -> InForce | None:
    """The policy in force, or None before the first is put."""
    row = db.get(PolicyVersion, 1)
    if row is None:
        return None
    return InForce(row.version, row.updated_at, read_policy(row.document))


# Built once: every transaction asks (see apply._READ_ITEMS).
_VERSION = select(PolicyVersion.version).where(PolicyVersion.id == 1)
# The same, as a column of a caller's own statement (``PolicyCache.at_version``).
VERSION_IN_FORCE = _VERSION.scalar_subquery()


class PolicyCache:
    """The policy in force, parsed once per version."""

    def __init__(self) -> None:
        self._cached: tuple[str, Policy] | None = None

    def get(self, session: Session) -> Policy | None:
        return self.at_version(session, session.connection().scalar(_VERSION))

    def at_version(self, session: Session, version: str | None) -> Policy | None:
        """The policy in force when the caller read its ``version`` (``VERSION_IN_FORCE``)
        in a statement of its own, after its locks: a round trip fewer."""
        if version is None:
            return None
        if self._cached is None or self._cached[0] != version:
            row = session.get(PolicyVersion, 1)
            if row is None:  # replaced meanwhile: the next push reads it again
                return None
            self._cached = (row.version, read_policy(row.document))
        return self._cached[1]
