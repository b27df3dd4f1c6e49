"""The outbox: every notice once, by its key, and each sent once.

A notice enters with its key (:func:`~kiosk.central.notices.finding.notice_key`);
the table's unique key makes a second finding of it add nothing, whichever runner
finds it. To send, a runner *claims* waiting notices: on PostgreSQL it reads them with
``FOR UPDATE SKIP LOCKED`` (a second runner passes over rows the first is claiming,
never waits for them) and on SQLite under its one writer; either way the claim is an
``UPDATE ... WHERE status = 'waiting'`` that only one runner can win, committed before
anything is sent. Each message's notices are then marked ``sending`` (committed) just
before it goes, and afterwards ``sent``, or put back to wait (the server could not be
reached: no try counted; refused for now: ``attempts`` + 1 and a wait that doubles
each time), or ``failed``. When a runner dies, the next runner on that machine (or any
runner, once the claim is older than :data:`STALE_CLAIM`) puts its ``claimed`` notices
back to wait (none of them was tried) and marks its one ``sending`` message
``interrupted``, shown to staff to check and resend, never sent again by itself: that
it did not go cannot be known, and a notice goes at most once.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from kiosk.central.models import Notice, NoticeScan, insert_or_skip
from kiosk.central.notices.finding import Found

WAITING, CLAIMED, SENDING, SENT, FAILED, INTERRUPTED, PRINT, PRINTED, CANCELLED = (
    "waiting",
    "claimed",
    "sending",
    "sent",
    "failed",
    "interrupted",
    "print",
    "printed",
    "cancelled",
)
STATUSES = (WAITING, CLAIMED, SENDING, SENT, FAILED, INTERRUPTED, PRINT, PRINTED, CANCELLED)
DONE = (SENT, FAILED, INTERRUPTED, PRINTED, CANCELLED)
STALE_CLAIM = timedelta(minutes=15)
# A notice done with (sent, failed, printed...) keeps what it said this long, for staff
# to see and resend; then only its key.
FACTS_KEPT = timedelta(days=30)
FORGET_WINDOW = timedelta(days=7)
INSERT_BATCH = 1000


def runner_id() -> str:
    """This process, as claims name it: ``host:pid``."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def digest_time(now: datetime, hour: int) -> datetime:
    """The next digest: today at ``hour``, or tomorrow's when that has passed."""
    slot = datetime.combine(now.date(), time(hour))
    return slot if slot >= now else slot + timedelta(days=1)


def _insert(db: Session) -> Any:
    return insert_or_skip(db.get_bind().dialect.name, Notice, "key")


def not_yet_in(engine: Engine, found: Iterable[Found]) -> list[Found]:
    """The notices of ``found`` whose keys the outbox does not hold yet, each once: most
    of a pass's findings are already there (a hold found ready again every pass), and
    looking their keys up by index costs less than writing them again. Read in a
    transaction of its own: on SQLite a write must come first in the one that writes."""
    unique = list({notice.key: notice for notice in found}.values())
    fresh: list[Found] = []
    with Session(engine) as db:
        for start in range(0, len(unique), INSERT_BATCH):
            chunk = unique[start : start + INSERT_BATCH]
            held = set(db.scalars(select(Notice.key).where(Notice.key.in_([n.key for n in chunk]))))
            fresh.extend(notice for notice in chunk if notice.key not in held)
    return fresh


def enqueue(db: Session, found: Iterable[Found], now: datetime, digest_hour: int) -> int:
    """Add each notice whose key the outbox does not hold (a key another runner adds
    meanwhile is passed over); returns how many were offered. The caller commits."""
    rows = [
        {
            "key": notice.key,
            "patron_id": notice.patron_id,
            "kind": notice.kind,
            "subject": notice.subject[:80],
            "day": notice.day,
            "channel": notice.channel,
            "digest": notice.digest and notice.channel != PRINT,
            "facts": notice.facts,
            "status": PRINT if notice.channel == PRINT else WAITING,
            "created_at": now,
            "send_after": digest_time(now, digest_hour) if notice.digest else now,
            "attempts": 0,
        }
        for notice in {notice.key: notice for notice in found}.values()
    ]
    # Core, through the connection: the driver's own executemany, no RETURNING (the
    # ORM's bulk path with RETURNING took three times as long at 7,000 notices).
    connection = db.connection()
    for start in range(0, len(rows), INSERT_BATCH):
        connection.execute(_insert(db), rows[start : start + INSERT_BATCH])
    return len(rows)


def scanned(db: Session, day: date) -> bool:
    return db.get(NoticeScan, day) is not None


