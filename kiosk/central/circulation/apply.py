"""Applying a kiosk's journal entries on the server: once, and never refusing a physical fact.

The server re-runs the lending rules on its own, newer view of the library. What
they would now refuse (a hold placed meanwhile, a card blocked meanwhile, an
item returned at two drop stations) is applied all the same, because the book
has already left or come back, and recorded as an exception for staff.

A push is applied as one batch: everything its entries touch is read in a few
queries, the entries are applied in order to that state in memory, and what
changed is written back at the end. The change log records each entry's
changes as they happen, in order, and numbers them just before the commit.

Pushes run side by side. Before reading anything, a push locks the items its
entries name, then every patron those entries or the items' loans name (see
``ChangeLog``): whatever another push could change under it (a loan, a hold
queue, an item's status, a balance, a patron's loans counted against a quota,
whether an entry id was applied) belongs to one of those. Two pushes of one
entry lock its item, so the second finds the first's row and answers
``duplicate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, insert, select, union_all, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import BindParameter

from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import branch_codes
from kiosk.central.circulation.changes import ChangeLog, hold_row
from kiosk.central.circulation.holds import add_title_hold
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.errors import CentralError, ForeignEntry
from kiosk.central.gateway.outbox import queue_transactions
from kiosk.central.models import (
    AppliedTransaction,
    Branch,
    CentralBase,
    Hold,
    Item,
    Kiosk,
    KioskFeedback,
    LedgerEntry,
    Loan,
    Patron,
    Record,
    StaffException,
    table,
)
from kiosk.common.pins import PinState
from kiosk.rules import (
    Due,
    Policy,
    Route,
    decide_checkout,
    decide_membership_renewal,
    decide_renewal,
    route_return,
    trap_for,
)
from kiosk.rules import Item as RulesItem
from kiosk.rules import Loan as RulesLoan
from kiosk.rules import Patron as RulesPatron
from kiosk.rules.model import AVAILABLE
from kiosk.sync.protocol import (
    FEEDBACK,
    HOLD,
    RECEIPT,
    Entity,
    HoldRow,
    ItemRow,
    LoanRow,
    Outcome,
    PatronRow,
    PushResult,
    Wire,
    WireEntry,
    hold_request,
    membership_expiry,
    receipt_items,
    touched_item,
)

FOUND_STATUSES = ("lost", "missing")
# A copy on its way to another branch (``items.transit_to``): lent once it has arrived.
IN_TRANSIT = "in_transit"


def _columns(model: type[CentralBase], row: type[Wire]) -> list[InstrumentedAttribute[Any]]:
    """The columns of ``model`` that make up the protocol's ``row``, by name."""
    return [getattr(model, name) for name in row.model_fields]


_ITEM = _columns(Item, ItemRow)
_LOAN = _columns(Loan, LoanRow)
_HOLD = _columns(Hold, HoldRow)
_PATRON = _columns(Patron, PatronRow)

# What a batch reads, built once: every push, desk and SIP2 transaction runs these, and
# building a statement anew costs more of its CPU than running it (about 150 coercions
# a transaction). Each takes its keys as a list in an expanding parameter.
_BARCODES: BindParameter[list[str]] = bindparam("barcodes", expanding=True)
_PATRON_IDS: BindParameter[list[str]] = bindparam("patron_ids", expanding=True)
# Whether the copy's home_location names one of the library's branches, read with the
# copy rather than in a statement of its own: items from before branches say "Stacks"
# and the like, a home no van goes to.
_HOME_IS_A_BRANCH = (
    exists().where(table(Branch).c.code == Item.home_location).label("home_is_a_branch")
)
_READ_ITEMS = (
    select(
        *_ITEM,
        Record.publication_type,
        Record.title,
        Item.transit_to,
        Item.transit_from,
        _HOME_IS_A_BRANCH,
    )
    .join(Record, Record.brn == Item.brn)
    .where(Item.barcode.in_(_BARCODES))
)
_READ_LOANS = select(*_LOAN, Loan.lent_at, Loan.kiosk_id).where(Loan.item_barcode.in_(_BARCODES))
# The loan's and the item's fields by name (no name is both a loan's and an item's).
_READ_PATRONS_LOANS = (
    select(*_LOAN, Loan.lent_at, Loan.kiosk_id, *_ITEM, Record.publication_type)
    .join(Item, Item.barcode == Loan.item_barcode)
    .join(Record, Record.brn == Item.brn)
    .where(Loan.patron_id.in_(_PATRON_IDS))
)
_BRNS: BindParameter[list[int]] = bindparam("brns", expanding=True)
# One round trip, three indexed reads (an OR of them had SQLite read every waiting title
# hold through holds_by_item's item_barcode IS NULL): the queues of these items; the
# waiting title holds on their records (holds_by_record); the queues of the other copies
# of those records trapped for these patrons, ready or on their way to where they are
# collected (a checkout of any copy fulfils its borrower's trapped title hold). A copy
# both touched and trapped comes twice: read_batch keeps it once.
_READ_HOLDS = union_all(
    select(*_HOLD).where(Hold.item_barcode.in_(_BARCODES)),
    # item_barcode || '' IS NULL is item_barcode IS NULL that no index answers: SQLite,
    # with no statistics, would take holds_by_item's IS NULL for the better key.
    select(*_HOLD).where(Hold.brn.in_(_BRNS), Hold.item_barcode.concat("").is_(None)),
    select(*_HOLD).where(
        Hold.item_barcode.in_(
            select(Hold.item_barcode).where(
                Hold.patron_id.in_(_PATRON_IDS),
                Hold.brn.in_(_BRNS),
                Hold.item_barcode.is_not(None),
            )
        )
    ),
).order_by("position", "id")
_INSERT_LOAN = insert(table(Loan))
_DELETE_LOAN = delete(table(Loan)).where(table(Loan).c.item_barcode == bindparam("barcode"))
_INSERT_TRANSACTIONS = insert(table(AppliedTransaction))
# With what only the server keeps of them that a decision reads: a pending
# registration's loan limit.
_READ_PATRONS = select(*_PATRON, Patron.pending_loans).where(Patron.patron_id.in_(_PATRON_IDS))
_READ_RETURNED_AT = (
    select(AppliedTransaction.item_barcode, func.max(AppliedTransaction.decided_at))
    .where(AppliedTransaction.item_barcode.in_(_BARCODES), AppliedTransaction.kind == "return")
    .group_by(AppliedTransaction.item_barcode)
)


