"""What the kiosk believes: the mirror with the journal's unreflected entries laid over it.

An item lent a moment ago is on loan here before the server knows; a fine
charged at this drop station is owed before the next sync. Every statement a
scan runs against ``mirror.db`` and ``journal.db`` is here, behind the named
methods of ``World``; the circulation use cases call them and never see SQL.

Every scan runs these statements, so they are few and go straight to the driver
(SQLAlchemy's per-statement machinery cost more than SQLite itself). One
connection holds ``journal.db`` with ``mirror.db`` attached read-only, so that
one ``BEGIN IMMEDIATE`` takes the journal's write lock and then the mirror's
snapshot, in that order (``Store.world``): no entry can be purged between the
two readings and be missed by both, and the decision is committed to the journal
(``synchronous=FULL``) before the caller shows it. A checkout is four reads, the
entry and the kiosk's latest time; a return is two reads and the same writes.
The tables are those of ``kiosk.store.mirror`` and ``kiosk.store.journal``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from sqlalchemy import Engine

from kiosk.common.money import from_cents, to_cents
from kiosk.common.pins import PinState
from kiosk.rules import Due, Item, Loan, Patron
from kiosk.rules.model import AVAILABLE
from kiosk.store.database import disk_full
from kiosk.store.errors import StoreFull
from kiosk.store.journal import PENDING
from kiosk.store.mirror import branch_codes, kept_branch_names

ON_LOAN = "on_loan"
UNKNOWN = "unknown"
CHECKOUT, RETURN, RENEW, FAULT = "checkout", "return", "renew", "fault"
# A membership renewed here, and a PIN typed here: each names the patron and no item
# (its barcode is empty).
MEMBERSHIP, PIN = "membership", "pin"
# A patron's rating of the kiosk: no item, no patron, its time rounded down to the hour.
FEEDBACK = "feedback"
# A patron's request for their session's receipt by email: the patron, no item.
RECEIPT = "receipt"
# A title hold placed here: the patron, no item (the copy scanned and its record are in
# its payload).
HOLD = "hold"


@dataclass(frozen=True, slots=True)
class CurrentLoan:
    patron_id: str
    member_type: str
    due: Due
    renewals: int

    def as_rules_loan(self) -> Loan:
        return Loan(self.member_type, self.due, self.renewals)


@dataclass(frozen=True, slots=True)
class LastEntry:
    """The newest unreflected journal entry about an item."""

    id: str
    kind: str
    payload: str

    def details(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.payload)
        return data


@dataclass(frozen=True, slots=True)
class ItemState:
    barcode: str
    title: str
    publication_type: str
    price: Decimal
    status: str
    holds: tuple[str, ...]  # patron ids in queue order
    loan: CurrentLoan | None
    last_entry: LastEntry | None = None
    # The waiting title holds on its record (patron ids in order), less those this kiosk
    # has since fulfilled or trapped a copy for; and whom a return here trapped it for.
    title_holds: tuple[str, ...] = ()
    trapped_for: str | None = None
    # Its status in stock whatever its loan (``status`` says on_loan while lent): a copy
    # recorded damaged on loan comes back damaged, and is trapped for no title hold.
    stock_status: str = AVAILABLE
    home_branch: str | None = None  # its home_location: where a return elsewhere sends it
    # Where each patron in ``holds`` and ``title_holds`` collects (those who chose).
    pickups: Mapping[str, str] = field(default_factory=dict)

    def status_once_back(self) -> str:
        """Its status after a return: a copy lent (or lost, missing: found) comes back
        available; a damaged, withdrawn or in-repair one stays so, as on the server."""
        if self.stock_status in (AVAILABLE, ON_LOAN, "lost", "missing"):
            return AVAILABLE
        return self.stock_status

    def as_rules_item(self) -> Item:
        return Item(
            self.publication_type,
            self.status,
            self.holds,
            self.price,
            title_holds=self.title_holds,
            trapped_for=self.trapped_for,
            home_branch=self.home_branch,
            pickups=self.pickups,
        )


_NO_WRONG_PINS = PinState()


@dataclass(frozen=True, slots=True)
class PatronState:
    patron_id: str
    first_name: str
    member_type: str
    expires: date | None
    barred: bool
    owed: Decimal
    pin_verifier: str | None
    # The server's count of wrong PINs with this kiosk's unsent PINs laid over it.
    pin: PinState = _NO_WRONG_PINS
    has_email: bool = False  # the library can email them: never the address

    def as_rules_patron(self) -> Patron:
        return Patron(self.patron_id, self.member_type, self.expires, self.barred, self.owed)


@dataclass(frozen=True, slots=True)
class HoldState:
    item_barcode: str | None  # None: a title hold no copy is trapped for yet
    title: str
    position: int
    ready: bool
    pickup: str | None = None  # the branch where it is collected (None: where trapped)


@dataclass(frozen=True, slots=True)
class NewEntry:
    """One decision to append to the journal, with the item's whole state after it (kept
    in columns so that the overlay is a few indexed reads however long the kiosk was
    offline): the money charged to ``patron_id``, the status, and the loan if any."""

    id: str
    kind: str
    decided_at: datetime
    item_barcode: str
    patron_id: str | None
    payload: str  # JSON: the decision and the facts it was made on
    status_after: str
    loan: CurrentLoan | None
    charged: Decimal = Decimal("0.00")
    fulfilled_hold_of: str | None = None


# The kiosk's latest recorded time, how far the mirror reflects the journal, and the
# version of the policy in force: one row, read once per decision.
_HEADER = (
    "SELECT (SELECT latest_time FROM main.kiosk_state WHERE id = 1), "
    "(SELECT reflected_through FROM mirror.sync_cursor WHERE id = 1), "
    "(SELECT version FROM mirror.policy WHERE id = 1), "
    "(SELECT branch FROM mirror.sync_cursor WHERE id = 1), "
    "(SELECT branches FROM mirror.sync_cursor WHERE id = 1), "
    "(SELECT branch_names FROM mirror.sync_cursor WHERE id = 1)"
)

# A patron, with what this kiosk charged them since the mirror was last refreshed, and
# the expiry of a membership renewed here since (the newest; a membership entry names
# no item, so entries_by_item finds the few under the empty barcode).
_PATRON = (
    "SELECT p.patron_id, p.first_name, p.member_type, p.expires, p.barred, p.owed, "
    "p.pin_verifier, (SELECT coalesce(sum(e.charged), 0) FROM main.entries e "
    "WHERE e.patron_id = p.patron_id AND e.charged <> 0 AND e.seq > ?1), "
    "(SELECT json_extract(m.payload, '$.expires') FROM main.entries m "
    "WHERE m.item_barcode = '' AND m.seq > ?1 AND m.kind = 'membership' "
    "AND m.patron_id = p.patron_id ORDER BY m.seq DESC LIMIT 1), "
    "p.pin_failures, p.pin_locked_until, "
    # The PINs typed here since, as JSON [[seq, decided_at, right], ...] (put in order
    # by the caller: an aggregate's order is SQLite's to choose).
    "(SELECT json_group_array(json_array(n.seq, n.decided_at, "
    "json_extract(n.payload, '$.right'))) FROM main.entries n "
    "WHERE n.item_barcode = '' AND n.seq > ?1 AND n.kind = 'pin' "
    "AND n.patron_id = p.patron_id), p.has_email "
    "FROM mirror.patrons p WHERE p.{key} = ?2"
)
_PATRON_BY_CARD = _PATRON.format(key="card")
_PATRON_BY_ID = _PATRON.format(key="patron_id")

# Items with their record, their loan in the mirror, the newest unreflected journal entry
# about each (which records the item's whole state after it), their hold queue less the
# holds fulfilled here since, and their record's waiting title holds less those a copy
# was lent to (fulfilled) or trapped for here since (each as JSON [[position,
# patron_id, pickup], ...]). Every ``?`` before the WHERE clause is the journal sequence
# the mirror reflects.
_ITEMS = (
    "SELECT i.barcode, r.title, r.publication_type, i.price, i.status, "
    "l.patron_id, l.member_type, l.due, l.renewals, "
    "e.id, e.kind, e.payload, e.status_after, e.loan_patron_id, e.loan_member_type, "
    "e.loan_due, e.loan_renewals, "
    "(SELECT json_group_array(json_array(h.position, h.patron_id, h.pickup)) "
    "FROM mirror.holds h "
    "WHERE h.item_barcode = i.barcode AND NOT EXISTS (SELECT 1 FROM main.entries f "
    "WHERE f.item_barcode = h.item_barcode AND f.fulfilled_hold_of = h.patron_id "
    "AND f.seq > ?1)), "
    "(SELECT json_group_array(json_array(t.position, t.patron_id, t.pickup)) "
    "FROM mirror.holds t "
    "WHERE t.brn = i.brn AND t.item_barcode IS NULL AND NOT EXISTS (SELECT 1 "
    "FROM main.entries f JOIN mirror.items c ON c.barcode = f.item_barcode "
    "WHERE f.seq > ?1 AND c.brn = t.brn AND ((f.kind = 'checkout' "
    "AND f.fulfilled_hold_of = t.patron_id AND json_extract(f.payload, '$.title_hold')) "
    "OR (f.kind = 'return' AND json_extract(f.payload, '$.trapped_for') = t.patron_id "
    # A copy trapped for the patron's item hold on it leaves their title hold waiting.
    "AND NOT EXISTS (SELECT 1 FROM mirror.holds o WHERE o.item_barcode = f.item_barcode "
    "AND o.patron_id = t.patron_id))))), "
    "CASE e.kind WHEN 'return' THEN json_extract(e.payload, '$.trapped_for') END, "
    "i.home_location "
    "FROM mirror.items i JOIN mirror.records r ON r.brn = i.brn "
    "LEFT JOIN mirror.loans l ON l.item_barcode = i.barcode "
    "LEFT JOIN main.entries e ON e.seq = (SELECT max(x.seq) FROM main.entries x "
    "WHERE x.item_barcode = i.barcode AND x.seq > ?1) "
)
_ITEM = _ITEMS + "WHERE i.barcode = ?2"
# The items on loan to a patron: in the mirror, or lent here since the last sync and not
# moved on by a later entry about the same item (``superseded``). Whose each is now, the
# caller checks.
_LOANS_OF = _ITEMS + (
    "WHERE i.barcode IN (SELECT item_barcode FROM mirror.loans WHERE patron_id = ?2 "
    "UNION SELECT e.item_barcode FROM main.entries e "
    "WHERE e.loan_patron_id = ?2 AND e.superseded = 0 AND e.seq > ?1)"
)

# What waits for a patron as they sign in, in one statement: the due date of each of
# their loans (in the mirror or lent here since, each as the newest unreflected entry
# about it left it, as _LOANS_OF finds them), and the title of each hold ready on the
# hold shelf for them that no checkout here has fulfilled since.
_GREETING = (
    "WITH mine(barcode) AS (SELECT item_barcode FROM mirror.loans WHERE patron_id = ?2 "
    "UNION SELECT item_barcode FROM main.entries WHERE loan_patron_id = ?2 "
    "AND superseded = 0 AND seq > ?1) "
    "SELECT 'loan', CASE WHEN e.id IS NULL THEN l.due ELSE e.loan_due END, NULL FROM mine m "
    "LEFT JOIN mirror.loans l ON l.item_barcode = m.barcode "
    "LEFT JOIN main.entries e ON e.seq = (SELECT max(x.seq) FROM main.entries x "
    "WHERE x.item_barcode = m.barcode AND x.seq > ?1) "
    "WHERE CASE WHEN e.id IS NULL THEN l.patron_id ELSE e.loan_patron_id END = ?2 "
    "UNION ALL SELECT 'hold', h.title, h.pickup FROM mirror.holds h "
    "WHERE h.patron_id = ?2 AND h.ready AND NOT EXISTS (SELECT 1 FROM main.entries f "
    "WHERE f.item_barcode = h.item_barcode AND f.fulfilled_hold_of = h.patron_id "
    "AND f.seq > ?1)"
)

# What stands in the way of a title hold on record ?2 for patron ?3, beside the card:
# a hold of theirs on it (waiting for the title, or on one of its copies), in the mirror
# or placed here since; a copy of it on loan to them (in the mirror or lent here since,
# as the newest unreflected entry about it left it).
_HOLD_CHECK = (
    "SELECT 'waiting' FROM mirror.holds h WHERE h.patron_id = ?3 AND (h.brn = ?2 "
    "OR EXISTS (SELECT 1 FROM mirror.items c WHERE c.barcode = h.item_barcode "
    "AND c.brn = ?2)) "
    "UNION ALL SELECT 'waiting' FROM main.entries e WHERE e.item_barcode = '' "
    "AND e.seq > ?1 AND e.kind = 'hold' AND e.patron_id = ?3 "
    "AND json_extract(e.payload, '$.brn') = ?2 "
    "UNION ALL SELECT 'on_loan' FROM (SELECT item_barcode FROM mirror.loans "
    "WHERE patron_id = ?3 UNION SELECT item_barcode FROM main.entries "
    "WHERE loan_patron_id = ?3 AND superseded = 0 AND seq > ?1) m "
    "JOIN mirror.items i ON i.barcode = m.item_barcode AND i.brn = ?2 "
    "LEFT JOIN main.entries x ON x.seq = (SELECT max(y.seq) FROM main.entries y "
    "WHERE y.item_barcode = m.item_barcode AND y.seq > ?1) "
    "LEFT JOIN mirror.loans l ON l.item_barcode = m.item_barcode "
    "WHERE CASE WHEN x.id IS NULL THEN l.patron_id ELSE x.loan_patron_id END = ?3"
)
# The title holds placed here since the mirror was refreshed, as (title, payload).
_HOLDS_PLACED = (
    "SELECT r.title FROM main.entries e "
    "JOIN mirror.records r ON r.brn = json_extract(e.payload, '$.brn') "
    "WHERE e.item_barcode = '' AND e.seq > ?1 AND e.kind = 'hold' AND e.patron_id = ?2 "
    "ORDER BY e.seq"
)

_APPEND = (
    "INSERT INTO main.entries (id, kind, decided_at, item_barcode, patron_id, payload, "
    "state, charged, status_after, loan_patron_id, loan_member_type, loan_due, "
    "loan_renewals, fulfilled_hold_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Never backwards: a feedback entry's time is rounded down to the hour, earlier than the
# entries before it, and the clock check trusts no time before the latest.
_LATEST = (
    "UPDATE main.kiosk_state SET latest_time = max(coalesce(latest_time, ?1), ?1) "
    "WHERE id = 1 RETURNING latest_time"
)


@contextmanager
def open_world(journal: Engine, mirror: Path) -> Iterator[World]:
    """A transaction on ``journal`` with ``mirror`` attached read-only: the journal's write
    lock first, then the mirror's snapshot, both taken by the one ``BEGIN IMMEDIATE``
    (SQLite starts a read transaction on a read-only attached file). Committed when the
    caller's block ends, rolled back if it raises; a disk with no room is ``StoreFull``."""
    pooled = journal.raw_connection()  # the engine's pool: its settings, no ORM
    try:
        connection = cast(sqlite3.Connection, pooled.driver_connection)
        if not pooled.info.get(_ATTACHED):
            uri = f"file:{quote(str(mirror.absolute()))}?mode=ro"
            connection.execute("ATTACH DATABASE ? AS mirror", (uri,))
            # A scan reads a few leaf pages of a large mirror, seldom the same twice: a
            # small cache keeps the interior pages every lookup walks (and the operating
            # system keeps the file), without holding 2 MB of leaves in the screens.
            connection.execute(f"PRAGMA mirror.cache_size = -{MIRROR_CACHE_KIB}")
            pooled.info[_ATTACHED] = True
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield World(connection)
            connection.execute("COMMIT")
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
    except sqlite3.OperationalError as error:
        if disk_full(error, mirror):
            raise StoreFull(f"{mirror.parent}: the disk is full; nothing was recorded") from error
        raise
    finally:
        pooled.close()


