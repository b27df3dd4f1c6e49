"""*Your details* in Debian's chromium, at 360x640 and 1280x800, against the real
``kiosk-central serve``: problems shown beside their fields, then the details and
messaging preferences saved and shown again; the language chosen there speaks at once;
the keyboard alone. axe-core on every page; no card, PIN, name or email in any address
or the server's log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from ..conftest import Console
from .conftest import reader, serve_portal
from .test_portal_browser import Watch, _tab_to, accessible, from_menu, sign_in

READER = {
    ("walk", "phone"): 1,
    ("walk", "desktop"): 2,
    ("keyboard", "phone"): 3,
    ("keyboard", "desktop"): 4,
}
NEW_EMAIL = "fresh.inbox@example.net"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    yield from serve_portal(tmp_path_factory.mktemp("details"), [NEW_EMAIL, "1632 960"])


def open_details(page: Page) -> None:
    from_menu(page, "Your details")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")


def test_a_patron_saves_their_details_and_messaging_preferences(
    page: Page, console: Console, screen: str
) -> None:
    person = reader(READER["walk", screen])
    watch = Watch(page)
    watch.expected = {400}
    sign_in(page, console.url, person)
    open_details(page)
    expect(page.get_by_label("Email address")).to_have_value(person.email)
    expect(page.get_by_label("Before an item is due back", exact=True)).to_be_checked()
    expect(page.get_by_label("Email", exact=True)).to_be_checked()
    accessible(page)

    page.get_by_label("Email address").fill("no at sign")
    page.get_by_label("How many days before an item is due back").fill("40")
    with page.expect_navigation():
        page.get_by_role("button", name="Save my details").click()
    problems = page.locator("#details-problems")
    expect(problems).to_contain_text("Enter an email address like name@example.org")
    expect(problems).to_contain_text("Enter a number of days from 1 to 14.")
    expect(page.get_by_label("Email address")).to_have_value("no at sign")
    accessible(page)
    problems.get_by_role("link", name="Enter an email address").click()
    expect(page.get_by_label("Email address")).to_be_focused()

    page.get_by_label("Email address").fill(NEW_EMAIL)
    page.get_by_label("Phone number").fill("01632 960 001")
    page.get_by_label("Text message (SMS)").check()
    page.get_by_label("When an item is overdue").uncheck()
    page.get_by_label("New arrivals, once a week").check()
    page.get_by_label("How many days before an item is due back").fill("5")
    page.get_by_role("group", name="One message a day listing everything").get_by_label(
        "Yes"
    ).check()
    page.get_by_label("Fiction", exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save my details").click()
    expect(page.locator("#details-saved")).to_contain_text("Your details are saved.")
    accessible(page)

    page.goto(f"{console.url}/my/details")  # read again from the record
    expect(page.get_by_label("Email address")).to_have_value(NEW_EMAIL)
    expect(page.get_by_label("Phone number")).to_have_value("01632 960 001")
    expect(page.get_by_label("Text message (SMS)")).to_be_checked()
    expect(page.get_by_label("When an item is overdue")).not_to_be_checked()
    expect(page.get_by_label("Before an item is due back", exact=True)).to_be_checked()
    expect(page.get_by_label("How many days before an item is due back")).to_have_value("5")
    expect(page.get_by_label("Fiction", exact=True)).to_be_checked()

    # The language chosen here is the record's: the page answers in it at once.
    page.get_by_role("group", name="Language").get_by_label("Français").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save my details").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#details-saved")).to_contain_text("Vos coordonnées sont enregistrées.")
    expect(page.get_by_label("Quand un document est en retard")).not_to_be_checked()
    accessible(page)
    watch.check(person.card, person.pin)
    assert all(NEW_EMAIL not in url and "01632" not in url for url in watch.urls)


def test_the_keyboard_alone_saves_the_details(page: Page, console: Console, screen: str) -> None:
    person = reader(READER["keyboard", screen])
    watch = Watch(page)
    sign_in(page, console.url, person)
    page.goto(f"{console.url}/my/details")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    _tab_to(page, "#phone")
    page.keyboard.type("01632 960 002")
    # Tab reaches a group of radios at its chosen one; an arrow chooses the next.
    _tab_to(page, "#notify_by")
    page.keyboard.press("ArrowDown")
    _tab_to(page, "#save-details")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#details-saved")).to_be_visible()
    expect(page.get_by_label("Phone number")).to_have_value("01632 960 002")
    expect(page.get_by_label("Text message (SMS)")).to_be_checked()
    watch.check(person.card, person.pin)
