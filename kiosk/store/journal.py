"""``journal.db``: every transaction this kiosk decided. Precious: never rebuilt.

An entry is committed (WAL, ``synchronous=FULL``) before its result is shown.
It stays until the server has acknowledged it, the mirror reflects it and a backup of
the server covers it (or a bounded time has passed), then it is purged, so no loan
history outlives its need on the kiosk and none is lost with the server's disk.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from sqlalchemy import Index, String, false, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kiosk.store.types import Money

PENDING = "pending"
ACKNOWLEDGED = "acknowledged"
# What an entry records; the wire protocol names the same nine. A membership entry (a
# patron renewed their membership here), a PIN entry (a PIN typed here, right or wrong,
# for the server to count), a receipt entry (a patron asked for their session's receipt
# by email) and a hold entry (a patron placed a title hold here) name no item: their
# ``item_barcode`` is empty. Nor does a feedback
# entry (a patron's rating of the kiosk), which names no patron either.
EntryKind = Literal[
    "checkout", "return", "renew", "fault", "membership", "pin", "feedback", "receipt", "hold"
]


class JournalBase(DeclarativeBase):
    pass


class Entry(JournalBase):
    __tablename__ = "entries"

    # The kiosk's own sequence: the order in which it decided.
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # Globally unique and fixed when decided: the server applies each id once.
    id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # checkout, return, renew, fault, membership
    decided_at: Mapped[str]  # local time, ISO, from the kiosk's clock
    item_barcode: Mapped[str] = mapped_column(String(32))
    patron_id: Mapped[str | None] = mapped_column(String(32))  # the borrower; never a card number
    payload: Mapped[str]  # JSON: the decision and the facts it was made on
    # What the kiosk reads back before the server has the entry, kept in columns so
    # that the overlay is a few indexed queries however long the kiosk was offline:
    # the money charged to ``patron_id``, and the item's state after the entry.
    charged: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    status_after: Mapped[str] = mapped_column(String(32))
    loan_patron_id: Mapped[str | None] = mapped_column(String(32))  # who has it after
    loan_member_type: Mapped[str | None] = mapped_column(String(32))
    loan_due: Mapped[str | None] = mapped_column(String(16))
    loan_renewals: Mapped[int | None]
    fulfilled_hold_of: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    acknowledged_at: Mapped[str | None]
    server_outcome: Mapped[str | None] = mapped_column(String(16))
    # The server's change log position once it acknowledged the entry (at or after the
    # entry's own change): the entry is kept until a backup of the server covers it.
    server_position: Mapped[int | None]
    # A later entry about the same item exists, so this one no longer says where the item
    # is. Set by the trigger ``entries_supersede`` (migration 0002) as each entry is
    # appended, whoever appends it: the borrowers' overlay then reads only current loans.
    superseded: Mapped[bool] = mapped_column(default=False, server_default=false())

    __table_args__ = (
        Index("entries_by_item", "item_barcode", "seq"),
        # Partial indexes: the overlay's per-patron reads visit only the entries that
        # matter (charges are rare; a loan stops counting once superseded), however many
        # the patron has made since the last sync.
        Index("entries_charged_to", "patron_id", "seq", sqlite_where=text("charged <> 0")),
        Index(
            "entries_lent_to",
            "loan_patron_id",
            "seq",
            sqlite_where=text("superseded = 0 AND loan_patron_id IS NOT NULL"),
        ),
        Index("entries_by_state", "state", "seq"),
        # AUTOINCREMENT: a purged entry's sequence number is never handed out again.
        {"sqlite_autoincrement": True},
    )


class KioskState(JournalBase):
    """One row: this kiosk's identity and the latest time it has recorded."""

    __tablename__ = "kiosk_state"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    kiosk_id: Mapped[str] = mapped_column(String(64))
    latest_time: Mapped[str | None]  # the clock must never run back behind this
    # The epoch of the server's database that this journal's entries were pushed to: a
    # new one means the server was restored from a backup, so every entry goes again.
    server_epoch: Mapped[str | None] = mapped_column(String(32))
    # The mirror follows the change log of an earlier epoch: replace it by a snapshot.
    snapshot_due: Mapped[bool] = mapped_column(default=False, server_default=false())
