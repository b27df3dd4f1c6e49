"""Changing where a hold is collected (issue 21), through the decision path
(``holds.change_pickup``), on SQLite and PostgreSQL: a waiting hold only changes its
pickup; a ready hold's copy goes in transit from the old branch's shelf to the new one
and is ready only once it arrives; a copy on its way for the hold goes on to the new
branch. Each change enters the change log for the kiosks and the audit log; a branch
the library does not have, the same branch again or another patron's hold is refused
with nothing changed.

The library has three branches, East, Main and North; every copy's home is Main."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import ToSend, in_transit, to_send
from kiosk.central.circulation.holds import HoldRefused, change_pickup
from kiosk.central.errors import CentralError
from kiosk.central.models import AuditEntry, Change
from kiosk.sync.protocol import Entity

from . import test_pickup_branches
from .desk_library import CYRIL, NOW, lend
from .test_pickup_branches import Library

LATER = NOW + timedelta(hours=2)
ADA = Actor("patron ada", "192.0.2.7", "portal")

# The three branches' library, as test_pickup_branches makes it.
library = test_pickup_branches.library


def _counts(library: Library) -> tuple[int, int]:
    """The change log's entries, and the audit log's pickup changes."""
    with library.session() as db:
        changes = db.scalar(select(func.count()).select_from(Change)) or 0
        audited = (
            db.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "hold.pickup")
            )
            or 0
        )
    return changes, audited


def _change(library: Library, hold_id: int, pickup: str, actor: Actor = CYRIL, **kw: str) -> None:
    with library.session() as db:
        change_pickup(db, hold_id, pickup, LATER, actor, **kw)


def test_a_waiting_hold_changes_its_pickup_for_the_kiosks_and_the_audit(library: Library) -> None:
    hold = library.place("ada", pickup="North")
    changes, audited = _counts(library)
    _change(library, hold.id, "East", ADA, patron_id="ada")
    assert library.hold(hold.id) == (None, False, "East")
    assert _counts(library) == (changes + 1, audited + 1)
    with library.session() as db:
        entry = db.scalars(select(Change).order_by(Change.seq.desc()).limit(1)).one()
        assert (entry.entity, entry.key) == (Entity.HOLD.value, str(hold.id))
        assert entry.data is not None
        assert entry.data["pickup"] == "East"
        line = db.scalars(select(AuditEntry).where(AuditEntry.action == "hold.pickup")).one()
        assert line.actor == "patron ada"
        assert line.detail == "patron ada; collected at East, was North"


def test_a_ready_holds_copy_goes_in_transit_to_the_new_pickup(library: Library) -> None:
    with library.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
    hold = library.place("ada", pickup="North")
    library.check_in("F1", "North", NOW + timedelta(hours=1))
    assert library.hold(hold.id) == ("F1", True, "North")
    assert library.shelf("North") == ["ada"]

    _change(library, hold.id, "East")
    assert library.hold(hold.id) == ("F1", False, "East")  # trapped, on its way
    assert library.item("F1") == ("in_transit", "East")
    assert library.shelf() == []

    arrived = library.check_in("F1", "East", LATER + timedelta(hours=1))
    assert (arrived.route, arrived.ready_for) == ("hold_shelf", "ada")
    assert library.hold(hold.id) == ("F1", True, "East")
    assert library.shelf("East") == ["ada"]


def test_a_copy_on_its_way_for_the_hold_goes_on_to_the_new_pickup(library: Library) -> None:
    with library.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
    hold = library.place("ada", pickup="East")
    library.check_in("F1", "North", NOW + timedelta(hours=1))
    assert library.item("F1") == ("in_transit", "East")

    _change(library, hold.id, "Main")
    assert library.item("F1") == ("in_transit", "Main")
    assert library.hold(hold.id) == ("F1", False, "Main")
    arrived = library.check_in("F1", "Main", LATER + timedelta(hours=1))
    assert (arrived.route, arrived.ready_for) == ("hold_shelf", "ada")
    assert library.hold(hold.id) == ("F1", True, "Main")

    # A title hold no copy is trapped for changes its pickup alone.
    other = library.place("student", pickup="North")
    _change(library, other.id, "Main")
    assert library.hold(other.id) == (None, False, "Main")


def _to_send(library: Library, source: str | None = None) -> list[ToSend]:
    with library.session() as db:
        return to_send(db, source=source)


def test_a_copy_whose_ready_hold_moved_is_to_send_from_the_shelf_it_waits_on(
    library: Library,
) -> None:
    """North's hold shelf no longer lists it (the hold is East's, not ready) and no
    check-in put it in North's transfers: North is told to send it, until a check-in
    (North's, or East's) routes it."""
    with library.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
    hold = library.place("ada", pickup="North")
    library.check_in("F1", "North", NOW + timedelta(hours=1))
    _change(library, hold.id, "East")
    assert library.shelf("North") == []
    sending = [ToSend("F1", "Middlemarch", "North", "East")]
    assert _to_send(library, "North") == sending
    assert _to_send(library) == sending
    assert _to_send(library, "East") == _to_send(library, "Main") == []
    with library.session() as db:
        assert [row.barcode for row in in_transit(db, LATER, to="East")] == ["F1"]

    # Checked in at North, it is sent: in transit to East still, no longer to send.
    sent = library.check_in("F1", "North", LATER + timedelta(hours=1))
    assert (sent.route, sent.ready_for) == ("transfer", "ada")
    assert library.item("F1") == ("in_transit", "East")
    assert _to_send(library) == []
    arrived = library.check_in("F1", "East", LATER + timedelta(hours=2))
    assert (arrived.route, arrived.ready_for) == ("hold_shelf", "ada")
    assert library.hold(hold.id) == ("F1", True, "East")


def test_a_copy_checked_in_where_it_goes_is_no_longer_to_send(library: Library) -> None:
    with library.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
    hold = library.place("ada", pickup="North")
    library.check_in("F1", "North", NOW + timedelta(hours=1))
    _change(library, hold.id, "East")
    library.check_in("F1", "East", LATER + timedelta(hours=1))
    assert _to_send(library) == []
    assert library.hold(hold.id) == ("F1", True, "East")


def test_a_hold_moved_back_before_its_copy_was_sent_is_ready_again_where_it_waits(
    library: Library,
) -> None:
    with library.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
    hold = library.place("ada", pickup="North")
    library.check_in("F1", "North", NOW + timedelta(hours=1))
    _change(library, hold.id, "East")
    _change(library, hold.id, "North")
    assert library.hold(hold.id) == ("F1", True, "North")
    assert library.item("F1") == ("available", None)
    assert library.shelf("North") == ["ada"]
    assert _to_send(library) == []


@pytest.mark.parametrize(
    ("pickup", "patron", "refusal"),
    [
        ("Nowhere", None, "no branch 'Nowhere'"),
        ("<b>North</b>", None, "no branch '<b>North</b>'"),
        ("North", None, "collected at North already"),
        ("East", "student", "no such hold"),
    ],
)
def test_a_refused_change_changes_nothing(
    library: Library, pickup: str, patron: str | None, refusal: str
) -> None:
    with library.session() as db:
        lend(db, "F1", "ben", "2026-11-30")
    hold = library.place("ada", pickup="North")
    library.check_in("F1", "North", NOW + timedelta(hours=1))
    before = _counts(library)
    with library.session() as db, pytest.raises(CentralError) as refused:
        change_pickup(
            db, hold.id, pickup, LATER, CYRIL if patron is None else ADA, patron_id=patron
        )
    assert refusal in str(refused.value)
    assert isinstance(refused.value, HoldRefused) == (patron is None)
    assert library.hold(hold.id) == ("F1", True, "North")
    assert library.item("F1") == ("available", None)
    assert _counts(library) == before
