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
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from kiosk.central.changes import ChangeLog
from kiosk.central.models import (
    AppliedTransaction,
    Hold,
    Item,
    Kiosk,
    LedgerEntry,
    Loan,
    Patron,
    PolicyVersion,
    Record,
    StaffException,
    table,
)
from kiosk.rules import Due, Policy, decide_checkout, decide_renewal, read_policy
from kiosk.rules import Item as RulesItem
from kiosk.rules import Loan as RulesLoan
from kiosk.rules import Patron as RulesPatron
from kiosk.sync.protocol import (
    Entity,
    HoldRow,
    ItemRow,
    LoanRow,
    Outcome,
    PatronRow,
    PushResult,
    WireEntry,
)

FOUND_STATUSES = ("lost", "missing")


class ForeignEntry(Exception):
    """The entry id was applied for another kiosk: this kiosk may not push it."""


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


@dataclass(frozen=True, slots=True)
class _Item:
    barcode: str
    brn: int
    price: Decimal
    status: str
    home_location: str
    publication_type: str


@dataclass(frozen=True, slots=True)
class _Loan:
    item_barcode: str
    patron_id: str
    member_type: str
    due: str
    renewals: int
    lent_at: datetime
    kiosk_id: int | None


@dataclass(frozen=True, slots=True)
class _Hold:
    id: int
    item_barcode: str
    patron_id: str
    position: int
    ready: bool
    title: str


@dataclass(frozen=True, slots=True)
class _Patron:
    patron_id: str
    card: str
    first_name: str
    member_type: str
    expires: date | None
    barred: bool
    owed: Decimal
    pin_verifier: str | None


@dataclass
class _Batch:
    """What the batch's entries touch, as read at its start and changed by each entry."""

    items: dict[str, _Item]
    loans: dict[str, _Loan | None]
    holds: dict[str, list[_Hold]]
    patrons: dict[str, _Patron]
    # When each item last came back, of the returns applied before: a fact decided
    # earlier than the item's newest one arrived late, and must not undo it.
    returned_at: dict[str, datetime]
    original_loans: dict[str, _Loan | None] = field(default_factory=dict)
    original_holds: dict[int, _Hold] = field(default_factory=dict)
    original_patrons: dict[str, _Patron] = field(default_factory=dict)
    original_items: dict[str, _Item] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.original_loans = dict(self.loans)
        self.original_holds = {hold.id: hold for holds in self.holds.values() for hold in holds}
        self.original_patrons = dict(self.patrons)
        self.original_items = dict(self.items)

    def held_types(self, patron_id: str, excluding: str) -> list[str]:
        return [
            self.items[barcode].publication_type if barcode in self.items else ""
            for barcode, loan in self.loans.items()
            if loan is not None and loan.patron_id == patron_id and barcode != excluding
        ]


