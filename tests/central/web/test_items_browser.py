"""The *Items* pages walked in Debian's chromium as staff would, every page scanned by
axe-core: circulation staff search by title and by barcode, open an item (its loan and
hold queue), mark a lent item lost (the policy's charge on the borrower, the loan
closed) and available again, and add a record then an item by hand; a viewer reads but
changes nothing; a title like a script is shown as text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.policy import put_policy
from kiosk.central.models import (
    AppliedTransaction,
    AuditEntry,
    Change,
    Hold,
    Item,
    Loan,
    Patron,
    Record,
)

from .conftest import XSS, Console, serve
from .test_browser import accessible, shot, sign_in, watch

POLICY: dict[str, Any] = {
    "member_types": {"ADULT": {"name": "Adult", "quota": 10}},
    "publication_types": {
        "FICTION": {"name": "Fiction"},
        "NONFICTION": {"name": "Non Fiction"},
    },
    "privileges": [
        {"member_type": "ADULT", "publication_type": "FICTION", "days": 14, "fine": "0.20"},
        {"member_type": "ADULT", "publication_type": "NONFICTION", "days": 21},
    ],
    "fault_charges": {
        "LOST": {"name": "Lost item", "amount": "19.99", "status": "lost"},
        "DAMAGED": {"name": "Damaged item", "amount": "5.00", "status": "damaged"},
    },
}
# brn: (title, author, isbn, type)
RECORDS = {
    1: ("The Hobbit", "J. R. R. Tolkien", "9780261103344", "FICTION"),
    2: ("The Hobbit: an illustrated edition", "J. R. R. Tolkien", None, "FICTION"),
    3: ("Middlemarch", "George Eliot", "0141439548", "FICTION"),
    4: (XSS, "Mallory", None, "NONFICTION"),
    5: ("A Field Guide to Mosses", "Ann Other", None, "NONFICTION"),
}
# barcode: (brn, price)
ITEMS = {
    "31000000000011": (1, "25.00"),  # lent to Ada, overdue, Ben waits for it
    "31000000000012": (1, "25.00"),
    "31000000000021": (2, "30.00"),
    "31000000000031": (3, "8.99"),
    "31000000000041": (4, "1.00"),
    "31000000000051": (5, "12.00"),  # the viewer's and no-JavaScript walk's
}
LENT = "31000000000011"
PATRONS = {"P1": ("Ada", "Lovelace"), "P2": ("Ben", "Okri"), "P3": ("Cleo", XSS)}


def _seed(database_url: str) -> None:
    """The policy (with its fault charges), the records and items, a loan and a hold,
    placed relative to now (the server keeps the real clock)."""
    now = datetime.now().replace(microsecond=0)
    engine = database.connect(database_url)
    with Session(engine) as db:
        put_policy(db, POLICY, now)
        for brn, (title, author, isbn, kind) in RECORDS.items():
            db.add(Record(brn=brn, title=title, author=author, isbn=isbn, publication_type=kind))
        db.flush()
        for barcode, (brn, price) in ITEMS.items():
            db.add(
                Item(
                    barcode=barcode,
                    brn=brn,
                    price=Decimal(price),
                    status="available",
                    home_location="Main floor",
                )
            )
        for patron_id, (first_name, surname) in PATRONS.items():
            db.add(
                Patron(
                    patron_id=patron_id,
                    card=f"2000000000{patron_id[1:]:0>4}",
                    first_name=first_name,
                    surname=surname,
                    member_type="ADULT",
                    expires=now.date() + timedelta(days=300),
                    barred=False,
                    owed=Decimal("0.00"),
                )
            )
        db.add(
            Loan(
                item_barcode=LENT,
                patron_id="P1",
                member_type="ADULT",
                due=(now.date() - timedelta(days=3)).isoformat(),
                renewals=0,
                lent_at=now - timedelta(days=17),
                kiosk_id=1,  # branch-1
            )
        )
        db.add(
            AppliedTransaction(
                id="branch-1:41",
                kiosk_id=1,
                kiosk_seq=41,
                kind="checkout",
                item_barcode=LENT,
                patron_id="P1",
                decided_at=now - timedelta(days=17),
                applied_at=now - timedelta(days=17),
                outcome="applied",
                change_seq=0,
                details={},
                charged=Decimal("0.00"),
                actor=None,
            )
        )
        db.add(
            Hold(
                item_barcode=LENT,
                patron_id="P2",
                position=1,
                ready=False,
                title="The Hobbit",
                placed_at=now - timedelta(days=2),
                ready_at=None,
            )
        )
        db.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for served in serve(tmp_path_factory.mktemp("items")):
        _seed(served.database_url)
        yield served


def _db(console: Console) -> Iterator[Session]:
    engine = database.connect(console.database_url)
    try:
        with Session(engine) as db:
            yield db
    finally:
        engine.dispose()


def _search(page: Page, text: str) -> None:
    page.get_by_label("Barcode, ISBN, title or author").fill(text)
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()


def _choose(page: Page, label: str, note: str = "") -> None:
    page.get_by_label(label).check()
    if note:
        page.get_by_label("Note (optional)").fill(note)
    with page.expect_navigation():
        page.get_by_role("button", name="Record the change").click()


def test_circulation_finds_an_item_marks_it_lost_then_available(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.get_by_role("link", name="Items").first.click()
    expect(page).to_have_url(f"{console.url}/staff/items")
    expect(page.get_by_role("heading", name="Items", exact=True)).to_be_visible()
    accessible(page)

    # By the start of the title, in any case: both Hobbits, the lent copy said so.
    _search(page, "THE hob")
    expect(page).to_have_url(f"{console.url}/staff/items/search")  # the text in no URL
    rows = page.locator("#items tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#items caption")).to_have_text("2 records found by the start of the title")
    hobbit = page.locator('tr[data-record="1"]')
    expect(hobbit.locator(f'li[data-item="{LENT}"]')).to_contain_text(
        re.compile(r"On loan\s+due \d{4}-\d\d-\d\d")
    )
    expect(hobbit.locator('li[data-item="31000000000012"]')).to_contain_text("Available")
    expect(page.get_by_label("Barcode, ISBN, title or author")).to_have_value("THE hob")
    accessible(page)
    shot(page, "items")

    # By the barcode, scanned.
    _search(page, LENT)
    expect(rows).to_have_count(1)
    expect(page.locator("#items caption")).to_have_text("1 record found by the barcode")
    # And by the ISBN, with hyphens; and nothing found.
    _search(page, "978-0-14-143954-9")
    expect(page.locator("#items caption")).to_have_text("1 record found by the ISBN")
    expect(rows.first).to_contain_text("Middlemarch")
    _search(page, "100%")
    expect(page.locator("#no-items")).to_contain_text("Nothing matches")
    accessible(page)

    _search(page, LENT)
    page.get_by_role("link", name=LENT).click()
    expect(page).to_have_url(f"{console.url}/staff/items/{LENT}")
    expect(page.get_by_role("heading", name="The Hobbit", exact=True)).to_be_visible()
    loan = page.locator("#loan")
    expect(loan).to_contain_text("Ada Lovelace (P1)")
    expect(loan).to_contain_text("Overdue")
    expect(loan.get_by_role("link", name="Ada Lovelace (P1)")).to_have_attribute(
        "href", "/staff/patrons/P1"
    )
    expect(loan).to_contain_text("at kiosk branch-1")
    holds = page.locator("#holds tbody tr")
    expect(holds).to_have_count(1)
    expect(holds.first).to_contain_text("Ben Okri (P2)")
    lent = page.locator("#transactions tbody tr")
    expect(lent).to_have_count(1)
    expect(lent.first).to_contain_text("Lent")
    expect(lent.first).to_contain_text("Kiosk branch-1")
    accessible(page)
    shot(page, "item")

    # Nothing chosen: the decision path says so, in an error summary.
    with page.expect_navigation():
        page.get_by_role("button", name="Record the change").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "choose what happened to the item from the list"
    )
    accessible(page)

    _choose(page, "Lost item: charge 19.99", "Dropped in the river, she says.")
    expect(page.locator("#answer")).to_have_text(
        "Recorded as lost; 19.99 charged to the borrower; loan closed."
    )
    expect(page.locator("#no-loan")).to_be_visible()
    expect(page.locator("#item")).to_contain_text("Lost")
    first = page.locator("#transactions tbody tr").first
    expect(first).to_contain_text("Status set")
    expect(first).to_contain_text("Desk, cyril")
    expect(first).to_contain_text("19.99")
    expect(first).to_contain_text("Lost: Dropped in the river, she says.")
    accessible(page)

    for db in _db(console):
        ada = db.get(Patron, "P1")
        assert ada is not None
        assert ada.owed == Decimal("19.99")
        assert db.get(Loan, LENT) is None
        item = db.get(Item, LENT)
        assert item is not None
        assert item.status == "lost"
        entries = [
            (change.entity, change.key)
            for change in db.scalars(select(Change).where(Change.key.in_([LENT, "P1"])))
        ]
        assert ("item", LENT) in entries
        assert ("loan", LENT) in entries
        assert ("patron", "P1") in entries
        audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "item.status")).one()
        assert (audit.actor, audit.target) == ("cyril", f"item {LENT}")

    _choose(page, "Available (found, repaired, back in stock)")
    expect(page.locator("#answer")).to_have_text("Recorded as available.")
    expect(page.locator("#item")).to_contain_text("Available")
    expect(page.locator("#transactions tbody tr")).to_have_count(3)
    accessible(page)
    assert problems == []


def test_a_status_form_sent_twice_changes_the_item_once(console: Console) -> None:
    cyril = console.login("cyril")
    url = f"{console.url}/staff/items/31000000000021"
    form = _form(cyril, url)
    answers = [
        cyril.post(f"{url}/status", data={**form, "choice": "DAMAGED"}, timeout=10)
        for _ in range(2)
    ]
    assert [answer.status_code for answer in answers] == [200, 200]
    assert "Recorded as damaged." in answers[0].text  # not on loan: no one to charge
    assert "This form was sent before, and done then: recorded as damaged." in answers[1].text
    for db in _db(console):
        audits = db.scalars(
            select(AuditEntry).where(AuditEntry.target == "item 31000000000021")
        ).all()
        assert len(audits) == 1


def _form(browser: requests.Session, url: str) -> dict[str, str]:
    """The hidden fields of the page's form, as the browser would send them."""
    text = browser.get(url, timeout=10).text
    found = {
        name: re.search(rf'name="{name}" value="([^"]+)"', text)
        for name in ("csrf_token", "transaction_id")
    }
    return {name: match.group(1) for name, match in found.items() if match is not None}