@dataclass(frozen=True, slots=True)
class _Item:
    """An item as kiosks mirror it, and its record's publication type (the rules ask)."""

    row: ItemRow
    publication_type: str
    title: str = ""  # its record's, for the desk's answer
    transit_to: str | None = None  # the branch it is on its way to (status in_transit)
    home_is_a_branch: bool = False
    # The hold shelf it is to be sent from (holds._send_to_pickup): None once a scan of
    # it here sets its status (a check-in routes it afresh, a loan takes it).
    transit_from: str | None = None

    @classmethod
    def read(cls, found: Any) -> _Item:  # a Row with the fields by name
        return cls(
            ItemRow.model_validate(found, from_attributes=True),
            found.publication_type,
            getattr(found, "title", ""),
            getattr(found, "transit_to", None),
            bool(getattr(found, "home_is_a_branch", False)),
            getattr(found, "transit_from", None),
        )

    @property
    def home_branch(self) -> str | None:
        """Its home branch: its home_location when that names one of the library's
        branches, else none (it goes to the shelf where it comes back)."""
        return self.row.home_location if self.home_is_a_branch else None


@dataclass(frozen=True, slots=True)
class _Loan:
    """A loan as kiosks mirror it, and what only the server keeps of it."""

    row: LoanRow
    lent_at: datetime
    kiosk_id: int | None

    @classmethod
    def read(cls, found: Any) -> _Loan:  # a Row with the fields by name
        return cls(
            LoanRow.model_validate(found, from_attributes=True), found.lent_at, found.kiosk_id
        )

    def columns(self) -> dict[str, Any]:
        return {**self.row.model_dump(), "lent_at": self.lent_at, "kiosk_id": self.kiosk_id}


@dataclass
class Batch:
    """What the batch's entries touch, as read at its start and changed by each entry."""

    items: dict[str, _Item]
    loans: dict[str, _Loan | None]
    holds: dict[str, list[HoldRow]]  # each item's queue (a title hold trapped for it first)
    patrons: dict[str, PatronRow]
    # When each item last came back, of the returns applied before: a fact decided
    # earlier than the item's newest one arrived late, and must not undo it.
    returned_at: dict[str, datetime]
    # The waiting (untrapped) title holds on the records of the items touched, in order.
    title_holds: dict[int, list[HoldRow]] = field(default_factory=dict)
    original_loans: dict[str, _Loan | None] = field(default_factory=dict)
    original_holds: dict[int, HoldRow] = field(default_factory=dict)
    original_patrons: dict[str, PatronRow] = field(default_factory=dict)
    original_items: dict[str, _Item] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)  # kiosk_feedback's rows
    # Receipts asked for at kiosks: (patron id, entry id, day, facts of each action).
    receipts: list[tuple[str, str, date, dict[str, dict[str, Any]]]] = field(default_factory=list)
    # The loan limit of each pending registration among ``patrons`` (kiosks never mirror
    # it: the server alone lends to a patron staff have not approved).
    pending: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.original_loans = dict(self.loans)
        self.original_holds = {hold.id: hold for hold in self.all_holds()}
        self.original_patrons = dict(self.patrons)
        self.original_items = dict(self.items)

    def checkpoint(self, session: Session, now: datetime) -> None:
        """Write what the batch changed so far (``write_batch``) and take that as its new
        start: a decision made in the database (a kiosk's title hold, through
        ``holds.add_title_hold``) then reads what the entries before it did."""
        write_batch(session, self, now)
        self.ledger, self.exceptions, self.feedback, self.receipts = [], [], [], []
        self.__post_init__()

    def all_holds(self) -> list[HoldRow]:
        return [
            hold for queue in (*self.holds.values(), *self.title_holds.values()) for hold in queue
        ]

    def rules_patron(self, patron: PatronRow) -> RulesPatron:
        return rules_patron(patron, self.pending.get(patron.patron_id))

    def held_types(self, patron_id: str, excluding: str) -> list[str]:
        return [
            self.items[barcode].publication_type if barcode in self.items else ""
            for barcode, loan in self.loans.items()
            if loan is not None and loan.row.patron_id == patron_id and barcode != excluding
        ]