def _read(session: Session, entries: list[WireEntry], log: ChangeLog) -> _Batch:
    """What ``entries`` touch, read after their items are locked; locks their patrons."""
    barcodes = sorted({entry.item_barcode for entry in entries})
    item_rows = session.execute(
        select(
            Item.barcode,
            Item.brn,
            Item.price,
            Item.status,
            Item.home_location,
            Record.publication_type,
        )
        .join(Record, Record.brn == Item.brn)
        .where(Item.barcode.in_(barcodes))
    ).all()
    items = {row.barcode: _Item(*row) for row in item_rows}
    patron_ids = {entry.patron_id for entry in entries if entry.patron_id}
    patron_ids |= {entry.loan_patron_id for entry in entries if entry.loan_patron_id}
    loans: dict[str, _Loan | None] = dict.fromkeys(barcodes)
    loan_columns = (
        Loan.item_barcode,
        Loan.patron_id,
        Loan.member_type,
        Loan.due,
        Loan.renewals,
        Loan.lent_at,
        Loan.kiosk_id,
    )
    for lent in session.execute(select(*loan_columns).where(Loan.item_barcode.in_(barcodes))):
        loans[lent.item_barcode] = _Loan(*lent)
        patron_ids.add(lent.patron_id)
    log.lock_patrons(patron_ids)
    # The other loans of these patrons count against their quotas.
    for other in session.execute(
        select(
            *loan_columns,
            Item.brn,
            Item.price,
            Item.status,
            Item.home_location,
            Record.publication_type,
        )
        .join(Item, Item.barcode == Loan.item_barcode)
        .join(Record, Record.brn == Item.brn)
        .where(Loan.patron_id.in_(sorted(patron_ids)))
    ):
        loans.setdefault(
            other.item_barcode,
            _Loan(
                other.item_barcode,
                other.patron_id,
                other.member_type,
                other.due,
                other.renewals,
                other.lent_at,
                other.kiosk_id,
            ),
        )
        items.setdefault(
            other.item_barcode,
            _Item(
                other.item_barcode,
                other.brn,
                other.price,
                other.status,
                other.home_location,
                other.publication_type,
            ),
        )
    holds: dict[str, list[_Hold]] = {barcode: [] for barcode in barcodes}
    for queued in session.execute(
        select(Hold.id, Hold.item_barcode, Hold.patron_id, Hold.position, Hold.ready, Hold.title)
        .where(Hold.item_barcode.in_(barcodes))
        .order_by(Hold.item_barcode, Hold.position)
    ):
        holds[queued.item_barcode].append(_Hold(*queued))
    patrons = {
        row.patron_id: _Patron(*row)
        for row in session.execute(
            select(
                Patron.patron_id,
                Patron.card,
                Patron.first_name,
                Patron.member_type,
                Patron.expires,
                Patron.barred,
                Patron.owed,
                Patron.pin_verifier,
            ).where(Patron.patron_id.in_(sorted(patron_ids)))
        )
    }
    returned_at: dict[str, datetime] = dict(
        session.execute(
            select(AppliedTransaction.item_barcode, func.max(AppliedTransaction.decided_at))
            .where(
                AppliedTransaction.item_barcode.in_(barcodes), AppliedTransaction.kind == "return"
            )
            .group_by(AppliedTransaction.item_barcode)
        ).all()
    )
    return _Batch(items, loans, holds, patrons, returned_at)


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
    log.lock_items(entry.item_barcode for entry in entries)
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
        _Applying(batch, log, policy, kiosk, now).apply(new)
        if new is not None
        else PushResult(id=entry.id, outcome=Outcome.DUPLICATE)
        for entry, new in zip(entries, fresh, strict=True)
    ]
    _write(session, batch)
    # From here to the commit, writers queue for the change counter: keep it short.
    first_seq = log.write()
    assert first_seq is not None  # every entry applied leaves its marker
    session.execute(
        insert(table(AppliedTransaction)),
        [{**row, "change_seq": first_seq + row["change_seq"]} for row in batch.transactions],
    )
    return results


