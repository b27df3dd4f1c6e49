"""Holds on titles on the server, on SQLite and PostgreSQL (lending-rules.md, "Holds on
titles"): placed, refused, moved and cancelled by staff; a copy of the record coming
back (at the desk, from a kiosk's push, by staff putting it back in stock) is trapped
for the first in the record's queue, lent to that patron alone, and a checkout of any
copy by the first in the queue fulfils their hold; a renewal waits for the queue."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.apply import _READ_HOLDS, apply_batch
from kiosk.central.circulation.desk import check_in, checkout, renew, set_item_status
from kiosk.central.circulation.holds import (
    HoldRefused,
    cancel_hold,
    move_hold,
    patron_holds,
    place_hold,
    place_title_hold,
    place_title_hold_by_copy,
    queue,
    title_queue,
)
from kiosk.central.circulation.lookup import record_named, titled
from kiosk.central.circulation.policy import PolicyCache, put_policy
from kiosk.central.errors import CentralError
from kiosk.central.models import AuditEntry, Change, Hold, Item, Kiosk, Loan, Record
from kiosk.sync.protocol import Outcome, WireEntry

from .desk_library import CYRIL, NOW, PATRONS, POLICY, build, lend

MIDDLEMARCH = 1  # copies F1, F2 and HELD (HELD waits for ben, an item hold)
METROPOLIS = 3  # a DVD (copy D1): students have no privilege for DVDs
GONE = 9  # a record whose only copy is lost


@dataclass
class Library:
    engine: Engine
    policies: PolicyCache

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def place(self, patron_id: str, brn: int = MIDDLEMARCH, actor: Actor = CYRIL) -> Hold:
        with self.session() as db:
            return place_title_hold(db, patron_id, brn, NOW, actor)

    def waiting(self, brn: int = MIDDLEMARCH) -> list[tuple[str, int]]:
        with self.session() as db:
            return [(hold.patron_id, hold.position) for hold in title_queue(db, brn)]

    def copy_queue(self, barcode: str) -> list[tuple[str, bool]]:
        with self.session() as db:
            return [(hold.patron_id, hold.ready) for hold in queue(db, barcode)]

    def lend(self, barcode: str, patron_id: str, due: str = "2026-11-30") -> None:
        with self.session() as db:
            lend(db, barcode, patron_id, due)


@pytest.fixture
def library(database_url: str) -> Iterator[Library]:
    engine, policies = build(database_url)
    with engine.begin() as connection:
        connection.execute(
            insert(Record),
            [
                {
                    "brn": GONE,
                    "title": "Lost Cause",
                    "author": "A",
                    "isbn": None,
                    "publication_type": "FICTION",
                }
            ],
        )
        connection.execute(
            insert(Item),
            [
                {
                    "barcode": "LOST9",
                    "brn": GONE,
                    "price": Decimal("1.00"),
                    "status": "lost",
                    "home_location": "Main",
                }
            ],
        )
    yield Library(engine, policies)
    engine.dispose()


def test_a_title_hold_waits_in_its_records_queue_even_with_copies_on_the_shelf(
    library: Library,
) -> None:
    first = library.place("ada")
    with library.session() as db:
        place_title_hold_by_copy(db, "student", "F2", NOW, CYRIL)
    assert library.waiting() == [("ada", 1), ("student", 2)]
    # A copy on the shelf now is not trapped by a hold placed later.
    assert library.copy_queue("F1") == library.copy_queue("F2") == []
    with library.session() as db:
        [mine] = patron_holds(db, "student")
        assert (mine.item_barcode, mine.brn, mine.position, mine.ready) == (None, 1, 2, False)
        assert mine.title == "Middlemarch"
        change = db.scalars(
            select(Change).where(Change.entity == "hold", Change.key == str(first.id))
        ).one()
        assert change.entity == "hold"
        assert change.data is not None
        assert (change.data["brn"], change.data["item_barcode"]) == (MIDDLEMARCH, None)
        audited = db.scalars(select(AuditEntry.target).where(AuditEntry.action == "hold.place"))
        assert list(audited) == ["title 1", "title 1"]


@pytest.mark.parametrize(
    ("case", "patron_id", "brn", "actor", "message"),
    [
        ("twice", "ada", MIDDLEMARCH, CYRIL, "waiting for Middlemarch already"),
        ("a copy on loan to them", "ben", MIDDLEMARCH, CYRIL, "copy of Middlemarch on loan"),
        ("no copy can come back", "ada", GONE, CYRIL, "cannot be held"),
        ("no such record", "ada", 404, CYRIL, "no title has record number 404"),
        ("no such patron", "nobody", MIDDLEMARCH, CYRIL, "no such patron"),
        ("barred, at a device", "barred", MIDDLEMARCH, Actor("sip2:sc", "x", "sip2"), "ask staff"),
    ],
)
def test_a_title_hold_that_cannot_be_is_refused_clearly(
    library: Library, case: str, patron_id: str, brn: int, actor: Actor, message: str
) -> None:
    library.place("ada")
    library.lend("F2", "ben")
    before = library.waiting(brn)
    with pytest.raises(CentralError, match=message):
        library.place(patron_id, brn, actor)
    assert library.waiting(brn) == before, case


PORTAL = Actor("patron student", "127.0.0.1", "portal")
DEVICE = Actor("sip2:sc", "x", "sip2")


@pytest.mark.parametrize("actor", [CYRIL, PORTAL, DEVICE], ids=["desk", "portal", "sip2"])
def test_no_hold_is_placed_for_a_patron_who_may_not_borrow_the_title(
    library: Library, actor: Actor
) -> None:
    """A student may borrow no DVD: a hold (on the title, or on a copy) would leave the
    copy on the hold shelf for someone who may not take it. Refused, whoever asks, in
    the rules' words, with the reasons for a caller that words them itself."""
    library.lend("D1", "ada")  # on loan: the case where a hold would be offered
    with pytest.raises(HoldRefused) as refused:
        library.place("student", METROPOLIS, actor)
    assert refused.value.reason == HoldRefused.NOT_LENDABLE
    assert [r.reason.value for r in refused.value.refusals] == ["no_privilege"]
    assert str(refused.value) == (
        "the patron may not borrow Metropolis, so it can't be held for them: "
        "Student members can't borrow DVD items."
    )
    with library.session() as db, pytest.raises(HoldRefused, match="may not borrow Metropolis"):
        place_hold(db, "student", "D1", NOW, actor)
    assert library.waiting(METROPOLIS) == []
    assert library.copy_queue("D1") == []
    # An adult may: placed.
    library.place("ben", METROPOLIS, actor)
    assert library.waiting(METROPOLIS) == [("ben", 1)]