def _read(session: Session, entries: list[WireEntry], log: ChangeLog) -> Batch:
    """What ``entries`` touch, read after their items are locked; locks their patrons."""
    patron_ids = {entry.patron_id for entry in entries if entry.patron_id}
    patron_ids |= {entry.loan_patron_id for entry in entries if entry.loan_patron_id}
    touched = {touched_item(entry) for entry in entries if touched_item(entry)}
    return read_batch(session, touched, patron_ids, log)


def read_batch(
    session: Session,
    touched: set[str],
    patron_ids: set[str],
    log: ChangeLog,
    *,
    late_facts: bool = True,
) -> Batch:
    """What a change to the items ``touched`` by ``patron_ids`` reads, after the items are
    locked (``log.lock_items``); locks those patrons and the borrowers of those items."""
    barcodes = sorted(touched)
    patron_ids = set(patron_ids)
    # The reads go to the transaction's connection, past the ORM's execution layer (a
    # third of their CPU: they select columns, not objects); what the session still has
    # to write goes first, as Session.execute's autoflush would send it.
    session.flush()
    connection = session.connection()
    items = {
        found.barcode: _Item.read(found)
        for found in connection.execute(_READ_ITEMS, {"barcodes": barcodes})
    }
    loans: dict[str, _Loan | None] = dict.fromkeys(barcodes)
    for lent in connection.execute(_READ_LOANS, {"barcodes": barcodes}):
        loans[lent.item_barcode] = _Loan.read(lent)
        patron_ids.add(lent.patron_id)
    brns = sorted({items[barcode].row.brn for barcode in barcodes if barcode in items})
    log.lock_patrons(patron_ids, brns)
    # The other loans of these patrons count against their quotas.
    borrowers = sorted(patron_ids)
    for other in connection.execute(_READ_PATRONS_LOANS, {"patron_ids": borrowers}):
        if other.item_barcode not in loans:
            loans[other.item_barcode] = _Loan.read(other)
        if other.barcode not in items:
            items[other.barcode] = _Item.read(other)
    holds: dict[str, list[HoldRow]] = {barcode: [] for barcode in barcodes}
    title_holds: dict[int, list[HoldRow]] = {brn: [] for brn in brns}
    seen: set[int] = set()
    for queued in connection.execute(
        _READ_HOLDS, {"barcodes": barcodes, "brns": brns, "patron_ids": borrowers}
    ):
        hold = HoldRow.model_validate(queued, from_attributes=True)
        if hold.id in seen:
            continue
        seen.add(hold.id)
        if hold.item_barcode is not None:
            holds.setdefault(hold.item_barcode, []).append(hold)
        elif hold.brn is not None:
            title_holds[hold.brn].append(hold)
    # Another copy trapped for one of these patrons (rare): the copy itself, to trap it
    # for the next should the patron take this one. Its record's lock guards its queue.
    if trapped_elsewhere := sorted(set(holds) - set(items)):
        for found in connection.execute(_READ_ITEMS, {"barcodes": trapped_elsewhere}):
            items[found.barcode] = _Item.read(found)
    patrons, pending = _read_patrons(connection, borrowers)
    # When each item last came back matters only to a fact decided in the past (a
    # kiosk's or a device's, arriving late); the desk decides now.
    returned_at: dict[str, datetime] = {}
    if late_facts:
        returned_at = dict(connection.execute(_READ_RETURNED_AT, {"barcodes": barcodes}).all())
    return Batch(items, loans, holds, patrons, returned_at, title_holds, pending=pending)


def _read_patrons(
    connection: Any, patron_ids: list[str]
) -> tuple[dict[str, PatronRow], dict[str, int]]:
    """The patrons as kiosks mirror them, and the pending registrations' loan limits."""
    patrons: dict[str, PatronRow] = {}
    pending: dict[str, int] = {}
    for found in connection.execute(_READ_PATRONS, {"patron_ids": patron_ids}):
        patrons[found.patron_id] = PatronRow.model_validate(found, from_attributes=True)
        if found.pending_loans is not None:
            pending[found.patron_id] = found.pending_loans
    return patrons, pending


def apply_batch(
    session: Session,
    kiosk: Kiosk,
    entries: list[WireEntry],
    now: datetime,
    policies: PolicyCache,
) -> list[PushResult]:
    """Apply a kiosk's entries, in order, in ``session``'s transaction (the caller commits).

    The lock on each entry's item makes the entries already applied known exactly
    before any is applied again; the primary key on the entry id stays the
    guarantee: should two writers ever insert one id (a kiosk reusing an id for
    another item), the second transaction fails whole and its kiosk sends the
    batch again.
    """
    log = ChangeLog(session)
    log.lock_items(touched_item(entry) for entry in entries if touched_item(entry))
    earlier = dict(
        session.execute(
            select(AppliedTransaction.id, AppliedTransaction.kiosk_id).where(
                AppliedTransaction.id.in_([entry.id for entry in entries])
            )
        ).all()
    )
    fresh: list[WireEntry | None] = []  # None: applied before (or earlier in this batch)
    for entry in entries:
        if entry.id in earlier:
            if earlier[entry.id] != kiosk.id:
                raise ForeignEntry(entry.id)
            fresh.append(None)
        else:
            earlier[entry.id] = kiosk.id
            fresh.append(entry)
    to_apply = [entry for entry in fresh if entry is not None]
    if not to_apply:
        return [PushResult(id=entry.id, outcome=Outcome.DUPLICATE) for entry in entries]
    batch = _read(session, to_apply, log)
    policy = policies.get(session)
    results = [
        Applying(batch, log, policy, kiosk.id, now, recorded_at=kiosk.branch).apply(new)
        if new is not None
        else PushResult(id=entry.id, outcome=Outcome.DUPLICATE)
        for entry, new in zip(entries, fresh, strict=True)
    ]
    finish_batch(session, batch, log, now)
    return results


