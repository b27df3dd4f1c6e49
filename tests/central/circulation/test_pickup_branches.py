"""Holds with a pickup branch on the server, on SQLite and PostgreSQL (issue 21, step 3):
placed for the branch chosen, or the library's first; a copy trapped at another branch
(the desk's check-in there, a kiosk's return there) goes in transit to the pickup and
its hold is ready only once it is checked in there; the hold shelf by branch; a ready
hold cancelled sends its copy to where the next patron collects.

The library has three branches, East, Main and North; every copy's home is Main."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.apply import apply_batch
from kiosk.central.circulation.branches import add_branch
from kiosk.central.circulation.desk import LoanAnswer, check_in, checkout
from kiosk.central.circulation.holds import (
    HoldRefused,
    cancel_hold,
    default_pickup,
    hold_shelf,
    move_hold,
    patron_holds,
    place_hold,
    place_title_hold,
)
from kiosk.central.circulation.importers import import_file
from kiosk.central.circulation.patrons import PatronRefused, update_patron
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.errors import ImportRejected
from kiosk.central.models import AppliedTransaction, AuditEntry, Change, Hold, Item, Kiosk, Patron
from kiosk.sync.protocol import Outcome, WireEntry

from .desk_library import CYRIL, NOW, build, lend

MIDDLEMARCH = 1  # copies F1, F2 and HELD (HELD waits for ben, an item hold)
BRANCHES = {"East": "East End Library", "Main": "Main Library", "North": "Northside Library"}
KEEP_DAYS = 7


@dataclass
class Library:
    engine: Engine
    policies: PolicyCache

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def place(self, patron_id: str, pickup: str | None = None, actor: Actor = CYRIL) -> Hold:
        with self.session() as db:
            return place_title_hold(db, patron_id, MIDDLEMARCH, NOW, actor, pickup=pickup)

    def hold(self, hold_id: int) -> tuple[str | None, bool, str | None]:
        with self.session() as db:
            found = db.get(Hold, hold_id)
            assert found is not None
            return found.item_barcode, found.ready, found.pickup

    def item(self, barcode: str) -> tuple[str, str | None]:
        with self.session() as db:
            found = db.get(Item, barcode)
            assert found is not None
            return found.status, found.transit_to

    def check_in(self, barcode: str, branch: str | None, at: datetime = NOW) -> LoanAnswer:
        with self.session() as db:
            return check_in(db, self.policies, barcode=barcode, now=at, actor=CYRIL, branch=branch)

    def shelf(self, branch: str | None = None) -> list[str]:
        with self.session() as db:
            rows = hold_shelf(db, NOW + timedelta(hours=3), KEEP_DAYS, branch=branch)
            # HELD, ben's from before branches (no pickup), is on every branch's list.
            return [row.hold.patron_id for row in rows if row.hold.item_barcode != "HELD"]


@pytest.fixture
def library(database_url: str) -> Iterator[Library]:
    engine, policies = build(database_url)
    with Session(engine) as db:
        for code, name in BRANCHES.items():
            add_branch(db, code, name, NOW, actor="test", origin="test")
    yield Library(engine, policies)
    engine.dispose()


def test_a_hold_is_collected_where_chosen_or_else_at_the_first_branch(library: Library) -> None:
    chosen = library.place("ada", pickup="North")
    default = library.place("student")
    assert library.hold(chosen.id)[2] == "North"
    assert library.hold(default.id)[2] == "East"  # patrons have no home branch: the first
    with library.session() as db:
        assert {hold.pickup for hold in patron_holds(db, "ada")} == {"North"}
        changes = db.scalar(select(func.count()).select_from(Change))
    with library.session() as db, pytest.raises(HoldRefused) as refused:
        place_title_hold(db, "lapsed", MIDDLEMARCH, NOW, CYRIL, pickup="Nowhere")
    assert refused.value.reason == HoldRefused.PICKUP
    assert "no branch 'Nowhere'" in str(refused.value)
    with library.session() as db:
        assert (
            db.scalar(select(func.count()).select_from(Hold).where(Hold.patron_id == "lapsed")) == 0
        )
        assert db.scalar(select(func.count()).select_from(Change)) == changes


def _patron(db: Session, patron_id: str) -> Patron:
    found = db.get(Patron, patron_id)
    assert found is not None
    return found


def test_a_hold_placed_without_a_pickup_is_collected_at_the_patrons_home_branch(
    library: Library,
) -> None:
    with library.session() as db:
        assert update_patron(db, "ada", {"home_branch": "North"}, NOW, CYRIL) == ("home_branch",)
        with pytest.raises(PatronRefused) as refused:
            update_patron(db, "student", {"home_branch": "Nrth"}, NOW, CYRIL)
        assert "no branch 'Nrth'" in refused.value.problems["home_branch"]
        assert "did you mean 'North'" in refused.value.problems["home_branch"]
        assert _patron(db, "student").home_branch is None  # nothing changed
        assert default_pickup(db, _patron(db, "ada")) == "North"
        assert default_pickup(db, _patron(db, "student")) == "East"  # none: the first
        audited = db.scalars(select(AuditEntry.detail).where(AuditEntry.action == "patron.edit"))
        assert list(audited) == ["changed home branch"]  # the field, never its value
    home = library.place("ada")
    chosen = library.place("student", pickup="Main")
    assert library.hold(home.id)[2] == "North"
    assert library.hold(chosen.id)[2] == "Main"
    with library.session() as db:  # one chosen elsewhere wins over the home branch
        other = place_hold(db, "ada", "F3", NOW, CYRIL, pickup="Main")
        assert other.pickup == "Main"
        assert place_hold(db, "ada", "F4", NOW, CYRIL).pickup == "North"
        # Cleared, the library's first branch again.
        assert update_patron(db, "ada", {"home_branch": ""}, NOW, CYRIL) == ("home_branch",)
        assert default_pickup(db, _patron(db, "ada")) == "East"


def test_a_library_without_branches_keeps_no_pickup(database_url: str) -> None:
    engine, _ = build(database_url)
    try:
        with Session(engine, expire_on_commit=False) as db:
            hold = place_title_hold(db, "ada", MIDDLEMARCH, NOW, CYRIL)
            assert hold.pickup is None
    finally:
        engine.dispose()


def _kiosk_return(barcode: str, branch: str) -> WireEntry:
    return WireEntry(
        id=f"north:return:{barcode}",
        seq=1,
        kind="return",
        decided_at=NOW + timedelta(hours=1),
        item_barcode=barcode,
        patron_id=None,
        details={"route": "transfer", "branch": branch, "destination": "East"},
        charged=Decimal(0),
        status_after="in_transit",
        loan_patron_id=None,
        loan_member_type=None,
        loan_due=None,
        loan_renewals=None,
        fulfilled_hold_of=None,
    )


@pytest.mark.parametrize("how", ["desk", "kiosk"])
def test_a_copy_trapped_at_another_branch_is_ready_only_once_at_the_pickup(
    library: Library, how: str
) -> None:
    with library.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
    hold = library.place("ada", pickup="East")
    if how == "desk":
        sent = library.check_in("F1", "North", NOW + timedelta(hours=1))
        assert (sent.route, sent.destination, sent.ready_for) == ("transfer", "East", "ada")
    else:
        with library.session() as db:
            add_kiosk(db, "north", NOW, branch="North")
            kiosk = db.scalars(select(Kiosk)).one()
            [result] = apply_batch(db, kiosk, [_kiosk_return("F1", "North")], NOW, library.policies)
            db.commit()
        assert result.outcome is Outcome.APPLIED
    assert library.item("F1") == ("in_transit", "East")
    assert library.hold(hold.id) == ("F1", False, "East")  # trapped, on its way
    assert library.shelf() == []
    with library.session() as db:
        refused = checkout(
            db, library.policies, patron_id="ada", barcode="F1", now=NOW, actor=CYRIL
        )
    assert "item_unavailable" in {reason.reason.value for reason in refused.refusals}

    # Checked in on the way (at Main, its home) it is sent on, not shelved.
    on_the_way = library.check_in("F1", "Main", NOW + timedelta(hours=2))
    assert (on_the_way.route, on_the_way.destination) == ("transfer", "East")
    assert library.item("F1") == ("in_transit", "East")

    arrived = library.check_in("F1", "East", NOW + timedelta(hours=3))
    assert (arrived.route, arrived.destination, arrived.ready_for) == ("hold_shelf", None, "ada")
    assert library.item("F1") == ("available", None)
    assert library.hold(hold.id) == ("F1", True, "East")
    assert library.shelf("East") == ["ada"]
    assert library.shelf("North") == []
    assert library.shelf() == ["ada"]


def test_a_copy_returned_where_its_patron_collects_is_ready_there(library: Library) -> None:
    with library.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
    hold = library.place("ada", pickup="North")
    answer = library.check_in("F1", "North", NOW + timedelta(hours=1))
    assert (answer.route, answer.ready_for) == ("hold_shelf", "ada")
    assert library.hold(hold.id) == ("F1", True, "North")
    assert library.item("F1") == ("available", None)


def test_a_ready_hold_cancelled_sends_its_copy_to_where_the_next_collects(
    library: Library,
) -> None:
    with library.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
    first = library.place("ada", pickup="North")
    second = library.place("student", pickup="East")
    library.check_in("F1", "North", NOW + timedelta(hours=1))
    assert library.shelf("North") == ["ada"]
    with library.session() as db:
        cancel_hold(db, first.id, NOW + timedelta(hours=2), CYRIL, "not wanted")
    assert library.hold(second.id) == ("F1", False, "East")
    assert library.item("F1") == ("in_transit", "East")
    assert library.shelf() == []


def test_an_item_hold_on_a_copy_on_another_branchs_shelf_waits_to_be_sent(
    library: Library,
) -> None:
    with library.session() as db:
        there = place_hold(db, "ada", "F2", NOW, CYRIL, pickup="Main")  # F2 lives at Main
        elsewhere = place_hold(db, "student", "F1", NOW, CYRIL, pickup="East")
    assert library.hold(there.id) == ("F2", True, "Main")
    assert library.hold(elsewhere.id) == ("F1", False, "East")
    sent = library.check_in("F1", "Main", NOW + timedelta(hours=1))  # staff pull it
    assert (sent.route, sent.destination, sent.ready_for) == ("transfer", "East", "student")
    assert library.item("F1") == ("in_transit", "East")


def test_borrowing_another_copy_releases_one_on_its_way_to_the_borrower(
    library: Library,
) -> None:
    with library.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
    hold = library.place("ada", pickup="East")
    library.check_in("F1", "North", NOW + timedelta(hours=1))
    assert library.hold(hold.id) == ("F1", False, "East")
    with library.session() as db:
        lent = checkout(
            db,
            library.policies,
            patron_id="ada",
            barcode="F2",
            now=NOW + timedelta(hours=2),
            actor=CYRIL,
        )
    assert lent.done
    with library.session() as db:
        assert db.get(Hold, hold.id) is None
    # It goes on to East, and is routed afresh when it arrives: no one waits, so home.
    assert library.item("F1") == ("in_transit", "East")
    home = library.check_in("F1", "East", NOW + timedelta(hours=3))
    assert (home.route, home.destination) == ("transfer", "Main")


def test_a_ready_item_hold_cancelled_sends_its_copy_to_where_the_next_in_its_queue_collects(
    library: Library,
) -> None:
    with library.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
        first = place_hold(db, "ada", "F1", NOW, CYRIL, pickup="North")
        second = place_hold(db, "student", "F1", NOW, CYRIL, pickup="East")
        third = place_hold(db, "lapsed", "F1", NOW, CYRIL, pickup="East")
    library.check_in("F1", "North", NOW + timedelta(hours=1))
    assert library.hold(first.id) == ("F1", True, "North")
    with library.session() as db:
        cancel_hold(db, first.id, NOW + timedelta(hours=2), CYRIL, "not wanted")
    assert library.hold(second.id) == ("F1", False, "East")
    assert library.item("F1") == ("in_transit", "East")
    arrived = library.check_in("F1", "East", NOW + timedelta(hours=3))
    assert (arrived.route, arrived.ready_for) == ("hold_shelf", "student")
    assert library.hold(second.id) == ("F1", True, "East")
    # The next one collects at East too: the copy stays on East's shelf for them.
    with library.session() as db:
        cancel_hold(db, second.id, NOW + timedelta(hours=4), CYRIL, "not wanted")
    assert library.hold(third.id) == ("F1", True, "East")
    assert library.item("F1") == ("available", None)


def test_a_hold_moved_first_while_its_copy_waits_elsewhere_sends_the_copy_there(
    library: Library,
) -> None:
    with library.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
        first = place_hold(db, "ada", "F1", NOW, CYRIL, pickup="North")
        second = place_hold(db, "student", "F1", NOW, CYRIL, pickup="East")
    library.check_in("F1", "North", NOW + timedelta(hours=1))
    with library.session() as db:
        move_hold(db, second.id, 1, NOW + timedelta(hours=2), CYRIL)
    assert library.hold(second.id) == ("F1", False, "East")
    assert library.hold(first.id) == ("F1", False, "North")
    assert library.item("F1") == ("in_transit", "East")


def test_the_patron_import_sets_the_home_branch_checked_against_the_branches(
    library: Library, tmp_path: Path
) -> None:
    header = "patron_id,card,first_name,surname,member_type,expires,barred,pin,home_branch"
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{header}\nada,C-ADA,Ada,Lovelace,ADULT,,no,,Nrth\n", encoding="utf-8")
    with library.session() as db, pytest.raises(ImportRejected) as rejected:
        import_file(db, "patrons", bad, now=NOW)
    assert rejected.value.problems == [
        "bad.csv:2: home_branch: no branch 'Nrth'; did you mean 'North'? "
        "(branches: East, Main, North)"
    ]
    good = tmp_path / "good.csv"
    good.write_text(
        f"{header}\nada,C-ADA,Ada,Lovelace,ADULT,,no,,North\nben,C-BEN,Ben,Bell,ADULT,,no,,\n",
        encoding="utf-8",
    )
    with library.session() as db:
        _patron(db, "ben").home_branch = "Main"
        db.commit()
        assert import_file(db, "patrons", good, now=NOW) == 2
    with library.session() as db:
        assert _patron(db, "ada").home_branch == "North"
        assert _patron(db, "ben").home_branch is None  # an empty cell clears it
    # A file without the column leaves it.
    plain = tmp_path / "plain.csv"
    plain.write_text(f"{header[:-12]}\nada,C-ADA,Ada,Lovelace,ADULT,,no,\n", encoding="utf-8")
    with library.session() as db:
        import_file(db, "patrons", plain, now=NOW)
        assert _patron(db, "ada").home_branch == "North"
    assert library.hold(library.place("ada").id)[2] == "North"


def test_each_transaction_is_recorded_at_the_branch_where_it_happened(library: Library) -> None:
    """For the reports by branch: a kiosk's at the branch it stands in, a desk's at its
    member of staff's (a return at the branch it was made at), none where none is
    known."""
    at_north = Actor("cyril", "127.0.0.1", branch="North")
    with library.session() as db:
        lent = checkout(
            db, library.policies, patron_id="ada", barcode="F1", now=NOW, actor=at_north
        )
        nowhere = checkout(
            db, library.policies, patron_id="ben", barcode="F3", now=NOW, actor=CYRIL
        )
    with library.session() as db:
        add_kiosk(db, "east", NOW, branch="East")
        kiosk = db.scalars(select(Kiosk)).one()
        apply_batch(db, kiosk, [_kiosk_return("F1", "East")], NOW, library.policies)
        db.commit()
    back = library.check_in("F3", "Main", NOW + timedelta(hours=2))
    with library.session() as db:
        recorded = dict(db.execute(select(AppliedTransaction.id, AppliedTransaction.branch)).all())
    assert recorded[lent.transaction_id] == "North"
    assert recorded[nowhere.transaction_id] is None
    assert recorded["north:return:F1"] == "East"
    assert recorded[back.transaction_id] == "Main"
