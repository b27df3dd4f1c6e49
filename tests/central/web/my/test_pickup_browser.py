"""Pickup branches in Debian's chromium, against the real ``kiosk-central serve``: a
library of two branches, where a patron on a phone (360x640) places a title hold choosing
where to collect it; the copy checked in at the other branch is on its way, and once
checked in where she collects it her account says it is ready there, by the branch's
name, and the last day to collect it. Staff then see that hold on Zealand's hold shelf
and not on Main's, where each hold at the desk is collected, and place one for Zealand
there. axe-core on every page; no card, PIN, name or email in an
address or the server's log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.desk import check_in
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.models import Branch, Item, Patron, Record
from kiosk.central.web.routes.my.words import words

from .. import test_browser as console_pages
from ..conftest import Console
from .conftest import reader, serve_portal
from .test_portal_browser import Watch, accessible, from_menu, sign_in

ISBN = "9780199536559"
TITLE = "North and South"
COPY = "39990000000101"  # lives at Main
KEEP_DAYS = 7  # central.toml's hold_shelf_days, as serve writes it
STAFF = Actor("cyril", "127.0.0.1")


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The readers' library in two branches, with a title whose one copy is on Main's
    shelf."""
    for served in serve_portal(tmp_path_factory.mktemp("pickup"), [ISBN, "north and"]):
        engine = database.connect(served.database_url)
        with Session(engine) as db:
            db.add(Branch(code="Main", name="Central Library"))
            db.add(Branch(code="Zeal", name="Zealand Branch Library"))
            db.add(
                Record(
                    brn=6000,
                    title=TITLE,
                    author="Gaskell, Elizabeth",
                    isbn=ISBN,
                    publication_type="FICTION",
                    added_on=datetime.now().date(),
                )
            )
            db.flush()
            db.add(
                Item(
                    barcode=COPY,
                    brn=6000,
                    price=Decimal("8.99"),
                    status="available",
                    home_location="Main",
                )
            )
            db.commit()
        engine.dispose()
        yield served


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 360, "height": 640})
    opened = context.new_page()
    yield opened
    context.close()


def _check_in(console: Console, branch: str, at: datetime) -> tuple[str | None, str | None]:
    """The copy checked in through the decision path at ``branch``: its route, and the
    branch it is sent to."""
    engine = database.connect(console.database_url)
    try:
        with Session(engine) as db:
            found = check_in(db, PolicyCache(), barcode=COPY, now=at, actor=STAFF, branch=branch)
        return found.route, found.destination
    finally:
        engine.dispose()


def test_a_title_hold_collected_at_the_branch_chosen_is_ready_there(
    phone: Page, console: Console
) -> None:
    page = phone
    person = reader(8)
    watch = Watch(page)
    sign_in(page, console.url, person)
    from_menu(page, "Search the catalogue")
    page.get_by_label("Title, author or ISBN").fill(ISBN)
    with page.expect_navigation():
        page.locator("#search").click()
    found = page.locator("#titles > li").first
    expect(found.get_by_role("heading")).to_have_text(TITLE)
    choice = found.get_by_label("Collect it at")
    # She has no home branch: the first branch by code is chosen to start with.
    expect(choice).to_have_value("Main")
    expect(choice.locator("option")).to_have_text(["Central Library", "Zealand Branch Library"])
    accessible(page)
    choice.select_option(label="Zealand Branch Library")
    with page.expect_navigation():
        found.get_by_role("button", name="Place a hold").click()
    expect(page.locator("#hold-placed")).to_contain_text(
        "You will collect it at Zealand Branch Library."
    )
    accessible(page)

    page.goto(f"{console.url}/my/")
    held = page.locator("#holds li", has_text=TITLE)
    expect(held).to_contain_text("Your place in the queue: 1")
    expect(held).to_contain_text("You will collect it at Zealand Branch Library.")
    accessible(page)

    # Staff pull the copy at Main: it is trapped for her and sent to Zealand.
    now = datetime.now().replace(microsecond=0)
    assert _check_in(console, "Main", now) == ("transfer", "Zeal")
    page.reload()
    expect(held).not_to_contain_text("Ready to collect")
    # It arrives, and is checked in at Zealand: ready there.
    assert _check_in(console, "Zeal", now + timedelta(seconds=1)) == ("hold_shelf", None)
    page.reload()
    expect(held).to_contain_text("Ready to collect")
    last_day = (now + timedelta(seconds=1) + timedelta(days=KEEP_DAYS, seconds=-1)).date()
    expect(held).to_contain_text(
        "Waiting for you on the hold shelf at Zealand Branch Library. "
        f"Please collect it by {words('en').date(last_day)}."
    )
    accessible(page)
    watch.check(person.card, person.pin)
    assert all(ISBN not in url for url in watch.urls)


