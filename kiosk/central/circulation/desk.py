"""Lending at the staff desk (and, later, the portal and SIP2): checkout, return, renewal
and an item's status, decided here with ``kiosk.rules`` against the central database.

A decision the rules allow is then applied by the very code that applies the kiosks'
facts (``apply.Applying``): the same loan, hold, ledger and change-log rows, the same
transaction table. What differs is the order: a kiosk decided offline and the server
accepts the fact; here the server decides first and refuses what the rules refuse, so
nothing decided here ever becomes a staff exception.

Each call takes a transaction id, fixed when the form was drawn: a form sent twice
(a double click, a reload) finds its transaction applied and answers as the first did.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, cast

from sqlalchemy import bindparam, literal, select
from sqlalchemy.orm import Session

from kiosk.central import audit, database
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.apply import (
    FOUND_STATUSES,
    IN_TRANSIT,
    Applying,
    Batch,
    finish_batch,
    read_batch,
    rules_loan,
)
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.circulation.policy import VERSION_IN_FORCE, PolicyCache
from kiosk.central.errors import CentralError
from kiosk.central.models import AppliedTransaction, Loan
from kiosk.rules import (
    Policy,
    Refusal,
    assess_fault,
    assess_return,
    decide_checkout,
    decide_renewal,
    route_return,
)
from kiosk.rules.model import AVAILABLE
from kiosk.sync.protocol import Entity, EntryKind, WireEntry

Action = Literal["checkout", "return", "renew", "status"]
ZERO = Decimal("0.00")
_CODE = re.compile(r"[\x21-\x7e]{1,32}")
_TRANSACTION = re.compile(r"[A-Za-z0-9:._-]{1,64}")
# The policy's version and the transaction of that id, if there is one (from one row,
# so that the version comes without it): ``_Desk.earlier``.
_EARLIER = (
    select(VERSION_IN_FORCE, AppliedTransaction)
    .select_from(select(literal(1).label("one")).subquery("one_row"))
    .outerjoin(AppliedTransaction, AppliedTransaction.id == bindparam("transaction_id"))
)

# Stock statuses staff may set without a charge; the policy's fault charges add theirs.
PLAIN_STATUSES: dict[str, str] = {
    "available": "Available (found, repaired, back in stock)",
    "missing": "Missing (not where it should be)",
    "withdrawn": "Withdrawn (taken out of stock)",
    "in_repair": "In repair",
}
# An item recorded as gone leaves its borrower's loans: they no longer hold it, and are
# charged for it where the policy says so. Should it come back, a return finds it.
CLOSES_LOAN = ("lost", "missing", "withdrawn")


@dataclass(frozen=True, slots=True)
class LoanAnswer:
    """What the desk did with one scan, for staff to read out."""

    action: Action
    transaction_id: str
    item_barcode: str
    title: str
    done: bool
    duplicate: bool = False  # the same form, sent before: done then, not again now
    refusals: tuple[Refusal, ...] = ()
    patron_id: str | None = None
    due: str | None = None  # the loan's due date, as the kiosks write it
    fine: Decimal = ZERO
    route: str | None = None  # "hold_shelf", "shelf" or "transfer", after a return
    destination: str | None = None  # the branch a transfer goes to
    ready_for: str | None = None  # the patron the item now waits for on the hold shelf
    status: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class StatusChoice:
    value: str  # a fault charge's code, or a plain status
    label: str
    status: str
    charge: Decimal | None  # None: no charge


def new_transaction_id() -> str:
    """A fresh id for a desk transaction, put in the form when it is drawn."""
    return f"desk-{uuid.uuid4().hex}"


def status_choices(policy: Policy | None) -> list[StatusChoice]:
    """What staff may set an item to: the policy's fault charges, then the plain statuses."""
    choices = []
    if policy is not None:
        choices += [
            StatusChoice(
                code,
                f"{charge.name}: charge {charge.amount} (at most the item's price) to the borrower",
                charge.status,
                charge.amount,
            )
            for code, charge in sorted(policy.fault_charges.items())
        ]
    return choices + [
        StatusChoice(status, label, status, None) for status, label in PLAIN_STATUSES.items()
    ]


