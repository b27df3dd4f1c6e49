"""Wrong PINs counted wherever they were typed (issue 15): five, at kiosks, in the portal
or at SIP2 devices in any mix, lock the card for 15 minutes everywhere. A kiosk journals
each PIN typed there for the server to count; the server sends every kiosk the card's
count and lock in its patron row. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import ValidationError

from kiosk.central.circulation.authentication import PinAnswer, check_pin
from kiosk.central.config.model import RegistrationSection
from kiosk.central.models import AppliedTransaction, Patron
from kiosk.central.web.sessions import Lifetimes
from kiosk.central.web.settings import ConsoleSettings
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import Identification, IdentifyStatus, Unavailable
from kiosk.store import outbox
from kiosk.sync.agent import SyncAgent
from kiosk.sync.protocol import ROW_FIELDS_HEADER, ChangesPage, WireEntry

from .conftest import NOW, Central, ServerThread
from .test_sync import card, journal_size, patron_id, server_count

WRONG = "0000"


def at_the_kiosk(agent: SyncAgent, central: Central, who: dict[str, Any], pin: str) -> Any:
    answer = Circulation(agent.store, central.clock).identify(who["card"], pin)
    assert not isinstance(answer, Unavailable)
    assert isinstance(answer, Identification)
    return answer


def on_the_server(central: Central, who: dict[str, Any], pin: str) -> PinAnswer:
    """A PIN typed in the portal or at a SIP2 device: the server's one check for both."""
    with central.session() as db:
        patron = db.get(Patron, patron_id(central, who["card"]))
        assert patron is not None
        return check_pin(db, patron, pin, central.clock.now()).answer


def count_on_the_server(central: Central, who: dict[str, Any]) -> tuple[int, Any]:
    with central.session() as db:
        patron = db.get(Patron, patron_id(central, who["card"]))
        assert patron is not None
        return patron.pin_failures, patron.pin_locked_until


@pytest.fixture
def who(central: Central) -> dict[str, Any]:
    return card(central, "has loans")


