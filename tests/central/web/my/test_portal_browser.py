"""The portal walked in Debian's chromium as patrons would, on a 360x640 phone and a
1280x800 desktop, against the real ``kiosk-central serve``: signing in, renewing with
refusals in plain words, cancelling a hold, each language, the keyboard alone, the
privacy page and the downloads. axe-core scans every page: no violation at all. No
address the browser asks for, and no line of the server's log, holds a card number,
a PIN, a name or an email address."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Page, expect

from ..conftest import Console, failed_requests_into
from .conftest import (
    OTHER_CARD,
    OTHER_PIN,
    Reader,
    closed_on,
    reader,
    serve_portal,
)

AXE = Axe()
FRENCH_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
# Each test and viewport takes readers of its own: the walks change their accounts.
READER = {
    ("walk", "phone"): 1,
    ("walk", "desktop"): 2,
    ("languages", "phone"): 3,
    ("languages", "desktop"): 4,
    ("keyboard", "phone"): 5,
    ("keyboard", "desktop"): 6,
    ("privacy", "phone"): 7,
    ("privacy", "desktop"): 8,
    ("membership", "phone"): 9,
    ("membership", "desktop"): 10,
    ("pin", "phone"): 11,
    ("pin", "desktop"): 12,
}


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    yield from serve_portal(tmp_path_factory.mktemp("portal"))


class Watch:
    """What goes wrong in the page (console errors, failed requests, answers >= 400 but
    those expected) and every address it asked for."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        self.urls: list[str] = []
        self.expected: set[int] = set()
        page.on("console", self._console)
        page.on("requestfailed", failed_requests_into(self.problems))
        page.on("request", lambda r: self.urls.append(r.url))
        page.on(
            "response",
            lambda r: (
                self.problems.append(f"{r.status}: {r.url}")
                if r.status >= 400 and r.status not in self.expected
                else None
            ),
        )

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium also logs an answer's status; those expected are not problems.
        expected = any(f"status of {status} " in message.text for status in self.expected)
        if message.type == "error" and not expected:
            self.problems.append(message.text)

    def check(self, card: str, pin: str) -> None:
        assert self.problems == []
        leaks = [url for url in self.urls if card in url or f"={pin}" in url]
        assert leaks == []


def accessible(page: Page) -> None:
    """No axe-core violation at all, whatever its impact, and nothing wider than the
    screen (a phone never scrolls sideways)."""
    violations = AXE.run(page).response["violations"]
    found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in violations]
    assert found == [], f"{page.url}: {found}"
    wider = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wider <= 0, f"{page.url} is {wider}px wider than the screen"


def sign_in(page: Page, url: str, person: Reader) -> None:
    page.goto(f"{url}/my/")
    expect(page).to_have_url(f"{url}/my/login")
    accessible(page)
    page.get_by_label("Card number").fill(person.card)
    page.get_by_label("PIN", exact=True).fill(person.pin)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{url}/my/")


def from_menu(page: Page, name: str) -> None:
    """Follow the portal's navigation link ``name``, opening the menu first on a phone."""
    # The navigation folds only once GOV.UK Frontend's script has run.
    page.wait_for_function("document.body.classList.contains('govuk-frontend-supported')")
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():  # on a phone the service navigation folds behind its button
        menu.click()
    page.get_by_role("navigation").get_by_role("link", name=name).click()


def loan(person: Reader, kind: int) -> str:
    return f'#loans li[data-barcode="{person.barcode(kind)}"]'