def finish_batch(session: Session, batch: Batch, log: ChangeLog, now: datetime) -> None:
    """Write what the batch changed, then number its changes and record its transactions:
    the last step before the caller commits."""
    write_batch(session, batch, now)
    # From here to the commit, writers queue for the change counter: keep it short.
    first_seq = log.write()
    assert first_seq is not None  # every entry applied leaves its marker
    session.connection().execute(
        _INSERT_TRANSACTIONS,
        [{**row, "change_seq": first_seq + row["change_seq"]} for row in batch.transactions],
    )
    # In gateway mode the library's own system hears of each, in this same commit.
    queue_transactions(session.connection(), [row["id"] for row in batch.transactions])


@dataclass
class Applying:
    """One fact applied to the batch: a kiosk's (``kiosk_id``), or one the server decided
    at the desk (``kiosk_id`` None, ``actor`` the member of staff), which the rules have
    just allowed, so it records no exception and goes back to no kiosk as an entry."""

    batch: Batch
    log: ChangeLog
    policy: Policy | None
    kiosk_id: int | None
    now: datetime
    actor: str | None = None
    # A device that is no kiosk but, like one, reports what it already did (a SIP2 "no
    # block" transaction): what the rules would refuse becomes an exception from it.
    source: str | None = None
    # Where a return the server decides happens (a branch's code; None: nowhere known,
    # and nothing is sent on). A kiosk's return says where it was decided.
    branch: str | None = None
    # Where the fact is recorded as made, for the reports by branch: the kiosk's branch,
    # the desk's or the device's (None: none known).
    recorded_at: str | None = None
    findings: list[tuple[str, str]] = field(default_factory=list)

    def note(self, reason: str, detail: str) -> None:
        self.findings.append((reason, detail))

    def apply(self, entry: WireEntry) -> PushResult:
        handler = {
            "checkout": self._checkout,
            "return": self._return,
            "renew": self._renew,
            "fault": self._fault,
            "membership": self._membership,
            "pin": self._pin,
            FEEDBACK: self._feedback,
            RECEIPT: self._receipt,
            HOLD: self._hold,
        }[entry.kind]
        handler(entry)
        if entry.charged > 0 and entry.patron_id is not None:
            self._charge(entry)
        if self.kiosk_id is not None:
            marker = self.log.entry_applied(entry.id, self.kiosk_id)  # numbered at the end
        else:
            if not self.log.pending():
                # Nothing changed (a device's return of an item not on loan): the item as
                # it stands is this transaction's change, so that it has a number too.
                item = self.batch.items.get(entry.item_barcode)
                if item is not None:
                    self.log.put(Entity.ITEM, item.row.barcode, item.row)
                else:  # not in the catalogue: no loan of it, as every kiosk already has
                    self.log.remove(Entity.LOAN, entry.item_barcode)
            marker = self.log.last_index()
        outcome = Outcome.EXCEPTION if self.findings else Outcome.APPLIED
        self.batch.transactions.append(
            {
                "id": entry.id,
                "kiosk_id": self.kiosk_id,
                "kiosk_seq": entry.seq if self.kiosk_id is not None else 0,
                "actor": self.actor,
                "kind": entry.kind,
                "item_barcode": entry.item_barcode,
                "patron_id": entry.patron_id,
                "decided_at": entry.decided_at,
                "applied_at": self.now,
                "outcome": outcome.value,
                "change_seq": marker,
                # A rating is kept in kiosk_feedback alone: beside this entry's number, its
                # neighbours in the kiosk's journal would say whose it was. A receipt's
                # titles and dates go into its notices, which are forgotten after their
                # days; kept here they would outlive a loan history the patron never chose.
                # A hold's title, copy and pickup are in its holds row for as long as it
                # waits (and go with it); here they would keep the patron's reading
                # interest for good (forgetting.forget_daily forgets whose it was).
                "details": {} if entry.kind in (FEEDBACK, RECEIPT, HOLD) else entry.details,
                "charged": entry.charged,
                "branch": self.recorded_at,
            }
        )
        reported = self.kiosk_id is not None or self.source is not None
        for reason, detail in self.findings if reported else ():
            self.batch.exceptions.append(
                {
                    "entry_id": entry.id,
                    "kiosk_id": self.kiosk_id,
                    "source": self.source,
                    "reason": reason,
                    "detail": detail[:400],
                    "created_at": self.now,
                }
            )
        reasons = "; ".join(reason for reason, _ in self.findings)
        return PushResult(id=entry.id, outcome=outcome, reason=reasons or None)

    # --- each kind ---------------------------------------------------------------------

    def rules_item(self, item: _Item, on_loan: bool) -> RulesItem:
        queue = self.batch.holds.get(item.row.barcode, [])
        title_queue = self.batch.title_holds.get(item.row.brn, [])
        return RulesItem(
            publication_type=item.publication_type,
            status="on_loan" if on_loan else item.row.status,
            holds=tuple(hold.patron_id for hold in queue),
            price=item.row.price,
            title_holds=tuple(hold.patron_id for hold in title_queue),
            trapped_for=queue[0].patron_id if queue and queue[0].ready else None,
            home_branch=item.home_branch,
            # The first-placed of a patron's holds here decides where they collect.
            pickups={
                hold.patron_id: hold.pickup
                for hold in reversed([*queue, *title_queue])
                if hold.pickup is not None
            },
        )

    def waits_for(self, item: _Item, status: str | None = None) -> str | None:
        """Whom the copy would wait for on the hold shelf, were it trapped now (with its
        status ``status``, when it is about to change; None: no one, it goes back to
        the shelf)."""
        found = self.rules_item(item, on_loan=False)
        return trap_for(found if status is None else replace(found, status=status))

    def trap(self, item: _Item, branch: str | None = None) -> str | None:
        """Trap the copy, at ``branch``, for ``waits_for(item)``: a trap already set
        stands; else its first item hold, else the first title hold on its record, which
        becomes the copy's first hold. It is ready on the hold shelf there, or, when that
        patron collects at another branch, in transit there and not ready until it
        arrives (``route_return``). Returns the patron, None when no one waits."""
        if self.waits_for(item) is None:
            return None
        barcode, brn = item.row.barcode, item.row.brn
        queue = self.batch.holds.setdefault(barcode, [])
        if not queue:
            first, *rest = self.batch.title_holds[brn]
            self.batch.title_holds[brn] = rest
            queue.append(first.model_copy(update={"item_barcode": barcode, "position": 1}))
        routing = route_return(self.rules_item(item, on_loan=False), branch)
        ready = routing.route is Route.HOLD_SHELF
        if queue[0].ready != ready or queue[0].item_barcode != barcode:
            queue[0] = queue[0].model_copy(update={"ready": ready, "item_barcode": barcode})
            self.log.put(Entity.HOLD, str(queue[0].id), queue[0])
        if not ready and item.row.status == AVAILABLE:
            self._set_status(item, IN_TRANSIT, transit_to=routing.destination)
        return queue[0].patron_id

    def knows(self, patron: PatronRow, item: _Item) -> bool:
        return (
            self.policy is not None
            and patron.member_type in self.policy.member_types
            and item.publication_type in self.policy.publication_types
        )

    def _checkout(self, entry: WireEntry) -> None:
        batch = self.batch
        item = batch.items.get(entry.item_barcode)
        if item is None:
            self.note("unknown_item", f"item {entry.item_barcode} is not in the catalogue")
            return
        barcode = item.row.barcode
        patron = batch.patrons.get(entry.patron_id or "")
        loan = batch.loans.get(barcode)
        returned = batch.returned_at.get(barcode)
        if (loan is not None and entry.decided_at < loan.lent_at) or (
            loan is None and returned is not None and entry.decided_at < returned
        ):
            # Lent, then returned or lent again, before this arrived (an offline kiosk
            # syncing late, a retry overtaken): the newer fact stands; this one is kept
            # as a transaction.
            return
        if patron is None:
            self.note("unknown_patron", f"patron {entry.patron_id} is not registered")
        elif loan is not None and loan.row.patron_id != patron.patron_id:
            self.note(
                "was_on_loan",
                f"item {barcode} was on loan to {loan.row.patron_id}; that loan is closed",
            )
        if patron is not None and self.policy is not None and self.knows(patron, item):
            decision = decide_checkout(
                self.policy,
                batch.rules_patron(patron),
                batch.held_types(patron.patron_id, barcode),
                self.rules_item(item, on_loan=False),
                entry.decided_at,
            )
            if decision.refusals:
                codes = ",".join(refusal.reason.value for refusal in decision.refusals)
                self.note(
                    "refused_now",
                    f"the server's rules refuse this checkout ({codes}); it was lent offline",
                )
        new_loan = _Loan(
            LoanRow(
                item_barcode=barcode,
                patron_id=entry.loan_patron_id or entry.patron_id or "",
                member_type=entry.loan_member_type or (patron.member_type if patron else ""),
                due=entry.loan_due or "",
                renewals=entry.loan_renewals or 0,
            ),
            lent_at=entry.decided_at,
            kiosk_id=self.kiosk_id,
        )
        batch.loans[barcode] = new_loan
        self.log.put(Entity.LOAN, barcode, new_loan.row)
        borrower = new_loan.row.patron_id
        remaining = []
        for hold in batch.holds.get(barcode, []):
            if hold.patron_id == borrower:
                self.log.remove(Entity.HOLD, str(hold.id))
            else:
                remaining.append(hold)
        batch.holds[barcode] = remaining
        # Any copy of the record fulfils the title hold of the first in its queue
        # (CheckoutDecision.fulfils_title_hold); a physical fact fulfils it all the same.
        title_queue = batch.title_holds.get(item.row.brn, [])
        if title_queue and title_queue[0].patron_id == borrower:
            self.log.remove(Entity.HOLD, str(title_queue[0].id))
            batch.title_holds[item.row.brn] = title_queue[1:]
        self._fulfil_trapped_elsewhere(borrower, item)

    def _fulfil_trapped_elsewhere(self, borrower: str, lent: _Item) -> None:
        """The borrower's title hold trapped on another copy of the record is fulfilled
        by this one: that copy waits for the next in its queue, else for the first in the
        title's, else goes back to the shelf (as cancelling the hold would)."""
        batch = self.batch
        for barcode, queue in batch.holds.items():
            if (
                barcode == lent.row.barcode
                or not queue
                or queue[0].patron_id != borrower
                or queue[0].brn != lent.row.brn
            ):
                continue
            self.log.remove(Entity.HOLD, str(queue[0].id))
            # A copy on its way to the borrower's pickup goes on there, to be routed
            # afresh when it arrives; one on a hold shelf waits there for the next.
            on_shelf = queue[0].ready
            where = queue[0].pickup
            rest = []
            for position, hold in enumerate(queue[1:], start=1):
                ready = on_shelf and position == 1
                moved = hold.model_copy(update={"position": position, "ready": ready})
                if moved != hold:
                    self.log.put(Entity.HOLD, str(moved.id), moved)
                rest.append(moved)
            batch.holds[barcode] = rest
            other = batch.items.get(barcode)
            if not rest and other is not None and on_shelf:
                self.trap(other, where)
            return

    def _return(self, entry: WireEntry) -> None:
        # The kiosk's fine stands: it is what the patron was told at the drop station.
        batch = self.batch
        item = batch.items.get(entry.item_barcode)
        if item is None:
            self.note(
                "unknown_item", f"item {entry.item_barcode} came back but is not in the catalogue"
            )
            return
        barcode, status = item.row.barcode, item.row.status
        loan = batch.loans.get(barcode)
        returned = batch.returned_at.get(barcode)
        # The return of an earlier loan, arriving after the item was lent again: the copy
        # is with its new borrower, not back, and is trapped for no one.
        lent_since = loan is not None and entry.decided_at < loan.lent_at
        if lent_since:
            pass
        elif loan is None and status == IN_TRANSIT:  # arrived: checked in, routed afresh
            item = self._set_status(item, AVAILABLE)
        elif loan is None:
            if returned is not None:
                self.note("already_returned", f"item {barcode} was already returned")
            else:
                self.note("not_on_loan", f"item {barcode} came back but was not on loan")
        else:
            batch.loans[barcode] = None
            self.log.remove(Entity.LOAN, barcode)
        batch.returned_at[barcode] = max(entry.decided_at, returned or entry.decided_at)
        if status in FOUND_STATUSES:
            self.note("found", f"item {barcode} was recorded as {status} and came back")
            item = self._set_status(item, "available")
        where = self._where(entry)
        if not lent_since and self.trap(item, where) is None:
            self._send_on(item, where)

    def _where(self, entry: WireEntry) -> str | None:
        """The branch a return happened at: a kiosk's says which it decided with (a kiosk
        from before branches says none, and routed the copy to the shelf); the desk's
        and a device's, this fact's own ``branch``."""
        if self.kiosk_id is None:
            return self.branch
        branch = entry.details.get("branch")
        return branch if isinstance(branch, str) else None

    def _send_on(self, item: _Item, branch: str | None) -> None:
        """A copy back at ``branch`` for no hold is sent to its home branch when that is
        another: in transit there until checked in (a copy that cannot be lent keeps its
        status and goes home all the same)."""
        routing = route_return(self.rules_item(item, on_loan=False), branch)
        if routing.route is Route.TRANSFER and item.row.status == AVAILABLE:
            self._set_status(item, IN_TRANSIT, transit_to=routing.destination)

    def _renew(self, entry: WireEntry) -> None:
        batch = self.batch
        loan = batch.loans.get(entry.item_barcode)
        if loan is None or loan.row.patron_id != entry.patron_id:
            self.note(
                "renewal_without_loan",
                f"item {entry.item_barcode} is not on loan to {entry.patron_id}; nothing renewed",
            )
            return
        patron = batch.patrons.get(loan.row.patron_id)
        item = batch.items.get(loan.row.item_barcode)
        if (
            self.policy is not None
            and patron is not None
            and item is not None
            and self.knows(patron, item)
        ):
            decision = decide_renewal(
                self.policy,
                batch.rules_patron(patron),
                rules_loan(loan),
                self.rules_item(item, on_loan=True),
                entry.decided_at,
            )
            if decision.refusals:
                codes = ",".join(refusal.reason.value for refusal in decision.refusals)
                self.note("refused_now", f"the server's rules refuse this renewal ({codes})")
        renewals = entry.loan_renewals
        renewed = _Loan(
            loan.row.model_copy(
                update={
                    "due": entry.loan_due or loan.row.due,
                    "renewals": loan.row.renewals + 1 if renewals is None else renewals,
                }
            ),
            loan.lent_at,
            loan.kiosk_id,
        )
        batch.loans[loan.row.item_barcode] = renewed
        self.log.put(Entity.LOAN, loan.row.item_barcode, renewed.row)

    def _fault(self, entry: WireEntry) -> None:
        item = self.batch.items.get(entry.item_barcode)
        if item is None:
            self.note("unknown_item", f"item {entry.item_barcode} is not in the catalogue")
            return
        self._set_status(item, entry.status_after)
        if entry.status_after != AVAILABLE:
            self._untrap_title_hold(item)

    def _membership(self, entry: WireEntry) -> None:
        # The patron was told their new expiry at the kiosk: it stands, as a fine does,
        # and never shortens a later one (staff, or another kiosk, renewed meanwhile).
        patron = self.batch.patrons.get(entry.patron_id or "")
        if patron is None:
            self.note("unknown_patron", f"patron {entry.patron_id} is not registered")
            return
        expires = membership_expiry(entry)
        if patron.expires is not None and patron.expires >= expires:
            self.note(
                "already_renewed",
                f"the membership already ran until {patron.expires.isoformat()}; kept",
            )
            return
        if self.policy is not None and patron.member_type in self.policy.member_types:
            decision = decide_membership_renewal(
                self.policy, self.batch.rules_patron(patron), entry.decided_at
            )
            if decision.refusals:
                codes = ",".join(refusal.reason.value for refusal in decision.refusals)
                self.note(
                    "refused_now", f"the server's rules refuse this membership renewal ({codes})"
                )
        renewed = patron.model_copy(update={"expires": expires})
        self.batch.patrons[patron.patron_id] = renewed
        self._put_patron(renewed)

    def _pin(self, entry: WireEntry) -> None:
        # A PIN typed at a kiosk, counted with those typed anywhere else as of when it was
        # typed: a lock it completes runs from then, so PINs typed offline an hour ago
        # lock nothing now.
        patron = self.batch.patrons.get(entry.patron_id or "")
        if patron is None:
            self.note("unknown_patron", f"patron {entry.patron_id} is not registered")
            return
        before = PinState(patron.pin_failures, patron.pin_locked_until)
        after = before.after(right=entry.details["right"] is True, at=entry.decided_at)
        if after != before:
            counted = patron.model_copy(
                update={"pin_failures": after.failures, "pin_locked_until": after.locked_until}
            )
            self.batch.patrons[patron.patron_id] = counted
            self._put_patron(counted)

    def _feedback(self, entry: WireEntry) -> None:
        # Anonymous, as the entry came (WireEntry's validator): the kiosk, the hour, the
        # rating and the reason. Only a kiosk journals feedback.
        if self.kiosk_id is None:
            return
        hour = entry.decided_at.replace(minute=0, second=0, microsecond=0)
        self.batch.feedback.append(
            {
                "kiosk_id": self.kiosk_id,
                "week": hour.date() - timedelta(days=hour.weekday()),
                "hour": hour,
                "rating": entry.details["rating"],
                "reason": entry.details.get("reason"),
            }
        )

    def _receipt(self, entry: WireEntry) -> None:
        # The lines the kiosk showed the patron, as its printed receipt has them; queued
        # with this batch (write_batch), one notice an action, keyed by the entry.
        patron_id = entry.patron_id or ""
        if patron_id not in self.batch.patrons:
            self.note("unknown_patron", f"patron {entry.patron_id} is not registered")
            return
        facts: dict[str, dict[str, Any]] = {}
        for line in receipt_items(entry):
            facts.setdefault(line.action, {"action": line.action, "items": []})["items"].append(
                {"title": line.title, "due": line.due}
            )
        self.batch.receipts.append((patron_id, entry.id, entry.decided_at.date(), facts))

    def _hold(self, entry: WireEntry) -> None:
        # A title hold a patron placed at a kiosk: placed now by the decision path the
        # portal and the desk use (holds.add_title_hold), on the batch as written so far,
        # under the push's locks on the copy scanned, its record and the patron. What it
        # refuses now (a hold placed meanwhile elsewhere, a card blocked) is for staff to
        # tell the patron, who was told at the kiosk that it was placed.
        if self.kiosk_id is None:
            return
        request = hold_request(entry)
        batch, patron_id = self.batch, entry.patron_id or ""
        copy = batch.items.get(request.item)
        if copy is None:
            self.note("unknown_item", f"item {request.item} is not in the catalogue; no hold")
            return
        session = self.log.session
        batch.checkpoint(session, self.now)
        codes = branch_codes(session)
        pickup = request.pickup if request.pickup in codes else None
        kiosk = f"kiosk {self.kiosk_id}"
        try:
            hold = add_title_hold(
                session,
                self.log,
                patron_id,
                copy.row.brn,
                now=entry.decided_at,
                actor=Actor(kiosk, kiosk, "kiosk"),
                pickup=pickup,
                policy=self.policy,
            )
        except CentralError as refused:
            self.note("hold_refused", f"a hold placed at the kiosk was not placed: {refused}")
            return
        # Later entries of this push see it (a copy of the title returned traps for it).
        row = hold_row(hold)
        batch.title_holds.setdefault(row.brn or copy.row.brn, []).append(row)
        batch.original_holds[row.id] = row

    def _untrap_title_hold(self, item: _Item) -> None:
        """The copy can no longer be lent: a title hold trapped for it goes back to the
        head of its title's queue, to wait for the next copy to come back. The item holds
        behind it wait on, for this copy."""
        batch, barcode, brn = self.batch, item.row.barcode, item.row.brn
        queue = batch.holds.get(barcode, [])
        if not queue or queue[0].brn is None:  # a title hold in a copy's queue is trapped
            return
        waiting = batch.title_holds.setdefault(brn, [])
        position = waiting[0].position - 1 if waiting else 1
        back = queue[0].model_copy(
            update={"item_barcode": None, "ready": False, "position": position}
        )
        self.log.put(Entity.HOLD, str(back.id), back)
        batch.title_holds[brn] = [back, *waiting]
        rest = []
        for number, hold in enumerate(queue[1:], start=1):
            moved = hold.model_copy(update={"position": number, "ready": False})
            if moved != hold:
                self.log.put(Entity.HOLD, str(moved.id), moved)
            rest.append(moved)
        batch.holds[barcode] = rest

    def _set_status(self, item: _Item, status: str, *, transit_to: str | None = None) -> _Item:
        changed = replace(
            item,
            row=item.row.model_copy(update={"status": status}),
            transit_to=transit_to,
            transit_from=None,
        )
        self.batch.items[item.row.barcode] = changed
        self.log.put(Entity.ITEM, item.row.barcode, changed.row)
        return changed

    def _charge(self, entry: WireEntry) -> None:
        patron = self.batch.patrons.get(entry.patron_id or "")
        if patron is None:
            self.note(
                "unknown_patron", f"{entry.charged} charged to unknown patron {entry.patron_id}"
            )
            return
        self.batch.ledger.append(
            {
                "patron_id": patron.patron_id,
                "amount": entry.charged,
                "kind": "fault" if entry.kind == "fault" else "fine",
                "entry_id": entry.id,
                "at": self.now,
                "note": f"item {entry.item_barcode}"[:200],
            }
        )
        patron = patron.model_copy(update={"owed": patron.owed + entry.charged})
        self.batch.patrons[patron.patron_id] = patron
        self._put_patron(patron)

    def _put_patron(self, patron: PatronRow) -> None:
        self.log.patron_row(patron, pending=patron.patron_id in self.batch.pending)