@dataclass
class _Applying:
    batch: _Batch
    log: ChangeLog
    policy: Policy | None
    kiosk: Kiosk
    now: datetime
    findings: list[tuple[str, str]] = field(default_factory=list)

    def note(self, reason: str, detail: str) -> None:
        self.findings.append((reason, detail))

    def apply(self, entry: WireEntry) -> PushResult:
        handler = {
            "checkout": self._checkout,
            "return": self._return,
            "renew": self._renew,
            "fault": self._fault,
        }[entry.kind]
        handler(entry)
        if entry.charged > 0 and entry.patron_id is not None:
            self._charge(entry)
        marker = self.log.entry_applied(entry.id, self.kiosk.id)  # numbered at the end
        outcome = Outcome.EXCEPTION if self.findings else Outcome.APPLIED
        self.batch.transactions.append(
            {
                "id": entry.id,
                "kiosk_id": self.kiosk.id,
                "kiosk_seq": entry.seq,
                "kind": entry.kind,
                "item_barcode": entry.item_barcode,
                "patron_id": entry.patron_id,
                "decided_at": entry.decided_at,
                "applied_at": self.now,
                "outcome": outcome.value,
                "change_seq": marker,
                "details": entry.details,
                "charged": entry.charged,
            }
        )
        for reason, detail in self.findings:
            self.batch.exceptions.append(
                {
                    "entry_id": entry.id,
                    "kiosk_id": self.kiosk.id,
                    "reason": reason,
                    "detail": detail[:400],
                    "created_at": self.now,
                }
            )
        reasons = "; ".join(reason for reason, _ in self.findings)
        return PushResult(id=entry.id, outcome=outcome, reason=reasons or None)

    # --- each kind ---------------------------------------------------------------------

    def _rules_item(self, item: _Item, on_loan: bool) -> RulesItem:
        return RulesItem(
            publication_type=item.publication_type,
            status="on_loan" if on_loan else item.status,
            holds=tuple(hold.patron_id for hold in self.batch.holds.get(item.barcode, [])),
            price=item.price,
        )

    def _knows(self, patron: _Patron, item: _Item) -> bool:
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
        patron = batch.patrons.get(entry.patron_id or "")
        loan = batch.loans.get(item.barcode)
        returned = batch.returned_at.get(item.barcode)
        if (loan is not None and entry.decided_at < loan.lent_at) or (
            loan is None and returned is not None and entry.decided_at < returned
        ):
            # Lent, then returned or lent again, before this arrived (an offline kiosk
            # syncing late, a retry overtaken): the newer fact stands; this one is kept
            # as a transaction.
            return
        if patron is None:
            self.note("unknown_patron", f"patron {entry.patron_id} is not registered")
        elif loan is not None and loan.patron_id != patron.patron_id:
            self.note(
                "was_on_loan",
                f"item {item.barcode} was on loan to {loan.patron_id}; that loan is closed",
            )
        if patron is not None and self.policy is not None and self._knows(patron, item):
            decision = decide_checkout(
                self.policy,
                _rules_patron(patron),
                batch.held_types(patron.patron_id, item.barcode),
                self._rules_item(item, on_loan=False),
                entry.decided_at,
            )
            if decision.refusals:
                codes = ",".join(refusal.reason.value for refusal in decision.refusals)
                self.note(
                    "refused_now",
                    f"the server's rules refuse this checkout ({codes}); it was lent offline",
                )
        new_loan = _Loan(
            item_barcode=item.barcode,
            patron_id=entry.loan_patron_id or entry.patron_id or "",
            member_type=entry.loan_member_type or (patron.member_type if patron else ""),
            due=entry.loan_due or "",
            renewals=entry.loan_renewals or 0,
            lent_at=entry.decided_at,
            kiosk_id=self.kiosk.id,
        )
        batch.loans[item.barcode] = new_loan
        self.log.put(
            Entity.LOAN, item.barcode, LoanRow.model_validate(new_loan, from_attributes=True)
        )
        remaining = []
        for hold in batch.holds.get(item.barcode, []):
            if hold.patron_id == new_loan.patron_id:
                self.log.remove(Entity.HOLD, str(hold.id))
            else:
                remaining.append(hold)
        batch.holds[item.barcode] = remaining

    def _return(self, entry: WireEntry) -> None:
        # The kiosk's fine stands: it is what the patron was told at the drop station.
        batch = self.batch
        item = batch.items.get(entry.item_barcode)
        if item is None:
            self.note(
                "unknown_item", f"item {entry.item_barcode} came back but is not in the catalogue"
            )
            return
        loan = batch.loans.get(item.barcode)
        returned = batch.returned_at.get(item.barcode)
        if loan is not None and entry.decided_at < loan.lent_at:
            pass  # the return of an earlier loan, arriving after the item was lent again
        elif loan is None:
            if returned is not None:
                self.note("already_returned", f"item {item.barcode} was already returned")
            else:
                self.note("not_on_loan", f"item {item.barcode} came back but was not on loan")
        else:
            batch.loans[item.barcode] = None
            self.log.remove(Entity.LOAN, item.barcode)
        batch.returned_at[item.barcode] = max(entry.decided_at, returned or entry.decided_at)
        if item.status in FOUND_STATUSES:
            self.note("found", f"item {item.barcode} was recorded as {item.status} and came back")
            item = replace(item, status="available")
            batch.items[item.barcode] = item
            self.log.put(
                Entity.ITEM, item.barcode, ItemRow.model_validate(item, from_attributes=True)
            )
        holds = batch.holds.get(item.barcode, [])
        if holds and not holds[0].ready:
            holds[0] = replace(holds[0], ready=True)
            self.log.put(
                Entity.HOLD,
                str(holds[0].id),
                HoldRow.model_validate(holds[0], from_attributes=True),
            )

    def _renew(self, entry: WireEntry) -> None:
        batch = self.batch
        loan = batch.loans.get(entry.item_barcode)
        if loan is None or loan.patron_id != entry.patron_id:
            self.note(
                "renewal_without_loan",
                f"item {entry.item_barcode} is not on loan to {entry.patron_id}; nothing renewed",
            )
            return
        patron = batch.patrons.get(loan.patron_id)
        item = batch.items.get(loan.item_barcode)
        if (
            self.policy is not None
            and patron is not None
            and item is not None
            and self._knows(patron, item)
        ):
            decision = decide_renewal(
                self.policy,
                _rules_patron(patron),
                RulesLoan(loan.member_type, _due(loan.due), loan.renewals),
                self._rules_item(item, on_loan=True),
                entry.decided_at,
            )
            if decision.refusals:
                codes = ",".join(refusal.reason.value for refusal in decision.refusals)
                self.note("refused_now", f"the server's rules refuse this renewal ({codes})")
        renewed = replace(
            loan,
            due=entry.loan_due or loan.due,
            renewals=entry.loan_renewals if entry.loan_renewals is not None else loan.renewals + 1,
        )
        batch.loans[loan.item_barcode] = renewed
        self.log.put(
            Entity.LOAN, loan.item_barcode, LoanRow.model_validate(renewed, from_attributes=True)
        )

    def _fault(self, entry: WireEntry) -> None:
        item = self.batch.items.get(entry.item_barcode)
        if item is None:
            self.note("unknown_item", f"item {entry.item_barcode} is not in the catalogue")
            return
        item = replace(item, status=entry.status_after)
        self.batch.items[item.barcode] = item
        self.log.put(Entity.ITEM, item.barcode, ItemRow.model_validate(item, from_attributes=True))

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
        patron = replace(patron, owed=patron.owed + entry.charged)
        self.batch.patrons[patron.patron_id] = patron
        self.log.put(
            Entity.PATRON, patron.patron_id, PatronRow.model_validate(patron, from_attributes=True)
        )