def mark_scanned(db: Session, day: date, now: datetime) -> None:
    """Record that ``day``'s daily notices were found (a second runner's mark is
    dropped: both found the same keys)."""
    db.execute(
        insert_or_skip(db.get_bind().dialect.name, NoticeScan, "day").values(day=day, done_at=now)
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """Notices one runner holds to send as one message: one notice, or a patron's
    digest (all their waiting digest notices)."""

    patron_id: str
    channel: str
    notices: tuple[Notice, ...]
    # What each notice tells now, by id, when the runner has checked it still holds.
    facts: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def ids(self) -> list[int]:
        return [notice.id for notice in self.notices]


def claim(engine: Engine, now: datetime, claimant: str, limit: int) -> list[Claimed]:
    """Up to ``limit`` due notices, and the due digest notices of up to ``limit``
    patrons (all of each one's: a digest is one message), taken by ``claimant`` and
    committed as ``claimed`` before anything goes. Each claim is an UPDATE whose rows are
    chosen in it: on SQLite the first statement is a write (no read to upgrade under
    another writer); on PostgreSQL ``SKIP LOCKED`` passes over the rows another runner
    is claiming, and a digest patron is taken under a lock of their own
    (``pg_try_advisory_xact_lock``), so that two runners never split one patron's day."""
    due = (
        select(Notice.id)
        .where(Notice.status == WAITING, Notice.send_after <= now, ~Notice.digest)
        .order_by(Notice.send_after, Notice.id)
        .limit(limit)
    )
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        due = due.with_for_update(skip_locked=True)
    taking = {"status": CLAIMED, "claimed_by": claimant, "claimed_at": now}
    digest_due = (Notice.status == WAITING, Notice.send_after <= now, Notice.digest)
    with Session(engine) as db:
        db.execute(
            update(Notice)
            .where(Notice.id.in_(due.scalar_subquery()), Notice.status == WAITING)
            .values(**taking)
            .execution_options(synchronize_session=False)
        )
        patrons = select(Notice.patron_id).where(*digest_due).distinct().order_by(Notice.patron_id)
        if postgres:
            taken = 0
            for patron_id in db.scalars(patrons.limit(limit * 2)).all():
                if taken >= limit:
                    break
                if db.scalar(select(func.pg_try_advisory_xact_lock(_digest_lock(patron_id)))):
                    db.execute(
                        update(Notice)
                        .where(*digest_due, Notice.patron_id == patron_id)
                        .values(**taking)
                        .execution_options(synchronize_session=False)
                    )
                    taken += 1
        else:  # one writer: the patrons chosen and claimed in one statement
            db.execute(
                update(Notice)
                .where(*digest_due, Notice.patron_id.in_(patrons.limit(limit).scalar_subquery()))
                .values(**taking)
                .execution_options(synchronize_session=False)
            )
        db.commit()
        mine = db.scalars(
            select(Notice)
            .where(Notice.status == CLAIMED, Notice.claimed_by == claimant)
            .order_by(Notice.id)
        ).all()
    return _messages(mine)


def _digest_lock(patron_id: str) -> int:
    """A patron's digest lock, as PostgreSQL's advisory locks name them (a signed 64-bit
    number); a rare collision only makes one patron wait for the next claim."""
    digest = hashlib.sha256(f"kiosk-central notices digest {patron_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _messages(notices: Sequence[Notice]) -> list[Claimed]:
    digests: dict[str, list[Notice]] = {}
    messages: list[Claimed] = []
    for notice in notices:
        if notice.digest:
            digests.setdefault(notice.patron_id, []).append(notice)
        else:
            messages.append(Claimed(notice.patron_id, notice.channel, (notice,)))
    for patron_id, together in digests.items():
        messages.append(Claimed(patron_id, together[0].channel, tuple(together)))
    return messages


def _settle(
    engine: Engine,
    message: Claimed,
    claimant: str,
    *,
    before: tuple[str, ...] = (CLAIMED, SENDING),
    **values: Any,
) -> int:
    with Session(engine) as db:
        result = db.execute(
            update(Notice)
            .where(
                Notice.id.in_(message.ids),
                Notice.status.in_(before),
                Notice.claimed_by == claimant,
            )
            .values(**values)
        )
        db.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def start(engine: Engine, message: Claimed, claimant: str) -> bool:
    """Mark the message's notices ``sending``, committed, just before it goes: from now
    a death leaves them interrupted rather than waiting. False when they are no longer
    this runner's claim."""
    changed = _settle(engine, message, claimant, before=(CLAIMED,), status=SENDING)
    return changed == len(message.ids)


def sent(engine: Engine, message: Claimed, claimant: str, now: datetime) -> None:
    _settle(
        engine,
        message,
        claimant,
        status=SENT,
        sent_at=now,
        attempts=Notice.attempts + 1,
        last_error=None,
    )


def wait(engine: Engine, message: Claimed, claimant: str, until: datetime, error: str) -> None:
    """Back to waiting, no try counted: the server was not reached."""
    _settle(engine, message, claimant, status=WAITING, send_after=until, last_error=error)


def refused(
    engine: Engine,
    message: Claimed,
    claimant: str,
    now: datetime,
    error: str,
    *,
    permanent: bool,
    attempts: int,
    retry_minutes: int,
) -> None:
    """A try that the server refused: failed when it always will or when this was the
    last try, else waiting again for twice as long as last time."""
    tries = max(notice.attempts for notice in message.notices) + 1
    if permanent or tries >= attempts:
        _settle(engine, message, claimant, status=FAILED, attempts=tries, last_error=error)
        return
    backoff = timedelta(minutes=retry_minutes * 2 ** (tries - 1))
    _settle(
        engine,
        message,
        claimant,
        status=WAITING,
        attempts=tries,
        send_after=now + backoff,
        last_error=error,
    )


def cancelled(engine: Engine, message: Claimed, claimant: str) -> None:
    """Not sent: nothing it would say holds any more."""
    _settle(
        engine,
        message,
        claimant,
        status=CANCELLED,
        last_error="no longer true when it was to go (returned, renewed or collected)",
    )


@dataclass(frozen=True, slots=True)
class Checked:
    """A claimed notice with its facts as they stand when it is to go."""

    notice: Notice
    facts: dict[str, Any]


def failed(engine: Engine, message: Claimed, claimant: str, error: str) -> None:
    _settle(engine, message, claimant, status=FAILED, last_error=error)


def interrupt_abandoned(engine: Engine, now: datetime, claimant: str) -> int:
    """The notices of a runner that died (one of this machine whose process is gone, or
    any whose claim is older than STALE_CLAIM): those only claimed wait again, those
    being sent are marked ``interrupted``. Returns how many were interrupted."""
    host = claimant.rpartition(":")[0]
    with Session(engine) as db:
        rows = db.execute(
            select(Notice.id, Notice.status, Notice.claimed_by, Notice.claimed_at).where(
                Notice.status.in_((CLAIMED, SENDING))
            )
        ).all()
    gone = [
        row
        for row in rows
        if (row.claimed_at is not None and row.claimed_at < now - STALE_CLAIM)
        or _dead_here(row.claimed_by or "", host, claimant)
    ]
    untried = [row.id for row in gone if row.status == CLAIMED]
    cut_off = [row.id for row in gone if row.status == SENDING]
    if not gone:
        return 0
    # A transaction of its own whose first statement writes: on SQLite a read first
    # could not become a write once another runner had written.
    with Session(engine) as db:
        if untried:
            db.execute(
                update(Notice)
                .where(Notice.id.in_(untried), Notice.status == CLAIMED)
                .values(status=WAITING, claimed_by=None)
            )
        if cut_off:
            db.execute(
                update(Notice)
                .where(Notice.id.in_(cut_off), Notice.status == SENDING)
                .values(
                    status=INTERRUPTED,
                    last_error="the runner stopped while sending: it may or may not have gone",
                )
            )
        db.commit()
    return len(cut_off)


def _dead_here(claimed_by: str, host: str, claimant: str) -> bool:
    their_host, _, pid = claimed_by.rpartition(":")
    if their_host != host or claimed_by == claimant or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def resend(db: Session, notice_id: int, now: datetime) -> Notice | None:
    """Put a sent, failed, interrupted or printed notice back to wait, to go at once;
    None when there is no such notice or it is waiting or being sent already. The
    caller commits (with the audit entry)."""
    notice = db.get(Notice, notice_id, with_for_update=True)
    if notice is None or notice.status in (WAITING, CLAIMED, SENDING) or not notice.facts:
        return None
    if notice.channel == PRINT:
        notice.status = PRINT
        return notice
    notice.status = WAITING
    notice.send_after = now
    notice.attempts = 0
    notice.claimed_by = None
    notice.last_error = None
    notice.digest = False  # sent on its own
    return notice


def forget(db: Session, now: datetime) -> int:
    """Empty the facts (the titles a patron borrowed, what they owed) of the notices done
    with FACTS_KEPT ago: their keys stay, so nothing is found and sent again, and the
    outbox keeps no loan history. Notices that became due in the week before that are
    looked at, so a runner stopped for a few days still forgets them. The caller commits."""
    cutoff = now - FACTS_KEPT
    result = db.execute(
        update(Notice)
        .where(
            Notice.status.in_(DONE),
            Notice.created_at < cutoff,
            Notice.created_at >= cutoff - FORGET_WINDOW,
        )
        .values(facts={})
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def counts(db: Session) -> dict[str, int]:
    found = dict(db.execute(select(Notice.status, func.count()).group_by(Notice.status)).all())
    return {status: int(found.get(status, 0)) for status in STATUSES}
