"""The server's PIN check for devices, on SQLite and PostgreSQL: the kiosks' verifier and
lockout, counted across devices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from kiosk.central.circulation.authentication import PinAnswer, check_pin
from kiosk.central.models import Patron, PinAttempts
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
        assert db.get(PinAttempts, "ada") is None


def test_five_wrong_pins_lock_for_fifteen_minutes_even_the_right_one(engine: Engine) -> None:
    answers = [_check(engine, "ada", f"000{n}") for n in range(5)]
    assert answers == [PinAnswer.WRONG] * 4 + [PinAnswer.LOCKED]
    assert _check(engine, "ada", "4321", minutes=14) is PinAnswer.LOCKED
    assert _check(engine, "ada", "4321", minutes=15) is PinAnswer.RIGHT


def test_a_patron_without_a_pin_is_never_let_in_by_one(engine: Engine) -> None:
    assert _check(engine, "ben", "") is PinAnswer.NO_PIN
    assert _check(engine, "ben", "1234") is PinAnswer.NO_PIN