@dataclass
class _Desk:
    """One desk transaction: its locks taken and what it touches read."""

    db: Session
    policies: PolicyCache
    barcode: str
    now: datetime
    actor: Actor
    transaction_id: str
    log: ChangeLog = field(init=False)
    policy_version: str | None = field(init=False)
    batch: Batch = field(init=False)
    policy: Policy = field(init=False)

    @classmethod
    def open(  # noqa: PLR0917 - the six things every desk transaction starts from
        cls,
        db: Session,
        policies: PolicyCache,
        barcode: str,
        now: datetime,
        actor: Actor,
        transaction_id: str | None,
    ) -> _Desk:
        barcode = barcode.strip()
        if not _CODE.fullmatch(barcode):
            raise CentralError("that is not a barcode: scan the item's label or type its number")
        transaction_id = transaction_id or new_transaction_id()
        if not _TRANSACTION.fullmatch(transaction_id):
            raise CentralError("the form's transaction id is not valid: reload the page")
        return cls(db, policies, barcode, now, actor, transaction_id)

    def earlier(self) -> AppliedTransaction | None:
        """This transaction, if it was applied before; locks the item first. Reads the
        policy's version in the same statement, for ``read``."""
        self.log = ChangeLog(self.db)
        self.log.lock_items([self.barcode])
        self.policy_version, found = self.db.execute(
            _EARLIER, {"transaction_id": self.transaction_id}
        ).one()
        return cast(AppliedTransaction | None, found)

    def read(self, patron_ids: set[str], *, known_item: bool = True, late: bool = False) -> None:
        """What the transaction touches; an item not in the catalogue is refused, unless
        ``known_item`` is False (a device's fact about it is kept all the same)."""
        policy = self.policies.at_version(self.db, self.policy_version)
        if policy is None:
            raise CentralError("no lending policy is in force: import one first")
        self.policy = policy
        self.batch = read_batch(self.db, {self.barcode}, patron_ids, self.log, late_facts=late)
        if known_item and self.barcode not in self.batch.items:
            raise CentralError(f"no item has barcode {self.barcode}")

    def applying(self, branch: str | None = None) -> Applying:
        return Applying(
            self.batch,
            self.log,
            self.policy,
            None,
            self.now,
            actor=self.actor.username,
            branch=branch,
            recorded_at=branch if branch is not None else self.actor.branch,
        )

    def title(self) -> str:
        item = self.batch.items.get(self.barcode)
        return item.title if item is not None else ""

    def entry(self, kind: EntryKind, **fields: Any) -> WireEntry:
        return WireEntry(
            id=self.transaction_id,
            seq=1,  # a kiosk's journal number; the desk's transactions are recorded as 0
            kind=kind,
            decided_at=self.now,
            item_barcode=self.barcode,
            details={"via": self.actor.channel, **fields.pop("details", {})},
            **{
                "patron_id": None,
                "charged": ZERO,
                "status_after": "",
                "loan_patron_id": None,
                "loan_member_type": None,
                "loan_due": None,
                "loan_renewals": None,
                "fulfilled_hold_of": None,
                **fields,
            },
        )

    def commit(self, action: str, target: str, detail: str) -> None:
        # A device waits on each round trip: the writes go in two (database.pipelined).
        with database.pipelined(self.db):
            finish_batch(self.db, self.batch, self.log, self.now)
            audit.record(
                self.db,
                self.now,
                actor=self.actor.username,
                action=action,
                target=target,
                origin=self.actor.origin,
                detail=detail,
            )
            self.db.commit()


_KINDS: dict[Action, str] = {
    "checkout": "checkout",
    "return": "return",
    "renew": "renew",
    "status": "fault",
}


def _again(found: AppliedTransaction, action: Action, barcode: str) -> LoanAnswer:
    """The answer to a form sent twice: what the first sending did. An id that names
    another kind of transaction, another item or a kiosk's is no second sending but a
    form tampered with or mixed up: refused."""
    if found.kind != _KINDS[action] or found.item_barcode != barcode or found.kiosk_id is not None:
        raise CentralError(
            "the form's transaction id belongs to another transaction: reload the page"
        )
    details = found.details
    return LoanAnswer(
        action,
        found.id,
        found.item_barcode,
        str(details.get("title", "")),
        done=True,
        duplicate=True,
        patron_id=found.patron_id,
        due=details.get("due"),
        fine=found.charged,
        route=details.get("route"),
        ready_for=details.get("ready_for"),
        status=details.get("status"),
        note="loan closed" if details.get("closed") else "",
    )


