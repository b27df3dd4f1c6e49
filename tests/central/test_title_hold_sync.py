"""Holds on titles between the real central server and a real kiosk store, over SQLite and
PostgreSQL: the mirror learns a title hold within one sync; a copy returned at the
kiosk's drop station goes to the hold shelf for the first in the title's queue and is
lent there to that patron alone, before and after the server hears of it; the pushed
return traps the copy on the server once; a checkout of any copy by the first in the
queue fulfils their hold; a renewal waits for another patron's title hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.circulation.desk import set_item_status
from kiosk.central.circulation.holds import place_hold, place_title_hold_by_copy
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.models import AppliedTransaction, Change, Hold, Item, Loan
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import (
    CheckoutStatus,
    PatronSession,
    RenewStatus,
    ReturnStatus,
    Unavailable,
)
from kiosk.store.mirror import MirrorHold
from kiosk.sync.agent import SyncError, _load_page
from kiosk.sync.protocol import Entity, SnapshotPage, Wire

from .conftest import Central

STAFF = Actor("cyril", "127.0.0.1")


def _adults(central: Central) -> list[dict[str, Any]]:
    return [c for c in central.library.cards if c["situation"] == "adult, nothing on loan"]


def _patron_id(central: Central, who: dict[str, Any]) -> str:
    return str(next(p["patron_id"] for p in central.library.patrons if p["card"] == who["card"]))


def _sign_in(circulation: Circulation, who: dict[str, Any]) -> PatronSession:
    identified = circulation.identify(who["card"], who["pin"])
    assert not isinstance(identified, Unavailable)
    assert identified.session is not None, identified.status
    return identified.session


def _two_copies_on_the_shelf(central: Central) -> tuple[str, str]:
    """Two available FICTION copies of one record that no one holds or borrows."""
    shelf = set(central.library.samples["FICTION"]["available"])
    with central.session() as db:
        lent = set(db.scalars(select(Loan.item_barcode)))
        held = set(db.scalars(select(Hold.item_barcode)))
        by_record: dict[int, list[str]] = {}
        for barcode, brn in db.execute(
            select(Item.barcode, Item.brn).where(Item.status == "available").order_by(Item.barcode)
        ):
            if barcode not in lent and barcode not in held:
                by_record.setdefault(brn, []).append(barcode)
    for copies in by_record.values():
        if len(copies) >= 2 and shelf & set(copies):
            first = next(barcode for barcode in copies if barcode in shelf)
            return first, next(barcode for barcode in copies if barcode != first)
    raise AssertionError("the demo library has no record with two copies on the shelf")


def _status(answer: object) -> object:
    return getattr(answer, "status", None)


def test_a_title_hold_reaches_the_kiosk_and_traps_the_copy_returned_there(
    central: Central, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    ann, bea, cat = (_sign_in(circulation, who) for who in _adults(central)[:3])
    bea_id = _patron_id(central, _adults(central)[1])
    copy, other_copy = _two_copies_on_the_shelf(central)
    assert _status(circulation.checkout(ann, copy)) is CheckoutStatus.LENT
    agent.sync_once()
    with central.session() as db:
        place_title_hold_by_copy(db, bea_id, copy, central.clock.now(), STAFF)

    agent.sync_once()  # the mirror follows within one sync
    with agent.store.mirror.connect() as mirror:
        [row] = mirror.execute(select(MirrorHold).where(MirrorHold.patron_id == bea_id)).all()
    assert (row.patron_id, row.item_barcode, row.ready) == (bea_id, None, False)
    assert row.brn is not None
    # The other copy, on the shelf and untrapped, may still be lent to anyone: a renewal
    # of it, though, waits for bea's title hold.
    assert _status(circulation.checkout(cat, other_copy)) is CheckoutStatus.LENT
    renewal = circulation.renew(cat, other_copy)
    assert _status(renewal) is RenewStatus.REFUSED
    assert [r.reason.value for r in getattr(renewal, "refusals", ())] == ["on_hold_for_other"]

    returned = circulation.return_item(copy)
    assert _status(returned) is ReturnStatus.RETURNED
    assert getattr(returned, "bin", None) == circulation.bins.hold_shelf
    # Before the server knows: the copy is bea's alone here.
    refused = circulation.checkout(ann, copy)
    assert _status(refused) is CheckoutStatus.REFUSED
    assert [r.reason.value for r in getattr(refused, "refusals", ())] == ["on_hold_for_other"]

    for _ in range(2):  # pushed, and pushed again: applied once
        report = agent.sync_once()
        assert report.exceptions == 0
    with central.session() as db:
        trapped = db.scalars(select(Hold).where(Hold.patron_id == bea_id)).one()
        assert (trapped.item_barcode, trapped.ready) == (copy, True)
        returns = db.scalar(
            select(func.count())
            .select_from(AppliedTransaction)
            .where(AppliedTransaction.item_barcode == copy, AppliedTransaction.kind == "return")
        )
        assert returns == 1
    with agent.store.mirror.connect() as mirror:
        [row] = mirror.execute(select(MirrorHold).where(MirrorHold.patron_id == bea_id)).all()
    assert (row.item_barcode, row.ready) == (copy, True)

    # After the server knows, the same: ann may not have it, bea takes it.
    assert _status(circulation.checkout(ann, copy)) is CheckoutStatus.REFUSED
    lent = circulation.checkout(bea, copy)
    assert _status(lent) is CheckoutStatus.LENT
    assert getattr(lent, "hold_fulfilled", False)
    agent.sync_once()
    with central.session() as db:
        assert db.scalars(select(Hold).where(Hold.patron_id == bea_id)).all() == []
        loan = db.get(Loan, copy)
        assert loan is not None
        assert loan.patron_id == bea_id


def test_the_first_in_a_title_queue_fulfils_it_by_borrowing_any_copy_at_the_kiosk(
    central: Central, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    circulation = Circulation(agent.store, central.clock)
    ann_card, bea_card = _adults(central)[:2]
    ann_id, bea_id = _patron_id(central, ann_card), _patron_id(central, bea_card)
    copy, other_copy = _two_copies_on_the_shelf(central)
    with central.session() as db:
        place_title_hold_by_copy(db, ann_id, copy, central.clock.now(), STAFF)
    with central.session() as db:
        place_title_hold_by_copy(db, bea_id, copy, central.clock.now(), STAFF)
    agent.sync_once()
    ann = _sign_in(circulation, ann_card)
    lent = circulation.checkout(ann, other_copy)
    assert _status(lent) is CheckoutStatus.LENT
    assert getattr(lent, "hold_fulfilled", False)
    # Here at once, bea is now first: she fulfils hers with the other copy.
    lent = circulation.checkout(_sign_in(circulation, bea_card), copy)
    assert getattr(lent, "hold_fulfilled", False)
    agent.sync_once()
    with central.session() as db:
        assert db.scalars(select(Hold).where(Hold.patron_id.in_([ann_id, bea_id]))).all() == []


def test_a_copy_trapped_here_for_an_item_hold_leaves_that_patrons_title_hold_waiting(
    central: Central, tmp_path: Path
) -> None:
    """Bea holds this copy and, from before the two were refused together, its title: the
    copy returned at the kiosk waits for her item hold, and her title hold waits on in
    the title's queue, here as on the server."""
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    ann_card, bea_card = _adults(central)[:2]
    bea_id = _patron_id(central, bea_card)
    copy, other_copy = _two_copies_on_the_shelf(central)
    assert _status(circulation.checkout(_sign_in(circulation, ann_card), copy)) is (
        CheckoutStatus.LENT
    )
    agent.sync_once()
    now = central.clock.now()
    with central.session() as db:
        place_hold(db, bea_id, copy, now, STAFF)
    with central.session() as db:
        log = ChangeLog(db)
        log.lock()
        brn = db.scalars(select(Item.brn).where(Item.barcode == copy)).one()
        title = Hold(
            item_barcode=None,
            brn=brn,
            patron_id=bea_id,
            position=1,
            ready=False,
            ready_at=None,
            title="",
            placed_at=now,
        )
        db.add(title)
        db.flush()
        log.hold(title)
        db.commit()
    agent.sync_once()
    returned = circulation.return_item(copy)
    assert getattr(returned, "bin", None) == circulation.bins.hold_shelf
    with agent.store.world() as world:
        trapped, other = world.item(copy), world.item(other_copy)
    assert trapped is not None
    assert other is not None
    assert trapped.trapped_for == bea_id
    assert other.title_holds == (bea_id,)
    agent.sync_once()
    with agent.store.world() as world:
        other = world.item(other_copy)
    assert other is not None
    assert other.title_holds == (bea_id,)


