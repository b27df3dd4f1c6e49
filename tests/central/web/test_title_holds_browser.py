"""Holds on titles in the staff console, walked in Debian's chromium and scanned by
axe-core: a title hold placed for the patron at the desk, from an item's queue and from
the title's own queue; the title's queue reordered; a copy returned at the desk goes to
the hold shelf for the first in the title's queue; the patron's pages say which holds
are on a title and which is ready."""

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
from kiosk.central.circulation.policy import put_policy
from kiosk.central.models import Item, Loan, Patron, Record
from kiosk.demo.library import EXAMPLE_POLICY

from .conftest import Console, serve
from .test_browser import accessible, sign_in, watch

# (patron id, card, first name, surname)
PATRONS = [
    ("P0000001", "20000000000011", "Olive", "Featherstonehaugh"),
    ("P0000002", "20000000000022", "Ned", "Twiceclick"),
    ("P0000003", "20000000000033", "Quentin", "Queueby"),
    ("P0000004", "20000000000044", "Harriet", "Holdsworth"),
]
CARDS = {first: card for _, card, first, _ in PATRONS}
TITLE = "The Long Wait"
BRN = 7
LENT, ON_SHELF = "39000000007001", "39000000007002"  # two copies of the one title


def _seed(database_url: str) -> None:
    now = datetime.now().replace(microsecond=0)
    document = tomllib.loads(EXAMPLE_POLICY.read_text(encoding="utf-8"), parse_float=Decimal)
    engine = database.connect(database_url)
    with Session(engine) as db:
        put_policy(db, json.loads(json.dumps(document, default=str)), now)
        for patron_id, card, first, surname in PATRONS:
            db.add(
                Patron(
                    patron_id=patron_id,
                    card=card,
                    first_name=first,
                    surname=surname,
                    member_type="ADULT",
                    expires=now.date() + timedelta(days=300),
                    barred=False,
                    owed=Decimal("0.00"),
                )
            )
        db.add(Record(brn=BRN, title=TITLE, author="A. Writer", publication_type="FICTION"))
        db.flush()
        for barcode in (LENT, ON_SHELF):
            db.add(
                Item(
                    barcode=barcode,
                    brn=BRN,
                    price=Decimal("12.00"),
                    status="available",
                    home_location="Main",
                )
            )
        db.add(
            Loan(
                item_barcode=LENT,
                patron_id="P0000004",
                member_type="ADULT",
                due=(now.date() + timedelta(days=3)).isoformat(),
                renewals=0,
                lent_at=now - timedelta(days=11),
                kiosk_id=None,
            )
        )
        db.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for served in serve(tmp_path_factory.mktemp("title-holds")):
        _seed(served.database_url)
        yield served


def _scan(page: Page, field: str, code: str, button: str | None = None) -> None:
    page.locator(field).fill(code)
    with page.expect_navigation():
        if button is None:
            page.locator(field).press("Enter")
        else:
            page.get_by_role("button", name=button).click()


def _queue(page: Page) -> list[str]:
    return [row.get_attribute("data-patron") or "" for row in page.locator("#queue tbody tr").all()]


def test_title_holds_are_placed_reordered_and_trapped_in_the_console(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    # At the desk: Olive asks for the title, by either copy's barcode.
    page.goto(f"{console.url}/staff/desk")
    _scan(page, "#card", CARDS["Olive"])
    _scan(page, "#hold-barcode", ON_SHELF, button="Hold the title (any copy)")
    expect(page.locator("#hold-placed")).to_contain_text(f"{TITLE} (any copy): number 1")
    row = page.locator('#holds tr[data-title-hold="true"]')
    expect(row).to_contain_text("Number 1 in the queue")
    accessible(page)

    # The title's queue: Ned placed from it, Quentin from a copy's queue; Quentin moved up.
    with page.expect_navigation():
        row.get_by_role("link", name="Any copy (the title's hold queue)").click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    _scan(page, "#card", CARDS["Ned"], button="Place the hold")
    expect(page.locator("#hold-placed")).to_contain_text("Twiceclick, Ned: number 2")
    assert CARDS["Ned"] not in page.url
    accessible(page)
    page.goto(f"{console.url}/staff/holds/item/{ON_SHELF}")
    _scan(page, "#card", CARDS["Quentin"], button="Hold the title (any copy)")
    expect(page).to_have_url(f"{console.url}/staff/holds/title/{BRN}?placed=3")
    assert _queue(page) == ["P0000001", "P0000002", "P0000003"]
    with page.expect_navigation():
        page.get_by_role("button", name="Up (the hold for Queueby, Quentin)").click()
    assert _queue(page) == ["P0000001", "P0000003", "P0000002"]
    # Twice is refused in words.
    _scan(page, "#card", CARDS["Ned"], button="Place the hold")
    expect(page.locator("#trouble")).to_contain_text(f"waiting for {TITLE} already")
    accessible(page)

    # Harriet's copy comes back at the desk: it waits on the hold shelf for Olive.
    page.goto(f"{console.url}/staff/desk")
    _scan(page, "#card", CARDS["Harriet"])
    _scan(page, "#return-barcode", LENT)
    expect(page.locator("#answer-route")).to_contain_text("hold shelf for Featherstonehaugh, Olive")
    page.goto(f"{console.url}/staff/holds")
    shelf = page.locator(f'#hold-shelf tr[data-barcode="{LENT}"]')
    expect(shelf).to_contain_text("Featherstonehaugh, Olive")
    accessible(page)
    page.goto(f"{console.url}/staff/holds/title/{BRN}")
    assert _queue(page) == ["P0000003", "P0000002"]

    # Her record: the hold now names the copy and is ready; Ned's still waits on the title.
    page.goto(f"{console.url}/staff/patrons/P0000001")
    expect(page.locator(f'#holds tr[data-item="{LENT}"]')).to_contain_text("Ready")
    page.goto(f"{console.url}/staff/patrons/P0000002")
    waiting = page.locator('#holds tr[data-title-hold="true"]')
    expect(waiting).to_contain_text("Number 2 in the queue")
    expect(waiting.get_by_role("link")).to_have_attribute("href", f"/staff/holds/title/{BRN}")
    accessible(page)
    assert problems == []
