"""The upstream outbox: every transaction decided here, queued for the library's own
system in the database transaction that decided it.

Queueing is one statement at the end of each writing transaction of the decision path,
after its change log is numbered (``apply.finish_batch``, ``ledger`` for payments): an
``INSERT ... SELECT`` that adds nothing unless the relay's row says relaying is on. The
row is set from ``[upstream] enabled`` by the server's processes when they start
(:func:`set_relaying`), so that a process that has not read the config (a one-off
command) still queues exactly when the library is in gateway mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from kiosk.central.models import (
    AppliedTransaction,
    StaffException,
    UpstreamOutbox,
    UpstreamRelay,
    insert_or_skip,
    table,
)
from kiosk.common.money import to_cents

WAITING, SENDING, DONE, REFUSED = "waiting", "sending", "done", "refused"
TO_SEND = (WAITING, SENDING)
# The kinds of transaction the upstream is told of; a fault or a membership renewal is
# staff's business in the upstream's own client.
RELAYED = ("checkout", "return", "renew")
PAYMENT = "payment"
# How long a relayed transaction keeps whom and what it was about: long enough for staff
# to compare a week's or a month's relaying with the other system's, no longer.
RELAYED_KEPT = timedelta(days=30)

_RELAYING = exists().where(table(UpstreamRelay).c.id == 1, table(UpstreamRelay).c.enabled)
_OUTBOX = table(UpstreamOutbox)
_TRANSACTIONS = table(AppliedTransaction)
# Built once: every transaction of the decision path runs it (see apply._READ_ITEMS).
_QUEUE_TRANSACTIONS = insert(_OUTBOX).from_select(
    [
        "change_seq",
        "transaction_id",
        "kind",
        "item_barcode",
        "patron_id",
        "decided_at",
        "status",
        "attempts",
    ],
    select(
        _TRANSACTIONS.c.change_seq,
        _TRANSACTIONS.c.id,
        _TRANSACTIONS.c.kind,
        _TRANSACTIONS.c.item_barcode,
        _TRANSACTIONS.c.patron_id,
        _TRANSACTIONS.c.decided_at,
        literal(WAITING),
        literal(0),
    ).where(
        _TRANSACTIONS.c.id.in_(bindparam("ids", expanding=True)),
        _TRANSACTIONS.c.kind.in_(RELAYED),
        _RELAYING,
    ),
)


def queue_transactions(connection: Connection, transaction_ids: Sequence[str]) -> None:
    """Queue the transactions just recorded (by id, in ``transactions``) when relaying
    is on; in the caller's transaction, after its change log is numbered."""
    if transaction_ids:
        connection.execute(_QUEUE_TRANSACTIONS, {"ids": list(transaction_ids)})


def queue_payment(  # noqa: PLR0917 - one payment: its place, id, whose, how much, when
    connection: Connection,
    change_seq: int,
    transaction_id: str,
    patron_id: str,
    amount: Decimal,
    decided_at: datetime,
) -> None:
    """Queue a payment taken here (37 upstream) when relaying is on."""
    connection.execute(
        insert(_OUTBOX).from_select(
            [
                "change_seq",
                "transaction_id",
                "kind",
                "patron_id",
                "amount",
                "decided_at",
                "status",
                "attempts",
            ],
            select(
                literal(change_seq),
                literal(transaction_id),
                literal(PAYMENT),
                literal(patron_id),
                literal(to_cents(amount)),  # Money stores cents
                literal(decided_at),
                literal(WAITING),
                literal(0),
            ).where(_RELAYING),
        )
    )


def set_relaying(engine: Engine, enabled: bool) -> None:
    """Turn queueing on or off as ``[upstream] enabled`` says (each server process at
    its start): the relay's row is made the first time."""
    with Session(engine) as db:
        db.execute(
            insert_or_skip(db.get_bind().dialect.name, UpstreamRelay, "id").values(
                id=1, enabled=enabled, position=0, relayed=0, refused=0
            )
        )
        db.execute(update(UpstreamRelay).where(UpstreamRelay.id == 1).values(enabled=enabled))
        db.commit()


@dataclass(frozen=True, slots=True)
class RelayStatus:
    """What staff see of the relay."""

    enabled: bool
    backlog: int  # transactions waiting to be relayed
    oldest_waiting: datetime | None  # when the oldest of them was decided
    relayed: int
    refused: int
    last_sent_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    holder: str | None

    def oldest_age_seconds(self, now: datetime) -> float | None:
        if self.oldest_waiting is None:
            return None
        return max(0.0, (now - self.oldest_waiting).total_seconds())


def relay_status(db: Session) -> RelayStatus:
    """The relay as it stands: read with the outbox's index on (status, change_seq)."""
    relay = db.get(UpstreamRelay, 1)
    backlog, oldest = db.execute(
        select(func.count(), func.min(UpstreamOutbox.decided_at)).where(
            UpstreamOutbox.status.in_(TO_SEND)
        )
    ).one()
    if relay is None:
        return RelayStatus(False, backlog, oldest, 0, 0, None, None, None, None)
    return RelayStatus(
        relay.enabled,
        backlog,
        oldest,
        relay.relayed,
        relay.refused,
        relay.last_sent_at,
        relay.last_error,
        relay.last_error_at,
        relay.holder,
    )


def forget_relayed(db: Session, now: datetime) -> int:
    """Clear the patron, the item and the other system's words (which may name the
    patron) from transactions relayed more than ``RELAYED_KEPT`` ago: done, or refused
    and the staff exception it made resolved. The caller commits."""
    open_exception = exists().where(
        StaffException.entry_id == UpstreamOutbox.transaction_id,
        StaffException.resolved_at.is_(None),
    )
    result = db.execute(
        update(UpstreamOutbox)
        .where(
            UpstreamOutbox.done_at < now - RELAYED_KEPT,
            or_(
                UpstreamOutbox.status == DONE,
                and_(UpstreamOutbox.status == REFUSED, ~open_exception),
            ),
            or_(
                UpstreamOutbox.patron_id.is_not(None),
                UpstreamOutbox.item_barcode.is_not(None),
                UpstreamOutbox.answer.is_not(None),
                UpstreamOutbox.due_before.is_not(None),
            ),
        )
        .values(patron_id=None, item_barcode=None, answer=None, due_before=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
