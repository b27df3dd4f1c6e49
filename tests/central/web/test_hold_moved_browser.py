"""A ready hold moved to another branch (issue 21, change_pickup) in Debian's chromium
with axe-core, on SQLite and PostgreSQL: the copy waits on North's hold shelf, but the
hold is now East's and not ready, so North's hold shelf no longer lists it and no
check-in put it among North's transfers. North's In transit page lists it to send, and
once cyril checks it in at North's desk it is on its way, no longer to send."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import add_branch
from kiosk.central.circulation.holds import place_hold
from kiosk.central.circulation.policy import put_policy
from kiosk.central.models import Item, Patron, Record
from kiosk.central.web.accounts import set_staff_branch
from kiosk.demo.library import EXAMPLE_POLICY

from .conftest import Console, in_process
from .test_browser import accessible, sign_in, watch

COPY = "39000000023001"  # lives at North, ready there for Nell
PATRON = "P2300"


def _seed(database_url: str) -> None:
    now = datetime.now().replace(microsecond=0)
    engine = database.connect(database_url)
    with Session(engine) as db:
        document = tomllib.loads(EXAMPLE_POLICY.read_text(encoding="utf-8"))
        put_policy(db, json.loads(json.dumps(document, default=str)), now)
        for code, name in (("Main", "Main Library"), ("North", "Northside"), ("East", "East End")):
            add_branch(db, code, name, now, actor="test", origin="test")
        set_staff_branch(db, "cyril", "North", now, actor="test", origin="test")
        db.add(Record(brn=23, title="Moby-Dick", author="H. Melville", publication_type="FICTION"))
        db.add(
            Patron(
                patron_id=PATRON,
                card="23000000000001",
                first_name="Nell",
                surname="Northcote",
                member_type="ADULT",
                expires=now.date() + timedelta(days=300),
                barred=False,
                owed=Decimal("0.00"),
            )
        )
        db.flush()
        db.add(
            Item(
                barcode=COPY,
                brn=23,
                price=Decimal("9.00"),
                status="available",
                home_location="North",
            )
        )
        db.commit()
        assert place_hold(db, PATRON, COPY, now, Actor("ada", "test"), pickup="North").ready
    engine.dispose()


@pytest.fixture
def console(database_url: str) -> Iterator[Console]:
    with in_process(database_url) as live:
        _seed(database_url)
        yield live


def _shown(page: Page, table: str) -> list[str | None]:
    return [row.get_attribute("data-item") for row in page.locator(f"#{table} tbody tr").all()]


def test_a_copy_whose_ready_hold_moved_is_listed_to_send_until_checked_in(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    # The patron asks at North's desk to collect at East instead.
    page.goto(f"{console.url}/staff/desk/{PATRON}")
    page.get_by_label("Collect at").select_option(value="East")
    with page.expect_navigation():
        page.get_by_role("button", name="Change where the hold on Moby-Dick is collected").click()
    expect(page.locator("#pickup-changed")).to_be_visible()

    # North's hold shelf no longer lists it: its hold is East's and not ready.
    page.goto(f"{console.url}/staff/holds")
    expect(page.get_by_label("Branch")).to_have_value("North")
    expect(page.locator("#no-holds")).to_be_visible()
    # North's In transit page tells cyril to send it.
    page.goto(f"{console.url}/staff/transfers")
    expect(page.get_by_label("Going to")).to_have_value("North")
    assert _shown(page, "to-send") == [COPY]
    expect(page.locator("#to-send caption")).to_have_text(
        "To send from the hold shelf at North: 1 copy"
    )
    expect(page.locator(f'#to-send tr[data-item="{COPY}"] td').last).to_have_text("East")
    accessible(page)
    # Every branch: it says from where.
    page.get_by_label("Going to").select_option(label="Every branch")
    with page.expect_navigation():
        page.locator("#show-branch").click()
    expect(page.locator(f'#to-send tr[data-item="{COPY}"] td').nth(1)).to_have_text("North")
    accessible(page)
    # East has nothing to send; it is among the copies coming to East.
    page.goto(f"{console.url}/staff/transfers?to=East")
    expect(page.locator("#to-send")).to_have_count(0)
    assert _shown(page, "transfers") == [COPY]

    # Checked in at North's desk: on its way to East, no longer to send from North.
    page.goto(f"{console.url}/staff/desk/returns")
    page.get_by_label("Barcode to return").fill(COPY)
    with page.expect_navigation():
        page.locator("#return").click()
    expect(page.locator("#answer-route")).to_contain_text("East End (East)")
    page.goto(f"{console.url}/staff/transfers")
    expect(page.locator("#to-send")).to_have_count(0)
    accessible(page)
    assert problems == []
