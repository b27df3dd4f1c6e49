"""Payments and waivers at the desk, on SQLite and PostgreSQL: one ledger entry each,
negative so that the ledger sums to what is owed; the balance goes down and reaches the
kiosks through the change log; audited with the actor; one transaction id applied once,
even sent twice at the same moment; every refusal clear."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.ledger import LedgerResult, pay, read_form, waive
from kiosk.central.circulation.patrons import PatronRefused, UnknownPatron
from kiosk.central.models import AuditEntry, Change, LedgerEntry, Patron
from kiosk.sync.protocol import PIN_STATE_FIELDS, PatronRow
from tests.central.conftest import NOW

from .test_patrons import ACTOR, seed

# p-ada owes 3.50: a fine of 1.50 (ledger entry 1) and a fault charge of 2.00 (entry 2).
OWED = Decimal("3.50")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = database.connect(database_url)
    database.upgrade(made)
    seed(made)
    yield made
    made.dispose()


def _state(db: Session, patron_id: str = "p-ada") -> tuple[Decimal, Decimal, int, int, int]:
    """What the patron owes, the ledger's sum, and how many ledger entries, changes and
    audit entries there are for them."""
    db.expire_all()
    patron = db.get(Patron, patron_id)
    assert patron is not None
    total = sum(
        db.scalars(select(LedgerEntry.amount).where(LedgerEntry.patron_id == patron_id)),
        Decimal(0),
    )
    entries = db.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.patron_id == patron_id)
    )
    changes = db.scalar(
        select(func.count())
        .select_from(Change)
        .where(Change.entity == "patron", Change.key == patron_id)
    )
    audits = db.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.target == f"patron {patron_id}")
    )
    return patron.owed, total, entries or 0, changes or 0, audits or 0


def _charges(db: Session) -> dict[str, int]:
    return {
        entry.kind: entry.id
        for entry in db.scalars(select(LedgerEntry).where(LedgerEntry.patron_id == "p-ada"))
    }


def test_a_payment_is_one_negative_entry_the_balance_follows_and_kiosks_are_told(
    engine: Engine,
) -> None:
    with Session(engine) as db:
        assert _state(db) == (OWED, OWED, 2, 0, 0)
        paid = pay(db, "p-ada", Decimal("2.00"), "cash", NOW, ACTOR, transaction_id="desk-pay-1")
        assert paid == LedgerResult(
            paid.entry_id, "desk-pay-1", "payment", Decimal("-2.00"), Decimal("1.50"), False
        )
        assert _state(db) == (Decimal("1.50"), Decimal("1.50"), 3, 1, 1)
        entry = db.get(LedgerEntry, paid.entry_id)
        assert entry is not None
        assert (entry.kind, entry.amount, entry.entry_id, entry.at, entry.note) == (
            "payment",
            Decimal("-2.00"),
            "desk-pay-1",
            NOW,
            "cash",
        )
        change = db.scalars(select(Change).where(Change.entity == "patron")).one()
        assert change.key == "p-ada"
        assert change.data is not None
        assert set(change.data) == set(PatronRow.model_fields) - {*PIN_STATE_FIELDS, "has_email"}
        assert change.data["owed"] == "1.50"
        assert "Lovelace" not in str(change.data)
        record = db.scalars(select(AuditEntry)).one()
        assert (record.actor, record.action, record.origin, record.target) == (
            "cyril",
            "patron.payment",
            "192.0.2.7",
            "patron p-ada",
        )
        assert record.detail == f"2.00 paid: ledger entry {paid.entry_id}"
        # The whole of the rest, without a reason.
        rest = pay(db, "p-ada", Decimal("1.5"), "", NOW + timedelta(minutes=1), ACTOR)
        assert rest.transaction_id.startswith("desk-")
        assert _state(db) == (Decimal("0.00"), Decimal("0.00"), 4, 2, 2)


def test_the_same_transaction_is_applied_once(engine: Engine) -> None:
    with Session(engine) as db:
        first = pay(db, "p-ada", Decimal("1.00"), "cash", NOW, ACTOR, transaction_id="desk-again")
        again = pay(db, "p-ada", Decimal("1.00"), "cash", NOW, ACTOR, transaction_id="desk-again")
        assert again.repeated
        assert not first.repeated
        assert (again.entry_id, again.amount, again.owed) == (
            first.entry_id,
            Decimal("-1.00"),
            Decimal("2.50"),
        )
        assert _state(db) == (Decimal("2.50"), Decimal("2.50"), 3, 1, 1)
        # A waiver sent twice, likewise; a payment's id used for a waiver is refused.
        waived = waive(
            db, "p-ada", Decimal("0.50"), "Sorry", NOW, ACTOR, transaction_id="desk-waive"
        )
        assert waive(
            db, "p-ada", Decimal("0.50"), "Sorry", NOW, ACTOR, transaction_id="desk-waive"
        ) == LedgerResult(
            waived.entry_id, "desk-waive", "waiver", Decimal("-0.50"), Decimal("2.00"), True
        )
        with pytest.raises(PatronRefused, match="used already"):
            waive(db, "p-ada", Decimal("0.50"), "Sorry", NOW, ACTOR, transaction_id="desk-again")
        assert _state(db) == (Decimal("2.00"), Decimal("2.00"), 4, 2, 2)


def test_the_same_transaction_sent_twice_at_once_is_applied_once(engine: Engine) -> None:
    results: list[Any] = []

    def send() -> None:
        with Session(engine) as db:
            try:
                results.append(
                    pay(
                        db, "p-ada", Decimal("3.00"), "card", NOW, ACTOR, transaction_id="desk-race"
                    )
                )
            except Exception as error:
                results.append(error)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(result.repeated for result in results) == [False, True], results
    with Session(engine) as db:
        assert _state(db) == (Decimal("0.50"), Decimal("0.50"), 3, 1, 1)


def test_a_waiver_needs_a_reason_and_may_name_one_charge(engine: Engine) -> None:
    with Session(engine) as db:
        charges = _charges(db)
        with pytest.raises(PatronRefused) as refused:
            waive(db, "p-ada", Decimal("1.00"), "  ", NOW, ACTOR)
        assert refused.value.problems == {"reason": "Say why the charge is waived"}
        waived = waive(
            db,
            "p-ada",
            Decimal("1.50"),
            "First offence",
            NOW,
            ACTOR,
            ledger_entry_id=charges["fine"],
        )
        entry = db.get(LedgerEntry, waived.entry_id)
        assert entry is not None
        assert (entry.kind, entry.amount, entry.note) == (
            "waiver",
            Decimal("-1.50"),
            f"charge {charges['fine']}: First offence",
        )
        record = db.scalars(select(AuditEntry).where(AuditEntry.action == "patron.waiver")).one()
        assert record.detail == f"1.50 waived of charge {charges['fine']}: ledger entry {entry.id}"
        assert _state(db) == (Decimal("2.00"), Decimal("2.00"), 3, 1, 1)
        # More than the charge; a payment is no charge; another patron's charge.
        with pytest.raises(PatronRefused, match=r"more than the charge \(2.00\)"):
            waive(db, "p-ada", Decimal("2.01"), "x", NOW, ACTOR, ledger_entry_id=charges["fault"])
        for charge in (entry.id, 9999):
            with pytest.raises(PatronRefused, match="not one of this patron's"):
                waive(db, "p-ada", Decimal("0.10"), "x", NOW, ACTOR, ledger_entry_id=charge)
        with pytest.raises(PatronRefused, match="not one of this patron's"):
            waive(db, "p-byron", Decimal("0.10"), "x", NOW, ACTOR, ledger_entry_id=charges["fault"])
        assert _state(db) == (Decimal("2.00"), Decimal("2.00"), 3, 1, 1)


REFUSED = [
    # (amount, reason, transaction id, the fields refused)
    (Decimal("0"), "x", None, {"amount"}),
    (Decimal("-1.00"), "x", None, {"amount"}),
    (Decimal("1.005"), "x", None, {"amount"}),
    (Decimal("NaN"), "x", None, {"amount"}),
    (Decimal("Infinity"), "x", None, {"amount"}),
    (Decimal("3.51"), "x", None, {"amount"}),  # more than owed
    (Decimal("1.00"), "x" * 201, None, {"reason"}),
    (Decimal("1.00"), "x", "short", {"transaction"}),
    (Decimal("1.00"), "x", "desk-<script>", {"transaction"}),
    (Decimal("-1"), "x" * 201, "a b", {"amount", "reason", "transaction"}),
]


@pytest.mark.parametrize("kind", ["payment", "waiver"])
def test_refusals_say_what_is_wrong_and_change_nothing(engine: Engine, kind: str) -> None:
    enter = pay if kind == "payment" else waive
    with Session(engine) as db:
        for amount, reason, transaction, fields in REFUSED:
            with pytest.raises(PatronRefused) as refused:
                enter(db, "p-ada", amount, reason, NOW, ACTOR, transaction_id=transaction)
            assert set(refused.value.problems) == fields, (amount, reason, transaction)
        with pytest.raises(PatronRefused, match=r"more than the patron owes \(3.50\)"):
            enter(db, "p-ada", Decimal("3.51"), "x", NOW, ACTOR)
        with pytest.raises(PatronRefused, match="more than the patron owes"):
            enter(db, "p-byron", Decimal("0.01"), "x", NOW, ACTOR)
        with pytest.raises(UnknownPatron):
            enter(db, "p-nobody", Decimal("1.00"), "x", NOW, ACTOR)
        assert _state(db) == (OWED, OWED, 2, 0, 0)


FORMS = [
    # (kind, amount typed, reason typed, the amount read, or the fields refused)
    ("payment", "2.50", "", Decimal("2.50")),
    ("payment", " £2.50 ", "", Decimal("2.50")),
    ("payment", "2", "", Decimal("2")),
    ("payment", "1,000.00", "", Decimal("1000.00")),
    ("payment", "2.505", "", {"amount"}),
    ("payment", "two", "", {"amount"}),
    ("payment", "", "", {"amount"}),
    ("payment", "1e3", "", {"amount"}),
    ("payment", "NaN", "", {"amount"}),
    ("payment", "Infinity", "", {"amount"}),
    ("payment", ".5", "", Decimal("0.5")),
    ("payment", "٢", "", {"amount"}),  # an Arabic-Indic two: digits are 0-9
    ("payment", "-2", "", {"amount"}),
    ("payment", "+2", "", {"amount"}),
    ("payment", "0", "", {"amount"}),
    ("waiver", "2.50", "", {"reason"}),
    ("waiver", "abc", "", {"amount", "reason"}),
    ("waiver", "0.01", "Goodwill", Decimal("0.01")),
]


def test_the_form_is_read_with_every_problem_at_once() -> None:
    for kind, amount, reason, expected in FORMS:
        if isinstance(expected, Decimal):
            assert read_form(kind, amount, reason) == expected, amount  # type: ignore[arg-type]
        else:
            with pytest.raises(PatronRefused) as refused:
                read_form(kind, amount, reason)  # type: ignore[arg-type]
            assert set(refused.value.problems) == expected, (kind, amount, reason)
