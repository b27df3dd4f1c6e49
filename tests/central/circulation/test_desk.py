"""The desk's decision path on SQLite and PostgreSQL: what the rules allow is applied once,
with the change log and the audit log; what they refuse is refused with every reason and
changes nothing; and a desk checkout racing a kiosk's push for the same item ends with one
loan and nothing lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.apply import apply_batch
from kiosk.central.circulation.desk import (
    LoanAnswer,
    check_in,
    checkout,
    new_transaction_id,
    record_offline,
    renew,
    set_item_status,
    status_choices,
)
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.errors import CentralError
from kiosk.central.models import (
    AppliedTransaction,
    AuditEntry,
    Change,
    Hold,
    Item,
    Kiosk,
    LedgerEntry,
    Loan,
    Patron,
    StaffException,
)
from kiosk.rules import read_policy
from kiosk.sync.protocol import Outcome, WireEntry

from .desk_library import CYRIL, NOW, POLICY, build, lend


@dataclass
class Desk:
    engine: Engine
    policies: PolicyCache

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def checkout(
        self, patron_id: str, barcode: str, transaction_id: str | None = None
    ) -> LoanAnswer:
        with self.session() as db:
            return checkout(
                db,
                self.policies,
                patron_id=patron_id,
                barcode=barcode,
                now=NOW,
                actor=CYRIL,
                transaction_id=transaction_id,
            )

    def count(self, model: type, *where: object) -> int:
        with self.session() as db:
            return db.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]

    def changes(self, entity: str, key: str) -> list[Change]:
        with self.session() as db:
            return list(
                db.scalars(
                    select(Change)
                    .where(Change.entity == entity, Change.key == key)
                    .order_by(Change.seq)
                )
            )


@pytest.fixture
def desk(database_url: str) -> Iterator[Desk]:
    engine, policies = build(database_url)
    yield Desk(engine, policies)
    engine.dispose()


def test_a_checkout_the_rules_allow_is_applied_once_logged_and_audited(desk: Desk) -> None:
    transaction_id = new_transaction_id()
    answer = desk.checkout("ada", "F1", transaction_id)
    assert answer.done
    assert not answer.duplicate
    assert answer.refusals == ()
    assert answer.due == "2026-12-07"  # 14 days from Monday 23 November
    assert answer.title == "Middlemarch"

    again = desk.checkout("ada", "F1", transaction_id)  # the same form sent twice
    assert again.done
    assert again.duplicate
    assert again.due == "2026-12-07"

    with desk.session() as db:
        loan = db.get(Loan, "F1")
        assert loan is not None
        assert loan.patron_id == "ada"
        assert loan.kiosk_id is None
        recorded = db.get(AppliedTransaction, transaction_id)
        assert recorded is not None
        assert (recorded.kind, recorded.actor, recorded.kiosk_id, recorded.outcome) == (
            "checkout",
            "cyril",
            None,
            "applied",
        )
        audited = db.scalars(select(AuditEntry).where(AuditEntry.action == "loan.checkout")).all()
        assert [(entry.actor, entry.target, entry.origin) for entry in audited] == [
            ("cyril", "item F1", "127.0.0.1")
        ]
    assert desk.count(AppliedTransaction) == 1
    # Every kiosk's mirror follows: the loan is in the change log, numbered like the rest.
    [change] = desk.changes("loan", "F1")
    assert change.data is not None
    assert change.data["patron_id"] == "ada"
    assert recorded.change_seq == change.seq


REFUSALS = [
    ("barred patron", "barred", "F1", ["patron_barred"]),
    ("membership over", "lapsed", "F1", ["membership_expired"]),
    ("owes over the limit", "owing", "F1", ["fines_owed"]),
    ("no privilege for the type", "student", "D1", ["no_privilege"]),
    ("waiting for someone else", "ada", "HELD", ["on_hold_for_other"]),
    ("lost item", "ada", "LOST1", ["item_unavailable"]),
    ("every reason at once", "everything", "HELD", [
        "patron_barred", "membership_expired", "fines_owed", "on_hold_for_other",
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "patron_id", "barcode", "reasons"), REFUSALS)
def test_a_checkout_the_rules_refuse_says_every_reason_and_changes_nothing(
    desk: Desk, case: str, patron_id: str, barcode: str, reasons: list[str]
) -> None:
    answer = desk.checkout(patron_id, barcode)
    assert not answer.done, case
    assert [refusal.reason.value for refusal in answer.refusals] == reasons
    assert all(refusal.message for refusal in answer.refusals)  # the kiosk's plain words
    assert desk.count(Loan, Loan.item_barcode == barcode) == 0
    assert desk.count(AppliedTransaction) == 0
    assert desk.count(Change, Change.entity != "policy") == 0


def test_quotas_count_the_patrons_loans_on_the_server(desk: Desk) -> None:
    assert desk.checkout("student", "F1").done
    assert desk.checkout("student", "F2").done
    third = desk.checkout("student", "F3")
    assert [refusal.reason.value for refusal in third.refusals] == ["member_type_quota"]


def test_an_item_on_loan_to_someone_is_refused_and_the_loan_stands(desk: Desk) -> None:
    assert desk.checkout("ben", "F1").done
    answer = desk.checkout("ada", "F1")
    assert [refusal.reason.value for refusal in answer.refusals] == ["item_unavailable"]
    assert "on loan" in answer.refusals[0].message
    with desk.session() as db:
        loan = db.get(Loan, "F1")
        assert loan is not None
        assert loan.patron_id == "ben"


def test_the_patron_a_hold_waits_for_borrows_it_and_the_hold_is_fulfilled(desk: Desk) -> None:
    assert desk.checkout("ben", "HELD").done
    assert desk.count(Hold) == 0
    assert [change.data for change in desk.changes("hold", "1")] == [None]


@pytest.mark.parametrize(
    ("case", "barcode", "message"),
    [
        ("no such item", "NOPE", "no item has barcode NOPE"),
        ("not a barcode", "two words", "not a barcode"),
        ("empty", "  ", "not a barcode"),
    ],
)
def test_a_bad_scan_is_a_clear_error(desk: Desk, case: str, barcode: str, message: str) -> None:
    with pytest.raises(CentralError, match=message):
        desk.checkout("ada", barcode)
    assert desk.count(AppliedTransaction) == 0, case


def test_an_unknown_patron_is_a_clear_error(desk: Desk) -> None:
    with pytest.raises(CentralError, match="no such patron"):
        desk.checkout("nobody", "F1")


def _check_in(desk: Desk, barcode: str, transaction_id: str | None = None) -> LoanAnswer:
    with desk.session() as db:
        return check_in(
            db, desk.policies, barcode=barcode, now=NOW, actor=CYRIL, transaction_id=transaction_id
        )


def _renew(desk: Desk, patron_id: str, barcode: str) -> LoanAnswer:
    with desk.session() as db:
        return renew(db, desk.policies, patron_id=patron_id, barcode=barcode, now=NOW, actor=CYRIL)


def test_a_return_on_time_costs_nothing_and_goes_back_to_the_shelf(desk: Desk) -> None:
    with desk.session() as db:
        lend(db, "F1", "ada", "2026-11-30")
    answer = _check_in(desk, "F1")
    assert (answer.done, answer.fine, answer.route, answer.patron_id) == (
        True,
        Decimal("0.00"),
        "shelf",
        "ada",
    )
    assert desk.count(Loan) == 0
    assert desk.count(LedgerEntry) == 0
    assert [change.data for change in desk.changes("loan", "F1")] == [None]


def test_a_late_return_is_fined_by_the_policy_and_the_balance_follows(desk: Desk) -> None:
    with desk.session() as db:
        lend(db, "F1", "ada", "2026-11-19")  # four days late at 0.50 a day
    answer = _check_in(desk, "F1")
    assert answer.fine == Decimal("2.00")
    with desk.session() as db:
        patron = db.get(Patron, "ada")
        assert patron is not None
        assert patron.owed == Decimal("2.00")
        [entry] = db.scalars(select(LedgerEntry)).all()
        assert (entry.kind, entry.amount, entry.patron_id) == ("fine", Decimal("2.00"), "ada")
    [change] = desk.changes("patron", "ada")
    assert change.data is not None
    assert change.data["owed"] == "2.00"


def test_a_return_someone_waits_for_goes_to_the_hold_shelf_for_them(desk: Desk) -> None:
    with desk.session() as db:
        lend(db, "F4", "ada", "2026-11-30")
        db.add(
            Hold(
                item_barcode="F4",
                patron_id="ben",
                position=1,
                ready=False,
                title="Persuasion",
                placed_at=NOW,
            )
        )
        db.commit()
    answer = _check_in(desk, "F4")
    assert (answer.route, answer.ready_for) == ("hold_shelf", "ben")
    with desk.session() as db:
        hold = db.scalars(select(Hold).where(Hold.item_barcode == "F4")).one()
        assert hold.ready
        assert hold.ready_at == NOW


def test_a_return_of_an_item_not_on_loan_changes_nothing(desk: Desk) -> None:
    answer = _check_in(desk, "F1")
    assert not answer.done
    assert "not on loan" in answer.note
    assert desk.count(AppliedTransaction) == 0


def test_a_lost_item_checked_in_is_available_again(desk: Desk) -> None:
    answer = _check_in(desk, "LOST1")
    assert answer.done
    with desk.session() as db:
        item = db.get(Item, "LOST1")
        assert item is not None
        assert item.status == "available"
    assert desk.count(StaffException) == 0  # staff did it: nothing for staff to look at


def test_a_renewal_is_a_new_period_from_now_and_the_limit_holds(desk: Desk) -> None:
    with desk.session() as db:
        lend(db, "F1", "ada", "2026-11-30")
    first = _renew(desk, "ada", "F1")
    assert (first.done, first.due, first.fine) == (True, "2026-12-07", Decimal("0.00"))
    second = _renew(desk, "ada", "F1")
    assert [refusal.reason.value for refusal in second.refusals] == ["renewal_limit"]
    with desk.session() as db:
        loan = db.get(Loan, "F1")
        assert loan is not None
        assert (loan.due, loan.renewals) == ("2026-12-07", 1)


def test_an_overdue_renewal_charges_the_fine_so_far(desk: Desk) -> None:
    with desk.session() as db:
        lend(db, "F1", "ada", "2026-11-21")
    answer = _renew(desk, "ada", "F1")
    assert answer.done
    assert answer.fine == Decimal("1.00")
    with desk.session() as db:
        patron = db.get(Patron, "ada")
        assert patron is not None
        assert patron.owed == Decimal("1.00")


def test_only_the_borrower_renews(desk: Desk) -> None:
    with desk.session() as db:
        lend(db, "F1", "ada", "2026-11-30")
    with pytest.raises(CentralError, match="not on loan to this patron"):
        _renew(desk, "ben", "F1")


def _status(desk: Desk, barcode: str, choice: str) -> LoanAnswer:
    with desk.session() as db:
        return set_item_status(
            db, desk.policies, barcode=barcode, choice=choice, now=NOW, actor=CYRIL, note="desk"
        )


def test_a_lent_item_marked_lost_charges_the_borrower_at_most_its_price_and_ends_the_loan(
    desk: Desk,
) -> None:
    with desk.session() as db:
        lend(db, "F1", "ada", "2026-11-30")
    answer = _status(desk, "F1", "LOST")
    assert (answer.status, answer.fine, answer.patron_id) == ("lost", Decimal("12.99"), "ada")
    assert answer.note == "loan closed"
    with desk.session() as db:
        assert db.get(Loan, "F1") is None
        item, patron = db.get(Item, "F1"), db.get(Patron, "ada")
        assert item is not None
        assert item.status == "lost"
        assert patron is not None
        assert patron.owed == Decimal("12.99")
        [entry] = db.scalars(select(LedgerEntry)).all()
        assert (entry.kind, entry.amount) == ("fault", Decimal("12.99"))
    assert [change.data["status"] for change in desk.changes("item", "F1") if change.data] == [
        "lost"
    ]


def test_a_damaged_lent_item_stays_on_loan_and_an_item_on_the_shelf_charges_no_one(
    desk: Desk,
) -> None:
    with desk.session() as db:
        lend(db, "F4", "ada", "2026-11-30")
    damaged = _status(desk, "F4", "DAMAGED")
    assert (damaged.fine, damaged.note) == (Decimal("5.00"), "")
    assert desk.count(Loan) == 1
    shelf = _status(desk, "F3", "LOST")
    assert (shelf.fine, shelf.patron_id, shelf.status) == (Decimal("0.00"), None, "lost")
    back = _status(desk, "F3", "available")
    assert back.status == "available"
    with pytest.raises(CentralError, match="available already"):
        _status(desk, "F3", "available")
    with pytest.raises(CentralError, match="choose what happened"):
        _status(desk, "F3", "stolen by pirates")


def test_the_status_choices_are_the_policys_charges_then_the_plain_statuses() -> None:
    choices = status_choices(read_policy(POLICY))
    assert [(choice.value, choice.status, choice.charge) for choice in choices[:2]] == [
        ("DAMAGED", "damaged", Decimal("5.00")),
        ("LOST", "lost", Decimal("20.00")),
    ]
    assert [choice.value for choice in choices[2:]] == [
        "available",
        "missing",
        "withdrawn",
        "in_repair",
    ]
    assert next(choice.value for choice in status_choices(None)) == "available"


def _kiosk_checkout(barcode: str, patron_id: str, entry_id: str) -> WireEntry:
    return WireEntry(
        id=entry_id,
        seq=1,
        kind="checkout",
        decided_at=NOW,
        item_barcode=barcode,
        patron_id=patron_id,
        details={},
        charged=Decimal(0),
        status_after="on_loan",
        loan_patron_id=patron_id,
        loan_member_type="ADULT",
        loan_due="2026-12-07",
        loan_renewals=0,
        fulfilled_hold_of=None,
    )


ROUNDS = 3  # ada and ben may each hold three loans: quotas stay out of the way


def test_a_desk_checkout_racing_a_kiosks_push_for_the_same_item_ends_with_one_loan(
    desk: Desk,
) -> None:
    """The desk lends each item to ada while a kiosk pushes its offline loan of the same
    item to ben, both at once. Whichever comes second sees the first: the desk refuses
    (the item is on loan), or the kiosk's fact is applied anyway (the book has left)
    and recorded as an exception. Never two loans, never a lost transaction."""
    with desk.session() as db:
        add_kiosk(db, "lobby", NOW)
        kiosk = db.scalars(select(Kiosk)).one()
    barcodes = ["F1", "F2", "F3", "F4", "F5", "D1"][:ROUNDS]
    answers: dict[str, LoanAnswer] = {}
    pushed: dict[str, Outcome] = {}
    errors: list[BaseException] = []

    def at_the_desk(barcode: str, start: threading.Barrier) -> None:
        try:
            start.wait()
            answers[barcode] = desk.checkout("ada", barcode)
        except BaseException as error:  # reported below: a thread's error is otherwise lost
            errors.append(error)

    def from_the_kiosk(barcode: str, start: threading.Barrier) -> None:
        try:
            with desk.session() as db:
                start.wait()
                [result] = apply_batch(
                    db,
                    kiosk,
                    [_kiosk_checkout(barcode, "ben", f"lobby:{barcode}")],
                    NOW,
                    desk.policies,
                )
                db.commit()
            pushed[barcode] = result.outcome
        except BaseException as error:
            errors.append(error)

    for barcode in barcodes:
        start = threading.Barrier(2)
        threads = [
            threading.Thread(target=at_the_desk, args=(barcode, start)),
            threading.Thread(target=from_the_kiosk, args=(barcode, start)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    with desk.session() as db:
        loans = {loan.item_barcode: loan.patron_id for loan in db.scalars(select(Loan))}
        exceptions = {row.entry_id: row.reason for row in db.scalars(select(StaffException))}
        transactions = set(db.scalars(select(AppliedTransaction.id)))
    for barcode in barcodes:
        desk_answer = answers[barcode]
        # The kiosk's fact is always applied, and is the loan that stands.
        assert f"lobby:{barcode}" in transactions
        assert loans[barcode] == "ben"
        if desk_answer.done:  # the desk came first: the kiosk's loan replaced it
            assert pushed[barcode] is Outcome.EXCEPTION
            assert exceptions[f"lobby:{barcode}"] == "was_on_loan"
            assert desk_answer.transaction_id in transactions
        else:  # the kiosk came first: the desk saw the loan
            assert pushed[barcode] is Outcome.APPLIED
            assert [r.reason.value for r in desk_answer.refusals] == ["item_unavailable"]
            assert desk_answer.transaction_id not in transactions
    assert len(loans) == len(barcodes)


@pytest.mark.parametrize("first", ["desk", "kiosk"])
def test_whichever_of_the_desk_and_a_kiosk_comes_first_the_other_sees_it(
    desk: Desk, first: str
) -> None:
    """Both orders the race above may take, each for certain."""
    with desk.session() as db:
        add_kiosk(db, "lobby", NOW)
        kiosk = db.scalars(select(Kiosk)).one()

    def push() -> Outcome:
        with desk.session() as db:
            [result] = apply_batch(
                db, kiosk, [_kiosk_checkout("F1", "ben", "lobby:1")], NOW, desk.policies
            )
            db.commit()
        return result.outcome

    if first == "desk":
        assert desk.checkout("ada", "F1").done
        assert push() is Outcome.EXCEPTION
        with desk.session() as db:
            [exception] = db.scalars(select(StaffException)).all()
        assert exception.reason == "was_on_loan"
    else:
        assert push() is Outcome.APPLIED
        refused = desk.checkout("ada", "F1")
        assert [refusal.reason.value for refusal in refused.refusals] == ["item_unavailable"]
    with desk.session() as db:
        loan = db.get(Loan, "F1")
    assert loan is not None
    assert loan.patron_id == "ben"


def test_an_item_found_again_waits_on_the_hold_shelf_for_the_first_in_its_queue(
    desk: Desk,
) -> None:
    with desk.session() as db:
        db.add(
            Hold(
                item_barcode="LOST1",
                patron_id="ben",
                position=1,
                ready=False,
                title="Persuasion",
                placed_at=NOW,
            )
        )
        db.commit()
    answer = _status(desk, "LOST1", "available")
    assert answer.ready_for == "ben"
    with desk.session() as db:
        hold = db.scalars(select(Hold).where(Hold.item_barcode == "LOST1")).one()
    assert hold.ready
    assert hold.ready_at == NOW


def test_a_fault_recorded_twice_is_refused_and_a_form_sent_twice_reads_the_same(
    desk: Desk,
) -> None:
    with desk.session() as db:
        lend(db, "F4", "ada", "2026-11-30")
    _status(desk, "F4", "DAMAGED")
    with pytest.raises(CentralError, match="damaged already"):
        _status(desk, "F4", "DAMAGED")
    with desk.session() as db:
        patron = db.get(Patron, "ada")
    assert patron is not None
    assert patron.owed == Decimal("5.00")  # charged once

    transaction_id = new_transaction_id()
    with desk.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
    answers = []
    for _ in range(2):
        with desk.session() as db:
            answers.append(
                set_item_status(
                    db,
                    desk.policies,
                    barcode="F1",
                    choice="LOST",
                    now=NOW,
                    actor=CYRIL,
                    transaction_id=transaction_id,
                )
            )
    assert [(answer.duplicate, answer.note, answer.fine) for answer in answers] == [
        (False, "loan closed", Decimal("12.99")),
        (True, "loan closed", Decimal("12.99")),
    ]


def test_a_transaction_id_of_another_kind_item_or_kiosk_is_no_second_sending(
    desk: Desk,
) -> None:
    transaction_id = new_transaction_id()
    assert desk.checkout("ada", "F1", transaction_id).done
    with pytest.raises(CentralError, match="belongs to another transaction"):
        desk.checkout("ada", "F2", transaction_id)  # another item
    with pytest.raises(CentralError, match="belongs to another transaction"):
        _check_in(desk, "F1", transaction_id)  # another kind
    with desk.session() as db:
        add_kiosk(db, "lobby", NOW)
        kiosk = db.scalars(select(Kiosk)).one()
        apply_batch(db, kiosk, [_kiosk_checkout("F2", "ben", "lobby:7")], NOW, desk.policies)
        db.commit()
    with pytest.raises(CentralError, match="belongs to another transaction"):
        desk.checkout("ben", "F2", "lobby:7")  # a kiosk's
    assert desk.count(AppliedTransaction) == 2


def _offline(desk: Desk, kind: str, barcode: str, patron_id: str | None, key: str) -> LoanAnswer:
    with desk.session() as db:
        return record_offline(
            db,
            desk.policies,
            kind=kind,  # type: ignore[arg-type]
            barcode=barcode,
            patron_id=patron_id,
            decided_at=NOW - timedelta(hours=2),
            due=None,
            now=NOW,
            actor=Actor("sip2:selfcheck", "127.0.0.1", "sip2"),
            source="sip2:selfcheck",
            transaction_id=key,
        )


def test_a_devices_offline_loan_stands_even_refused_and_staff_see_why(desk: Desk) -> None:
    answer = _offline(desk, "checkout", "F1", "barred", "sip2-1")
    assert answer.done
    assert answer.note == "refused_now"
    assert answer.due == "2026-11-23"  # the rules gave no due date: due the day it was lent
    again = _offline(desk, "checkout", "F1", "barred", "sip2-1")  # the device resends
    assert again.duplicate
    with desk.session() as db:
        loan = db.get(Loan, "F1")
        [exception] = db.scalars(select(StaffException)).all()
        recorded = db.get(AppliedTransaction, "sip2-1")
    assert loan is not None
    assert (loan.patron_id, loan.lent_at) == ("barred", NOW - timedelta(hours=2))
    assert (exception.kiosk_id, exception.source, exception.reason) == (
        None,
        "sip2:selfcheck",
        "refused_now",
    )
    assert recorded is not None
    assert (recorded.outcome, recorded.actor) == ("exception", "sip2:selfcheck")

    allowed = _offline(desk, "checkout", "F2", "ada", "sip2-2")
    assert (allowed.note, allowed.due) == ("", "2026-12-07")


def test_a_devices_offline_return_is_fined_at_its_own_time(desk: Desk) -> None:
    with desk.session() as db:
        lend(db, "F1", "ada", "2026-11-19")
    answer = _offline(desk, "return", "F1", None, "sip2-3")
    assert (answer.fine, answer.patron_id, answer.route) == (Decimal("2.00"), "ada", "shelf")
    stray = _offline(desk, "return", "F2", None, "sip2-4")
    assert stray.note == "not_on_loan"
    with desk.session() as db:
        sources = db.scalars(select(StaffException.source)).all()
    assert sources == ["sip2:selfcheck"]


def test_a_devices_offline_fact_about_an_item_not_in_the_catalogue_is_kept(desk: Desk) -> None:
    answer = _offline(desk, "checkout", "NOT-HERE", "ada", "sip2-5")
    assert answer.done
    assert answer.note == "unknown_item"
    again = _offline(desk, "checkout", "NOT-HERE", "ada", "sip2-5")
    assert again.duplicate
    assert again.due == answer.due
    with desk.session() as db:
        recorded = db.get(AppliedTransaction, "sip2-5")
        [exception] = db.scalars(select(StaffException)).all()
    assert recorded is not None
    assert recorded.outcome == "exception"
    assert exception.reason == "unknown_item"
    assert desk.count(Loan) == 0


def test_a_devices_resent_return_is_answered_as_the_first(desk: Desk) -> None:
    with desk.session() as db:
        lend(db, "F4", "ada", "2026-11-30")
        db.add(
            Hold(
                item_barcode="F4",
                patron_id="ben",
                position=1,
                ready=False,
                title="Persuasion",
                placed_at=NOW,
            )
        )
        db.commit()
    first = _offline(desk, "return", "F4", None, "sip2-6")
    again = _offline(desk, "return", "F4", None, "sip2-6")
    assert (again.duplicate, again.route, again.ready_for) == (True, "hold_shelf", "ben")
    assert (first.route, first.ready_for) == (again.route, again.ready_for)


def test_a_devices_offline_loan_to_an_unknown_card_names_the_card_for_staff(desk: Desk) -> None:
    with desk.session() as db:
        answer = record_offline(
            db,
            desk.policies,
            kind="checkout",
            barcode="F1",
            patron_id=None,
            decided_at=NOW,
            due=None,
            now=NOW,
            actor=Actor("sip2:selfcheck", "127.0.0.1", "sip2"),
            source="sip2:selfcheck",
            transaction_id="sip2-8",
            card="29990000000042",
        )
    assert answer.note == "unknown_patron"
    with desk.session() as db:
        [exception] = db.scalars(select(StaffException)).all()
    assert exception.detail == "card 29990000000042 is no patron's; lent offline"


def test_a_devices_offline_renewal_takes_the_rules_period_and_fine_at_its_time(
    desk: Desk,
) -> None:
    with desk.session() as db:
        lend(db, "F1", "ada", "2026-11-19")  # two hours before NOW it was four days late
    answer = _offline(desk, "renew", "F1", "ada", "sip2-9")
    assert (answer.done, answer.due, answer.fine, answer.note) == (
        True,
        "2026-12-07",
        Decimal("2.00"),
        "",
    )
    with desk.session() as db:
        loan = db.get(Loan, "F1")
    assert loan is not None
    assert (loan.due, loan.renewals) == ("2026-12-07", 1)
    stray = _offline(desk, "renew", "F2", "ada", "sip2-10")  # not on loan to her
    assert stray.note == "renewal_without_loan"