def test_a_barcode_with_a_slash_has_its_page_and_its_form(console: Console) -> None:
    cyril = console.login("cyril")
    added = cyril.post(
        f"{console.url}/staff/items/new",
        data={
            **_form(cyril, f"{console.url}/staff/items/new"),
            "barcode": "R/7#1",
            "brn": "5",
            "price": "0",
            "home_location": "Reserve",
        },
        timeout=10,
    )
    assert "Item R/7#1 added" in added.text
    assert 'action="/staff/items/R/7%231/status"' in added.text  # quoted, but for "/"
    url = f"{console.url}/staff/items/R/7%231"
    assert "A Field Guide to Mosses" in cyril.get(url, timeout=10).text
    answer = cyril.post(
        f"{url}/status", data={**_form(cyril, url), "choice": "withdrawn"}, timeout=10
    )
    assert "Recorded as withdrawn." in answer.text


def test_circulation_adds_a_record_then_an_item_by_hand(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/items")
    page.get_by_role("link", name="Add a record by hand").click()
    expect(page.get_by_role("heading", name="Add a record")).to_be_visible()
    accessible(page)

    # Every bad field at once, each linked to its field.
    page.get_by_label("Author").fill("x" * 201)
    page.get_by_label("ISBN (optional)").fill("978-0-14-030477-1")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the record").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.locator("li")).to_have_count(4)
    expect(summary).to_contain_text("Title: is empty")
    expect(summary).to_contain_text("Author: is longer than 200 characters")
    expect(summary).to_contain_text("ISBN: is not a valid ISBN-13 or ISBN-10")
    expect(summary).to_contain_text("Publication type: is empty")
    expect(summary.get_by_role("link", name="Title: is empty")).to_have_attribute("href", "#title")
    expect(page.get_by_label("ISBN (optional)")).to_have_value("978-0-14-030477-1")  # kept
    expect(page).to_have_title(re.compile("^Error: "))
    accessible(page)

    page.get_by_label("Title", exact=True).fill("A Wizard of Earthsea")
    page.get_by_label("Author").fill("Ursula K. Le Guin")
    page.get_by_label("ISBN (optional)").fill("978-0-14-030477-0")
    page.get_by_label("Publication type").select_option("FICTION")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the record").click()
    expect(page.locator("#added")).to_contain_text("Record 6 added")
    accessible(page)

    page.get_by_role("link", name="Add an item to record 6").click()
    expect(page.get_by_label("Record number (BRN)")).to_have_value("6")
    page.get_by_label("Barcode").fill("3100 0000 0000 61")
    page.get_by_label("Price").fill("-4")
    page.get_by_label("Status").select_option("withdrawn")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the item").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.locator("li")).to_have_count(3)
    expect(summary).to_contain_text("Barcode: must be letters, digits and signs, with no space")
    expect(summary).to_contain_text("Price: must be 0 or more")
    expect(summary).to_contain_text("Home location: is empty")
    expect(page.get_by_label("Status")).to_have_value("withdrawn")  # kept
    accessible(page)

    page.get_by_label("Barcode").fill("31000000000061")
    page.get_by_label("Price").fill("7.50")
    page.get_by_label("Status").select_option("available")
    page.get_by_label("Home location").fill("Junior fiction")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the item").click()
    expect(page.locator("#added-banner")).to_contain_text("Item 31000000000061 added")
    expect(page.get_by_role("heading", name="A Wizard of Earthsea")).to_be_visible()
    expect(page.locator("#item")).to_contain_text("7.50")
    accessible(page)

    page.goto(f"{console.url}/staff/items")
    _search(page, "ursula k")
    expect(page.locator('tr[data-record="6"] li[data-item="31000000000061"]')).to_be_visible()
    for db in _db(console):
        record = db.get(Record, 6)
        assert record is not None
        assert (record.title, record.isbn) == ("A Wizard of Earthsea", "9780140304770")
        changes = {
            (change.entity, change.key)
            for change in db.scalars(select(Change).where(Change.entity.in_(["record", "item"])))
        }
        assert {("record", "6"), ("item", "31000000000061")} <= changes
        actions = set(
            db.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.actor == "cyril", AuditEntry.action.in_(["record.add", "item.add"])
                )
            )
        )
        assert actions == {"record.add", "item.add"}
    assert problems == []