def _write(session: Session, batch: _Batch) -> None:
    """Write back what the batch changed, but for its transactions (numbered last)."""
    _write_loans(session, batch)
    _write_holds(session, batch)
    for patron_id, patron in batch.patrons.items():
        if batch.original_patrons.get(patron_id) != patron:
            session.execute(
                update(Patron).where(Patron.patron_id == patron_id).values(owed=patron.owed)
            )
    for barcode, item in batch.items.items():
        if batch.original_items.get(barcode) != item:
            session.execute(update(Item).where(Item.barcode == barcode).values(status=item.status))
    for model, rows in (
        (LedgerEntry, batch.ledger),
        (StaffException, batch.exceptions),
    ):
        if rows:
            session.execute(insert(table(model)), rows)


def _write_loans(session: Session, batch: _Batch) -> None:
    for barcode, loan in batch.loans.items():
        before = batch.original_loans.get(barcode)
        if loan == before:
            continue
        if before is not None:
            session.execute(delete(Loan).where(Loan.item_barcode == barcode))
        if loan is not None:
            session.execute(insert(table(Loan)).values(**_as_dict(loan)))


def _write_holds(session: Session, batch: _Batch) -> None:
    kept = {hold.id: hold for holds in batch.holds.values() for hold in holds}
    for hold_id, hold in batch.original_holds.items():
        if hold_id not in kept:
            session.execute(delete(Hold).where(Hold.id == hold_id))
        elif kept[hold_id].ready != hold.ready:
            session.execute(
                update(Hold).where(Hold.id == hold_id).values(ready=kept[hold_id].ready)
            )


def _as_dict(loan: _Loan) -> dict[str, Any]:
    return {name: getattr(loan, name) for name in _Loan.__slots__}


def _rules_patron(patron: _Patron) -> RulesPatron:
    return RulesPatron(
        patron.patron_id, patron.member_type, patron.expires, patron.barred, patron.owed
    )


def _due(text: str) -> Due:
    if "T" in text:
        return Due.at_time(datetime.fromisoformat(text))
    return Due.end_of(datetime.fromisoformat(text).date())
