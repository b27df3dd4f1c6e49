"""The console by branch (issue 21), walked in Debian's chromium and scanned by axe-core:
the Kiosks page shows each kiosk's branch and one branch's kiosks alone; the copies in
transit between branches, to one branch or to any, with those long on the way marked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.branches import add_branch
from kiosk.central.models import AppliedTransaction, Item, Kiosk, Record

from .conftest import Console, serve
from .test_browser import accessible, sign_in, watch

LATELY, LONG_AGO = "39000000021001", "39000000021002"


def _seed(database_url: str) -> None:
    now = datetime.now().replace(microsecond=0)
    engine = database.connect(database_url)
    with Session(engine) as db:
        for code, name in (("Main", "Main Library"), ("North", "Northside"), ("East", "East End")):
            add_branch(db, code, name, now, actor="test", origin="test")
        for kiosk, branch in (("branch-1", "North"), ("branch-2", "North"), ("branch-3", "East")):
            db.execute(update(Kiosk).where(Kiosk.name == kiosk).values(branch=branch))
        db.add(
            Record(brn=21, title="Far From Home", author="A. Writer", publication_type="FICTION")
        )
        db.flush()
        for barcode, home in ((LATELY, "Main"), (LONG_AGO, "East")):
            db.add(
                Item(
                    barcode=barcode,
                    brn=21,
                    price=Decimal("9.00"),
                    status="in_transit",
                    home_location=home,
                    transit_to=home,
                )
            )
        sent_back(db, now, [(LATELY, 1), (LONG_AGO, 10)], at="North")
        db.commit()
    engine.dispose()


def sent_back(db: Session, now: datetime, sent: list[tuple[str, int]], *, at: str) -> None:
    """The desk's returns at branch ``at`` that sent each copy on its way, ``days``
    before ``now``: when each went in transit."""
    for number, (barcode, days) in enumerate(sent, start=1):
        when = now - timedelta(days=days)
        db.add(
            AppliedTransaction(
                id=f"sent-{number}",
                kiosk_id=None,
                kiosk_seq=0,
                actor="cyril",
                kind="return",
                item_barcode=barcode,
                patron_id=None,
                decided_at=when,
                applied_at=when,
                outcome="applied",
                change_seq=number,
                details={"route": "transfer", "branch": at},
                charged=Decimal("0.00"),
            )
        )


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for running in serve(tmp_path_factory.mktemp("branches")):
        _seed(running.database_url)
        yield running


def test_the_kiosks_of_one_branch_and_the_copies_in_transit(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "vera")
    page.goto(f"{console.url}/staff/kiosks")
    branch_of = {
        row.get_attribute("data-kiosk"): row.locator("td").first.inner_text()
        for row in page.locator("#kiosks tbody tr").all()
    }
    assert branch_of == {
        "branch-1": "North",
        "branch-2": "North",
        "branch-3": "East",
        "<script>alert(1)</script>": "none",
    }
    accessible(page)

    page.get_by_label("Branch").select_option("North")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{console.url}/staff/kiosks?branch=North")
    expect(page.locator("#kiosks caption")).to_contain_text("2 kiosks in branch North")
    shown = [row.get_attribute("data-kiosk") for row in page.locator("#kiosks tbody tr").all()]
    assert shown == ["branch-1", "branch-2"]
    assert page.locator("#kiosks-table").get_attribute("data-refresh-url") == (
        "/staff/kiosks/table?branch=North"
    )
    accessible(page)

    page.get_by_role("link", name="Copies in transit between branches").click()
    expect(page).to_have_url(f"{console.url}/staff/transfers")
    expect(page.get_by_role("heading", name="In transit")).to_be_visible()
    rows = page.locator("#transfers tbody tr")
    assert [row.get_attribute("data-item") for row in rows.all()] == [LONG_AGO, LATELY]
    expect(page.locator(f'tr[data-item="{LONG_AGO}"]')).to_contain_text("Overdue")
    expect(page.locator(f'tr[data-item="{LATELY}"]')).to_contain_text("On its way")
    accessible(page)

    page.get_by_label("Going to").select_option("Main")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{console.url}/staff/transfers?to=Main&show=")
    assert [row.get_attribute("data-item") for row in rows.all()] == [LATELY]
    expect(page.locator("#transfers caption")).to_have_text("1 copy in transit to Main")
    accessible(page)
    page.goto(f"{console.url}/staff/transfers?to=North")
    expect(page.locator("#no-transfers")).to_have_text("No copy is in transit to North.")
    accessible(page)

    # The item's own page says where it is going, and its home branch by name.
    page.goto(f"{console.url}/staff/transfers")
    page.get_by_role("link", name=LONG_AGO).click()
    expect(page).to_have_url(f"{console.url}/staff/items/{LONG_AGO}")
    item = page.locator("#item")
    expect(item).to_contain_text("In transit to East")
    expect(item).to_contain_text("Home branch")
    expect(item).to_contain_text("East End (East)")
    accessible(page)
    assert problems == []