def _patron(desk: _Desk, patron_id: str) -> Any:
    patron = desk.batch.patrons.get(patron_id)
    if patron is None:
        raise CentralError("no such patron: find them again with the search")
    if patron.member_type not in desk.policy.member_types:
        if patron_id in desk.batch.pending:
            raise CentralError(
                "this registration is waiting for approval (Pending registrations): "
                "approve it with a member type before lending to it"
            )
        raise CentralError(
            f"the policy in force has no member type {patron.member_type}: "
            "change the patron's member type or the policy"
        )
    return patron


def _known_item(desk: _Desk) -> Any:
    item = desk.batch.items[desk.barcode]
    if item.publication_type not in desk.policy.publication_types:
        raise CentralError(
            f"the policy in force has no publication type {item.publication_type}: "
            "change the record or the policy"
        )
    return item


def checkout(
    db: Session,
    policies: PolicyCache,
    *,
    patron_id: str,
    barcode: str,
    now: datetime,
    actor: Actor,
    transaction_id: str | None = None,
) -> LoanAnswer:
    """Lend the item to the patron if the rules allow it; else say every reason why not."""
    desk = _Desk.open(db, policies, barcode, now, actor, transaction_id)
    try:
        if (found := desk.earlier()) is not None:
            return _again(found, "checkout", desk.barcode)
        desk.read({patron_id})
        patron, item = _patron(desk, patron_id), _known_item(desk)
        applying = desk.applying()
        loan = desk.batch.loans.get(desk.barcode)
        decision = decide_checkout(
            desk.policy,
            desk.batch.rules_patron(patron),
            desk.batch.held_types(patron_id, desk.barcode),
            applying.rules_item(item, on_loan=loan is not None),
            now,
        )
        title = desk.title()
        if not decision.allowed or decision.due is None:
            db.rollback()
            return LoanAnswer(
                "checkout",
                desk.transaction_id,
                desk.barcode,
                title,
                done=False,
                refusals=decision.refusals,
                patron_id=patron_id,
            )
        due = decision.due.isoformat()
        applying.apply(
            desk.entry(
                "checkout",
                patron_id=patron_id,
                loan_patron_id=patron_id,
                loan_member_type=patron.member_type,
                loan_due=due,
                loan_renewals=0,
                details={"title": title[:200], "due": due},
            )
        )
        desk.commit("loan.checkout", f"item {desk.barcode}", f"patron {patron_id}, due {due}")
    except BaseException:
        db.rollback()
        raise
    return LoanAnswer(
        "checkout",
        desk.transaction_id,
        desk.barcode,
        title,
        done=True,
        patron_id=patron_id,
        due=due,
    )


def check_in(
    db: Session,
    policies: PolicyCache,
    *,
    barcode: str,
    now: datetime,
    actor: Actor,
    transaction_id: str | None = None,
    branch: str | None = None,
) -> LoanAnswer:
    """Take the item back at ``branch`` (None: a desk of no known branch): close its loan
    with the fine the rules charge, and send it to the hold shelf when someone is waiting
    for it, else to its home branch when that is another. An item that was not on loan is
    only checked in when that changes something (it was lost or missing, it arrives
    from another branch, or a hold waits)."""
    desk = _Desk.open(db, policies, barcode, now, actor, transaction_id)
    try:
        if (found := desk.earlier()) is not None:
            return _again(found, "return", desk.barcode)
        desk.read(set())
        item = desk.batch.items[desk.barcode]
        title = desk.title()
        loan = desk.batch.loans.get(desk.barcode)
        applying = desk.applying(branch)
        arriving = item.row.status == IN_TRANSIT
        # Where it goes once back: a trap already set, else who the return traps it for,
        # else its home branch or the shelf (an arriving copy is available again first).
        once_back = replace(
            applying.rules_item(item, on_loan=False),
            status=AVAILABLE if arriving else item.row.status,
        )
        routing = route_return(once_back, branch)
        ready_for, destination, route = (
            routing.trapped_for,
            routing.destination,
            routing.route.value,
        )
        trapped = once_back.trapped_for is not None
        if (
            loan is None
            and not arriving
            and item.row.status not in FOUND_STATUSES
            and (trapped or not ready_for)
        ):
            db.rollback()
            return LoanAnswer(
                "return",
                desk.transaction_id,
                desk.barcode,
                title,
                done=False,
                route=route,
                ready_for=ready_for,
                note="not on loan: nothing to check in",
            )
        fine = _return_fine(desk, applying, now)
        patron_id = loan.row.patron_id if loan is not None else None
        applying.apply(
            desk.entry(
                "return",
                patron_id=patron_id,
                charged=fine,
                details={
                    "title": title[:200],
                    "route": route,
                    **({"ready_for": ready_for} if ready_for else {}),
                    **({"destination": destination} if destination else {}),
                },
            )
        )
        detail = f"fine {fine}" + (f", patron {patron_id}" if patron_id else ", was not on loan")
        desk.commit("loan.return", f"item {desk.barcode}", detail)
    except BaseException:
        db.rollback()
        raise
    return LoanAnswer(
        "return",
        desk.transaction_id,
        desk.barcode,
        title,
        done=True,
        patron_id=patron_id,
        fine=fine,
        route=route,
        destination=destination,
        ready_for=ready_for,
        note="" if loan is not None else "arrived" if arriving else "was not on loan",
    )


