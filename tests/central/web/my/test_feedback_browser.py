"""Feedback and the loan history in Debian's chromium, at 360x640 and 1280x800, against
the real ``kiosk-central serve``: a patron sends feedback from the portal's menu (a
forgotten rating answered beside its field, then the thank-you), once anonymously and
once to be contacted, and a viewer reads both on the console's Feedback page, the
comment's script shown as text; the keyboard alone sends one in French; a patron keeps their loan history, reads it, then stops
and has it forgotten. axe-core on every page; no card, PIN or comment in an address or
the server's log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from ..conftest import XSS, Console
from ..test_browser import accessible as console_accessible
from ..test_browser import shot, watch
from ..test_browser import sign_in as staff_sign_in
from .conftest import reader, serve_portal
from .test_history import lend
from .test_portal_browser import AXE, Watch, _tab_to, accessible, from_menu, sign_in

READER = {
    ("feedback", "phone"): 1,
    ("feedback", "desktop"): 2,
    ("history", "phone"): 3,
    ("history", "desktop"): 4,
    ("keyboard", "phone"): 5,
    ("keyboard", "desktop"): 6,
}
COMMENT = "The study room is too cold in the morning"
FRENCH = "Trop de bruit le samedi"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    yield from serve_portal(tmp_path_factory.mktemp("feedback"), [COMMENT, FRENCH])


def _send(page: Page, rating: str, comment: str, *, contact: bool) -> None:
    page.get_by_role("group", name="How good is the library for you?").get_by_label(rating).check()
    page.get_by_label("Why? (optional)").fill(comment)
    if contact:
        page.get_by_label("You may contact me about this").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Send feedback").click()
    expect(page.locator("#feedback-sent")).to_contain_text("Thank you for your feedback")
    accessible(page)


def test_a_patron_sends_feedback_and_a_viewer_reads_it(
    page: Page, browser: Browser, console: Console, screen: str
) -> None:
    person = reader(READER["feedback", screen])
    seen = Watch(page)
    seen.expected = {400}
    sign_in(page, console.url, person)
    from_menu(page, "Feedback")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tell us what you think")
    accessible(page)
    # No rating chosen: said beside the radios, and the comment typed is kept.
    page.get_by_label("Why? (optional)").fill(COMMENT)
    with page.expect_navigation():
        page.get_by_role("button", name="Send feedback").click()
    problems = page.locator("#feedback-problems")
    expect(problems).to_contain_text("Choose how good the library is for you, from 1 to 5.")
    expect(page.get_by_label("Why? (optional)")).to_have_value(COMMENT)
    accessible(page)
    problems.get_by_role("link", name="Choose how good").click()
    expect(page.locator("#rating")).to_be_focused()
    if screen == "phone":
        shot(page, "feedback", room="portal")
    _send(page, "2: Poor", COMMENT, contact=False)
    page.goto(f"{console.url}/my/feedback")
    _send(page, "5: Very good", f"{XSS} {screen}", contact=True)
    seen.check(person.card, person.pin)
    assert all(COMMENT.split()[1] not in url for url in seen.urls)

    # A viewer, the least role, on a desktop: both forms, the script as text.
    staff = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    problems_seen = watch(staff)
    staff_sign_in(staff, console, "vera")
    staff.get_by_role("navigation").get_by_role("link", name="Feedback").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Feedback")
    comments = staff.locator("#comments")
    mine = comments.locator("li").filter(has_text=f"{XSS} {screen}")
    expect(mine).to_contain_text("rated 5")
    expect(mine.get_by_role("link", name=f"patron {person.patron_id}")).to_have_attribute(
        "href", f"/staff/patrons/{person.patron_id}"
    )
    anonymous = comments.locator("li").filter(has_text=COMMENT).first
    expect(anonymous).to_contain_text("anonymous")
    expect(anonymous.get_by_role("link")).to_have_count(0)
    expect(staff.locator("#ratings tr[data-rating='2'] td")).not_to_have_text("0")
    if screen == "desktop":
        shot(staff, "feedback")
    # Nothing at all within the page's own content; the console's shared header has
    # one moderate finding of its own (its signed-in line outside a landmark), so the
    # whole page is held to the console's rule: nothing serious or critical.
    violations = AXE.run(staff, context="#main-content").response["violations"]
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
    console_accessible(staff)
    assert problems_seen == []  # no dialog: the script never ran
    staff.context.close()


def test_a_patron_keeps_their_loan_history_then_has_it_forgotten(
    page: Page, console: Console, screen: str
) -> None:
    person = reader(READER["history", screen])
    lend(console.database_url, datetime.now().replace(microsecond=0), person, 3)
    seen = Watch(page)
    sign_in(page, console.url, person)
    from_menu(page, "Privacy")
    expect(page.locator("#history-not-kept")).to_contain_text("You are not keeping a loan history")
    expect(page.get_by_text("30 days after you return the item")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Keep my loan history").click()
    expect(page.locator("#history-saved")).to_contain_text("You are keeping your loan history.")
    accessible(page)
    from_menu(page, "Your loan history")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your loan history")
    expect(page.locator("#history tbody tr")).to_have_count(3)
    expect(page.locator("#history tbody tr").first).to_contain_text(person.title(6))
    accessible(page)
    if screen == "phone":
        shot(page, "history", room="portal")

    from_menu(page, "Privacy")
    expect(page.get_by_label("Also delete the history kept so far, now")).to_be_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Stop keeping my loan history").click()
    expect(page.locator("#history-saved")).to_contain_text("You are not keeping a loan history.")
    accessible(page)
    page.goto(f"{console.url}/my/history")
    expect(page.locator("#history-not-kept")).to_be_visible()
    accessible(page)
    # In Spanish, the same page.
    with page.expect_navigation():
        page.get_by_role("button", name="Español").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Su historial de préstamos")
    accessible(page)
    seen.check(person.card, person.pin)


def test_the_keyboard_alone_sends_feedback_in_french(
    page: Page, console: Console, screen: str
) -> None:
    person = reader(READER["keyboard", screen])
    seen = Watch(page)
    sign_in(page, console.url, person)
    page.goto(f"{console.url}/my/feedback")
    with page.expect_navigation():
        page.get_by_role("button", name="Français").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Donnez-nous votre avis")
    accessible(page)
    # Tab reaches the group of radios at its first; an arrow moves to the next.
    _tab_to(page, "#rating")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("2 : Mauvaise")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.locator("#comment")).to_be_focused()
    page.keyboard.type(FRENCH)
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.get_by_label("Vous pouvez me contacter à ce sujet")).to_be_checked()
    _tab_to(page, "#send-feedback")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#feedback-sent")).to_contain_text("Merci pour votre avis")
    accessible(page)
    seen.check(person.card, person.pin)
