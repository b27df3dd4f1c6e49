"""The journal as the sync agent sees it: what waits for the server, what the server
answered for, and what may be forgotten.

An entry is pushed while ``pending``, marked ``acknowledged`` with the server's outcome
and change log position, and purged once the mirror shows its effect
(``sync_cursor.reflected_through``) and a backup of the server covers it, or a bounded
time after its acknowledgement if none does: no loan history outlives its need on the
kiosk, nothing is lost with the server's disk, and nothing is counted twice. A purge
leaves nothing readable behind on the card (``scrub``). Until then an acknowledged entry
is never shown: the mirror already holds its effect.

When the server's database is restored from a backup it starts a new epoch
(``start_epoch``): every entry still held goes back to ``pending`` and is pushed again
(the server applies each once), and the mirror is replaced by a snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, or_, select, update

from kiosk.store.database import compact, scrub
from kiosk.store.journal import ACKNOWLEDGED, PENDING, Entry, EntryKind, KioskState
from kiosk.store.mirror import SyncCursor
from kiosk.store.store import Store

# Entries deleted per journal transaction, so that a scan never waits long behind a purge.
PURGE_BATCH = 500


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journal entry, as the server is sent it."""

    id: str
    seq: int
    kind: EntryKind
    decided_at: datetime
    item_barcode: str
    patron_id: str | None
    details: dict[str, Any]
    charged: Decimal
    status_after: str
    loan_patron_id: str | None
    loan_member_type: str | None
    loan_due: str | None
    loan_renewals: int | None
    fulfilled_hold_of: str | None


_ENTRIES: Table = Entry.__table__  # type: ignore[assignment]


def _entry(entry: Row[Any]) -> JournalEntry:
    """A journal row (read through Core: columns by name, money already Decimal)."""
    return JournalEntry(
        id=entry.id,
        seq=entry.seq,
        kind=cast(EntryKind, entry.kind),
        decided_at=datetime.fromisoformat(entry.decided_at),
        item_barcode=entry.item_barcode,
        patron_id=entry.patron_id,
        details=json.loads(entry.payload),
        charged=entry.charged,
        status_after=entry.status_after,
        loan_patron_id=entry.loan_patron_id,
        loan_member_type=entry.loan_member_type,
        loan_due=entry.loan_due,
        loan_renewals=entry.loan_renewals,
        fulfilled_hold_of=entry.fulfilled_hold_of,
    )


def entries(
    store: Store, *, pending_only: bool = False, limit: int | None = None
) -> list[JournalEntry]:
    """The journal's entries, oldest first: every one, or those still waiting for the
    server (``pending_only``), at most ``limit`` of them."""
    query = select(_ENTRIES).order_by(Entry.seq)
    if pending_only:
        query = query.where(Entry.state == PENDING)
    if limit is not None:
        query = query.limit(limit)
    with store.journal.connect() as journal:
        return [_entry(row) for row in journal.execute(query)]


def pending(store: Store, limit: int) -> list[JournalEntry]:
    """The oldest ``limit`` entries the server has not answered for yet."""
    return entries(store, pending_only=True, limit=limit)


def acknowledge(
    store: Store,
    outcomes: Iterable[tuple[str, str]],
    at: datetime,
    position: int | None = None,
) -> None:
    """Record the server's answer (``applied``, ``duplicate``, ``exception``) for each entry
    id, in one transaction, with the change log ``position`` the server stood at once it
    had them (None from a server too old to say: then only time lets them go)."""
    rows = [
        (ACKNOWLEDGED, at.isoformat(), outcome, position, entry_id)
        for entry_id, outcome in outcomes
    ]
    if not rows:
        return
    with store.journal.begin() as journal:
        journal.exec_driver_sql(
            "UPDATE entries SET state = ?, acknowledged_at = ?, server_outcome = ?, "
            "server_position = ? WHERE id = ?",
            rows,
        )


def held(store: Store) -> tuple[int, datetime | None]:
    """How many entries the server has acknowledged that are kept until a backup covers
    them, and when the oldest of them was acknowledged."""
    with store.journal.connect() as journal:
        count, oldest = journal.execute(
            select(func.count(), func.min(Entry.acknowledged_at)).where(Entry.state == ACKNOWLEDGED)
        ).one()
    return int(count), datetime.fromisoformat(oldest) if oldest else None


# --- the server's epoch ----------------------------------------------------------------------