def test_no_hold_is_placed_once_lending_of_the_type_has_closed(library: Library) -> None:
    closed = {
        **POLICY,
        "publication_types": {
            **POLICY["publication_types"],
            "DVD": {
                "name": "DVD",
                "no_issue_after": "2026-11-01",
            },
        },
    }
    with library.session() as db:
        put_policy(db, closed, NOW)
    with pytest.raises(HoldRefused, match="loans had to be back by 1 November 2026") as refused:
        library.place("ben", METROPOLIS)
    assert [r.reason.value for r in refused.value.refusals] == ["no_issue_after"]
    assert library.waiting(METROPOLIS) == []
    library.place("ada")  # fiction is still lent


def test_a_patron_waits_for_a_copy_or_for_the_title_never_both(library: Library) -> None:
    """Both at once would trap two copies for one patron (F1 for the item hold, F2 for
    the title hold): the second is refused, either way round, in plain words."""
    with library.session() as db:
        place_hold(db, "ada", "F1", NOW, CYRIL)
    with pytest.raises(CentralError, match="has a hold on copy F1 of Middlemarch already"):
        library.place("ada")
    library.place("student")
    with (
        library.session() as db,
        pytest.raises(
            CentralError, match="waiting for any copy of Middlemarch already: cancel that hold"
        ),
    ):
        place_hold(db, "student", "F2", NOW, CYRIL)
    assert library.waiting() == [("student", 1)]
    assert library.copy_queue("F1") == [("ada", True)]
    assert library.copy_queue("F2") == []


def test_staff_at_the_desk_may_place_one_for_a_barred_patron(library: Library) -> None:
    library.place("barred")
    assert library.waiting() == [("barred", 1)]


