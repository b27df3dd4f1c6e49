"""A kiosk and a server a version apart, in either order of upgrade: each change is sent
with the fields the kiosk says it knows (``Kiosk-Row-Fields``), the later ones left out,
since a kiosk refuses a field it does not know. On SQLite and PostgreSQL, through the
real API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from kiosk.central.circulation.changes import ChangeLog
from kiosk.sync.protocol import (
    ROW_FIELDS_HEADER,
    ROW_FIELDS_SINCE,
    ROW_FIELDS_VERSION,
    ChangesPage,
    Entity,
    HoldRow,
    PatronRow,
)

from .conftest import NOW, Central

PATRON = PatronRow(
    patron_id="P-versions",
    card="29000000000099",
    first_name="Vera",
    member_type="ADULT",
    expires=None,
    barred=False,
    owed=Decimal("0.00"),
    pin_verifier=None,
    pin_failures=2,
    pin_locked_until=NOW + timedelta(minutes=15),
    has_email=True,
)
HOLD = HoldRow(
    id=990001,
    item_barcode=None,
    patron_id="P-versions",
    position=1,
    ready=False,
    title="Middlemarch",
    brn=1,
    pickup="EAST",
)


def _sent(central: Central, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = requests.get(
        f"{central.url}/v1/changes",
        params={"since": 0},
        headers={"Authorization": f"Bearer {central.tokens['kiosk-a']}", **headers},
        timeout=30,
    )
    response.raise_for_status()
    page = ChangesPage.model_validate_json(response.text)
    return {
        change.entity.value: change.data or {}
        for change in page.changes
        if change.key in ("P-versions", "990001")
    }


@pytest.fixture
def changed(central: Central) -> Central:
    with central.session() as db:
        log = ChangeLog(db)
        log.lock()
        log.put(Entity.PATRON, PATRON.patron_id, PATRON)
        log.put(Entity.HOLD, str(HOLD.id), HOLD)
        db.commit()
    return central


def _known(version: int) -> dict[str, set[str]]:
    """The fields of each row a kiosk that knows ``version`` reads."""
    later = {
        entity.value: {n for since, names in added.items() if since > version for n in names}
        for entity, added in ROW_FIELDS_SINCE.items()
    }
    return {
        "patron": set(PatronRow.model_fields) - later["patron"],
        "hold": set(HoldRow.model_fields) - later["hold"],
    }


@pytest.mark.parametrize("version", range(ROW_FIELDS_VERSION + 1))
def test_each_kiosk_is_sent_the_fields_its_version_knows(changed: Central, version: int) -> None:
    sent = _sent(changed, {ROW_FIELDS_HEADER: str(version)} if version else {})
    known = _known(version)
    assert set(sent["patron"]) == known["patron"]
    assert set(sent["hold"]) == known["hold"]
    # What it does know comes as it is.
    assert sent["patron"]["card"] == PATRON.card
    assert sent["hold"].get("pickup", "EAST") == "EAST"


@pytest.mark.parametrize("said", ["", "abc", "²", "1.5", "-1", "9" * 30])
def test_a_malformed_version_is_taken_for_the_oldest_kiosk(changed: Central, said: str) -> None:
    sent = _sent(changed, {ROW_FIELDS_HEADER: said})
    assert set(sent["patron"]) == _known(0)["patron"]
    assert set(sent["hold"]) == _known(0)["hold"]


def test_the_oldest_kiosk_is_sent_rows_its_own_models_accept(changed: Central) -> None:
    """Read as a kiosk from before versions reads them: its models forbid unknown fields."""
    sent = _sent(changed, {})
    assert "pickup" not in sent["hold"]
    assert not any(name.startswith("pin_f") or name == "has_email" for name in sent["patron"])
