"""Returns that route across branches (issue 21), between the real central server and
real kiosk stores, over SQLite and PostgreSQL. A library of three branches (Main, North,
East; the demo's items all belong to Main) with a kiosk in each: a copy returned at
North goes in North's transfer bin for Main and is in transit, refused to borrowers,
until it is checked in at Main, where it goes back on the shelf; two kiosks offline at
two branches return copies of one title that one patron waits for: the first the
server hears of is trapped for her, the other is sent home; a copy trapped for a patron
who collects at another branch goes in the transfer bin there, and is ready only once
checked in where she collects it; and the desk's check-in of a copy in transit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central.api import app as api_app
from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import add_branch
from kiosk.central.circulation.desk import LoanAnswer, check_in, checkout
from kiosk.central.circulation.holds import place_title_hold_by_copy
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.models import AppliedTransaction, Branch, Hold, Item, Loan, StaffException
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import (
    CheckoutStatus,
    PatronSession,
    ReturnAnswer,
    ReturnStatus,
    Unavailable,
)
from kiosk.common.clock import FixedClock
from kiosk.demo.library import GeneratedLibrary
from kiosk.store import mirroring, outbox
from kiosk.store.store import Store
from kiosk.sync.agent import Connectivity, SyncAgent

from .conftest import NOW, ServerThread, prepare_central
from .test_title_hold_sync import _two_copies_on_the_shelf

STAFF = Actor("cyril", "127.0.0.1")
BRANCHES = {"Main": "Main Library", "North": "Northside Library", "East": "East End Library"}


@dataclass
class Branches:
    """The demo library in three branches, served on a loopback port, a kiosk in each."""

    engine: Any
    url: str
    tokens: dict[str, str]
    library: GeneratedLibrary
    clock: FixedClock

    def session(self) -> Session:
        return Session(self.engine)

    def kiosk(self, directory: Path, branch: str) -> tuple[SyncAgent, Circulation]:
        store = Store.open(directory, kiosk_id=f"kiosk-{branch.lower()}")
        agent = SyncAgent(store, self.url, self.tokens[branch], self.clock)
        agent.sync_once()
        return agent, Circulation(store, self.clock)

    def adults(self) -> list[dict[str, Any]]:
        return [c for c in self.library.cards if c["situation"] == "adult, nothing on loan"]

    def patron_id(self, who: dict[str, Any]) -> str:
        return str(next(p["patron_id"] for p in self.library.patrons if p["card"] == who["card"]))

    def item(self, barcode: str) -> tuple[str, str | None]:
        with self.session() as db:
            found = db.get(Item, barcode)
            assert found is not None
            return found.status, found.transit_to

    def exceptions(self) -> list[str]:
        with self.session() as db:
            return list(db.scalars(select(StaffException.reason)))


@pytest.fixture
def branches(database_url: str) -> Iterator[Branches]:
    engine, library, _ = prepare_central(database_url, kiosks=())
    with Session(engine) as db:
        for code, name in BRANCHES.items():
            add_branch(db, code, name, NOW, actor="test", origin="test")
        tokens = {
            code: add_kiosk(db, f"kiosk-{code.lower()}", NOW, branch=code) for code in BRANCHES
        }
    clock = FixedClock(NOW)
    with ServerThread(engine, clock) as server:
        yield Branches(engine, server.url, tokens, library, clock)
    engine.dispose()


def sign_in(circulation: Circulation, who: dict[str, Any]) -> PatronSession:
    identified = circulation.identify(who["card"], who["pin"])
    assert not isinstance(identified, Unavailable)
    assert identified.session is not None, identified.status
    return identified.session


def returned(circulation: Circulation, barcode: str) -> ReturnAnswer:
    answer = circulation.return_item(barcode)
    assert isinstance(answer, ReturnAnswer)
    assert answer.status is ReturnStatus.RETURNED
    return answer


def refusal(circulation: Circulation, who: PatronSession, barcode: str) -> list[str]:
    answer = circulation.checkout(who, barcode)
    assert getattr(answer, "status", None) is CheckoutStatus.REFUSED, answer
    return [r.reason.value for r in getattr(answer, "refusals", ())]


def test_a_copy_returned_away_from_home_is_in_transit_until_checked_in_at_home(
    branches: Branches, tmp_path: Path
) -> None:
    north_agent, north = branches.kiosk(tmp_path / "north", "North")
    main_agent, main = branches.kiosk(tmp_path / "main", "Main")
    assert mirroring.branch(north_agent.store) == "North"  # the server said where it stands
    assert mirroring.branch(main_agent.store) == "Main"
    ann = branches.adults()[0]
    copy, _ = _two_copies_on_the_shelf(branches)  # type: ignore[arg-type]
    assert getattr(north.checkout(sign_in(north, ann), copy), "status", None) is CheckoutStatus.LENT
    north_agent.sync_once()

    answer = returned(north, copy)
    assert (answer.bin, answer.destination) == (north.bins.transfer, "Main")
    # In North's transfer bin: no one at North may take it, before or after the server
    # hears of it.
    cat = sign_in(north, branches.adults()[2])
    assert refusal(north, cat, copy) == ["item_unavailable"]
    again = north.return_item(copy)  # scanned again: the same bin, the same words
    assert isinstance(again, ReturnAnswer)
    assert (again.status, again.bin, again.destination) == (
        ReturnStatus.ALREADY_RETURNED,
        north.bins.transfer,
        "Main",
    )
    north_agent.sync_once()
    assert branches.item(copy) == ("in_transit", "Main")
    with branches.session() as db:
        assert db.get(Loan, copy) is None
    assert branches.exceptions() == []

    main_agent.sync_once()  # Main's kiosk hears it is on its way, and refuses it meanwhile
    assert refusal(main, sign_in(main, branches.adults()[2]), copy) == ["item_unavailable"]
    home = returned(main, copy)
    assert (home.bin, home.destination) == (main.bins.shelf, None)
    main_agent.sync_once()
    assert branches.item(copy) == ("available", None)
    assert branches.exceptions() == []
    with branches.session() as db:
        arrived = db.scalars(
            select(AppliedTransaction.details)
            .where(AppliedTransaction.item_barcode == copy, AppliedTransaction.kind == "return")
            .order_by(AppliedTransaction.decided_at)
        ).all()
    assert (arrived[0]["route"], arrived[0]["branch"], arrived[0]["destination"]) == (
        "transfer",
        "North",
        "Main",
    )
    assert (arrived[-1]["route"], arrived[-1]["branch"], arrived[-1]["arrived"]) == (
        "shelf",
        "Main",
        True,
    )
    lent = main.checkout(sign_in(main, branches.adults()[2]), copy)
    assert getattr(lent, "status", None) is CheckoutStatus.LENT


def test_offline_kiosks_at_two_branches_return_copies_of_a_title_one_patron_waits_for(
    branches: Branches, tmp_path: Path
) -> None:
    north_agent, north = branches.kiosk(tmp_path / "north", "North")
    east_agent, east = branches.kiosk(tmp_path / "east", "East")
    ann, bea, cat = branches.adults()[:3]
    first, second = _two_copies_on_the_shelf(branches)  # type: ignore[arg-type]
    assert (
        getattr(north.checkout(sign_in(north, ann), first), "status", None) is CheckoutStatus.LENT
    )
    assert getattr(east.checkout(sign_in(east, cat), second), "status", None) is CheckoutStatus.LENT
    north_agent.sync_once()
    east_agent.sync_once()
    bea_id = branches.patron_id(bea)
    with branches.session() as db:
        place_title_hold_by_copy(db, bea_id, first, NOW, STAFF, pickup="North")
    north_agent.sync_once()
    east_agent.sync_once()

    # Both offline now: each traps its copy for bea, as far as it knows: on North's hold
    # shelf, where she collects, and in East's transfer bin for North.
    assert returned(north, first).bin == north.bins.hold_shelf
    from_east = returned(east, second)
    assert (from_east.bin, from_east.destination) == (east.bins.transfer, "North")
    north_agent.sync_once()
    east_agent.sync_once()
    with branches.session() as db:
        [hold] = db.scalars(select(Hold).where(Hold.patron_id == bea_id)).all()
        assert (hold.item_barcode, hold.ready) == (first, True)
    assert branches.item(first) == ("available", None)  # on North's hold shelf for bea
    assert branches.item(second) == ("in_transit", "Main")  # no one else waits: sent home


def test_a_title_hold_collected_at_east_is_sent_there_from_north_and_ready_on_arrival(
    branches: Branches, tmp_path: Path
) -> None:
    ann, bea = branches.adults()[:2]
    copy, _ = _two_copies_on_the_shelf(branches)  # type: ignore[arg-type]
    bea_id = branches.patron_id(bea)
    with branches.session() as db:
        lent = checkout(
            db, PolicyCache(), patron_id=branches.patron_id(ann), barcode=copy, now=NOW, actor=STAFF
        )
        assert lent.done
        hold = place_title_hold_by_copy(db, bea_id, copy, NOW, STAFF, pickup="East")
        hold_id = hold.id
    # The kiosks start now: their snapshots bring the loan and the hold with its pickup
    # (the other test above has a pickup reach a kiosk in a change).
    north_agent, north = branches.kiosk(tmp_path / "north", "North")
    east_agent, east = branches.kiosk(tmp_path / "east", "East")

    # Decided at North's drop station from its mirror alone, before any sync.
    answer = returned(north, copy)
    assert (answer.bin, answer.destination) == (north.bins.transfer, "East")
    assert refusal(north, sign_in(north, bea), copy) == ["item_unavailable"]
    north_agent.sync_once()
    assert branches.item(copy) == ("in_transit", "East")
    with branches.session() as db:
        sent = db.get(Hold, hold_id)
        assert sent is not None
        assert (sent.item_barcode, sent.ready, sent.pickup) == (copy, False, "East")
        pushed = db.scalars(
            select(AppliedTransaction.details).where(
                AppliedTransaction.item_barcode == copy, AppliedTransaction.kind == "return"
            )
        ).one()
    assert (pushed["route"], pushed["destination"], pushed["trapped_for"]) == (
        "transfer",
        "East",
        bea_id,
    )
    assert branches.exceptions() == []

    east_agent.sync_once()  # East hears it is coming: not to be lent on the way
    assert refusal(east, sign_in(east, bea), copy) == ["item_unavailable"]
    arrived = returned(east, copy)
    assert (arrived.bin, arrived.destination) == (east.bins.hold_shelf, None)
    east_agent.sync_once()
    assert branches.item(copy) == ("available", None)
    with branches.session() as db:
        ready = db.get(Hold, hold_id)
        assert ready is not None
        assert (ready.item_barcode, ready.ready, ready.ready_at) == (copy, True, NOW)
    assert refusal(east, sign_in(east, ann), copy) == ["on_hold_for_other"]
    collected = east.checkout(sign_in(east, bea), copy)
    assert getattr(collected, "status", None) is CheckoutStatus.LENT
    east_agent.sync_once()
    with branches.session() as db:
        assert db.get(Hold, hold_id) is None  # collected
    assert branches.exceptions() == []


def test_the_desk_takes_a_copy_in_transit_as_arrived_and_sends_on_from_a_branch(
    branches: Branches, tmp_path: Path
) -> None:
    """Staff have no branch yet: a copy in transit checked in at the desk has arrived and
    is shelved. Checked in as at East (the desk's decision path given a branch), a copy
    of Main is sent on; at Main, it is shelved."""
    north_agent, north = branches.kiosk(tmp_path / "north", "North")
    copy, other = _two_copies_on_the_shelf(branches)  # type: ignore[arg-type]
    ann = sign_in(north, branches.adults()[0])
    for barcode in (copy, other):
        assert getattr(north.checkout(ann, barcode), "status", None) is CheckoutStatus.LENT
        returned(north, barcode)
    north_agent.sync_once()
    assert branches.item(copy) == branches.item(other) == ("in_transit", "Main")

    policies = PolicyCache()

    def check(barcode: str, branch: str | None) -> LoanAnswer:
        with branches.session() as db:
            return check_in(db, policies, barcode=barcode, now=NOW, actor=STAFF, branch=branch)

    arrived = check(copy, None)
    assert (arrived.done, arrived.route, arrived.note) == (True, "shelf", "arrived")
    assert branches.item(copy) == ("available", None)
    sent_on = check(other, "East")
    assert (sent_on.done, sent_on.route, sent_on.destination) == (True, "transfer", "Main")
    assert branches.item(other) == ("in_transit", "Main")
    home = check(other, "Main")
    assert (home.done, home.route, home.destination) == (True, "shelf", None)
    assert branches.item(other) == ("available", None)
    assert branches.exceptions() == []


def _homes(branches: Branches, **homes: str) -> None:
    """Give copies the home_location an item from before branches may have."""
    with branches.session() as db:
        for barcode, home in homes.items():
            item = db.get(Item, barcode)
            assert item is not None
            item.home_location = home
        db.commit()


def _routes(branches: Branches, barcode: str) -> list[tuple[str, str | None, str | None]]:
    """The route each return of ``barcode`` took, as the kiosk journaled and pushed it."""
    with branches.session() as db:
        details = db.scalars(
            select(AppliedTransaction.details)
            .where(AppliedTransaction.item_barcode == barcode, AppliedTransaction.kind == "return")
            .order_by(AppliedTransaction.decided_at)
        ).all()
    return [(d["route"], d["branch"], d["destination"]) for d in details]


def test_a_copy_whose_home_location_names_no_branch_goes_back_on_the_shelf(
    branches: Branches, tmp_path: Path
) -> None:
    """An item from before branches ("Stacks") has no home branch: returned at North it
    goes on North's shelf, as the kiosk and the server both decide, and stays available;
    a copy whose home is another real branch (East) is still sent there."""
    stacks, east = _two_copies_on_the_shelf(branches)  # type: ignore[arg-type]
    _homes(branches, **{stacks: "Stacks", east: "East"})
    north_agent, north = branches.kiosk(tmp_path / "north", "North")
    assert mirroring.branches(north_agent.store) == frozenset({"Main", "North", "East"})
    ann = sign_in(north, branches.adults()[0])
    for barcode in (stacks, east):
        assert getattr(north.checkout(ann, barcode), "status", None) is CheckoutStatus.LENT
    north_agent.sync_once()

    shelved = returned(north, stacks)
    assert (shelved.bin, shelved.destination) == (north.bins.shelf, None)
    sent = returned(north, east)
    assert (sent.bin, sent.destination) == (north.bins.transfer, "East")
    north_agent.sync_once()
    assert _routes(branches, stacks) == [("shelf", "North", None)]
    assert branches.item(stacks) == ("available", None)
    assert _routes(branches, east) == [("transfer", "North", "East")]
    assert branches.item(east) == ("in_transit", "East")
    assert branches.exceptions() == []
    # On the shelf, not in transit to nowhere: it can be borrowed again at once.
    bea = sign_in(north, branches.adults()[1])
    assert getattr(north.checkout(bea, stacks), "status", None) is CheckoutStatus.LENT
    north_agent.sync_once()
    with branches.session() as db:
        loan = db.get(Loan, stacks)
        assert loan is not None
        assert loan.patron_id == branches.patron_id(branches.adults()[1])


def test_a_branch_added_later_reaches_the_kiosks_codes(branches: Branches, tmp_path: Path) -> None:
    """Staff add the branch an old home_location named: at its next sync the kiosk takes
    that home_location for a home branch, and sends the copy there."""
    stacks, _ = _two_copies_on_the_shelf(branches)  # type: ignore[arg-type]
    _homes(branches, **{stacks: "Stacks"})
    north_agent, north = branches.kiosk(tmp_path / "north", "North")
    with branches.session() as db:
        add_branch(db, "Stacks", "The Stacks", NOW, actor="test", origin="test")
    north_agent.sync_once()
    assert mirroring.branches(north_agent.store) == frozenset({"Main", "North", "East", "Stacks"})
    ann = sign_in(north, branches.adults()[0])
    assert getattr(north.checkout(ann, stacks), "status", None) is CheckoutStatus.LENT
    sent = returned(north, stacks)
    assert (sent.bin, sent.destination) == (north.bins.transfer, "Stacks")
    north_agent.sync_once()
    assert branches.item(stacks) == ("in_transit", "Stacks")


def test_a_kiosk_told_no_branch_codes_routes_as_before(branches: Branches, tmp_path: Path) -> None:
    """A server one version older names the kiosk's branch but not the library's codes
    (no Kiosk-Branches header): the mirror keeps none, as set here the way its answers
    leave it, and the kiosk takes any home_location for a home branch, as it did."""
    stacks, _ = _two_copies_on_the_shelf(branches)  # type: ignore[arg-type]
    _homes(branches, **{stacks: "Stacks"})
    north_agent, north = branches.kiosk(tmp_path / "north", "North")
    ann = sign_in(north, branches.adults()[0])
    assert getattr(north.checkout(ann, stacks), "status", None) is CheckoutStatus.LENT
    mirroring.set_branch(north_agent.store, "North", None)
    assert mirroring.branches(north_agent.store) is None
    sent = returned(north, stacks)
    assert (sent.bin, sent.destination) == (north.bins.transfer, "Stacks")


def test_a_copy_stuck_in_transit_to_no_branch_arrives_and_is_shelved(
    branches: Branches, tmp_path: Path
) -> None:
    """A copy sent to "Stacks" before this was fixed: checked in at a branch kiosk it has
    arrived and goes on the shelf, rather than on to "Stacks" again."""
    stacks, _ = _two_copies_on_the_shelf(branches)  # type: ignore[arg-type]
    _homes(branches, **{stacks: "Stacks"})
    with branches.session() as db:
        item = db.get(Item, stacks)
        assert item is not None
        item.status, item.transit_to = "in_transit", "Stacks"
        db.commit()
    east_agent, east = branches.kiosk(tmp_path / "east", "East")
    answer = east.return_item(stacks)
    assert isinstance(answer, ReturnAnswer)
    assert (answer.bin, answer.destination) == (east.bins.shelf, None)
    east_agent.sync_once()
    assert _routes(branches, stacks) == [("shelf", "East", None)]
    assert branches.item(stacks) == ("available", None)
    assert branches.exceptions() == []


def test_the_greeting_says_at_which_branch_a_ready_hold_waits(
    branches: Branches, tmp_path: Path
) -> None:
    """A hold ready on East's hold shelf: the kiosk at North greets its patron with
    East's name (from the server's Kiosk-Branch-Names, kept in the mirror); the kiosk at
    East says it is here; their My account screens say the same. A branch renamed reaches the kiosks at their next sync, accents
    and commas as they were written."""
    ann, bea = branches.adults()[:2]
    copy, _ = _two_copies_on_the_shelf(branches)  # type: ignore[arg-type]
    with branches.session() as db:
        place_title_hold_by_copy(db, branches.patron_id(bea), copy, NOW, STAFF, pickup="East")
        lent = checkout(
            db, PolicyCache(), patron_id=branches.patron_id(ann), barcode=copy, now=NOW, actor=STAFF
        )
        assert lent.done
        back = check_in(db, PolicyCache(), barcode=copy, now=NOW, actor=STAFF, branch="East")
        assert (back.route, back.ready_for) == ("hold_shelf", branches.patron_id(bea))
    north_agent, north = branches.kiosk(tmp_path / "north", "North")
    _, east = branches.kiosk(tmp_path / "east", "East")
    assert mirroring.branch_names(north_agent.store) == BRANCHES

    greeted = north.identify(bea["card"], bea["pin"])
    assert not isinstance(greeted, Unavailable)
    assert greeted.greeting is not None
    title = greeted.greeting.holds_ready[0]
    assert greeted.greeting.ready_where == ("East End Library",)
    account = north.account(sign_in(north, bea))
    assert not isinstance(account, Unavailable)
    assert [(hold.title, hold.where) for hold in account.holds_ready] == [
        (title, "East End Library")
    ]
    at_east = east.identify(bea["card"], bea["pin"])
    assert not isinstance(at_east, Unavailable)
    assert at_east.greeting is not None
    assert (at_east.greeting.holds_ready, at_east.greeting.ready_where) == ((title,), ("",))
    account = east.account(sign_in(east, bea))
    assert not isinstance(account, Unavailable)
    assert [hold.where for hold in account.holds_ready] == [""]

    # A name with a comma and an accent comes through the header as it was written.
    with branches.session() as db:
        found = db.get(Branch, "East")
        assert found is not None
        found.name = "Biblioteca del Este, Ñuñoa"
        db.commit()
    north_agent.sync_once()
    greeted = north.identify(bea["card"], bea["pin"])
    assert not isinstance(greeted, Unavailable)
    assert greeted.greeting is not None
    assert greeted.greeting.ready_where == ("Biblioteca del Este, Ñuñoa",)


def test_a_branch_name_the_kiosk_cannot_show_stops_no_kiosk_syncing(
    branches: Branches,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A name is only shown, so no name fails a kiosk's sync round (which would stop
    every kiosk pushing and purging its journal, and one due a snapshot loading it every
    round). One written with French typography and a tab (before the server refused
    control characters) is shown as the kiosk can; a pair the kiosk cannot read at all is
    left out and said in the log by its code, the others kept."""
    ann = branches.adults()[0]
    north_agent, north = branches.kiosk(tmp_path / "north", "North")
    with branches.session() as db:
        found = db.get(Branch, "East")
        assert found is not None
        found.name = "Médiathèque\u00a0: Est\u00ad\tEnd"
        db.commit()
    copy, _ = _two_copies_on_the_shelf(branches)  # type: ignore[arg-type]
    assert getattr(north.checkout(sign_in(north, ann), copy), "status", None) is CheckoutStatus.LENT
    report = north_agent.sync_once()
    assert report.pushed == 1
    assert north_agent.status.connectivity is Connectivity.ONLINE
    assert outbox.waiting(north_agent.store)[0] == 0
    assert (mirroring.branch_names(north_agent.store) or {})["East"] == "Médiathèque : Est End"

    # A server sending names no kiosk can read: each such pair left out, the round done.
    monkeypatch.setattr(
        api_app,
        "branch_names_header",
        lambda _names: "North=%FF%FE,Bad code=Nowhere,East=East%20End,Main=%09",
    )
    caplog.set_level(logging.WARNING, logger="kiosk.sync.agent")
    north_agent.sync_once()
    assert mirroring.branch_names(north_agent.store) == {"East": "East End"}
    left_out = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert left_out == [
        "a branch's name left out: Kiosk-Branch-Names: North's name is not UTF-8",
        "a branch's name left out: Kiosk-Branch-Names: pair 2 names no branch code",
        "a branch's name left out: Kiosk-Branch-Names: Main's name has nothing to show",
    ]
    # A new kiosk takes its snapshot once, whatever the names, and follows it.
    east_agent, _ = branches.kiosk(tmp_path / "east", "East")
    assert mirroring.branch_names(east_agent.store) == {"East": "East End"}
    assert east_agent.sync_once().snapshot_rows == 0