@pytest.mark.parametrize("how", ["desk", "kiosk"])
def test_a_returned_copy_is_trapped_for_the_first_in_the_title_queue(
    library: Library, how: str
) -> None:
    library.lend("F1", "ben")
    library.place("ada")
    library.place("student")
    if how == "desk":
        with library.session() as db:
            answer = check_in(
                db, library.policies, barcode="F1", now=NOW + timedelta(hours=1), actor=CYRIL
            )
        assert (answer.route, answer.ready_for) == ("hold_shelf", "ada")
    else:
        with library.session() as db:
            add_kiosk(db, "lobby", NOW)
            kiosk = db.scalars(select(Kiosk)).one()
            [result] = apply_batch(db, kiosk, [_kiosk_return("F1")], NOW, library.policies)
            db.commit()
        assert result.outcome is Outcome.APPLIED
    assert library.copy_queue("F1") == [("ada", True)]
    assert library.waiting() == [("student", 1)]
    with library.session() as db:
        trapped = db.scalars(select(Hold).where(Hold.patron_id == "ada")).one()
        assert (trapped.item_barcode, trapped.brn, trapped.position) == ("F1", MIDDLEMARCH, 1)
        assert trapped.ready_at is not None
        placed, change = db.scalars(
            select(Change)
            .where(Change.entity == "hold", Change.key == str(trapped.id))
            .order_by(Change.seq)
        )
        assert placed.data is not None
        assert placed.data["item_barcode"] is None
        assert change.data is not None
        assert (change.data["item_barcode"], change.data["ready"]) == ("F1", True)


def test_an_item_hold_on_the_copy_comes_before_the_title_queue(library: Library) -> None:
    library.lend("F1", "ada")
    library.place("student")
    with library.session() as db:
        place_hold(db, "ben", "F1", NOW, CYRIL)
    with library.session() as db:
        answer = check_in(db, library.policies, barcode="F1", now=NOW, actor=CYRIL)
    assert answer.ready_for == "ben"
    assert library.copy_queue("F1") == [("ben", True)]
    assert library.waiting() == [("student", 1)]


@pytest.mark.parametrize(
    ("borrower", "barcode", "allowed", "waiting_after", "ada_waits"),
    [
        # F1 is trapped for ada: only she may take it, and that fulfils her hold.
        ("student", "F1", False, [("student", 1)], True),
        ("ada", "F1", True, [("student", 1)], False),
        # F2 is on the shelf, untrapped: anyone may borrow it; the first in the title
        # queue fulfils her hold by it, anyone else leaves the queue as it is.
        ("student", "F2", True, [], False),
        ("owing", "F2", False, [("student", 1)], True),
        ("ben", "F2", True, [("student", 1)], True),
    ],
)
def test_checkout_of_a_copy_with_a_title_queue(
    library: Library,
    borrower: str,
    barcode: str,
    allowed: bool,
    waiting_after: list[tuple[str, int]],
    ada_waits: bool,
) -> None:
    library.lend("F1", "lapsed")
    library.place("ada")
    library.place("student")
    with library.session() as db:
        check_in(db, library.policies, barcode="F1", now=NOW, actor=CYRIL)
    if barcode == "F2" and borrower == "student":
        with library.session() as db:  # ada collects F1 first: student is now first
            assert checkout(
                db, library.policies, patron_id="ada", barcode="F1", now=NOW, actor=CYRIL
            ).done
    with library.session() as db:
        answer = checkout(
            db, library.policies, patron_id=borrower, barcode=barcode, now=NOW, actor=CYRIL
        )
    assert answer.done is allowed
    if barcode == "F1" and not allowed:
        assert [refusal.reason.value for refusal in answer.refusals] == ["on_hold_for_other"]
    assert library.waiting() == waiting_after
    with library.session() as db:
        remaining = {hold.patron_id for hold in db.scalars(select(Hold).where(Hold.brn == 1))}
    assert ("ada" in remaining) is ada_waits


def test_a_renewal_waits_for_another_patrons_title_hold(library: Library) -> None:
    library.lend("F2", "ben")
    with library.session() as db:
        assert renew(db, library.policies, patron_id="ben", barcode="F2", now=NOW, actor=CYRIL).done
    library.lend("F1", "ada")
    library.place("student")
    with library.session() as db:
        answer = renew(db, library.policies, patron_id="ada", barcode="F1", now=NOW, actor=CYRIL)
    assert not answer.done
    assert [refusal.reason.value for refusal in answer.refusals] == ["on_hold_for_other"]


