"""The *Exceptions* queue and a kiosk's own page walked in Debian's chromium as staff
would, every page scanned by axe-core: circulation staff filter the queue and resolve an
exception with a note; an administrator gives a kiosk a new token and disables it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import Console, heartbeat, push_return, register, serve
from .test_browser import accessible, shot, sign_in, watch

NOTE = "Found on the returns trolley; checked in at the desk."


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for served in serve(tmp_path_factory.mktemp("actions")):
        register(served, "north", "south", "lobby")
        for seq, (kiosk, barcode) in enumerate(
            [("north", "39990000000001"), ("south", "39990000000002"), ("north", "39990000000003")],
            start=1,
        ):
            answer = push_return(served.url, served.tokens[kiosk], f"{kiosk}:{seq}", seq, barcode)
            assert answer.status_code == 200, answer.text
        yield served


def test_circulation_filters_the_queue_and_resolves_an_exception(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    expect(page.get_by_text("Now: 3 open.")).to_be_visible()
    page.get_by_role("link", name="Exceptions").first.click()
    expect(page).to_have_url(f"{console.url}/staff/exceptions")
    rows = page.locator("#exceptions tbody tr")
    expect(rows).to_have_count(3)
    accessible(page)
    shot(page, "exceptions")

    page.get_by_label("Kiosk").select_option(label="north")
    page.get_by_label("Sort by date").select_option(label="Newest first")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("39990000000003")
    expect(rows.nth(1)).to_contain_text("39990000000001")
    expect(page.get_by_label("Kiosk")).to_have_value(re.compile(r"\d+"))  # kept selected
    accessible(page)

    rows.nth(1).get_by_role("link").click()
    expect(
        page.get_by_role("heading", name=re.compile("Item not in the catalogue"))
    ).to_be_visible()
    accessible(page)
    page.get_by_role("button", name="Resolve").click()  # no note yet
    expect(page.locator(".govuk-error-summary")).to_contain_text("the note is empty")
    accessible(page)
    page.get_by_label("What was done about it").fill(NOTE)
    with page.expect_navigation():
        page.get_by_role("button", name="Resolve").click()
    summary = page.locator("#exception")
    expect(summary).to_contain_text("by cyril")
    expect(summary).to_contain_text(NOTE)
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    accessible(page)

    page.goto(f"{console.url}/staff/exceptions?state=resolved")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(NOTE)
    assert problems == []


def test_an_admin_gives_a_kiosk_a_new_token_then_disables_it(page: Page, console: Console) -> None:
    problems = watch(page)
    old = console.tokens["lobby"]
    sign_in(page, console, "ada")
    page.get_by_role("link", name="Kiosks").first.click()
    page.get_by_role("link", name="lobby", exact=True).click()
    expect(page.get_by_role("heading", name="lobby")).to_be_visible()
    accessible(page)
    shot(page, "kiosk")

    with page.expect_navigation():
        page.get_by_role("button", name="Give lobby a new token").click()
    expect(page.get_by_role("heading", name="New token for lobby")).to_be_visible()
    new = page.locator("#token").inner_text()
    assert len(new) >= 40
    assert new not in page.url
    accessible(page)
    assert heartbeat(console.url, old).status_code == 401
    assert heartbeat(console.url, new).status_code == 200

    page.get_by_role("link", name="Back to lobby").click()
    assert new not in page.content()
    with page.expect_navigation():
        page.get_by_role("button", name="Disable lobby").click()
    expect(page.locator("#disabled-banner")).to_contain_text("The server refuses its token")
    accessible(page)
    assert push_return(console.url, new, "lobby:1", 1, "39990000000004").status_code == 403

    page.get_by_role("link", name="Audit log").first.click()
    audit = page.locator("#audit")
    expect(audit).to_contain_text("kiosk.token")
    expect(audit).to_contain_text("kiosk.disable")
    # The token appears in no log line of the server.
    log = console.log.read_text(encoding="utf-8")
    assert new not in log
    assert old not in log
    assert problems == []


def test_the_queue_works_without_javascript(browser: Browser, console: Console) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, console, "ada")
        page.goto(f"{console.url}/staff/exceptions")
        page.get_by_label("Kiosk").select_option(label="south")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("#exceptions tbody tr")).to_have_count(1)
        page.locator("#exceptions tbody tr a").click()
        page.get_by_label("What was done about it").fill("Seen; nothing to do.")
        page.get_by_role("button", name="Resolve").click()
        expect(page.locator("#exception")).to_contain_text("by ada")
    finally:
        context.close()


def test_the_kiosks_table_shows_a_new_heartbeat_without_a_reload(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    register(console, "annex")  # never heard from: red
    sign_in(page, console, "vera")
    page.goto(f"{console.url}/staff/kiosks")
    annex = page.locator('tr[data-kiosk="annex"]')
    expect(annex).to_have_attribute("data-light", "red")
    expect(page.locator("#kiosks-table")).to_have_attribute("data-refresh-seconds", "15")
    # A second between refreshes rather than 15, and a mark a reload would wipe out.
    page.evaluate(
        """() => {
            document.getElementById("kiosks-table").dataset.refreshSeconds = "1";
            window.notReloaded = true;
        }"""
    )
    link = annex.get_by_role("link", name="annex")
    link.focus()

    answer = heartbeat(console.url, console.tokens["annex"])
    assert answer.status_code == 200, answer.text

    # Heard from just now, with no scanner in its heartbeat: amber.
    expect(annex).to_have_attribute("data-light", "amber", timeout=5000)
    expect(annex).to_contain_text("no scanner connected")
    expect(annex).to_contain_text("just now")
    expect(page.locator("#kiosks-updated")).to_have_text(re.compile(r"^Updated at \d\d:\d\d$"))
    expect(page.locator("#kiosks-updated")).to_have_attribute("aria-live", "polite")
    expect(link).to_be_focused()  # the new table's link, where the old one's was
    assert page.evaluate("() => window.notReloaded") is True
    accessible(page)
    assert problems == []