class _HoldRowOneVersionOlder(Wire):
    """A kiosk's HoldRow before holds on titles."""

    id: int
    item_barcode: str
    patron_id: str
    position: int
    ready: bool
    title: str


def test_an_item_holds_change_is_what_a_kiosk_one_version_older_reads(
    central: Central,
) -> None:
    copy, _ = _two_copies_on_the_shelf(central)
    ann_id, bea_id = (_patron_id(central, who) for who in _adults(central)[:2])
    with central.session() as db:
        item_hold_id = place_hold(db, ann_id, copy, central.clock.now(), STAFF).id
    with central.session() as db:
        title_hold = place_title_hold_by_copy(db, bea_id, copy, central.clock.now(), STAFF)
        title_hold_id, brn = title_hold.id, title_hold.brn
    with central.session() as db:
        data = {
            int(change.key): change.data or {}
            for change in db.scalars(select(Change).where(Change.entity == "hold"))
        }
    assert "brn" not in data[item_hold_id]
    assert _HoldRowOneVersionOlder.model_validate(data[item_hold_id]).item_barcode == copy
    assert data[title_hold_id]["brn"] == brn


def test_a_kiosk_reads_a_snapshots_columns_by_name(central: Central, tmp_path: Path) -> None:
    """A server one version older sends no brn (read as null); a newer one may add a
    column (passed over) or send them in another order."""
    agent = central.agent(tmp_path / "a")
    older = SnapshotPage(
        cursor=0,
        entity=Entity.HOLD,
        columns=["id", "item_barcode", "patron_id", "position", "ready", "title"],
        rows=[[7, "F1", "P1", 1, True, "Middlemarch"]],
        after=None,
        totals={},
    )
    newer = older.model_copy(
        update={
            "columns": [
                "title",
                "colour",
                "brn",
                "ready",
                "position",
                "patron_id",
                "id",
                "item_barcode",
            ],
            "rows": [["Persuasion", "blue", 2, False, 1, "P2", 8, None]],
        }
    )
    for page in (older, newer):
        _load_page(agent.store, page)
    with agent.store.mirror.connect() as mirror:
        rows = mirror.execute(select(MirrorHold).order_by(MirrorHold.id)).all()
    assert [(r.id, r.item_barcode, r.patron_id, r.ready, r.title, r.brn) for r in rows] == [
        (7, "F1", "P1", True, "Middlemarch", None),
        (8, None, "P2", False, "Persuasion", 2),
    ]
    without_a_needed_column = older.model_copy(
        update={"columns": older.columns[1:], "rows": [older.rows[0][1:]]}
    )
    with pytest.raises(SyncError, match="columns are not this kiosk's"):
        _load_page(agent.store, without_a_needed_column)