@pytest.mark.parametrize(
    ("how", "ready_for"),
    [
        ("a copy on the shelf checked in by staff", "ada"),
        ("a copy found and back in stock", "ada"),
        ("a copy already trapped, checked in again", "ada"),
    ],
)
def test_staff_trap_a_copy_that_did_not_pass_through_a_return(
    library: Library, how: str, ready_for: str
) -> None:
    library.place("ada")
    library.place("student")
    with library.session() as db:
        if how == "a copy found and back in stock":
            db.execute(update(Item).where(Item.barcode == "F2").values(status="missing"))
            db.commit()
            answer = set_item_status(
                db, library.policies, barcode="F2", choice="available", now=NOW, actor=CYRIL
            )
        else:
            answer = check_in(db, library.policies, barcode="F2", now=NOW, actor=CYRIL)
        if how == "a copy already trapped, checked in again":
            answer = check_in(db, library.policies, barcode="F2", now=NOW, actor=CYRIL)
            assert not answer.done
    assert answer.ready_for == ready_for
    assert library.copy_queue("F2") == [("ada", True)]
    assert library.waiting() == [("student", 1)]


def test_cancelling_a_trapped_title_hold_traps_the_copy_for_the_next(library: Library) -> None:
    for patron_id in ("ada", "student", "lapsed"):
        library.place(patron_id)
    with library.session() as db:
        check_in(db, library.policies, barcode="F2", now=NOW, actor=CYRIL)
        ada = db.scalars(select(Hold).where(Hold.patron_id == "ada")).one()
        cancel_hold(db, ada.id, NOW + timedelta(hours=2), CYRIL, "not wanted")
    assert library.copy_queue("F2") == [("student", True)]
    assert library.waiting() == [("lapsed", 1)]
    with library.session() as db:
        lapsed = db.scalars(select(Hold).where(Hold.patron_id == "lapsed")).one()
        cancel_hold(db, lapsed.id, NOW, CYRIL)
        targets = db.scalars(select(AuditEntry.target).where(AuditEntry.action == "hold.cancel"))
        assert list(targets) == ["item F2", "title 1"]
    assert library.waiting() == []


def test_moving_a_title_hold_renumbers_its_records_queue(library: Library) -> None:
    for patron_id in ("ada", "student", "lapsed"):
        library.place(patron_id)
    with library.session() as db:
        last = title_queue(db, MIDDLEMARCH)[2]
        move_hold(db, last.hold_id, 1, NOW, CYRIL)
    assert library.waiting() == [("lapsed", 1), ("ada", 2), ("student", 3)]
    with library.session() as db, pytest.raises(CentralError, match="from 1 to 3"):
        move_hold(db, last.hold_id, 4, NOW, CYRIL)