def write_batch(session: Session, batch: Batch, now: datetime) -> None:
    """Write back what the batch changed, but for its transactions (numbered last)."""
    _write_loans(session, batch)
    _write_holds(session, batch, now)
    for patron_id, patron in batch.patrons.items():
        if batch.original_patrons.get(patron_id) != patron:
            session.execute(
                update(Patron)
                .where(Patron.patron_id == patron_id)
                .values(
                    owed=patron.owed,
                    expires=patron.expires,
                    pin_failures=patron.pin_failures,
                    pin_locked_until=patron.pin_locked_until,
                )
            )
    for barcode, item in batch.items.items():
        if batch.original_items.get(barcode) != item:
            session.execute(
                update(Item)
                .where(Item.barcode == barcode)
                .values(
                    status=item.row.status,
                    transit_to=item.transit_to,
                    transit_from=item.transit_from,
                )
            )
    for model, rows in (
        (LedgerEntry, batch.ledger),
        (StaffException, batch.exceptions),
        (KioskFeedback, batch.feedback),
    ):
        if rows:
            # Inline: their new ids are not read back (a commit may be pipelined).
            session.execute(insert(table(model)).inline(), rows)
    if batch.receipts:
        _queue_receipts(session, batch.receipts, now)


def _queue_receipts(
    session: Session,
    receipts: list[tuple[str, str, date, dict[str, dict[str, Any]]]],
    now: datetime,
) -> None:
    """The receipts patrons asked for at kiosks, into the notices' outbox in this
    transaction: each once by its entry's id, by email, or on the printed list for a
    patron whose address has gone since. Sent whatever their preferences: they asked."""
    # Here, not at the top: the notices read the ledger, which applies through this module.
    from kiosk.central.notices import outbox  # noqa: PLC0415
    from kiosk.central.notices.finding import Found  # noqa: PLC0415

    emails = dict(
        session.execute(
            select(Patron.patron_id, Patron.has_email).where(
                Patron.patron_id.in_({patron_id for patron_id, *_ in receipts})
            )
        ).all()
    )
    outbox.enqueue(
        session,
        [
            Found(
                patron_id,
                "receipt",
                f"kiosk {entry_id} {action}",
                day,
                "email" if emails.get(patron_id) else "print",
                False,
                said,
            )
            for patron_id, entry_id, day, facts in receipts
            for action, said in facts.items()
        ],
        now,
        digest_hour=0,
    )


