"""The kiosks' message set in the console in Debian's chromium (issue 17, item 7): an
administrator finds the page in the navigation, sets a message in two languages, sees it
saved, corrects a mistake said beside its box, clears it; axe-core on each page. A
viewer is not offered the page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import Console
from .test_browser import accessible, shot, sign_in, watch
from .test_imports_browser import refusals


def test_an_admin_sets_and_clears_the_kiosks_message(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "ada")
    expect(page.locator("#pages")).to_contain_text("such as a closure")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Menu").get_by_role(
            "link", name="Kiosk message"
        ).click()
    expect(page.get_by_role("heading", name="The kiosks' message")).to_be_visible()
    accessible(page)
    page.get_by_label("Message in English").fill("Closed on Monday 25th")
    page.get_by_label("Message in Français").fill("Fermé le lundi 25")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the message").click()
    expect(page.locator("#message-saved")).to_contain_text("Each kiosk shows it from its next sync")
    expect(page.get_by_label("Message in English")).to_have_value("Closed on Monday 25th")
    accessible(page)
    shot(page, "kiosk-message")
    # A mistake is said beside its box and in the summary, and nothing changes.
    page.get_by_label("Message in Español").fill("x" * 301)
    with page.expect_navigation():
        page.get_by_role("button", name="Save the message").click()
    expect(page.get_by_role("alert")).to_contain_text("300 characters or fewer")
    accessible(page)
    page.get_by_role("link", name="The message in Español must be 300 characters or fewer").click()
    expect(page.get_by_label("Message in Español")).to_be_focused()
    # Cleared: every box empty.
    for language in ("English", "Español", "Français"):
        page.get_by_label(f"Message in {language}").fill("")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the message").click()
    expect(page.locator("#message-saved")).to_be_visible()
    expect(page.get_by_label("Message in Français")).to_have_value("")
    assert refusals(problems, 422) == []


def test_a_viewer_is_not_offered_the_page(page: Page, console: Console) -> None:
    sign_in(page, console, "vera")
    expect(page.get_by_role("link", name="Kiosk message")).to_have_count(0)
    page.goto(f"{console.url}/staff/message")
    expect(page.get_by_role("heading", name="Kiosk message")).to_have_count(0)