def test_a_patron_signs_in_renews_with_refusals_and_cancels_a_hold(
    page: Page, console: Console, screen: str
) -> None:
    person = reader(READER["walk", screen])
    watch = Watch(page)
    sign_in(page, console.url, person)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello {person.first_name}")
    accessible(page)
    expect(page.locator("#loans > li")).to_have_count(5)
    expect(page.locator(loan(person, 4))).to_contain_text("Overdue")
    expect(page.locator(loan(person, 1))).not_to_contain_text("Overdue")
    expect(page.locator("#owed")).to_have_text("You owe 1.50.")
    expect(page.locator("#ledger")).to_contain_text("Fine")
    ready = page.locator("#holds li", has_text=person.title(6))
    expect(ready).to_contain_text("Ready to collect")
    expect(ready).to_contain_text("hold shelf at Main")
    waiting = page.locator("#holds li", has_text=person.title(5))
    expect(waiting).to_contain_text("Your place in the queue: 2")

    with page.expect_navigation():
        page.locator(loan(person, 1)).get_by_role("button").click()
    expect(page.locator(f'#renewed li[data-barcode="{person.barcode(1)}"]')).to_contain_text(
        "Renewed: now due back by"
    )
    expect(page.locator(loan(person, 1))).to_contain_text("1 of 3 times")
    accessible(page)

    with page.expect_navigation():
        page.locator(loan(person, 2)).get_by_role("button").click()
    refused = page.locator(f'#renewed li[data-barcode="{person.barcode(2)}"]')
    expect(refused).to_contain_text(
        "Another member is waiting for this item, so it can't be renewed."
    )
    accessible(page)

    with page.expect_navigation():
        page.get_by_role("button", name="Renew all").click()
    expect(page.locator(f'#renewed li[data-barcode="{person.barcode(3)}"]')).to_contain_text(
        "it has been renewed the most times allowed (3)"
    )
    cap = closed_on(date.today())
    expect(page.locator(f'#renewed li[data-barcode="{person.barcode(7)}"]')).to_contain_text(
        f"Lending of this item has closed for now: loans had to be back by {cap.day} {cap:%B %Y}."
    )
    expect(page.locator(f'#renewed li[data-barcode="{person.barcode(1)}"]')).to_have_attribute(
        "data-renewed", "yes"
    )
    accessible(page)

    with page.expect_navigation():
        waiting.get_by_role("button", name="Cancel this hold").click()
    expect(page.locator("#cancelled")).to_contain_text("Your hold has been cancelled.")
    expect(page.locator("#holds li", has_text=person.title(5))).to_have_count(0)
    expect(page.locator("#holds li", has_text=person.title(6))).to_have_count(1)
    accessible(page)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You have signed out")
    accessible(page)
    page.goto(f"{console.url}/my/")
    expect(page).to_have_url(f"{console.url}/my/login")
    watch.check(person.card, person.pin)


def test_each_language_and_the_choice_is_remembered(
    page: Page, console: Console, screen: str
) -> None:
    person = reader(READER["languages", screen])
    watch = Watch(page)
    page.goto(f"{console.url}/my/login")
    with page.expect_navigation():
        page.get_by_role("button", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Inicie sesión en su cuenta de la biblioteca"
    )
    accessible(page)
    page.get_by_label("Número de carné").fill(person.card)
    page.get_by_label("PIN", exact=True).fill("0000")
    with page.expect_navigation():
        page.get_by_role("button", name="Iniciar sesión").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("está bloqueado")
    accessible(page)
    page.get_by_label("PIN", exact=True).fill(person.pin)
    with page.expect_navigation():
        page.get_by_role("button", name="Iniciar sesión").click()
    expect(page.get_by_role("heading", level=2, name="Préstamos")).to_be_visible()
    expect(page.locator(loan(person, 4))).to_contain_text("Con retraso")
    accessible(page)

    with page.expect_navigation():
        page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    with page.expect_navigation():
        page.locator(loan(person, 2)).get_by_role("button").click()
    expect(page.locator(f'#renewed li[data-barcode="{person.barcode(2)}"]')).to_contain_text(
        "Un autre lecteur attend ce document"
    )
    with page.expect_navigation():
        page.locator(loan(person, 7)).get_by_role("button").click()
    cap = closed_on(date.today())
    month = FRENCH_MONTHS[cap.month - 1]
    expect(page.locator(f'#renewed li[data-barcode="{person.barcode(7)}"]')).to_contain_text(
        f"les prêts devaient être rendus au plus tard le {cap.day} {month} {cap.year}."
    )
    accessible(page)
    page.get_by_role("link", name="Confidentialité").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Ce que la bibliothèque conserve à votre sujet"
    )
    accessible(page)
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vous êtes déconnecté")
    accessible(page)

    # Another browser: the language comes back with the patron's record.
    page.context.clear_cookies()
    page.goto(f"{console.url}/my/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Card number").fill(person.card)
    page.get_by_label("PIN", exact=True).fill(person.pin)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Bonjour {person.first_name}")
    watch.check(person.card, person.pin)


