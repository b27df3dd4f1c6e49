"""``mirror.db``: the kiosk's replica of the library, as the central server sent it.

Only the sync agent writes here; it can be deleted and rebuilt at any time. The
lending policy is kept whole, as the JSON document of the lending contract, so
that a policy change arrives and applies as one consistent piece.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kiosk.store.types import Money


class MirrorBase(DeclarativeBase):
    pass


class PolicyDocument(MirrorBase):
    __tablename__ = "policy"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1: one policy in force
    document: Mapped[str]  # JSON in the shape of the contract's "policy" object
    version: Mapped[str] = mapped_column(String(64))


class Record(MirrorBase):
    """A catalogue record (BRN): what the item is."""

    __tablename__ = "records"

    brn: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    author: Mapped[str]
    isbn: Mapped[str | None]
    publication_type: Mapped[str] = mapped_column(String(32))


class StockItem(MirrorBase):
    """One physical copy, known by its barcode (accession number)."""

    __tablename__ = "items"

    barcode: Mapped[str] = mapped_column(String(32), primary_key=True)
    # No foreign key: the server guarantees the record exists, and checking it would
    # double the time of loading two million items into this cache.
    brn: Mapped[int]
    price: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(32))
    home_location: Mapped[str] = mapped_column(String(64))

    # Looked up by barcode only: one b-tree instead of a table and an index.
    __table_args__ = ({"sqlite_with_rowid": False},)


class MirrorPatron(MirrorBase):
    """A member, reduced to what a kiosk needs: never a full name, never a PIN."""

    __tablename__ = "patrons"

    patron_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    card: Mapped[str] = mapped_column(String(32), unique=True)
    first_name: Mapped[str] = mapped_column(String(64))  # the greeting on screen
    member_type: Mapped[str] = mapped_column(String(32))
    expires: Mapped[date | None]
    barred: Mapped[bool]
    owed: Mapped[Decimal] = mapped_column(Money)
    pin_verifier: Mapped[str | None]  # argon2id; None = this card needs no PIN
    # Wrong PINs the server counted, wherever typed (kiosk.common.pins.PinState); this
    # kiosk's own unsent attempts are laid over them (World.pin_state).
    pin_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    pin_locked_until: Mapped[datetime | None]
    # Whether the library can email them (a receipt): never the address itself.
    has_email: Mapped[bool] = mapped_column(default=False, server_default=false())


class MirrorLoan(MirrorBase):
    __tablename__ = "loans"

    item_barcode: Mapped[str] = mapped_column(String(32), primary_key=True)
    patron_id: Mapped[str] = mapped_column(String(32))
    member_type: Mapped[str] = mapped_column(String(32))  # the borrower's, at checkout
    due: Mapped[str] = mapped_column(String(16))  # Due.isoformat(): a date, or date and time
    renewals: Mapped[int]

    __table_args__ = (Index("loans_by_patron", "patron_id"), {"sqlite_with_rowid": False})


class MirrorHold(MirrorBase):
    """A place in an item's hold queue; ``ready`` = waiting on the hold shelf. A title
    hold has its record's ``brn``, and no ``item_barcode`` until a copy is trapped for it
    (it is then that copy's ready first hold)."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_barcode: Mapped[str | None] = mapped_column(String(32))
    patron_id: Mapped[str] = mapped_column(String(32))
    position: Mapped[int]
    ready: Mapped[bool]
    title: Mapped[str]
    brn: Mapped[int | None]
    # Where the patron collects it (a branch's code; None: wherever its copy is trapped):
    # a copy this kiosk traps for it elsewhere goes in the transfer bin, there.
    pickup: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("holds_by_item", "item_barcode", "position"),
        Index("holds_by_patron", "patron_id"),
        Index("holds_by_record", "brn", "position"),
    )


class MirrorMessage(MirrorBase):
    """The library's own message on Welcome in one language, as staff set it in the
    console (kiosk.toml's [library.message] is the kiosk's own, used when staff set
    none)."""

    __tablename__ = "messages"

    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    text: Mapped[str]


class SyncCursor(MirrorBase):
    """How far the mirror has followed the server's change log.

    ``reflected_through``: the mirror already shows the effect of every journal entry of
    this kiosk up to this sequence number. The server applies a kiosk's entries in
    sequence order, and the delta that carries their effects sets this in the same
    transaction, so the kiosk never counts an entry twice (mirror and journal) nor
    misses one between the two.
    """

    __tablename__ = "sync_cursor"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    cursor: Mapped[int]
    synced_at: Mapped[str]  # local time of the last successful sync, ISO
    reflected_through: Mapped[int] = mapped_column(default=0)
    # The branch this kiosk stands in, as the server last said (None: no branch): the
    # returns it takes are routed from there.
    branch: Mapped[str | None] = mapped_column(String(32))
    # The library's branch codes, comma-separated, as the server last said (None: it said
    # none, being older or the library having none): a home_location that names none of
    # them is no home branch.
    branches: Mapped[str | None] = mapped_column(Text)
    # Their names as patrons read them, as the server last said (a JSON object by code;
    # None: it said none): the greeting says where a ready hold waits.
    branch_names: Mapped[str | None] = mapped_column(Text)
    # The version of the rows the mirror was built from (kiosk.sync.protocol's
    # ROW_FIELDS_VERSION when its snapshot was taken; None: a mirror from before it was
    # kept). The server leaves out for an older version what it does not know and moves
    # its cursor past it, so an upgraded kiosk replaces a mirror built from an older one.
    row_fields: Mapped[int | None] = mapped_column()


def branch_codes(kept: str | None) -> frozenset[str] | None:
    """The branch codes as the mirror keeps them (None: none said)."""
    return None if kept is None else frozenset(code for code in kept.split(",") if code)


def kept_branch_names(kept: str | None) -> dict[str, str] | None:
    """The branches' names as the mirror keeps them, by code (None: none said, or kept
    damaged: a name is only ever shown, so it is read as none rather than refused)."""
    if kept is None:
        return None
    try:
        found = json.loads(kept)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    return {str(code): str(name) for code, name in found.items()}