def test_two_copies_returned_at_once_are_trapped_for_two_patrons(library: Library) -> None:
    library.lend("F1", "ben")
    library.lend("F2", "lapsed")
    library.place("ada")
    library.place("student")
    with library.session() as db:
        add_kiosk(db, "lobby", NOW)
        add_kiosk(db, "annex", NOW + timedelta(seconds=1))
        kiosks = list(db.scalars(select(Kiosk).order_by(Kiosk.id)))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def push(kiosk: Kiosk, barcode: str) -> None:
        try:
            start.wait()
            with library.session() as db:
                apply_batch(db, kiosk, [_kiosk_return(barcode)], NOW, library.policies)
                db.commit()
        except BaseException as error:  # reported below: a thread's error is otherwise lost
            errors.append(error)

    threads = [
        threading.Thread(target=push, args=(kiosk, barcode))
        for kiosk, barcode in zip(kiosks, ["F1", "F2"], strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    trapped = {barcode: library.copy_queue(barcode)[0][0] for barcode in ("F1", "F2")}
    assert sorted(trapped.values()) == ["ada", "student"]
    assert library.waiting() == []


def test_a_late_return_of_an_earlier_loan_traps_no_copy_lent_since(library: Library) -> None:
    """Kiosk A took F1 back from ben offline; kiosk B, offline too, lent it to student an
    hour later and synced first. A's return arrives: student has F1, so ada's title hold
    waits on, and F1 is no one's on the hold shelf."""
    library.lend("F1", "ben")
    library.place("ada")
    with library.session() as db:
        add_kiosk(db, "lobby", NOW)
        add_kiosk(db, "annex", NOW)
        lobby, annex = db.scalars(select(Kiosk).order_by(Kiosk.name.desc())).all()
        [lent] = apply_batch(
            db,
            annex,
            [_kiosk_checkout("F1", "student", NOW + timedelta(hours=2))],
            NOW + timedelta(hours=3),
            library.policies,
        )
        db.commit()
        [returned] = apply_batch(
            db,
            lobby,
            [_kiosk_return("F1", NOW + timedelta(hours=1))],
            NOW + timedelta(hours=4),
            library.policies,
        )
        db.commit()
        loan = db.get(Loan, "F1")
        assert loan is not None
        assert loan.patron_id == "student"
    assert (lent.outcome, returned.outcome) == (Outcome.EXCEPTION, Outcome.APPLIED)
    assert library.copy_queue("F1") == []
    assert library.waiting() == [("ada", 1)]


@pytest.mark.parametrize("how", ["at the desk", "from a kiosk"])
@pytest.mark.parametrize("next_in_queue", ["student", None])
def test_taking_another_copy_fulfils_the_hold_a_copy_was_trapped_for(
    library: Library, how: str, next_in_queue: str | None
) -> None:
    """F2 waits on the hold shelf for ada; she borrows F1 instead. Her hold is done: F2
    waits for the next in the title's queue, or goes back to the shelf. (So too when a
    desk checkout of F1 waited on a kiosk's return of F2, which trapped F2 for her.)"""
    library.lend("F2", "ben")
    library.place("ada")
    if next_in_queue:
        library.place(next_in_queue)
    with library.session() as db:
        add_kiosk(db, "lobby", NOW)
        add_kiosk(db, "annex", NOW)
        lobby, annex = db.scalars(select(Kiosk).order_by(Kiosk.name.desc())).all()
        apply_batch(db, lobby, [_kiosk_return("F2")], NOW, library.policies)
        db.commit()
    assert library.copy_queue("F2") == [("ada", True)]
    later = NOW + timedelta(hours=1)
    with library.session() as db:
        if how == "at the desk":
            answer = checkout(
                db, library.policies, patron_id="ada", barcode="F1", now=later, actor=CYRIL
            )
            assert answer.done
        else:
            [result] = apply_batch(
                db, annex, [_kiosk_checkout("F1", "ada", later)], later, library.policies
            )
            db.commit()
            assert result.outcome is Outcome.APPLIED
    assert library.copy_queue("F2") == ([(next_in_queue, True)] if next_in_queue else [])
    assert library.waiting() == []
    with library.session() as db:
        assert patron_holds(db, "ada") == []
        if next_in_queue:
            trapped = db.scalars(select(Hold).where(Hold.patron_id == next_in_queue)).one()
            assert (trapped.item_barcode, trapped.position, trapped.ready_at) == ("F2", 1, later)
            change = db.scalars(
                select(Change)
                .where(Change.entity == "hold", Change.key == str(trapped.id))
                .order_by(Change.seq.desc())
            ).first()
            assert change is not None
            assert change.data is not None
            assert (change.data["item_barcode"], change.data["ready"]) == ("F2", True)


@pytest.mark.parametrize("how", ["a damaged copy returned", "a withdrawn copy checked in"])
def test_a_copy_that_cannot_be_lent_is_trapped_for_no_title_hold(
    library: Library, how: str
) -> None:
    library.place("ada")
    with library.session() as db:
        if how == "a damaged copy returned":
            library.lend("F1", "ben")
            set_item_status(
                db, library.policies, barcode="F1", choice="DAMAGED", now=NOW, actor=CYRIL
            )
        else:
            db.execute(update(Item).where(Item.barcode == "F1").values(status="withdrawn"))
            db.commit()
        answer = check_in(db, library.policies, barcode="F1", now=NOW, actor=CYRIL)
    assert (answer.route, answer.ready_for) == ("shelf", None)
    assert library.copy_queue("F1") == []
    assert library.waiting() == [("ada", 1)]


@pytest.mark.parametrize("status", ["LOST", "missing", "withdrawn", "in_repair"])
def test_a_trapped_copy_marked_unavailable_puts_its_title_hold_back_first(
    library: Library, status: str
) -> None:
    library.place("ada")
    library.place("student")
    with library.session() as db:
        assert check_in(db, library.policies, barcode="F2", now=NOW, actor=CYRIL).done
    assert library.copy_queue("F2") == [("ada", True)]
    with library.session() as db:
        answer = set_item_status(
            db, library.policies, barcode="F2", choice=status, now=NOW, actor=CYRIL
        )
        assert answer.done
        ada = db.scalars(select(Hold).where(Hold.patron_id == "ada")).one()
        assert (ada.item_barcode, ada.ready, ada.ready_at) == (None, False, None)
        change = db.scalars(
            select(Change)
            .where(Change.entity == "hold", Change.key == str(ada.id))
            .order_by(Change.seq.desc())
        ).first()
        assert change is not None
        assert change.data is not None
        assert (change.data["item_barcode"], change.data["ready"]) == (None, False)
    assert library.copy_queue("F2") == []
    assert library.waiting() == [("ada", 1), ("student", 2)]
    # The next copy back is hers.
    library.lend("F1", "ben")
    with library.session() as db:
        assert check_in(db, library.policies, barcode="F1", now=NOW, actor=CYRIL).ready_for == "ada"


def test_the_batchs_holds_read_finds_title_holds_by_their_record(library: Library) -> None:
    """Every push, desk and SIP2 transaction reads its holds in one statement: the waiting
    title holds on its records must come through holds_by_record, not by reading every
    waiting title hold (an OR had SQLite answer them from holds_by_item's NULLs)."""
    # A push's items of two records (Middlemarch's F1, Persuasion's F3).
    statement = _READ_HOLDS.params(barcodes=["F1", "F3"], brns=[1, 2], patron_ids=["ada"])
    sql = str(
        statement.compile(dialect=library.engine.dialect, compile_kwargs={"literal_binds": True})
    )
    with library.engine.connect() as connection:
        if library.engine.dialect.name == "sqlite":
            plan = {
                row[0]: (row[1], row[3])
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            }
            by_record = [
                parent
                for parent, detail in plan.values()
                if "USING INDEX holds_by_record (brn=?)" in detail
            ]
            # One for the title holds themselves, one in the copies trapped for patrons.
            outside = [p for p in by_record if not plan.get(p, (0, ""))[1].startswith("LIST")]
            assert outside, plan
            assert not any(detail.startswith("SCAN holds") for _, detail in plan.values())
        else:
            connection.exec_driver_sql("SET enable_seqscan = off")
            text_plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
            assert "holds_by_record" in text_plan, text_plan
            assert "Seq Scan" not in text_plan, text_plan
            connection.rollback()


def test_a_title_named_exactly_is_found_on_its_index(library: Library) -> None:
    """SIP2's hold by exact title: found in any case, through records_by_title (on
    PostgreSQL its key is lower(title) COLLATE "C": a comparison without the collation
    reads every record)."""
    with library.session() as db:
        assert record_named(db, "MIDDLEMARCH") == MIDDLEMARCH
        statement = titled(db, "middlemarch")
    sql = str(
        statement.compile(dialect=library.engine.dialect, compile_kwargs={"literal_binds": True})
    )
    with library.engine.connect() as connection:
        if library.engine.dialect.name == "sqlite":
            plan = " ".join(
                row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            )
        else:
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
            connection.rollback()
    assert "records_by_title" in plan, plan


def _kiosk_return(barcode: str, decided_at: datetime = NOW) -> WireEntry:
    return WireEntry(
        id=f"lobby:return:{barcode}",
        seq=1,
        kind="return",
        decided_at=decided_at,
        item_barcode=barcode,
        patron_id=None,
        details={"route": "hold_shelf"},
        charged=Decimal(0),
        status_after="available",
        loan_patron_id=None,
        loan_member_type=None,
        loan_due=None,
        loan_renewals=None,
        fulfilled_hold_of=None,
    )


def _kiosk_checkout(barcode: str, patron_id: str, decided_at: datetime = NOW) -> WireEntry:
    return WireEntry(
        id=f"annex:checkout:{barcode}:{patron_id}",
        seq=1,
        kind="checkout",
        decided_at=decided_at,
        item_barcode=barcode,
        patron_id=patron_id,
        details={},
        charged=Decimal(0),
        status_after="on_loan",
        loan_patron_id=patron_id,
        loan_member_type=PATRONS[patron_id][0],
        loan_due="2026-12-07",
        loan_renewals=0,
        fulfilled_hold_of=None,
    )