def renew(
    db: Session,
    policies: PolicyCache,
    *,
    patron_id: str,
    barcode: str,
    now: datetime,
    actor: Actor,
    transaction_id: str | None = None,
) -> LoanAnswer:
    """Renew the patron's loan of the item if the rules allow it, charging the fine
    accrued so far; else say every reason why not."""
    desk = _Desk.open(db, policies, barcode, now, actor, transaction_id)
    try:
        if (found := desk.earlier()) is not None:
            return _again(found, "renew", desk.barcode)
        desk.read({patron_id})
        patron, item = _patron(desk, patron_id), _known_item(desk)
        loan = desk.batch.loans.get(desk.barcode)
        title = desk.title()
        if loan is None or loan.row.patron_id != patron_id:
            raise CentralError(f"item {desk.barcode} is not on loan to this patron")
        applying = desk.applying()
        decision = decide_renewal(
            desk.policy,
            desk.batch.rules_patron(patron),
            rules_loan(loan),
            applying.rules_item(item, on_loan=True),
            now,
        )
        if not decision.allowed or decision.due is None:
            db.rollback()
            return LoanAnswer(
                "renew",
                desk.transaction_id,
                desk.barcode,
                title,
                done=False,
                refusals=decision.refusals,
                patron_id=patron_id,
                due=loan.row.due,
            )
        due = decision.due.isoformat()
        applying.apply(
            desk.entry(
                "renew",
                patron_id=patron_id,
                charged=decision.fine,
                loan_due=due,
                loan_renewals=loan.row.renewals + 1,
                details={"title": title[:200], "due": due},
            )
        )
        desk.commit(
            "loan.renew",
            f"item {desk.barcode}",
            f"patron {patron_id}, due {due}, fine {decision.fine}",
        )
    except BaseException:
        db.rollback()
        raise
    return LoanAnswer(
        "renew",
        desk.transaction_id,
        desk.barcode,
        title,
        done=True,
        patron_id=patron_id,
        due=due,
        fine=decision.fine,
    )


def set_item_status(
    db: Session,
    policies: PolicyCache,
    *,
    barcode: str,
    choice: str,
    now: datetime,
    actor: Actor,
    note: str = "",
    transaction_id: str | None = None,
) -> LoanAnswer:
    """Record the item as lost, damaged, missing, withdrawn, available...: ``choice`` is
    one of ``status_choices``. A fault charge is levied on the borrower when the item is
    on loan (an item on the shelf has no one to charge); an item recorded as gone
    (``CLOSES_LOAN``) leaves its borrower's loans."""
    desk = _Desk.open(db, policies, barcode, now, actor, transaction_id)
    note = note.strip()[:200]
    try:
        if (found := desk.earlier()) is not None:
            return _again(found, "status", desk.barcode)
        desk.read(set())
        chosen = {option.value: option for option in status_choices(desk.policy)}.get(choice)
        if chosen is None:
            raise CentralError("choose what happened to the item from the list")
        item = desk.batch.items[desk.barcode]
        title = desk.title()
        loan = desk.batch.loans.get(desk.barcode)
        applying = desk.applying()
        borrower = loan.row.patron_id if loan is not None else None
        charge = ZERO
        if chosen.charge is not None and borrower is not None:
            charge = assess_fault(
                desk.policy, chosen.value, applying.rules_item(item, on_loan=True)
            ).charge
        # Charging twice for one fault (a second "damaged") is a slip, not a new fault.
        if item.row.status == chosen.status:
            raise CentralError(f"item {desk.barcode} is recorded as {chosen.status} already")
        closed = loan is not None and chosen.status in CLOSES_LOAN
        # Back in stock and on the shelf: it waits for the first in its queue (or its
        # record's), as a return would have sent it to the hold shelf.
        shelved = chosen.status == "available" and loan is None
        ready_for = None
        if shelved and applying.rules_item(item, on_loan=False).trapped_for is None:
            ready_for = applying.waits_for(item, status=chosen.status)
        applying.apply(
            desk.entry(
                "fault",
                patron_id=borrower,
                charged=charge,
                status_after=chosen.status,
                details={
                    "title": title[:200],
                    "status": chosen.status,
                    "note": note,
                    "closed": closed,
                    **({"ready_for": ready_for} if ready_for else {}),
                },
            )
        )
        if closed:
            desk.batch.loans[desk.barcode] = None
            desk.log.remove(Entity.LOAN, desk.barcode)
        if ready_for:
            applying.trap(desk.batch.items[desk.barcode])
        detail = f"{chosen.status}, charge {charge}" + (f", patron {borrower}" if borrower else "")
        desk.commit("item.status", f"item {desk.barcode}", f"{detail}; {note}" if note else detail)
    except BaseException:
        db.rollback()
        raise
    return LoanAnswer(
        "status",
        desk.transaction_id,
        desk.barcode,
        title,
        done=True,
        patron_id=borrower,
        fine=charge,
        status=chosen.status,
        ready_for=ready_for,
        note="loan closed" if closed else "",
    )


