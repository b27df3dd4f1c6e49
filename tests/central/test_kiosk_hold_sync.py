"""A title hold placed at a kiosk (issue 17, item 6): journaled as an entry of its own,
placed once by the server's decision path (circulation.holds.add_title_hold, as the
portal's and the desk's), on SQLite and PostgreSQL: pushed twice or reordered, it is one
hold; one the server refuses now becomes a staff exception; a kiosk in a branch has it
collected there."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import add_branch
from kiosk.central.circulation.holds import place_title_hold
from kiosk.central.models import AppliedTransaction, AuditEntry, Hold, Item, StaffException
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import CheckoutStatus, HoldStatus, PatronSession, Unavailable
from kiosk.common.clock import FixedClock
from kiosk.store import outbox
from kiosk.store.store import Store
from kiosk.sync.agent import SyncAgent, _wire_entry
from kiosk.sync.protocol import WireEntry

from .conftest import NOW, Central, ServerThread, prepare_central
from .test_membership_sync import push
from .test_sync import available, card, journal_size, patron_id, server_count, sign_in


def kept_for_another(central: Central, who: dict[str, Any]) -> str:
    """A copy on the hold shelf, ready for a patron other than ``who``."""
    mine = patron_id(central, who["card"])
    with central.session() as db:
        barcode = db.scalar(
            select(Hold.item_barcode)
            .where(Hold.ready.is_(True), Hold.patron_id != mine)
            .order_by(Hold.item_barcode)
            .limit(1)
        )
    assert barcode is not None, "the demo library has no hold ready"
    return barcode


def record_of(central: Central, barcode: str) -> int:
    with central.session() as db:
        item = db.get(Item, barcode)
        assert item is not None
        return item.brn


def holds_of(central: Central, who: dict[str, Any]) -> list[tuple[Any, ...]]:
    with central.session() as db:
        return [
            tuple(row)
            for row in db.execute(
                select(Hold.brn, Hold.item_barcode, Hold.ready, Hold.pickup).where(
                    Hold.patron_id == patron_id(central, who["card"])
                )
            )
        ]


def offered_and_placed(circulation: Circulation, session: PatronSession, barcode: str) -> None:
    refused = circulation.checkout(session, barcode)
    assert not isinstance(refused, Unavailable)
    assert (refused.status, refused.hold_offered) == (CheckoutStatus.REFUSED, True)
    placed = circulation.place_hold(session, barcode)
    assert not isinstance(placed, Unavailable)
    assert placed.status is HoldStatus.PLACED


def test_a_hold_placed_at_the_kiosk_is_placed_once_however_it_is_pushed(
    central: Central, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    who = card(central, "adult, nothing on loan")
    session = sign_in(circulation, who)
    copy = kept_for_another(central, who)
    offered_and_placed(circulation, session, copy)
    lent = circulation.checkout(session, available(central)[0])
    assert not isinstance(lent, Unavailable)
    assert lent.status is CheckoutStatus.LENT
    entries = [_wire_entry(row) for row in outbox.entries(agent.store)]
    assert [entry.kind for entry in entries] == ["hold", "checkout"]
    assert entries[0].item_barcode == ""
    # Reordered: the checkout first, then both again; each applied once.
    assert push(central, entries[1:]) == ["applied"]
    assert push(central, entries[:1]) == ["applied"]
    assert push(central, entries) == ["duplicate", "duplicate"]
    assert server_count(central, AppliedTransaction, AppliedTransaction.kind == "hold") == 1
    assert server_count(central, StaffException) == 0
    # A title hold, waiting in its record's queue, collected where the library's default
    # is (the demo library has no branches).
    assert holds_of(central, who) == [(record_of(central, copy), None, False, None)]
    with central.session() as db:
        audited = db.scalars(select(AuditEntry).where(AuditEntry.action == "hold.place")).all()
    assert [(entry.actor, entry.detail.split(";")[0]) for entry in audited] == [
        ("kiosk 1", f"patron {patron_id(central, who['card'])}")
    ]
    report = agent.sync_once()
    assert (report.pushed, report.duplicates) == (0, 2)
    assert journal_size(agent) == 0
    # The mirror has it from the server now: its place in the queue, and no second hold.
    account = circulation.account(session)
    assert not isinstance(account, Unavailable)
    assert [(hold.position > 0, hold.ready) for hold in account.holds_waiting] == [(True, False)]
    again = circulation.place_hold(session, copy)
    assert not isinstance(again, Unavailable)
    assert again.status is HoldStatus.WAITING


def test_a_hold_the_server_refuses_now_is_shown_to_staff(central: Central, tmp_path: Path) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    who = card(central, "adult, nothing on loan")
    copy = kept_for_another(central, who)
    offered_and_placed(circulation, sign_in(circulation, who), copy)
    # Meanwhile the patron placed the same hold at the portal.
    with central.session() as db:
        place_title_hold(
            db,
            patron_id(central, who["card"]),
            record_of(central, copy),
            NOW,
            Actor("patron", "127.0.0.1", "portal"),
        )
    report = agent.sync_once()
    assert report.exceptions == 1
    assert len(holds_of(central, who)) == 1
    with central.session() as db:
        reasons = [(e.reason, e.detail) for e in db.scalars(select(StaffException))]
    assert len(reasons) == 1
    assert reasons[0][0] == "hold_refused"
    assert "waiting for" in reasons[0][1]
    assert journal_size(agent) == 0


def test_a_hold_placed_at_a_kiosk_in_a_branch_is_collected_there(
    database_url: str, tmp_path: Path
) -> None:
    engine, library, _ = prepare_central(database_url, kiosks=())
    with Session(engine) as db:
        for code, name in (("Main", "Main Library"), ("North", "Northside Library")):
            add_branch(db, code, name, NOW, actor="test", origin="test")
        token = add_kiosk(db, "kiosk-north", NOW, branch="North")
    clock = FixedClock(NOW)
    try:
        with ServerThread(engine, clock) as server:
            store = Store.open(tmp_path / "north", kiosk_id="kiosk-north")
            agent = SyncAgent(store, server.url, token, clock)
            agent.sync_once()
            central = Central(engine, server.url, {"kiosk-a": token}, library, clock)
            circulation = Circulation(agent.store, clock)
            who = card(central, "adult, nothing on loan")
            copy = kept_for_another(central, who)
            offered_and_placed(circulation, sign_in(circulation, who), copy)
            [entry] = [_wire_entry(row) for row in outbox.entries(agent.store)]
            assert entry.details["pickup"] == "North"
            assert agent.sync_once().exceptions == 0
            assert holds_of(central, who) == [(record_of(central, copy), None, False, "North")]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "details",
    [
        {},
        {"brn": 1},
        {"brn": 0, "item": "31000000000001", "pickup": None},
        {"brn": 1, "item": "", "pickup": None},
        {"brn": 1, "item": "31000000000001", "pickup": "no branch!"},
        {"brn": 1, "item": "31000000000001", "pickup": None, "patron": "P1"},
    ],
)
def test_a_hold_entry_names_its_record_copy_and_pickup(details: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WireEntry(
            id="e-1",
            seq=1,
            kind="hold",
            decided_at=NOW,
            item_barcode="",
            patron_id="P0000001",
            details=details,
            charged=Decimal(0),
            status_after="",
            loan_patron_id=None,
            loan_member_type=None,
            loan_due=None,
            loan_renewals=None,
            fulfilled_hold_of=None,
        )


def test_a_hold_for_a_patron_who_may_not_borrow_the_title_is_refused_for_staff(
    central: Central, tmp_path: Path
) -> None:
    """A kiosk offers no hold on a DVD to a Grade 8 patron (no privilege); one pushed all
    the same (a kiosk with an older policy, or older software) is refused by the
    decision path as the portal's would be: the hold_refused exception, no hold. Its
    transaction keeps no details either way: the hold's row carries the hold."""
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    adult = card(central, "adult, nothing on loan")
    offered_and_placed(circulation, sign_in(circulation, adult), kept_for_another(central, adult))
    [placed] = [_wire_entry(row) for row in outbox.entries(agent.store)]
    grade8 = card(central, "grade8, nothing on loan")
    dvd = available(central, "DVD")[0]
    refused = placed.model_copy(
        update={
            "id": f"{placed.id}-grade8",
            "seq": placed.seq + 1,
            "patron_id": patron_id(central, grade8["card"]),
            "details": {"brn": record_of(central, dvd), "item": dvd, "pickup": None},
        }
    )
    assert push(central, [placed, refused]) == ["applied", "exception"]
    assert holds_of(central, grade8) == []
    assert len(holds_of(central, adult)) == 1
    with central.session() as db:
        [(reason, detail)] = db.execute(
            select(StaffException.reason, StaffException.detail).where(
                StaffException.entry_id == refused.id
            )
        )
        rows = db.execute(
            select(AppliedTransaction.patron_id, AppliedTransaction.details)
            .where(AppliedTransaction.kind == "hold")
            .order_by(AppliedTransaction.kiosk_seq)
        ).all()
    assert reason == "hold_refused"
    assert "may not borrow" in detail
    assert "Grade 8 members can't borrow DVD items." in detail
    assert [tuple(row) for row in rows] == [
        (patron_id(central, adult["card"]), {}),
        (patron_id(central, grade8["card"]), {}),
    ]
