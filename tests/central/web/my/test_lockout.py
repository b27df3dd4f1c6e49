"""Wrong PINs are counted once for the whole library: five typed at a SIP2 device lock
the card in the portal, and five typed in the portal lock it at the device, for 15
minutes. The real ``kiosk-central sip2 serve`` and the portal share one database, on
SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.sip2 import accounts
from kiosk.central.sip2.device import PERMISSIONS
from kiosk.common.clock import SystemClock
from kiosk.demo.library import GeneratedLibrary, Scale, generate_library

from ...sip2.conftest import ACCOUNT, LOCATION, PASSWORD, RunningSip2, start_sip2
from .conftest import Portal, csrf_token, in_process, reader


def _accounts(database_url: str, _library: GeneratedLibrary) -> Engine:
    """The SIP2 device's login, over the portal's library."""
    engine = database.connect(database_url)
    with Session(engine) as db:
        accounts.add_account(
            db,
            ACCOUNT,
            PASSWORD,
            SystemClock().now(),
            location=LOCATION,
            may=PERMISSIONS,
            actor="test",
            origin="test",
        )
    return engine


@pytest.fixture
def both(database_url: str, tmp_path: Path) -> Iterator[tuple[Portal, RunningSip2]]:
    # The real clock on both sides: the device's process keeps its own. The generated
    # library is not loaded (the portal's readers are); start_sip2 checks its log for it.
    unused = generate_library(Scale(items=4, patrons=2, loans=1, seed=5), SystemClock().now())
    with (
        in_process(database_url, SystemClock().now) as portal,
        start_sip2(database_url, tmp_path / "sip2", unused, prepare=_accounts) as sip2,
    ):
        yield portal, sip2
        text = sip2.log_text()
        for number in (5, 6, 7):
            assert reader(number).card not in text
            assert reader(number).surname not in text


def _at_the_device(sip2: RunningSip2, card: str, pin: str) -> bytes:
    with sip2.logged_in() as device:
        return device.ask(f"2300120261202    101500AO{LOCATION}|AA{card}|AC|AD{pin}|".encode())


def _portal_sign_in(portal: Portal, card: str, pin: str) -> requests.Response:
    browser = requests.Session()
    return browser.post(
        f"{portal.url}/my/login",
        data={"card": card, "pin": pin, "csrf_token": csrf_token(browser, portal.url)},
        allow_redirects=False,
        timeout=30,
    )


def test_wrong_pins_at_a_device_lock_the_portal_and_the_other_way_round(
    both: tuple[Portal, RunningSip2],
) -> None:
    portal, sip2 = both
    locked_there = reader(5)
    for _ in range(5):
        assert b"|CQN|" in _at_the_device(sip2, locked_there.card, "0000")
    refused = _portal_sign_in(portal, locked_there.card, locked_there.pin)
    assert refused.status_code == 200  # the sign-in page again, not the account
    assert "the card is locked" in refused.text
    locked_here = reader(6)
    assert b"|CQY|" in _at_the_device(sip2, locked_here.card, locked_here.pin)
    for _ in range(4):
        assert _portal_sign_in(portal, locked_here.card, "0000").status_code == 200
    # Four wrong in the portal and one at the device make five: locked everywhere.
    assert b"|CQN|" in _at_the_device(sip2, locked_here.card, "0000")
    answer = _at_the_device(sip2, locked_here.card, locked_here.pin)
    assert b"|CQN|" in answer
    assert b"Too many wrong PINs" in answer
    assert _portal_sign_in(portal, locked_here.card, locked_here.pin).status_code == 200
    # A third card, untouched, signs in at both.
    free = reader(7)
    assert b"|CQY|" in _at_the_device(sip2, free.card, free.pin)
    assert _portal_sign_in(portal, free.card, free.pin).status_code == 303