def transaction(db: Session, transaction_id: str) -> AppliedTransaction | None:
    return db.scalar(select(AppliedTransaction).where(AppliedTransaction.id == transaction_id))


_SENT = select(AppliedTransaction.id)
# What ``renews_own_loan`` decides from, as columns for the caller's own statement (a
# device waits on each), built once: whether the checkout (parameter ``checkout_id``)
# and the renewal (``renewal_id``) were applied, and who has the item (``barcode``).
OWN_LOAN_FACTS = (
    _SENT.where(AppliedTransaction.id == bindparam("checkout_id")).exists(),
    _SENT.where(AppliedTransaction.id == bindparam("renewal_id")).exists(),
    select(Loan.patron_id).where(Loan.item_barcode == bindparam("barcode")).scalar_subquery(),
)


def renews_own_loan(
    patron_id: str, lent_before: bool, renewed_before: bool, borrower: str | None
) -> bool:
    """Whether a device's checkout is the patron's renewal of their own loan: it is not
    the checkout sent again (answered as it was, whatever the loan is now), and the
    renewal was sent before or the patron has the item (``OWN_LOAN_FACTS``)."""
    return not lent_before and (renewed_before or borrower == patron_id)


def record_offline(
    db: Session,
    policies: PolicyCache,
    *,
    kind: Literal["checkout", "return", "renew"],
    barcode: str,
    patron_id: str | None,
    decided_at: datetime,
    due: str | None,
    now: datetime,
    actor: Actor,
    source: str,
    transaction_id: str,
    card: str | None = None,
    branch: str | None = None,
) -> LoanAnswer:
    """A loan or a return a device already made on its own (SIP2's "no block"): a
    physical fact, applied as a kiosk's is, at ``decided_at``; what the rules would
    refuse becomes an exception from ``source`` for staff. ``due`` is the device's due
    date for a loan; without one the rules' own, else the day it was lent (staff see
    the exception). ``card`` is the card the device read, for a loan to a card no patron
    has (``patron_id`` None): the exception names it, so staff can find who has it.
    ``branch``: where a return was made (None: nowhere known), as for ``check_in``."""
    desk = _Desk.open(db, policies, barcode, now, actor, transaction_id)
    action: Action = kind
    try:
        if (found := desk.earlier()) is not None:
            return _again(found, action, desk.barcode)
        # The fact stands even for an item not in the catalogue: staff see it as an
        # exception (the book left, or came back, all the same).
        desk.read({patron_id} if patron_id else set(), known_item=False, late=True)
        applying = Applying(
            desk.batch,
            desk.log,
            desk.policy,
            None,
            now,
            actor=actor.username,
            source=source,
            branch=branch,
            recorded_at=branch if branch is not None else actor.branch,
        )
        item = desk.batch.items.get(desk.barcode)
        title = desk.title()
        loan = desk.batch.loans.get(desk.barcode)
        fine = ZERO
        if kind == "checkout":
            patron = desk.batch.patrons.get(patron_id or "")
            if (
                due is None
                and patron is not None
                and item is not None
                and _knows(desk.policy, patron, item)
            ):
                decision = decide_checkout(
                    desk.policy,
                    desk.batch.rules_patron(patron),
                    desk.batch.held_types(patron.patron_id, desk.barcode),
                    applying.rules_item(item, on_loan=False),
                    decided_at,
                )
                due = decision.due.isoformat() if decision.due is not None else None
            due = due or decided_at.date().isoformat()
            fields: dict[str, Any] = {
                "patron_id": patron_id,
                "loan_patron_id": patron_id,
                "loan_member_type": patron.member_type if patron is not None else None,
                "loan_due": due,
                "loan_renewals": 0,
            }
        elif kind == "renew":
            fields, due, fine = _offline_renewal(desk, applying, patron_id, decided_at, due)
        else:
            fine = _return_fine(desk, applying, decided_at)
            patron_id = loan.row.patron_id if loan is not None else patron_id
            fields = {"patron_id": patron_id, "charged": fine}
        entry = desk.entry(kind, details={"title": title[:200], "offline": True}, **fields)
        applying.apply(entry.model_copy(update={"decided_at": decided_at}))
        if patron_id is None and card:
            for exception in desk.batch.exceptions:
                if exception["reason"] == "unknown_patron":
                    exception["detail"] = f"card {card[:40]} is no patron's; lent offline"
        holds = desk.batch.holds.get(desk.barcode, [])
        route = None if kind != "return" else ("hold_shelf" if holds else "shelf")
        ready_for = holds[0].patron_id if holds and kind == "return" else None
        # Kept with the transaction, so a device's resend is answered as the first was.
        desk.batch.transactions[-1]["details"] = {
            **entry.details,
            **({"route": route} if kind == "return" else {"due": due}),
            **({"ready_for": ready_for} if ready_for else {}),
        }
        desk.commit(
            f"loan.{kind}", f"item {desk.barcode}", f"offline at {decided_at:%Y-%m-%d %H:%M}"
        )
    except BaseException:
        db.rollback()
        raise
    return LoanAnswer(
        action,
        desk.transaction_id,
        desk.barcode,
        title,
        done=True,
        patron_id=patron_id,
        due=due if kind != "return" else None,
        fine=fine,
        route=route,
        ready_for=ready_for,
        note="; ".join(reason for reason, _ in applying.findings),
    )


