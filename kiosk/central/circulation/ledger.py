"""Money at the desk: a payment taken, a charge waived.

Each is one entry in the patron's ledger (table ``ledger``), signed so that the sum
of a patron's entries is what they owe: fines and fault charges (``apply._charge``)
are positive, a payment or a waiver negative. The patron's ``owed`` goes down by the
same amount, the patron enters the change log (every kiosk's mirror shows the new
balance after one sync), and the change is audited with who made it, in one commit.

Each carries a transaction id fixed when the form was shown (the desk's
``new_transaction_id``, as a loan's form does), kept as the entry's ``entry_id``: the
same form sent twice is applied once, and the second answer says it was done already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import audit
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.desk import new_transaction_id
from kiosk.central.circulation.patrons import MAX_REASON, PatronRefused, changing
from kiosk.central.gateway.outbox import queue_payment
from kiosk.central.models import LedgerEntry, Patron
from kiosk.common.money import CENT
from kiosk.rules import Due, Policy, assess_return
from kiosk.rules import Item as RulesItem
from kiosk.rules import Loan as RulesLoan

Kind = Literal["payment", "waiver"]
CHARGES = ("fine", "fault")  # the kinds of entry a waiver may name
_TRANSACTION = re.compile(r"[A-Za-z0-9_-]{8,64}")
_AMOUNT = re.compile(r"[0-9]{1,9}(\.[0-9]*)?|\.[0-9]+")


@dataclass(frozen=True, slots=True)
class LedgerResult:
    """The entry made (or made before, by the same form: ``repeated``) and what the
    patron owes now."""

    entry_id: int
    transaction_id: str
    kind: Kind
    amount: Decimal  # as entered in the ledger: negative
    owed: Decimal
    repeated: bool


def read_form(kind: Kind, amount: str, reason: str) -> Decimal:
    """The amount staff typed ("2.50", "£2.50", "2") for a payment or a waiver, every
    problem of the form (the amount, a waiver's missing reason) raised at once."""
    problems: dict[str, str] = {}
    cleaned = amount.strip().lstrip("£$€").replace(",", "")
    # Digits and a point only: no sign, exponent, NaN or Infinity reaches Decimal.
    value = Decimal(cleaned) if _AMOUNT.fullmatch(cleaned) else Decimal("NaN")
    _check(kind, value, reason, problems)
    if problems:
        raise PatronRefused(problems)
    return value


def _check(kind: Kind, amount: Decimal, reason: str, problems: dict[str, str]) -> None:
    if not amount.is_finite():
        problems["amount"] = "Enter an amount such as 2.50"
    elif amount <= 0:
        problems["amount"] = "The amount must be more than 0"
    elif amount != amount.quantize(CENT):
        problems["amount"] = "The amount must have no more than two decimals"
    text = " ".join(reason.split())
    if kind == "waiver" and not text:
        problems["reason"] = "Say why the charge is waived"
    elif len(text) > MAX_REASON:
        problems["reason"] = f"The reason must be {MAX_REASON} characters or fewer"


def pay(  # noqa: PLR0917 - the decision path's one shape: db, whom, what, why, when, who
    db: Session,
    patron_id: str,
    amount: Decimal,
    reason: str,
    now: datetime,
    actor: Actor,
    transaction_id: str | None = None,
) -> LedgerResult:
    """Take a payment of ``amount`` (at most what the patron owes) towards their balance;
    ``reason`` (how it was paid, a receipt number) may be empty."""
    return _enter(
        db,
        patron_id,
        amount,
        reason=reason,
        now=now,
        actor=actor,
        kind="payment",
        transaction_id=transaction_id,
        charge_id=None,
    )


def waive(  # noqa: PLR0917 - as pay, and which charge
    db: Session,
    patron_id: str,
    amount: Decimal,
    reason: str,
    now: datetime,
    actor: Actor,
    ledger_entry_id: int | None = None,
    transaction_id: str | None = None,
) -> LedgerResult:
    """Waive ``amount`` of what the patron owes, for ``reason`` (required); with
    ``ledger_entry_id``, of that one charge (a fine or fault of theirs), at most its
    amount."""
    return _enter(
        db,
        patron_id,
        amount,
        reason=reason,
        now=now,
        actor=actor,
        kind="waiver",
        transaction_id=transaction_id,
        charge_id=ledger_entry_id,
    )


def _note(reason: str, charge: LedgerEntry | None) -> str:
    text = " ".join(reason.split())
    return (f"charge {charge.id}: {text}" if charge is not None else text)[:MAX_REASON]


def _charge(
    db: Session, patron_id: str, charge_id: int | None, amount: Decimal
) -> LedgerEntry | None:
    if charge_id is None:
        return None
    charge = db.get(LedgerEntry, charge_id)
    if charge is None or charge.patron_id != patron_id or charge.kind not in CHARGES:
        raise PatronRefused({"charge": "That charge is not one of this patron's fines or fees"})
    if amount > charge.amount:
        raise PatronRefused({"amount": f"The amount is more than the charge ({charge.amount})"})
    return charge


def _enter(
    db: Session,
    patron_id: str,
    amount: Decimal,
    *,
    reason: str,
    now: datetime,
    actor: Actor,
    kind: Kind,
    transaction_id: str | None,
    charge_id: int | None,
) -> LedgerResult:
    problems: dict[str, str] = {}
    _check(kind, amount, reason, problems)
    if transaction_id is None:
        transaction_id = new_transaction_id()
    elif not _TRANSACTION.fullmatch(transaction_id):
        problems["transaction"] = "The form was not this console's: open it again"
    if problems:
        raise PatronRefused(problems)
    with changing(db, patron_id) as (log, patron):
        done = _done(db, patron, transaction_id)
        if done is not None:
            if done.kind != kind:
                raise PatronRefused({"transaction": "The form was used already: open it again"})
            db.rollback()
            return LedgerResult(done.id, transaction_id, kind, done.amount, patron.owed, True)
        charge = _charge(db, patron_id, charge_id, amount)
        note = _note(reason, charge)
        if amount > patron.owed:
            raise PatronRefused(
                {"amount": f"The amount is more than the patron owes ({patron.owed})"}
            )
        entry = LedgerEntry(
            patron_id=patron_id,
            amount=-amount,
            kind=kind,
            entry_id=transaction_id,
            at=now,
            note=note,
        )
        db.add(entry)
        patron.owed -= amount
        db.flush()
        if log.patron(patron) is None and kind == "payment":
            # A registration staff have not approved enters no patron change, yet the
            # payment needs its own number all the same.
            log.marker(transaction_id)
        if kind == "payment":
            # Numbered now rather than at the commit: the payment's place among the
            # transactions relayed to the library's own system is its change's.
            seq = log.write()
            assert seq is not None
            queue_payment(db.connection(), seq, transaction_id, patron_id, amount, now)
        verb = "paid" if kind == "payment" else "waived"
        of_charge = f" of charge {charge.id}" if charge is not None else ""
        audit.record(
            db,
            now,
            actor=actor.username,
            action=f"patron.{kind}",
            target=f"patron {patron_id}",
            origin=actor.origin,
            detail=f"{amount} {verb}{of_charge}: ledger entry {entry.id}",
        )
        result = LedgerResult(entry.id, transaction_id, kind, entry.amount, patron.owed, False)
    db.commit()
    return result


def _done(db: Session, patron: Patron, transaction_id: str) -> LedgerEntry | None:
    """The patron's entry this transaction made before, if any (the patron's index)."""
    return db.scalar(
        select(LedgerEntry).where(
            LedgerEntry.patron_id == patron.patron_id, LedgerEntry.entry_id == transaction_id
        )
    )


def fine_so_far(  # noqa: PLR0917 - a loan as the rules read it, and when
    policy: Policy,
    member_type: str,
    due: str,
    renewals: int,
    publication_type: str,
    moment: datetime,
) -> Decimal:
    """The fine a loan would owe coming back at ``moment``, as the rules reckon it (an
    overdue notice says it): the decision path's reckoning, not the notices' own."""
    if publication_type not in policy.publication_types:
        return Decimal("0.00")
    loan = RulesLoan(member_type, Due.fromisoformat(due), renewals)
    return assess_return(policy, loan, RulesItem(publication_type), moment).fine