def test_staff_see_the_hold_shelf_by_branch_and_place_a_hold_for_one(
    phone: Page, console: Console
) -> None:
    page = phone
    page.set_viewport_size({"width": 1280, "height": 800})
    console_pages.sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/holds/item/{COPY}")
    # The patron is not known until staff type a card: their home branch to start with.
    expect(page.get_by_label("Collected at")).to_have_value("")
    console_pages.accessible(page)
    page.goto(f"{console.url}/staff/holds")
    filters = page.get_by_label("Branch")
    expect(filters.locator("option")).to_have_text(
        ["Every branch", "Central Library (Main)", "Zealand Branch Library (Zeal)"]
    )
    console_pages.accessible(page)
    filters.select_option("Zeal")
    with page.expect_navigation():
        page.locator("#show-branch").click()
    expect(page).to_have_url(f"{console.url}/staff/holds?branch=Zeal")
    ready = page.locator(f'#hold-shelf tbody tr[data-barcode="{COPY}"]')
    expect(ready).to_contain_text(TITLE)
    expect(ready.locator("[data-pickup]")).to_have_text("Zealand Branch Library")
    console_pages.accessible(page)
    page.get_by_label("Branch").select_option("Main")
    with page.expect_navigation():
        page.locator("#show-branch").click()
    expect(page).to_have_url(f"{console.url}/staff/holds?branch=Main")
    expect(page.locator(f'tr[data-barcode="{COPY}"]')).to_have_count(0)

    # At the desk: her hold says where it is collected; another patron's is placed for
    # Zealand by the copy's barcode, and joins the title's queue to be collected there.
    page.goto(f"{console.url}/staff/desk/{reader(8).patron_id}")
    expect(page.locator(f'#holds tr[data-barcode="{COPY}"] [data-pickup]')).to_have_text(
        "Collected at Zealand Branch Library"
    )
    page.goto(f"{console.url}/staff/desk/{reader(9).patron_id}")
    expect(page.get_by_label("Collected at")).to_have_value("Main")
    console_pages.accessible(page)
    page.get_by_label("Barcode to hold").fill(COPY)
    page.get_by_label("Collected at").select_option("Zeal")
    with page.expect_navigation():
        page.locator("#place-title-hold").click()
    expect(page.locator("#hold-placed")).to_be_visible()
    placed = page.locator("#holds tr", has_text=TITLE)
    expect(placed.locator("[data-pickup]")).to_have_text("Collected at Zealand Branch Library")
    console_pages.accessible(page)


def test_a_patron_and_the_desk_change_where_a_hold_is_collected(
    phone: Page, console: Console
) -> None:
    """Reader 9's hold for Zealand (placed at the desk above) is collected at Central
    instead, chosen on her phone; then staff move reader 8's, ready on Zealand's shelf,
    to Central at the desk: the copy goes there in transit and is ready again once it
    arrives."""
    page = phone
    person = reader(9)
    watch = Watch(page)
    sign_in(page, console.url, person)
    held = page.locator("#holds li", has_text=TITLE)
    expect(held).to_contain_text("You will collect it at Zealand Branch Library.")
    choice = held.get_by_label("Collect it at")
    expect(choice).to_have_value("Zeal")
    accessible(page)
    choice.select_option(label="Central Library")
    with page.expect_navigation():
        held.get_by_role("button", name="Collect it there instead").click()
    expect(page).to_have_url(f"{console.url}/my/?pickup=1")
    expect(page.locator("#pickup-changed")).to_contain_text(
        "Where you collect your hold has changed."
    )
    expect(held).to_contain_text("You will collect it at Central Library.")
    accessible(page)
    watch.check(person.card, person.pin)

    page.set_viewport_size({"width": 1280, "height": 800})
    page.context.clear_cookies()
    console_pages.sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/desk/{reader(8).patron_id}")
    row = page.locator(f'#holds tr[data-barcode="{COPY}"]')
    expect(row).to_contain_text("Ready")
    row.get_by_label("Collect at").select_option("Main")
    with page.expect_navigation():
        row.get_by_role("button", name="Change").click()
    expect(page.locator("#pickup-changed")).to_be_visible()
    expect(row.locator("[data-pickup]")).to_have_text("Collected at Central Library")
    expect(row).not_to_contain_text("Ready")
    console_pages.accessible(page)
    page.goto(f"{console.url}/staff/transfers")
    expect(page.locator(f'#transfers tr[data-item="{COPY}"]')).to_contain_text("Main")
    console_pages.accessible(page)
    now = datetime.now().replace(microsecond=0) + timedelta(minutes=1)
    assert _check_in(console, "Main", now) == ("hold_shelf", None)
    page.goto(f"{console.url}/staff/holds?branch=Main")
    expect(page.locator(f'#hold-shelf tr[data-barcode="{COPY}"]')).to_be_visible()


def test_a_patron_chooses_their_library_where_their_holds_are_kept(
    phone: Page, console: Console
) -> None:
    """*Your details* offers the library's branches, none ticked for a patron who has
    none; the one chosen is where the catalogue's hold form starts, and a branch the
    library lacks, posted by hand, is refused in the patron's words, escaped, nothing
    changed."""
    page = phone
    person = reader(7)
    watch = Watch(page)
    sign_in(page, console.url, person)
    from_menu(page, "Your details")
    library = page.get_by_role("group", name="Your library")
    expect(library.get_by_role("radio")).to_have_count(2)
    expect(library.get_by_label("Zealand Branch Library")).not_to_be_checked()
    expect(library.get_by_label("Central Library")).not_to_be_checked()
    accessible(page)
    library.get_by_label("Zealand Branch Library").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save my details").click()
    expect(page.locator("#details-saved")).to_be_visible()
    expect(library.get_by_label("Zealand Branch Library")).to_be_checked()
    accessible(page)
    from_menu(page, "Search the catalogue")
    page.get_by_label("Title, author or ISBN").fill(ISBN)
    with page.expect_navigation():
        page.locator("#search").click()
    expect(page.locator("#titles > li").first.get_by_label("Collect it at")).to_have_value("Zeal")

    # By hand: a branch the library lacks.
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    answer = page.request.post(
        f"{console.url}/my/details",
        form={"csrf_token": token or "", "home_branch": "<script>alert(1)</script>"},
    )
    assert answer.status == 400
    assert "<script>alert(1)" not in answer.text()
    assert "Choose one of the libraries shown." in answer.text()
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        found = db.get(Patron, person.patron_id)
        assert found is not None
        assert found.home_branch == "Zeal"
    engine.dispose()
    watch.check(person.card, person.pin)