def server_epoch(store: Store) -> tuple[str | None, bool]:
    """The epoch of the server's database the journal was pushed to (None before any
    server said), and whether the mirror must be replaced by a snapshot."""
    with store.journal.connect() as journal:
        row = journal.execute(
            select(KioskState.server_epoch, KioskState.snapshot_due).where(KioskState.id == 1)
        ).one()
    return row.server_epoch, bool(row.snapshot_due)


def adopt_epoch(store: Store, epoch: str) -> None:
    """The first epoch a server names (a new kiosk, or one from before epochs)."""
    with store.journal.begin() as journal:
        journal.execute(update(KioskState).where(KioskState.id == 1).values(server_epoch=epoch))


def start_epoch(store: Store, epoch: str) -> int:
    """The server was restored from a backup and forgot what it applied since: every
    entry still held is pending again, to be pushed again, and the mirror, which follows
    the forgotten change log, is due to be replaced. One transaction: a crash leaves the
    old epoch, and the next answer starts this again. Returns how many entries go again."""
    with store.journal.begin() as journal:
        again = journal.execute(
            update(Entry).values(
                state=PENDING, acknowledged_at=None, server_outcome=None, server_position=None
            )
        ).rowcount
        journal.execute(
            update(KioskState)
            .where(KioskState.id == 1)
            .values(server_epoch=epoch, snapshot_due=True)
        )
    return int(again)


def snapshot_taken(store: Store) -> None:
    """The mirror now follows the current epoch's change log."""
    with store.journal.begin() as journal:
        journal.execute(update(KioskState).where(KioskState.id == 1).values(snapshot_due=False))


def waiting(store: Store) -> tuple[int, datetime | None]:
    """How many entries wait for the server, and when the oldest of them was decided."""
    with store.journal.connect() as journal:
        count, oldest = journal.execute(
            select(func.count(), func.min(Entry.decided_at)).where(Entry.state == PENDING)
        ).one()
    return int(count), datetime.fromisoformat(oldest) if oldest else None


def acknowledged_through(store: Store) -> int:
    """The newest entry before which every entry is acknowledged: all of those were
    applied before a snapshot taken now began, so the snapshot shows them."""
    with store.journal.connect() as journal:
        oldest_pending = journal.scalar(
            select(Entry.seq).where(Entry.state == PENDING).order_by(Entry.seq).limit(1)
        )
        newest = journal.scalar(select(Entry.seq).order_by(Entry.seq.desc()).limit(1))
    if oldest_pending is not None:
        return int(oldest_pending) - 1
    return int(newest or 0)


def newest_seq(store: Store) -> int:
    """The sequence number of the newest entry this kiosk decided (0 for none)."""
    with store.journal.connect() as journal:
        return int(journal.scalar(select(func.max(Entry.seq))) or 0)


def seqs_of(store: Store, entry_ids: Sequence[str]) -> list[int]:
    """The sequence numbers of the entries with these ids (those this journal holds)."""
    if not entry_ids:
        return []
    with store.journal.connect() as journal:
        return [
            int(seq) for seq in journal.scalars(select(Entry.seq).where(Entry.id.in_(entry_ids)))
        ]


def purge(store: Store, *, covered_through: int | None, acknowledged_before: datetime) -> int:
    """Forget the entries the server acknowledged and the mirror already shows, once a
    backup covers them (their change log position is at most ``covered_through``; None:
    no backup covers any) or they were acknowledged before ``acknowledged_before`` (the
    bound on keeping them): deleted with ``secure_delete``, the journal rebuilt from the
    rows it keeps (``compact``), and both files' write-ahead logs folded in and
    truncated (``scrub``). No loan history stays on the kiosk, nor in the free space of
    its card."""
    with store.mirror.connect() as mirror:
        through = mirror.scalar(select(SyncCursor.reflected_through))
    if through is None:
        return 0
    safe = Entry.acknowledged_at < acknowledged_before.isoformat()
    if covered_through is not None:
        safe = or_(Entry.server_position <= covered_through, safe)
    purged = 0
    while True:
        with store.journal.begin() as journal:
            batch = list(
                journal.scalars(
                    select(Entry.seq)
                    .where(Entry.seq <= through, Entry.state == ACKNOWLEDGED, safe)
                    .limit(PURGE_BATCH)
                )
            )
            if batch:
                journal.execute(delete(Entry).where(Entry.seq.in_(batch)))
        purged += len(batch)
        if len(batch) < PURGE_BATCH:
            break
    if purged:
        compact(store.journal)
    scrub(store.journal)
    scrub(store.mirror)
    return purged
