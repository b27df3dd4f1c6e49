"""The server's PIN check for devices, on SQLite and PostgreSQL: the kiosks' verifier and
lockout, counted across devices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from kiosk.central.circulation.authentication import PinAnswer, check_pin
from kiosk.central.models import Change, Patron
from kiosk.common.pins import pin_verifier

from .desk_library import NOW, build


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    built, _policies = build(database_url)
    with Session(built) as db:
        db.execute(
            update(Patron)
            .where(Patron.patron_id == "ada")
            .values(pin_verifier=pin_verifier("4321"))
        )
        db.commit()
    yield built
    built.dispose()


def _check(engine: Engine, patron_id: str, pin: str, minutes: int = 0) -> PinAnswer:
    with Session(engine) as db:
        patron = db.get(Patron, patron_id)
        assert patron is not None
        return check_pin(db, patron, pin, NOW + timedelta(minutes=minutes)).answer


def test_the_right_pin_opens_and_clears_the_count(engine: Engine) -> None:
    assert _check(engine, "ada", "1111") is PinAnswer.WRONG
    assert _check(engine, "ada", "4321") is PinAnswer.RIGHT
    with Session(engine) as db:
        patron = db.get(Patron, "ada")
        assert patron is not None
        assert (patron.pin_failures, patron.pin_locked_until) == (0, None)


def test_every_change_of_the_count_reaches_the_kiosks_and_a_right_pin_alone_writes_none(
    engine: Engine,
) -> None:
    def patron_changes() -> list[dict[str, object] | None]:
        with Session(engine) as db:
            return [
                change.data
                for change in db.scalars(select(Change).where(Change.key == "ada"))
                if change.entity == "patron"
            ]

    assert _check(engine, "ada", "4321") is PinAnswer.RIGHT
    assert patron_changes() == []  # nothing counted, nothing cleared: no change to send
    assert _check(engine, "ada", "1111") is PinAnswer.WRONG
    assert _check(engine, "ada", "4321") is PinAnswer.RIGHT
    sent = patron_changes()
    assert len(sent) == 2
    assert sent[0] is not None
    assert sent[0]["pin_failures"] == 1
    # Cleared: the row as a kiosk one version older reads it, with no PIN state at all.
    assert sent[1] is not None
    assert "pin_failures" not in sent[1]


def test_five_wrong_pins_lock_for_fifteen_minutes_even_the_right_one(engine: Engine) -> None:
    answers = [_check(engine, "ada", f"000{n}") for n in range(5)]
    assert answers == [PinAnswer.WRONG] * 4 + [PinAnswer.LOCKED]
    assert _check(engine, "ada", "4321", minutes=14) is PinAnswer.LOCKED
    assert _check(engine, "ada", "4321", minutes=15) is PinAnswer.RIGHT


def test_a_patron_without_a_pin_is_never_let_in_by_one(engine: Engine) -> None:
    assert _check(engine, "ben", "") is PinAnswer.NO_PIN
    assert _check(engine, "ben", "1234") is PinAnswer.NO_PIN