def _write_loans(session: Session, batch: Batch) -> None:
    for barcode, loan in batch.loans.items():
        before = batch.original_loans.get(barcode)
        if loan == before:
            continue
        if before is not None:
            session.connection().execute(_DELETE_LOAN, {"barcode": barcode})
        if loan is not None:
            session.connection().execute(_INSERT_LOAN, loan.columns())


def _write_holds(session: Session, batch: Batch, now: datetime) -> None:
    kept = {hold.id: hold for hold in batch.all_holds()}
    for hold_id, before in batch.original_holds.items():
        after = kept.get(hold_id)
        if after is None:
            session.execute(delete(Hold).where(Hold.id == hold_id))
        elif after != before:
            # A hold becomes ready, or a title hold is trapped for a copy.
            values: dict[str, Any] = {
                "ready": after.ready,
                "item_barcode": after.item_barcode,
                "position": after.position,
            }
            if after.ready != before.ready:
                values["ready_at"] = now if after.ready else None
            session.execute(update(Hold).where(Hold.id == hold_id).values(**values))


def rules_loan(loan: _Loan) -> RulesLoan:
    """A loan as the rules read it, to return or renew."""
    return RulesLoan(loan.row.member_type, Due.fromisoformat(loan.row.due), loan.row.renewals)


def rules_patron(patron: PatronRow, pending_loans: int | None = None) -> RulesPatron:
    return RulesPatron(
        patron.patron_id,
        patron.member_type,
        patron.expires,
        patron.barred,
        patron.owed,
        pending_loans,
    )