def test_a_damaged_copy_returned_at_the_kiosk_is_trapped_for_no_title_hold(
    central: Central, tmp_path: Path
) -> None:
    """Ann's copy was recorded damaged while on loan; bea waits for its title. Returned at
    the drop station it goes to the shelf, not the hold shelf, as the server decides:
    bea waits on for a copy she can borrow."""
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    ann_card, bea_card = _adults(central)[:2]
    bea_id = _patron_id(central, bea_card)
    copy, other_copy = _two_copies_on_the_shelf(central)
    assert _status(circulation.checkout(_sign_in(circulation, ann_card), copy)) is (
        CheckoutStatus.LENT
    )
    agent.sync_once()
    now = central.clock.now()
    with central.session() as db:
        set_item_status(db, PolicyCache(), barcode=copy, choice="DAMAGED", now=now, actor=STAFF)
    with central.session() as db:
        place_title_hold_by_copy(db, bea_id, copy, now, STAFF)
    agent.sync_once()
    returned = circulation.return_item(copy)
    assert _status(returned) is ReturnStatus.RETURNED
    assert getattr(returned, "bin", None) == circulation.bins.shelf
    with agent.store.world() as world:
        back, other = world.item(copy), world.item(other_copy)
    assert back is not None
    assert other is not None
    assert (back.trapped_for, back.status) == (None, "damaged")
    assert other.title_holds == (bea_id,)
    agent.sync_once()
    with central.session() as db:
        waiting = db.scalars(select(Hold).where(Hold.patron_id == bea_id)).one()
        assert (waiting.item_barcode, waiting.ready) == (None, False)
