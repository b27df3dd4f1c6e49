from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.circulation.service import Circulation
from kiosk.common.clock import FixedClock
from kiosk.common.pins import pin_verifier
from kiosk.store.store import Store

from .library import PIN, build

MONDAY_MORNING = datetime(2026, 11, 23, 10, 0)


@pytest.fixture(scope="session")
def verifier() -> str:
    """One argon2id hash for every test patron: hashing is slow on purpose."""
    return pin_verifier(PIN)


@pytest.fixture
def store(tmp_path: Path, verifier: str) -> Iterator[Store]:
    store = build(tmp_path / "data", verifier=verifier)
    yield store
    store.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_MORNING)


@pytest.fixture
def circulation(store: Store, clock: FixedClock) -> Circulation:
    return Circulation(store, clock)