def _knows(policy: Policy, patron: Any, item: Any) -> bool:
    return (
        patron.member_type in policy.member_types
        and item.publication_type in policy.publication_types
    )


def _offline_renewal(
    desk: _Desk, applying: Applying, patron_id: str | None, decided_at: datetime, due: str | None
) -> tuple[dict[str, Any], str | None, Decimal]:
    """What a device's own renewal writes: the rules' new period and fine where they allow
    it, else the device's due date (or the loan's own) and no fine; a refusal is the
    exception Applying records."""
    fields: dict[str, Any] = {"patron_id": patron_id}
    fine = ZERO
    loan = desk.batch.loans.get(desk.barcode)
    item = desk.batch.items.get(desk.barcode)
    patron = desk.batch.patrons.get(patron_id or "")
    if loan is None:
        return fields | {"charged": fine}, due, fine
    if patron is not None and item is not None and _knows(desk.policy, patron, item):
        renewal = decide_renewal(
            desk.policy,
            desk.batch.rules_patron(patron),
            rules_loan(loan),
            applying.rules_item(item, on_loan=True),
            decided_at,
        )
        if renewal.due is not None:
            due, fine = due or renewal.due.isoformat(), renewal.fine
    due = due or loan.row.due
    return (
        fields | {"loan_due": due, "loan_renewals": loan.row.renewals + 1, "charged": fine},
        due,
        fine,
    )


def _return_fine(desk: _Desk, applying: Applying, moment: datetime) -> Decimal:
    """The fine for the item's loan coming back at ``moment`` (nothing when it is not on
    loan): by the borrower's member type when lent and the item's type now."""
    loan = desk.batch.loans.get(desk.barcode)
    item = desk.batch.items.get(desk.barcode)
    if loan is None or item is None or item.publication_type not in desk.policy.publication_types:
        return ZERO
    return assess_return(
        desk.policy, rules_loan(loan), applying.rules_item(item, on_loan=True), moment
    ).fine
