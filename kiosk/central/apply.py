"""Applying a kiosk's journal entry on the server: once, and never refusing a physical fact.

The server re-runs the lending rules on its own, newer view of the library. What
they would now refuse (a hold placed meanwhile, a card blocked meanwhile, an
item returned at two drop stations) is applied all the same, because the book
has already left or come back, and recorded as an exception for staff.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
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
)
from kiosk.rules import (
    Due,
    Policy,
    decide_checkout,
    decide_renewal,
    read_policy,
)
from kiosk.rules import (
    Item as RulesItem,
)
from kiosk.rules import (
    Loan as RulesLoan,
)
from kiosk.rules import (
    Patron as RulesPatron,
)
from kiosk.sync.protocol import Entity, Outcome, PushResult, WireEntry

FOUND_STATUSES = ("lost", "missing")


class ForeignEntry(Exception):
    """The entry id was applied for another kiosk: this kiosk may not push it."""


@dataclass
class _Applying:
    """One entry being applied: where, under which policy, and what the server noticed."""

    session: Session
    log: ChangeLog
    policy: Policy | None
    kiosk: Kiosk
    findings: list[tuple[str, str]] = field(default_factory=list)

    def note(self, reason: str, detail: str) -> None:
        self.findings.append((reason, detail))


class PolicyCache:
    """The policy in force, parsed once per version."""

    def __init__(self) -> None:
        self._cached: tuple[str, Policy] | None = None

    def get(self, session: Session) -> Policy | None:
        row = session.get(PolicyVersion, 1)
        if row is None:
            return None
        if self._cached is None or self._cached[0] != row.version:
            self._cached = (row.version, read_policy(row.document))
        return self._cached[1]


def apply_batch(
    session: Session,
    kiosk: Kiosk,
    entries: list[WireEntry],
    now: datetime,
    policies: PolicyCache,
) -> list[PushResult]:
    """Apply a kiosk's entries, in order, in ``session``'s transaction (the caller commits).

    The change counter's lock serialises every writer, so the entries already applied
    are known exactly before any is applied again; the primary key on the entry id
    stays the guarantee: should two writers ever insert one id, the second
    transaction fails whole and its kiosk sends the batch again.
    """
    log = ChangeLog(session)
    log.lock()
    ids = [entry.id for entry in entries]
    earlier = dict(
        session.execute(
            select(AppliedTransaction.id, AppliedTransaction.kiosk_id).where(
                AppliedTransaction.id.in_(ids)
            )
        ).all()
    )
    policy = policies.get(session)
    results = []
    for entry in entries:
        if entry.id in earlier:
            if earlier[entry.id] != kiosk.id:
                raise ForeignEntry(entry.id)
            results.append(PushResult(id=entry.id, outcome=Outcome.DUPLICATE))
            continue
        earlier[entry.id] = kiosk.id
        results.append(_apply(_Applying(session, log, policy, kiosk), entry, now))
    return results


def _apply(applying: _Applying, entry: WireEntry, now: datetime) -> PushResult:
    session, kiosk = applying.session, applying.kiosk
    applied = AppliedTransaction(
        id=entry.id,
        kiosk_id=kiosk.id,
        kiosk_seq=entry.seq,
        kind=entry.kind,
        item_barcode=entry.item_barcode,
        patron_id=entry.patron_id,
        decided_at=entry.decided_at,
        applied_at=now,
        outcome=Outcome.APPLIED.value,
        change_seq=0,
        details=entry.details,
        charged=entry.charged,
    )
    session.add(applied)
    handler = {
        "checkout": _checkout,
        "return": _return,
        "renew": _renew,
        "fault": _fault,
    }[entry.kind]
    handler(applying, entry)
    if entry.charged > 0 and entry.patron_id is not None:
        _charge(applying, entry, now)
    applied.change_seq = applying.log.entry_applied(entry.id, kiosk.id)
    if not applying.findings:
        return PushResult(id=entry.id, outcome=Outcome.APPLIED)
    applied.outcome = Outcome.EXCEPTION.value
    for reason, detail in applying.findings:
        session.add(
            StaffException(
                entry_id=entry.id,
                kiosk_id=kiosk.id,
                reason=reason,
                detail=detail[:400],
                created_at=now,
            )
        )
    return PushResult(
        id=entry.id,
        outcome=Outcome.EXCEPTION,
        reason="; ".join(reason for reason, _ in applying.findings),
    )


def _holds(session: Session, barcode: str) -> list[Hold]:
    return list(
        session.scalars(select(Hold).where(Hold.item_barcode == barcode).order_by(Hold.position))
    )


def _rules_item(session: Session, item: Item, loan: Loan | None) -> RulesItem:
    record = session.get(Record, item.brn)
    return RulesItem(
        publication_type=record.publication_type if record else "",
        status="on_loan" if loan is not None else item.status,
        holds=tuple(hold.patron_id for hold in _holds(session, item.barcode)),
        price=item.price,
    )


def _rules_patron(patron: Patron) -> RulesPatron:
    return RulesPatron(
        patron.patron_id, patron.member_type, patron.expires, patron.barred, patron.owed
    )


def _held_types(session: Session, patron_id: str, excluding: str) -> list[str]:
    rows = session.execute(
        select(Record.publication_type)
        .join(Item, Item.brn == Record.brn)
        .join(Loan, Loan.item_barcode == Item.barcode)
        .where(Loan.patron_id == patron_id, Loan.item_barcode != excluding)
    )
    return [row[0] for row in rows]


def _known_types(policy: Policy | None, patron: Patron, item: RulesItem) -> bool:
    return (
        policy is not None
        and patron.member_type in policy.member_types
        and item.publication_type in policy.publication_types
    )


def _checkout(applying: _Applying, entry: WireEntry) -> None:
    session, log, policy = applying.session, applying.log, applying.policy
    item = session.get(Item, entry.item_barcode)
    if item is None:
        applying.note("unknown_item", f"item {entry.item_barcode} is not in the catalogue")
        return
    patron = session.get(Patron, entry.patron_id) if entry.patron_id else None
    loan = session.get(Loan, entry.item_barcode)
    if patron is None:
        applying.note("unknown_patron", f"patron {entry.patron_id} is not registered")
    elif loan is not None and loan.patron_id != patron.patron_id:
        applying.note(
            "was_on_loan",
            f"item {item.barcode} was on loan to {loan.patron_id}; that loan is closed",
        )
    if patron is not None:
        rules_item = _rules_item(session, item, None)
        if policy is not None and _known_types(policy, patron, rules_item):
            decision = decide_checkout(
                policy,
                _rules_patron(patron),
                _held_types(session, patron.patron_id, item.barcode),
                rules_item,
                entry.decided_at,
            )
            if decision.refusals:
                codes = ",".join(refusal.reason.value for refusal in decision.refusals)
                applying.note(
                    "refused_now",
                    f"the server's rules refuse this checkout ({codes}); it was lent offline",
                )
    if loan is None:
        loan = Loan(item_barcode=item.barcode)
        session.add(loan)
    loan.patron_id = entry.loan_patron_id or entry.patron_id or ""
    loan.member_type = entry.loan_member_type or (patron.member_type if patron else "")
    loan.due = entry.loan_due or ""
    loan.renewals = entry.loan_renewals or 0
    loan.lent_at = entry.decided_at
    loan.kiosk_id = applying.kiosk.id
    session.flush()
    log.loan(loan)
    for hold in _holds(session, item.barcode):
        if hold.patron_id == loan.patron_id:
            session.delete(hold)
            log.remove(Entity.HOLD, str(hold.id))


def _return(applying: _Applying, entry: WireEntry) -> None:
    # The kiosk's fine stands: it is what the patron was told at the drop station.
    session, log = applying.session, applying.log
    item = session.get(Item, entry.item_barcode)
    if item is None:
        applying.note(
            "unknown_item", f"item {entry.item_barcode} came back but is not in the catalogue"
        )
        return
    loan = session.get(Loan, item.barcode)
    if loan is None:
        earlier = session.scalars(
            select(AppliedTransaction)
            .where(
                AppliedTransaction.item_barcode == item.barcode,
                AppliedTransaction.kind == "return",
                AppliedTransaction.id != entry.id,
            )
            .order_by(AppliedTransaction.decided_at.desc())
            .limit(1)
        ).first()
        if earlier is not None:
            applying.note("already_returned", f"item {item.barcode} was already returned")
        else:
            applying.note("not_on_loan", f"item {item.barcode} came back but was not on loan")
    else:
        session.delete(loan)
        log.remove(Entity.LOAN, item.barcode)
    if item.status in FOUND_STATUSES:
        applying.note("found", f"item {item.barcode} was recorded as {item.status} and came back")
        item.status = "available"
        log.item(item)
    holds = _holds(session, item.barcode)
    if holds and not holds[0].ready:
        holds[0].ready = True
        log.hold(holds[0])


def _renew(applying: _Applying, entry: WireEntry) -> None:
    session, log, policy = applying.session, applying.log, applying.policy
    loan = session.get(Loan, entry.item_barcode)
    if loan is None or loan.patron_id != entry.patron_id:
        applying.note(
            "renewal_without_loan",
            f"item {entry.item_barcode} is not on loan to {entry.patron_id}; nothing renewed",
        )
        return
    patron = session.get(Patron, loan.patron_id)
    item = session.get(Item, loan.item_barcode)
    if policy is not None and patron is not None and item is not None:
        rules_item = _rules_item(session, item, loan)
        if _known_types(policy, patron, rules_item):
            decision = decide_renewal(
                policy,
                _rules_patron(patron),
                RulesLoan(loan.member_type, _due(loan.due), loan.renewals),
                rules_item,
                entry.decided_at,
            )
            if decision.refusals:
                codes = ",".join(refusal.reason.value for refusal in decision.refusals)
                applying.note("refused_now", f"the server's rules refuse this renewal ({codes})")
    loan.due = entry.loan_due or loan.due
    loan.renewals = entry.loan_renewals if entry.loan_renewals is not None else loan.renewals + 1
    log.loan(loan)


def _fault(applying: _Applying, entry: WireEntry) -> None:
    session, log = applying.session, applying.log
    item = session.get(Item, entry.item_barcode)
    if item is None:
        applying.note("unknown_item", f"item {entry.item_barcode} is not in the catalogue")
        return
    item.status = entry.status_after
    log.item(item)


def _charge(applying: _Applying, entry: WireEntry, now: datetime) -> None:
    session, log = applying.session, applying.log
    patron = session.get(Patron, entry.patron_id)
    if patron is None:
        applying.note(
            "unknown_patron", f"{entry.charged} charged to unknown patron {entry.patron_id}"
        )
        return
    kind = "fault" if entry.kind == "fault" else "fine"
    session.add(
        LedgerEntry(
            patron_id=patron.patron_id,
            amount=entry.charged,
            kind=kind,
            entry_id=entry.id,
            at=now,
            note=json.dumps({"item": entry.item_barcode})[:200],
        )
    )
    patron.owed = patron.owed + entry.charged
    log.patron(patron)


def _due(text: str) -> Due:
    if "T" in text:
        return Due.at_time(datetime.fromisoformat(text))
    return Due.end_of(datetime.fromisoformat(text).date())


def owed_total(session: Session, patron_id: str) -> Decimal:
    amounts = session.scalars(select(LedgerEntry.amount).where(LedgerEntry.patron_id == patron_id))
    return sum(amounts, Decimal("0.00"))