def test_wrong_pins_in_the_portal_then_at_a_kiosk_lock_the_card_at_both(
    central: Central, who: dict[str, Any], tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    assert [on_the_server(central, who, WRONG) for _ in range(3)] == [PinAnswer.WRONG] * 3
    agent.sync_once()  # the kiosk learns the count
    fourth = at_the_kiosk(agent, central, who, WRONG)
    assert (fourth.status, fourth.attempts_left) == (IdentifyStatus.WRONG_PIN, 1)
    fifth = at_the_kiosk(agent, central, who, WRONG)
    assert fifth.status is IdentifyStatus.LOCKED
    assert fifth.locked_until == NOW + timedelta(minutes=15)
    # Locked at the kiosk before the server has heard: even the right PIN is refused.
    assert at_the_kiosk(agent, central, who, who["pin"]).status is IdentifyStatus.LOCKED
    agent.sync_once()
    assert count_on_the_server(central, who) == (0, NOW + timedelta(minutes=15))
    assert on_the_server(central, who, who["pin"]) is PinAnswer.LOCKED
    assert server_count(central, AppliedTransaction, AppliedTransaction.kind == "pin") == 2
    central.clock.advance(minutes=15)
    assert at_the_kiosk(agent, central, who, who["pin"]).status is IdentifyStatus.IDENTIFIED
    assert on_the_server(central, who, who["pin"]) is PinAnswer.RIGHT


def test_five_wrong_pins_at_two_kiosks_lock_the_portal_and_a_fresh_kiosk(
    central: Central, who: dict[str, Any], tmp_path: Path
) -> None:
    first, second = central.agent(tmp_path / "a"), central.agent(tmp_path / "b")
    first.sync_once()
    second.sync_once()
    for _ in range(3):
        assert at_the_kiosk(first, central, who, WRONG).status is IdentifyStatus.WRONG_PIN
    first.sync_once()
    second.sync_once()
    assert at_the_kiosk(second, central, who, WRONG).attempts_left == 1
    assert at_the_kiosk(second, central, who, WRONG).status is IdentifyStatus.LOCKED
    second.sync_once()
    assert on_the_server(central, who, who["pin"]) is PinAnswer.LOCKED
    first.sync_once()
    assert at_the_kiosk(first, central, who, who["pin"]).status is IdentifyStatus.LOCKED
    # A kiosk set up now takes the lock with its snapshot.
    fresh = central.agent(tmp_path / "c")
    fresh.sync_once()
    assert at_the_kiosk(fresh, central, who, who["pin"]).status is IdentifyStatus.LOCKED


def test_the_right_pin_at_a_kiosk_clears_the_count_everywhere(
    central: Central, who: dict[str, Any], tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    assert on_the_server(central, who, WRONG) is PinAnswer.WRONG
    agent.sync_once()
    assert at_the_kiosk(agent, central, who, WRONG).attempts_left == 3
    assert at_the_kiosk(agent, central, who, who["pin"]).status is IdentifyStatus.IDENTIFIED
    kinds = [(entry.kind, entry.item_barcode) for entry in outbox.entries(agent.store)]
    assert kinds == [("pin", ""), ("pin", "")]
    agent.sync_once()
    assert count_on_the_server(central, who) == (0, None)
    # Four more wrong in the portal do not lock: the count began again.
    assert [on_the_server(central, who, WRONG) for _ in range(4)] == [PinAnswer.WRONG] * 4
    agent.sync_once()
    assert journal_size(agent) == 0  # applied, backed up (immediately here) and gone


def test_a_right_pin_with_nothing_counted_journals_nothing(
    central: Central, who: dict[str, Any], tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    assert at_the_kiosk(agent, central, who, who["pin"]).status is IdentifyStatus.IDENTIFIED
    assert journal_size(agent) == 0


def test_pins_typed_offline_long_ago_count_but_lock_nothing_now(
    central: Central, who: dict[str, Any], tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    for _ in range(5):
        at_the_kiosk(agent, central, who, WRONG)  # offline: the server hears an hour later
    central.clock.advance(hours=1)
    agent.sync_once()
    failures, locked_until = count_on_the_server(central, who)
    assert (failures, locked_until) == (0, NOW + timedelta(minutes=15))
    assert on_the_server(central, who, who["pin"]) is PinAnswer.RIGHT


def _portal_sign_in(url: str, card: str, pin: str) -> requests.Response:
    browser = requests.Session()
    page = browser.get(f"{url}/my/login", timeout=30).text
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return browser.post(
        f"{url}/my/login",
        data={"card": card, "pin": pin, "csrf_token": page[start : page.index('"', start)]},
        allow_redirects=False,
        timeout=30,
    )


def test_three_wrong_at_a_kiosk_and_two_at_the_portals_sign_in_page_lock_the_card(
    central: Central, who: dict[str, Any], tmp_path: Path
) -> None:
    settings = ConsoleSettings(
        secret_key="a test key that signs the CSRF tokens of this server",
        secure_cookies=False,
        lifetimes=Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12)),
        library_name="Riverside Library",
        registration=RegistrationSection(),
    )
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    for _ in range(3):
        assert at_the_kiosk(agent, central, who, WRONG).status is IdentifyStatus.WRONG_PIN
    agent.sync_once()
    with ServerThread(central.engine, central.clock, console=settings) as web:
        assert _portal_sign_in(web.url, who["card"], WRONG).status_code == 200  # refused
        assert count_on_the_server(central, who) == (4, None)
        _portal_sign_in(web.url, who["card"], WRONG)
        assert count_on_the_server(central, who) == (0, NOW + timedelta(minutes=15))
        # The right PIN is refused too, as any wrong one: the lock holds at the portal.
        refused = _portal_sign_in(web.url, who["card"], who["pin"])
        assert refused.status_code == 200
        assert "location" not in refused.headers
    agent.sync_once()
    assert at_the_kiosk(agent, central, who, who["pin"]).status is IdentifyStatus.LOCKED


def _changes(central: Central, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = requests.get(
        f"{central.url}/v1/changes",
        params={"since": 0},
        headers={"Authorization": f"Bearer {central.tokens['kiosk-a']}", **headers},
        timeout=30,
    )
    response.raise_for_status()
    page = ChangesPage.model_validate_json(response.text)
    return [change.data or {} for change in page.changes if change.entity == "patron"]


def test_a_kiosk_one_version_older_gets_patron_rows_it_knows(
    central: Central, who: dict[str, Any]
) -> None:
    assert on_the_server(central, who, WRONG) is PinAnswer.WRONG
    knows = _changes(central, {ROW_FIELDS_HEADER: "1"})
    assert [row["pin_failures"] for row in knows] == [1]
    older = _changes(central, {})
    assert len(older) == 1
    assert not any(name.startswith("pin_") and name != "pin_verifier" for name in older[0])
    assert older[0]["card"] == knows[0]["card"]


@pytest.mark.parametrize(
    ("barcode", "patron", "details"),
    [
        ("31000000000001", "P0000001", {"right": False}),  # a PIN names no item
        ("", None, {"right": False}),  # but always a patron
        ("", "P0000001", {}),  # and whether it was right
        ("", "P0000001", {"right": "no"}),
    ],
)
def test_a_pin_entry_names_its_patron_no_item_and_whether_it_was_right(
    barcode: str, patron: str | None, details: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        WireEntry(
            id="e-1",
            seq=1,
            kind="pin",
            decided_at=NOW,
            item_barcode=barcode,
            patron_id=patron,
            details=details,
            charged=Decimal(0),
            status_after="",
            loan_patron_id=None,
            loan_member_type=None,
            loan_due=None,
            loan_renewals=None,
            fulfilled_hold_of=None,
        )
