"""The portal's catalogue in Debian's chromium, at 360x640 and 1280x800, against the
real ``kiosk-central serve``: a search by ISBN, title and author, each title's copies
and where they are (the branch's name once the library has branches), a title hold
placed and refused in plain words, then on the account page and cancelled there; in
French; and by the keyboard alone. axe-core on every page; no card, PIN, name, email or
search in any address or the server's log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.models import Branch, Item, Record

from ..conftest import Console
from .conftest import reader, serve_portal
from .test_portal_browser import Watch, _tab_to, accessible, from_menu, sign_in

ISBN = "9780141439518"
TITLE = "Pride and Prejudice"
READER = {
    ("walk", "phone"): 1,
    ("walk", "desktop"): 2,
    ("french", "phone"): 3,
    ("french", "desktop"): 4,
    ("keyboard", "phone"): 5,
    ("keyboard", "desktop"): 6,
}


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The readers' library, with a title found by its ISBN (a copy on the shelf and a
    lost one) and the branch its copies live in."""
    for served in serve_portal(
        tmp_path_factory.mktemp("catalogue"), [ISBN, "978-0-14", "far horizon", "Austen"]
    ):
        engine = database.connect(served.database_url)
        with Session(engine) as db:
            db.add(Branch(code="Main", name="Central Library"))
            db.add(
                Record(
                    brn=5000,
                    title=TITLE,
                    author="Austen, Jane",
                    isbn=ISBN,
                    publication_type="FICTION",
                    added_on=datetime.now().date(),
                )
            )
            db.flush()
            for barcode, status in (("39990000000001", "available"), ("39990000000002", "lost")):
                db.add(
                    Item(
                        barcode=barcode,
                        brn=5000,
                        price=Decimal("9.99"),
                        status=status,
                        home_location="Main",
                    )
                )
            db.commit()
        engine.dispose()
        yield served


def search(page: Page, text: str, label: str = "Title, author or ISBN") -> None:
    page.get_by_label(label).fill(text)
    with page.expect_navigation():
        page.locator("#search").click()


def titled(page: Page, name: str) -> Locator:
    """The title found whose heading is ``name`` exactly ("Far Horizon 1", not 10)."""
    return page.locator("#titles > li").filter(
        has=page.get_by_role("heading", name=name, exact=True)
    )


def test_a_patron_searches_places_a_title_hold_and_cancels_it(
    page: Page, console: Console, screen: str
) -> None:
    person = reader(READER["walk", screen])
    watch = Watch(page)
    sign_in(page, console.url, person)
    from_menu(page, "Search the catalogue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search the catalogue")
    accessible(page)

    search(page, "978-0-14-143951-8")  # hyphens as printed on the book
    expect(page.locator("#found-heading")).to_have_text("1 title found")
    found = page.locator("#titles > li").first
    expect(found.get_by_role("heading")).to_have_text(TITLE)
    expect(found).to_contain_text("Austen, Jane")
    expect(found).to_contain_text("1 copy on the shelf")
    expect(found.locator('li[data-item="39990000000001"]')).to_have_text(
        "Central Library: On the shelf"
    )
    expect(found.locator('li[data-item="39990000000002"]')).to_have_text(
        "Central Library: Not available"
    )
    accessible(page)
    with page.expect_navigation():
        found.get_by_role("button", name="Place a hold").click()
    expect(page.locator("#hold-placed")).to_contain_text(f"You are on the list for {TITLE}")
    expect(page.get_by_label("Title, author or ISBN")).to_have_value("978-0-14-143951-8")
    accessible(page)

    search(page, "far horizon")
    mine = titled(page, person.title(5))
    expect(mine).to_contain_text("No copy on the shelf now")
    expect(mine).to_contain_text("On loan, due back by")
    with page.expect_navigation():
        mine.get_by_role("button").click()
    expect(page.locator("#hold-refused")).to_contain_text(
        f"Your hold on {person.title(5)} could not be placed"
    )
    expect(page.locator("#hold-refused")).to_contain_text(
        "You already have a hold on one copy of this title."
    )
    accessible(page)

    search(page, "nothing by this name")
    expect(page.locator("#nothing-found")).to_contain_text("Nothing matches.")
    accessible(page)

    page.goto(f"{console.url}/my/")
    held = page.locator("#holds li", has_text=TITLE)
    expect(held).to_contain_text("the first copy of this title to come back")
    with page.expect_navigation():
        held.get_by_role("button", name="Cancel this hold").click()
    expect(page.locator("#cancelled")).to_be_visible()
    expect(page.locator("#holds li", has_text=TITLE)).to_have_count(0)
    watch.check(person.card, person.pin)
    assert all("horizon" not in url and "978" not in url for url in watch.urls)


def test_the_catalogue_in_french(page: Page, console: Console, screen: str) -> None:
    person = reader(READER["french", screen])
    watch = Watch(page)
    sign_in(page, console.url, person)
    page.goto(f"{console.url}/my/catalogue")
    with page.expect_navigation():
        page.get_by_role("button", name="Français").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rechercher dans le catalogue")
    accessible(page)
    search(page, "fresh arrival", "Titre, auteur ou ISBN")
    expect(page.locator("#found-heading")).to_contain_text("titres trouvés")
    arrival = titled(page, person.title(6))
    expect(arrival).to_contain_text("1 exemplaire en rayon")
    accessible(page)
    search(page, person.title(1), "Titre, auteur ou ISBN")
    with page.expect_navigation():
        page.locator("#titles > li").first.get_by_role("button").click()
    expect(page.locator("#hold-refused")).to_contain_text(
        "Vous avez déjà un exemplaire de ce titre en prêt."
    )
    accessible(page)
    watch.check(person.card, person.pin)


def test_the_keyboard_alone_searches_and_places_a_hold(
    page: Page, console: Console, screen: str
) -> None:
    person = reader(READER["keyboard", screen])
    watch = Watch(page)
    sign_in(page, console.url, person)
    page.goto(f"{console.url}/my/catalogue")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    _tab_to(page, "#text")
    page.keyboard.type(reader(7).title(2))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#found-heading")).to_have_text("1 title found")
    _tab_to(page, "#titles > li:first-child button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#hold-placed")).to_contain_text(
        f"You are on the list for {reader(7).title(2)}"
    )
    watch.check(person.card, person.pin)
