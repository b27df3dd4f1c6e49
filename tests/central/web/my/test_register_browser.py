"""Online registration in Debian's chromium, at 360x640 and 1280x800, against the real
``kiosk-central serve`` with ``[registration]`` open: a form without consent is refused
with its words by the box, then sent; the temporary card is shown at once; the same
person again is told the library may know them; circulation staff approve it on the
Pending registrations page with a permanent card, and the patron signs in with it.
Closed registration says so. axe-core on every page; no card, PIN, name or email in any
address or in the server's log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from kiosk.central.config.model import RegistrationSection

from ..conftest import Console
from ..test_browser import shot
from ..test_browser import sign_in as staff_sign_in
from .conftest import VIEWPORTS, in_process, serve_portal
from .test_portal_browser import AXE, Watch, accessible

OPEN = (
    '[registration]\nopen = true\ncontact = "email_or_phone"\ndate_of_birth = true\n'
    "per_address_per_hour = 20\n"
)
PIN = "5173"
# Each screen registers a person of its own; their details must reach no log.
PEOPLE = {
    "phone": ("Ottoline", "Brackenbury", "ottoline.b@example.net", "21000000055501"),
    "desktop": ("Cosimo", "Fairweather", "cosimo.f@example.net", "21000000055502"),
}
SECRETS: list[str] = [PIN, *(part for person in PEOPLE.values() for part in person)]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    yield from serve_portal(tmp_path_factory.mktemp("register"), SECRETS, OPEN)


def axe_clean(page: Page) -> None:
    """No axe-core violation at all (the console's pages, which may scroll sideways on
    a phone: their tables are for staff's desks)."""
    violations = AXE.run(page).response["violations"]
    found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in violations]
    assert found == [], f"{page.url}: {found}"


def fill(page: Page, first: str, surname: str, email: str) -> None:
    page.get_by_label("First name").fill(first)
    page.get_by_label("Surname").fill(surname)
    page.get_by_label("Email address (or a phone number below)").fill(email)
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("7")
    page.get_by_label("Year").fill("1985")
    page.get_by_label("Choose a PIN").fill(PIN)
    page.get_by_label("Type the PIN again").fill(PIN)


def register(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Register").click()


def test_registered_refused_approved_and_signed_in_with_the_permanent_card(
    page: Page, browser: Browser, console: Console, screen: str
) -> None:
    first, surname, email, permanent = PEOPLE[screen]
    watch = Watch(page)
    watch.expected = {400, 409}
    page.goto(f"{console.url}/my/login")
    with page.expect_navigation():
        page.get_by_role("link", name="Join the library").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Join the library")
    accessible(page)

    fill(page, first, surname, email)
    register(page)  # no consent
    problems = page.locator("#registration-problems")
    expect(problems.get_by_role("listitem")).to_have_count(1)
    expect(problems).to_contain_text(
        "To register, agree to the library keeping your details as its privacy notice says."
    )
    expect(page.get_by_label("Surname")).to_have_value(surname)
    expect(page.get_by_label("Choose a PIN")).to_have_value("")  # never sent back
    accessible(page)
    problems.get_by_role("link", name="To register, agree").click()
    expect(page.locator("#consent")).to_be_focused()

    page.get_by_label("Choose a PIN").fill(PIN)
    page.get_by_label("Type the PIN again").fill(PIN)
    page.get_by_label("I agree to the library keeping my details").check()
    register(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Registration received")
    temporary = page.locator("#temporary-card").inner_text()
    assert temporary.startswith("T")
    SECRETS.append(temporary)
    expect(page.locator("#pending-loans")).to_have_text(
        "You can borrow once your registration is approved."
    )
    accessible(page)
    if screen == "phone":
        shot(page, "registered", room="portal")

    page.goto(f"{console.url}/my/register")
    fill(page, "Someone", "Else", email)  # the same email: the library knows it
    page.get_by_label("I agree to the library keeping my details").check()
    register(page)
    expect(page.locator("#registration-refused")).to_contain_text(
        "The library may already know you"
    )
    accessible(page)

    width, height = VIEWPORTS[screen]
    staff = browser.new_context(viewport={"width": width, "height": height})
    desk = staff.new_page()
    staff_watch = Watch(desk)
    staff_sign_in(desk, console, "cyril")
    desk.goto(f"{console.url}/staff/registrations")
    expect(desk.get_by_role("heading", level=1)).to_have_text("Pending registrations")
    axe_clean(desk)
    if screen == "desktop":
        shot(desk, "registrations")
    with desk.expect_navigation():
        desk.get_by_role("link", name=f"{surname}, {first}").click()
    expect(desk.get_by_text("1985-07-14")).to_be_visible()
    axe_clean(desk)
    desk.get_by_label("Member type").select_option("ADULT")
    desk.get_by_label("Permanent card number (optional)").fill(permanent)
    with desk.expect_navigation():
        desk.get_by_role("button", name="Approve").click()
    expect(desk.locator("#done")).to_contain_text("Approved")
    expect(desk.get_by_role("link", name=f"{surname}, {first}")).to_have_count(0)
    axe_clean(desk)
    staff_watch.check(permanent, PIN)
    staff_watch.check(temporary, PIN)
    staff.close()

    page.goto(f"{console.url}/my/login")
    page.get_by_label("Card number").fill(permanent)
    page.get_by_label("PIN", exact=True).fill(PIN)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console.url}/my/")
    accessible(page)
    watch.check(temporary, PIN)
    watch.check(permanent, PIN)
    assert not [url for url in watch.urls if email in url or surname in url]


def test_closed_registration_says_so(page: Page, database_url: str) -> None:
    with in_process(database_url, registration=RegistrationSection()) as closed:
        page.goto(f"{closed.url}/my/register")
        expect(page.locator("#registration-closed")).to_have_text(
            "Online registration is not open. Please ask at the library to join."
        )
        expect(page.get_by_role("button", name="Register")).to_have_count(0)
        accessible(page)
        page.goto(f"{closed.url}/my/login")
        expect(page.get_by_role("link", name="Join the library")).to_have_count(0)