def _tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Tab until the element ``selector`` has the focus."""
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never took the focus")


def test_the_keyboard_alone_signs_in_renews_cancels_and_signs_out(
    page: Page, console: Console, screen: str
) -> None:
    person = reader(READER["keyboard", screen])
    watch = Watch(page)
    page.goto(f"{console.url}/my/login")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    _tab_to(page, "#card")
    page.keyboard.type(person.card)
    page.keyboard.press("Tab")
    expect(page.locator("#pin")).to_be_focused()
    page.keyboard.type(person.pin)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(f"{console.url}/my/")
    _tab_to(page, f"{loan(person, 1)} button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(f'#renewed li[data-barcode="{person.barcode(1)}"]')).to_contain_text(
        "Renewed"
    )
    _tab_to(page, "#holds li:first-child button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#cancelled")).to_be_visible()
    _tab_to(page, "#sign-out")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("You have signed out")
    watch.check(person.card, person.pin)


def test_the_privacy_page_and_the_patrons_own_record_to_download(
    page: Page, console: Console, screen: str
) -> None:
    person = reader(READER["privacy", screen])
    watch = Watch(page)
    sign_in(page, console.url, person)
    page.get_by_role("link", name="Privacy").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What the library keeps about you")
    accessible(page)
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download as JSON").click()
    record = json.loads(Path(waiting.value.path()).read_text(encoding="utf-8"))
    assert record["details"]["card"] == person.card
    assert record["details"]["email"] == person.email
    assert {row["item"] for row in record["loans"]} == {person.barcode(k) for k in (1, 2, 3, 4, 7)}
    assert [row["amount"] for row in record["money"]] == ["1.50"]
    assert "pin_verifier" not in json.dumps(record)
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download as CSV").click()
    rows = list(csv.reader(io.StringIO(Path(waiting.value.path()).read_text(encoding="utf-8"))))
    assert rows[0] == ["section", "field", "value"]
    assert ["details", "card", person.card] in rows
    assert ["details", "surname", person.surname] in rows

    # A hold id that is not the patron's, and a form from another page: plain pages.
    watch.expected = {403, 404}
    page.goto(f"{console.url}/my/")
    page.evaluate("document.querySelector('#holds form').action = '/my/holds/999999/cancel'")
    with page.expect_navigation():
        page.locator("#holds form button").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    accessible(page)
    page.goto(f"{console.url}/my/")
    page.evaluate("document.querySelector('#holds input[name=csrf_token]').value = 'forged'")
    with page.expect_navigation():
        page.locator("#holds form button").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The form could not be accepted")
    accessible(page)
    watch.check(person.card, person.pin)


def test_a_patron_renews_their_membership_when_the_policy_allows_it(
    page: Page, console: Console, screen: str
) -> None:
    person = reader(READER["membership", screen])
    watch = Watch(page)
    sign_in(page, console.url, person)
    expect(page.locator("#membership-why")).to_have_count(0)
    with page.expect_navigation():
        page.get_by_role("button", name="Renew my membership").click()
    renewed = page.locator("#membership-renewed")
    expect(renewed).to_contain_text("Your membership is renewed: it now runs until")
    ends = date.today() + timedelta(days=10 + 365)
    expect(renewed).to_contain_text(f"{ends.day} {ends:%B %Y}")
    accessible(page)
    # Renewed, it is a year away: the policy's window is not open, and it says when.
    expect(page.get_by_role("button", name="Renew my membership")).to_have_count(0)
    page.goto(f"{console.url}/my/")
    opens = ends - timedelta(days=30)
    expect(page.locator("#membership-why")).to_have_text(
        f"Your membership can be renewed from {opens.day} {opens:%B %Y}."
    )
    accessible(page)
    watch.check(person.card, person.pin)


def test_a_patron_changes_their_pin(page: Page, console: Console, screen: str) -> None:
    person = reader(READER["pin", screen])
    new_pin = "97531"
    watch = Watch(page)
    watch.expected = {400}
    sign_in(page, console.url, person)
    from_menu(page, "Change your PIN")
    expect(page.get_by_role("heading", level=1)).to_have_text("Change your PIN")
    accessible(page)

    def change(current: str, pin: str, again: str) -> None:
        page.get_by_label("Your current PIN").fill(current)
        page.get_by_label("Your new PIN", exact=True).fill(pin)
        page.get_by_label("Your new PIN again").fill(again)
        with page.expect_navigation():
            page.get_by_role("button", name="Change my PIN").click()

    change("0000", new_pin, new_pin)
    expect(page.locator("#pin-problems")).to_contain_text("Your current PIN is not right.")
    accessible(page)
    change(person.pin, new_pin, "97532")
    expect(page.locator("#pin-problems")).to_contain_text("The two new PINs are not the same.")
    change(person.pin, "12", "12")
    expect(page.locator("#pin-problems")).to_contain_text("Your new PIN must be 4 to 8 digits.")
    accessible(page)
    change(person.pin, new_pin, new_pin)
    expect(page.locator("#pin-changed")).to_contain_text("Your PIN is changed.")
    accessible(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You have signed out")
    page.goto(f"{console.url}/my/login")
    page.get_by_label("Card number").fill(person.card)
    page.get_by_label("PIN", exact=True).fill(person.pin)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console.url}/my/login")
    page.get_by_label("PIN", exact=True).fill(new_pin)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console.url}/my/")
    watch.check(person.card, person.pin)
    assert all(new_pin not in url for url in watch.urls)


def test_a_barred_card_whose_membership_ended_signs_in_and_reads_why(
    page: Page, console: Console
) -> None:
    watch = Watch(page)
    page.goto(f"{console.url}/my/login")
    page.get_by_label("Card number").fill(OTHER_CARD)
    page.get_by_label("PIN", exact=True).fill(OTHER_PIN)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console.url}/my/")
    standing = page.locator("#standing")
    expect(standing).to_contain_text("Your card can't be used to borrow at the moment.")
    expect(standing).to_contain_text("Your membership ended on")
    expect(standing).to_contain_text("Renew your membership at the desk to borrow and renew again.")
    expect(standing).to_contain_text("Please ask at the desk or phone the library")
    expect(page.locator("#membership")).to_contain_text("Your membership ran out on")
    accessible(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Renew all").click()
    expect(page.locator("#renewed")).to_contain_text("Your card can't be used to borrow")
    accessible(page)
    watch.check(OTHER_CARD, OTHER_PIN)


def test_the_privacy_notice_is_read_before_anyone_signs_in(page: Page, console: Console) -> None:
    """The registration form asks consent to it: a newcomer reads it first. What is a
    patron's own (their loan history's choice, their data) asks them to sign in."""
    watch = Watch(page)
    page.goto(f"{console.url}/my/privacy")
    expect(page.get_by_role("heading", level=1)).to_have_text("What the library keeps about you")
    accessible(page)
    expect(page.get_by_role("link", name="Download as JSON")).to_have_count(0)
    expect(page.locator("form[action='/my/history/keep']")).to_have_count(0)
    page.locator("#sign-in-to-download").click()
    expect(page.locator("input[name=card]")).to_be_visible()
    # The download itself is still the signed-in patron's alone.
    response = page.request.get(f"{console.url}/my/data.json", max_redirects=0)
    assert response.status == 303
    assert response.headers["location"].endswith("/my/login")
    assert watch.problems == []