def test_a_viewer_reads_the_pages_but_changes_nothing(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "vera")
    page.goto(f"{console.url}/staff/items")
    expect(page.get_by_role("link", name="Add a record by hand")).to_have_count(0)
    _search(page, "a field guide")
    page.get_by_role("link", name="31000000000051").click()
    expect(page.get_by_role("heading", name="A Field Guide to Mosses")).to_be_visible()
    expect(page.locator("form[action$='/status']")).to_have_count(0)
    expect(page.get_by_role("button", name="Record the change")).to_have_count(0)
    accessible(page)
    assert problems == []

    vera = console.login("vera")
    text = vera.get(f"{console.url}/staff/items", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert token is not None
    for path, data in (
        ("/staff/items/31000000000051/status", {"choice": "LOST"}),
        ("/staff/records/new", {"title": "T", "author": "A", "publication_type": "FICTION"}),
        ("/staff/items/new", {"barcode": "V1", "brn": "5", "price": "1", "home_location": "X"}),
    ):
        answer = vera.post(
            console.url + path, data={"csrf_token": token.group(1), **data}, timeout=10
        )
        assert answer.status_code == 403, path
    for path in ("/staff/records/new", "/staff/items/new"):
        assert vera.get(console.url + path, timeout=10).status_code == 403
    searched = vera.post(
        f"{console.url}/staff/items/search",
        data={"csrf_token": token.group(1), "text": "a field"},
        timeout=10,
    )
    assert searched.status_code == 200
    for db in _db(console):
        item = db.get(Item, "31000000000051")
        assert item is not None
        assert item.status == "available"
        assert db.get(Item, "V1") is None


def test_a_title_like_a_script_is_shown_as_text(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/items")
    _search(page, "<script>")
    title = page.locator('tr[data-record="4"] th')
    expect(title).to_contain_text(XSS)
    assert page.locator("#items script").count() == 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content()
    page.get_by_role("link", name="31000000000041").click()
    expect(page.get_by_role("heading", name=XSS)).to_be_visible()
    assert page.locator("main script").count() == 0
    accessible(page)
    assert problems == []


def test_the_items_pages_work_without_javascript(browser: Browser, console: Console) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, console, "ada")
        page.goto(f"{console.url}/staff/items")
        page.get_by_label("Barcode, ISBN, title or author").fill("george eliot")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#items caption")).to_have_text(
            "1 record found by the start of the author's name"
        )
        page.get_by_role("link", name="31000000000031").click()
        page.get_by_label("Damaged item: charge 5.00").check()
        page.get_by_role("button", name="Record the change").click()
        expect(page.locator("#answer")).to_have_text("Recorded as damaged.")
    finally:
        context.close()
