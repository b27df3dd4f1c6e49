"""Holds placed, cancelled and reordered by staff, on SQLite and PostgreSQL: the queue
stays numbered 1, 2, ..., the item on the hold shelf waits for whoever is first, and
every change reaches the kiosks and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.holds import (
    cancel_hold,
    hold_shelf,
    move_hold,
    patron_holds,
    place_hold,
    queue,
)
from kiosk.central.errors import CentralError
from kiosk.central.models import AuditEntry, Change

from .desk_library import CYRIL, NOW, build, lend


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    built, _policies = build(database_url)
    yield built
    built.dispose()


def _queue(engine: Engine, barcode: str) -> list[tuple[str, int, bool]]:
    with Session(engine) as db:
        return [(hold.patron_id, hold.position, hold.ready) for hold in queue(db, barcode)]


def _place(engine: Engine, patron_id: str, barcode: str) -> None:
    with Session(engine) as db:
        place_hold(db, patron_id, barcode, NOW, CYRIL)


def test_a_hold_on_an_item_on_the_shelf_is_ready_at_once_and_the_next_waits(
    engine: Engine,
) -> None:
    _place(engine, "ada", "F1")
    _place(engine, "student", "F1")
    assert _queue(engine, "F1") == [("ada", 1, True), ("student", 2, False)]
    with Session(engine) as db:
        [mine] = patron_holds(db, "student")
        assert (mine.item_barcode, mine.position, mine.title) == ("F1", 2, "Middlemarch")
        audited = db.scalars(select(AuditEntry.action).where(AuditEntry.actor == "cyril")).all()
        assert audited == ["hold.place", "hold.place"]
        changed = db.scalars(select(Change.entity).where(Change.entity == "hold")).all()
        assert len(changed) == 2


def test_a_hold_on_an_item_on_loan_waits_for_its_return(engine: Engine) -> None:
    with Session(engine) as db:
        lend(db, "F1", "ada", "2026-11-30")
    _place(engine, "ben", "F1")
    assert _queue(engine, "F1") == [("ben", 1, False)]


@pytest.mark.parametrize(
    ("case", "patron_id", "barcode", "message"),
    [
        ("twice", "ben", "HELD", "hold queue already"),
        ("on loan to them", "ada", "F1", "on loan already"),
        ("lost item", "ada", "LOST1", "recorded as lost"),
        ("no such item", "ada", "NOPE", "no item has barcode NOPE"),
        ("no such patron", "nobody", "F1", "no such patron"),
    ],
)
def test_a_hold_that_cannot_be_is_refused_clearly(
    engine: Engine, case: str, patron_id: str, barcode: str, message: str
) -> None:
    with Session(engine) as db:
        lend(db, "F1", "ada", "2026-11-30")
    before = _queue(engine, barcode)
    with pytest.raises(CentralError, match=message):
        _place(engine, patron_id, barcode)
    assert _queue(engine, barcode) == before, case


def test_cancelling_the_ready_hold_leaves_the_item_waiting_for_the_next(engine: Engine) -> None:
    _place(engine, "ada", "HELD")
    _place(engine, "student", "HELD")
    with Session(engine) as db:
        first = queue(db, "HELD")[0]
        cancel_hold(db, first.hold_id, NOW + timedelta(hours=1), CYRIL, "patron asked")
    assert _queue(engine, "HELD") == [("ada", 1, True), ("student", 2, False)]
    with Session(engine) as db:
        ready = queue(db, "HELD")[0]
        assert ready.ready_at == NOW + timedelta(hours=1)
        removed = db.scalars(select(Change).where(Change.key == str(first.hold_id))).all()
        assert removed[-1].data is None


def test_moving_a_hold_renumbers_the_queue_and_the_shelf_follows_the_first(
    engine: Engine,
) -> None:
    _place(engine, "ada", "HELD")
    _place(engine, "student", "HELD")
    with Session(engine) as db:
        last = queue(db, "HELD")[2]
        move_hold(db, last.hold_id, 1, NOW, CYRIL)
    assert _queue(engine, "HELD") == [("student", 1, True), ("ben", 2, False), ("ada", 3, False)]
    with Session(engine) as db, pytest.raises(CentralError, match="from 1 to 3"):
        move_hold(db, last.hold_id, 4, NOW, CYRIL)


def test_the_hold_shelf_lists_ready_holds_with_when_they_expire(engine: Engine) -> None:
    with Session(engine) as db:
        place_hold(db, "ada", "F3", NOW + timedelta(days=2), CYRIL)
    with Session(engine) as db:
        shelf = hold_shelf(db, NOW + timedelta(days=7, hours=1), keep_days=7)
    assert [(row.hold.item_barcode, row.expired) for row in shelf] == [
        ("HELD", True),  # ready since NOW: kept seven days
        ("F3", False),
    ]
    assert shelf[0].expires == NOW + timedelta(days=7)
    assert shelf[0].patron_name == "Tester, Ben"


def test_a_barred_or_lapsed_patron_places_holds_only_through_staff(engine: Engine) -> None:
    device = Actor("sip2:selfcheck", "127.0.0.1", "sip2")
    for patron_id in ("barred", "lapsed"):
        with Session(engine) as db, pytest.raises(CentralError, match="ask staff"):
            place_hold(db, patron_id, "F1", NOW, device)
    _place(engine, "barred", "F1")  # staff at the desk decide for themselves
    assert _queue(engine, "F1") == [("barred", 1, True)]
