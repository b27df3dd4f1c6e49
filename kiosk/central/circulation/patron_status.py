"""A patron's standing as a device asks for it (SIP2's 23 Patron Status and 63 Patron
Information): whether they may borrow and renew, by the rules' own standing refusals
(barred, membership ended, owing more than the member type's fine limit), whether they
hold as many loans as their member type may, their loans, their holds ready and not yet
ready, and the charges that make up what they owe.

Reads only. The lending questions are the rules' (``kiosk.rules``); a SIP2 handler turns
this into the protocol's flags and counts and decides nothing of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central.circulation.holds import QueuedHold, patron_holds
from kiosk.central.circulation.lookup import DeskLoan, desk_patron
from kiosk.central.circulation.patrons import rules_patron
from kiosk.central.models import LedgerEntry, Patron

# The rules' "what stops this patron borrowing anything at all": the very function
# decide_checkout and decide_renewal start from, so a device's status can never say
# otherwise than a checkout would. (kiosk.rules keeps it private; it is pure.)
from kiosk.rules import Policy, Refusal, standing_refusals
from kiosk.rules.reasons import Reason

ZERO = Decimal("0.00")
CHARGE_KINDS = ("fine", "fault")


@dataclass(frozen=True, slots=True)
class Charge:
    """A part of what the patron owes: a fine or fault charge not yet paid or waived
    (the newest charges are taken as the ones still owed), or a balance no entry of the
    ledger explains (``kind`` "balance": one brought in by an import)."""

    kind: str
    amount: Decimal  # what is still owed of it
    item_barcode: str | None
    note: str
    at: datetime | None


@dataclass(frozen=True, slots=True)
class PatronStanding:
    patron_id: str
    first_name: str
    surname: str
    email: str | None
    phone: str | None
    language: str | None  # the kiosks' code: "en", "fr"...
    # What the rules say stops them borrowing (and renewing) anything, in their order;
    # empty when nothing does.
    refusals: tuple[Refusal, ...]
    # The policy in force knows their member type (else nothing can be lent to them).
    known_type: bool
    barred: bool
    expired: bool
    over_fine_limit: bool
    at_loan_limit: bool  # as many loans as the member type's quota allows
    owed: Decimal
    fine_limit: Decimal | None
    loan_limit: int | None  # the member type's quota
    loans: tuple[DeskLoan, ...]  # soonest due first
    holds_ready: tuple[QueuedHold, ...]  # on the hold shelf for them
    holds_waiting: tuple[QueuedHold, ...]  # in a queue, not yet theirs to collect
    charges: tuple[Charge, ...]  # newest first; they add up to ``owed``

    @property
    def may_borrow(self) -> bool:
        return self.known_type and not self.refusals

    @property
    def may_renew(self) -> bool:
        """Renewal starts from the same standing refusals as a checkout."""
        return self.may_borrow

    @property
    def overdue(self) -> tuple[DeskLoan, ...]:
        return tuple(loan for loan in self.loans if loan.overdue)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.surname}".strip()


def patron_standing(
    db: Session, patron_id: str, now: datetime, policy: Policy | None
) -> PatronStanding | None:
    """The patron's standing at ``now`` under ``policy``; None when no patron has the id."""
    patron = db.get(Patron, patron_id)
    found = desk_patron(db, patron_id, now, policy)
    if patron is None or found is None:
        return None
    member = policy.member_types.get(patron.member_type) if policy is not None else None
    refusals: tuple[Refusal, ...] = ()
    if policy is not None and member is not None:
        refusals = tuple(
            standing_refusals(
                policy,
                rules_patron(patron),
                now.date(),
            )
        )
    reasons = {refusal.reason for refusal in refusals}
    loan_limit = member.quota if member is not None else None
    holds = patron_holds(db, patron_id)
    return PatronStanding(
        patron_id=patron.patron_id,
        first_name=patron.first_name,
        surname=patron.surname,
        email=patron.email,
        phone=patron.phone,
        language=patron.language,
        refusals=refusals,
        known_type=member is not None,
        barred=patron.barred,
        expired=Reason.MEMBERSHIP_EXPIRED in reasons,
        over_fine_limit=Reason.FINES_OWED in reasons,
        at_loan_limit=(loan_limit is not None and len(found.loans) >= loan_limit)
        or (patron.pending_loans is not None and len(found.loans) >= patron.pending_loans),
        owed=patron.owed,
        fine_limit=member.fine_limit if member is not None else None,
        loan_limit=loan_limit,
        loans=found.loans,
        holds_ready=tuple(hold for hold in holds if hold.ready),
        holds_waiting=tuple(hold for hold in holds if not hold.ready),
        charges=tuple(_charges(db, patron_id, patron.owed)),
    )


def _charges(db: Session, patron_id: str, owed: Decimal) -> list[Charge]:
    """What the patron owes, as the charges it is made of: the ledger's fines and fault
    charges newest first, until they add up to ``owed`` (a payment is taken to pay the
    oldest first); what no charge explains is one "balance" line."""
    left = owed
    found: list[Charge] = []
    if left <= ZERO:
        return found
    entries = db.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.patron_id == patron_id, LedgerEntry.kind.in_(CHARGE_KINDS))
        .order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc())
    )
    for entry in entries:
        if left <= ZERO:
            break
        if entry.amount <= ZERO:
            continue
        part = min(entry.amount, left)
        found.append(Charge(entry.kind, part, _item(entry.note), entry.note, entry.at))
        left -= part
    if left > ZERO:
        found.append(Charge("balance", left, None, "balance", None))
    return found


def _item(note: str) -> str | None:
    """The item a fine's note names (``apply`` writes "item BARCODE")."""
    if note.startswith("item ") and len(note.split()) == 2:
        return note.split()[1]
    return None