_ATTACHED = "kiosk.mirror_attached"
MIRROR_CACHE_KIB = 512


class World:
    """One consistent reading of mirror + journal, for one decision (``Store.world``)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._sql = connection.execute
        latest, reflected, version, branch, codes, names = self._sql(_HEADER).fetchone()
        self._latest: str | None = latest
        self._policy_version: str | None = version
        self.reflected_through: int = reflected or 0
        # The branch this kiosk stands in (None: none): where its returns are routed from.
        self.branch: str | None = branch
        # The library's branch codes (None: a server from before it said them): a
        # home_location naming none of them is no home branch, as the server decides.
        self._branches = branch_codes(codes)
        self._branch_names: str | None = names  # read when asked (branch_name)

    # --- the kiosk's own state ---------------------------------------------------------

    def latest_time(self) -> datetime | None:
        """The latest time the journal recorded: the clock must never run back behind it."""
        return datetime.fromisoformat(self._latest) if self._latest else None

    def policy_version(self) -> str | None:
        return self._policy_version

    def policy_document(self) -> str:
        row = self._sql("SELECT document FROM mirror.policy WHERE id = 1").fetchone()
        return str(row[0]) if row else "{}"

    def mirror_synced_at(self) -> datetime | None:
        """When the mirror was last refreshed from the server (this kiosk's local time):
        how much it may have missed since."""
        row = self._sql("SELECT synced_at FROM mirror.sync_cursor WHERE id = 1").fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def library_message(self) -> dict[str, str]:
        """The library's message on Welcome by language, as staff set it in the console
        (none: staff set none)."""
        return dict(self._sql("SELECT language, text FROM mirror.messages"))

    def append(self, entry: NewEntry) -> None:
        """Append one entry and move the kiosk's latest recorded time forward."""
        loan = entry.loan
        decided_at = entry.decided_at.isoformat()
        self._sql(
            _APPEND,
            (
                entry.id,
                entry.kind,
                decided_at,
                entry.item_barcode,
                entry.patron_id,
                entry.payload,
                PENDING,
                to_cents(entry.charged),
                entry.status_after,
                loan.patron_id if loan else None,
                loan.member_type if loan else None,
                loan.due.isoformat() if loan else None,
                loan.renewals if loan else None,
                entry.fulfilled_hold_of,
            ),
        )
        latest = self._sql(_LATEST, (decided_at,)).fetchone()
        self._latest = latest[0] if latest is not None else decided_at

    # --- patrons -----------------------------------------------------------------------

    def patron_by_card(self, card: str) -> PatronState | None:
        return _patron(self._sql(_PATRON_BY_CARD, (self.reflected_through, card)).fetchone())

    def patron(self, patron_id: str) -> PatronState | None:
        return _patron(self._sql(_PATRON_BY_ID, (self.reflected_through, patron_id)).fetchone())

    # --- items -------------------------------------------------------------------------

    def item(self, barcode: str) -> ItemState | None:
        row = self._sql(_ITEM, (self.reflected_through, barcode)).fetchone()
        return None if row is None else _item(row, self._branches)

    def items(self, barcodes: Sequence[str]) -> dict[str, ItemState]:
        """The current state of each known item among ``barcodes``."""
        if not barcodes:
            return {}
        marks = ", ".join("?" * len(barcodes))
        rows = self._sql(
            f"{_ITEMS}WHERE i.barcode IN ({marks})", (self.reflected_through, *barcodes)
        )
        return {row[0]: _item(row, self._branches) for row in rows}

    def loans_of(self, patron_id: str) -> list[ItemState]:
        """The items on loan to this patron now, soonest due first."""
        on_loan = [
            state
            for state in (
                _item(row, self._branches)
                for row in self._sql(_LOANS_OF, (self.reflected_through, patron_id))
            )
            if state.loan is not None and state.loan.patron_id == patron_id
        ]
        return sorted(on_loan, key=lambda state: state.loan.due.day if state.loan else date.min)

    def waiting_for(self, patron_id: str) -> tuple[list[Due], list[tuple[str, str | None]]]:
        """The due dates of the patron's loans, and the title of each of their holds
        ready on the hold shelf with the branch where it is collected (None: wherever
        its copy was trapped): what the greeting needs, in one indexed read."""
        dues: list[Due] = []
        ready: list[tuple[str, str | None]] = []
        for kind, value, pickup in self._sql(_GREETING, (self.reflected_through, patron_id)):
            if kind == "loan":
                dues.append(Due.fromisoformat(value))
            else:
                ready.append((value, pickup))
        return dues, ready

    def branch_name(self, code: str) -> str | None:
        """The name patrons read of branch ``code``, as the server last said (None: it
        said none)."""
        return (kept_branch_names(self._branch_names) or {}).get(code)

    def record_of(self, barcode: str) -> int | None:
        """The catalogue record (brn) of the copy ``barcode``."""
        row = self._sql("SELECT brn FROM mirror.items WHERE barcode = ?", (barcode,)).fetchone()
        return None if row is None else int(row[0])

    def hold_obstacles(self, patron_id: str, brn: int) -> set[str]:
        """What stands in the way of the patron's title hold on ``brn``: "waiting" (a hold
        of theirs on it already, here or in the mirror), "on_loan" (a copy of it on loan
        to them). Indexed reads only (holds_by_patron, loans_by_patron, entries_by_item,
        entries_lent_to): the mirror's items have no index by record."""
        return {
            kind for (kind,) in self._sql(_HOLD_CHECK, (self.reflected_through, brn, patron_id))
        }

    def holds_placed_here(self, patron_id: str) -> list[str]:
        """The titles of the title holds the patron placed here that the mirror does not
        show yet, oldest first."""
        return [title for (title,) in self._sql(_HOLDS_PLACED, (self.reflected_through, patron_id))]

    def holds_of(self, patron_id: str) -> list[tuple[HoldState, ItemState | None]]:
        holds = [
            HoldState(barcode, title, position, bool(ready), pickup)
            for barcode, title, position, ready, pickup in self._sql(
                "SELECT item_barcode, title, position, ready, pickup FROM mirror.holds "
                "WHERE patron_id = ? ORDER BY id",
                (patron_id,),
            )
        ]
        states = self.items([hold.item_barcode for hold in holds if hold.item_barcode])
        return [(hold, states.get(hold.item_barcode or "")) for hold in holds]


def _patron(row: Any) -> PatronState | None:
    if row is None:
        return None
    (
        patron_id,
        first_name,
        member_type,
        expires,
        barred,
        owed,
        verifier,
        charged,
        renewed,
        pin_failures,
        locked_until,
        typed_here,
        has_email,
    ) = row
    expires = renewed or expires
    pin = PinState(pin_failures, datetime.fromisoformat(locked_until) if locked_until else None)
    for _, decided_at, right in sorted(json.loads(typed_here)):
        pin = pin.after(right=bool(right), at=datetime.fromisoformat(decided_at))
    return PatronState(
        patron_id,
        first_name,
        member_type,
        date.fromisoformat(expires) if expires else None,
        bool(barred),
        from_cents(owed) + from_cents(charged),
        verifier,
        pin,
        bool(has_email),
    )


def _item(row: Any, branches: frozenset[str] | None) -> ItemState:
    """An item as the mirror has it, then as the newest entry about it left it (each entry
    records the item's whole state after it)."""
    (
        barcode,
        title,
        kind,
        price,
        status,
        borrower,
        member_type,
        due,
        renewals,
        entry_id,
        entry_kind,
        payload,
        status_after,
        loan_patron,
        loan_member_type,
        loan_due,
        loan_renewals,
        queue,
        title_queue,
        trapped_here_for,
        home_location,
    ) = row
    loan = None
    if borrower is not None:
        loan = CurrentLoan(borrower, member_type, Due.fromisoformat(due), renewals)
    state = ItemState(
        barcode=barcode,
        title=title,
        publication_type=kind,
        price=from_cents(price),
        status=ON_LOAN if loan is not None else status,
        holds=_patrons_in_order(queue),
        loan=loan,
        title_holds=_patrons_in_order(title_queue),
        pickups=_pickups(queue, title_queue),
        stock_status=status,
        # Beside a server from before the branch codes, every home_location is a home.
        home_branch=home_location if branches is None or home_location in branches else None,
    )
    if entry_id is None:
        return state
    loan = None
    if loan_patron is not None and loan_due is not None:
        loan = CurrentLoan(
            loan_patron, loan_member_type or "", Due.fromisoformat(loan_due), loan_renewals or 0
        )
    return replace(
        state,
        status=status_after,
        loan=loan,
        last_entry=LastEntry(entry_id, entry_kind, payload),
        trapped_for=trapped_here_for,
        stock_status=state.stock_status if status_after == ON_LOAN else status_after,
    )


def _patrons_in_order(queue: str) -> tuple[str, ...]:
    """The patron ids of a queue read as JSON ``[[position, patron_id, pickup], ...]``."""
    if queue == "[]":
        return ()
    return tuple(patron for _, patron, _ in sorted(json.loads(queue), key=lambda hold: hold[:2]))


def _pickups(*queues: str) -> dict[str, str]:
    """Where each patron of the queues (JSON as ``_patrons_in_order`` reads) collects; of
    a patron in both, their item hold's (the first queue's) pickup."""
    pickups: dict[str, str] = {}
    for queue in reversed(queues):
        for _, patron, pickup in json.loads(queue):
            if pickup is not None:
                pickups[patron] = pickup
    return pickups
