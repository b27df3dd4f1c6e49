"""The console walked in a real browser as staff would, every page scanned by axe-core."""

from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, expect

from .conftest import PASSWORDS, XSS, Console, failed_requests_into, screenshots

AXE = Axe()


def accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    violations = AXE.run(page).response["violations"]
    grave = [
        (violation["id"], violation["impact"], [node["target"] for node in violation["nodes"]])
        for violation in violations
        if violation["impact"] in ("serious", "critical")
    ]
    assert grave == [], f"{page.url}: {grave}"


def watch(page: Page) -> list[str]:
    """What goes wrong in the page: console errors (a CSP refusal is one), failed
    requests, and any dialog (a script that ran: alert(1))."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    def on_dialog(dialog: Dialog) -> None:
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("console", on_console)
    page.on("dialog", on_dialog)
    page.on("requestfailed", failed_requests_into(problems))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status}: {response.url}")
            if response.status >= 400
            else None
        ),
    )
    return problems


def sign_in(page: Page, console: Console, username: str, password: str | None = None) -> None:
    page.goto(f"{console.url}/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(
        PASSWORDS[username] if password is None else password
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def shot(page: Page, name: str, room: str = "console") -> None:
    """The README's screenshot ``name`` of the console's (or, ``room="portal"``, the
    portal's, kept beside them) when the walk is asked for them."""
    folder = screenshots()
    if folder is not None:
        folder = folder if room == "console" else folder.parent / room
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_sign_in_see_the_kiosks_and_sign_out_as_staff_would(page: Page, console: Console) -> None:
    problems = watch(page)
    page.goto(f"{console.url}/staff/kiosks")
    # Not signed in: the sign-in page.
    expect(page).to_have_url(f"{console.url}/staff/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # GOV.UK Frontend's JavaScript ran (it marks the body), under the CSP.
    expect(page.locator("body.govuk-frontend-supported")).to_have_count(1)
    accessible(page)
    shot(page, "sign-in")

    sign_in(page, console, "vera")
    expect(page).to_have_url(f"{console.url}/staff/")
    expect(page.get_by_text("Signed in as vera")).to_be_visible()
    accessible(page)

    page.get_by_role("link", name="Kiosks").first.click()
    expect(page).to_have_url(f"{console.url}/staff/kiosks")
    lights = {
        row.get_attribute("data-kiosk"): row.get_attribute("data-light")
        for row in page.locator("#kiosks tbody tr").all()
    }
    assert lights == {"branch-1": "green", "branch-2": "amber", "branch-3": "red", XSS: "red"}
    amber = page.locator('tr[data-kiosk="branch-2"]')
    expect(amber).to_contain_text("last error: server unreachable")
    expect(amber).to_contain_text("4 waiting, oldest 2 h ago")
    expect(amber).to_contain_text("disk nearly full: 150 MB free")
    expect(page.locator('tr[data-kiosk="branch-3"]')).to_contain_text("offline: last heard 3 h ago")
    accessible(page)
    shot(page, "kiosks")

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{console.url}/staff/signed-out")
    expect(page.get_by_role("heading", name="You have signed out")).to_be_visible()
    accessible(page)
    # The session is over: the kiosks page asks for a sign-in again, even with Back.
    page.go_back()
    page.goto(f"{console.url}/staff/kiosks")
    expect(page).to_have_url(f"{console.url}/staff/login")
    assert problems == []


def test_a_kiosk_named_like_a_script_is_shown_as_text(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "ada")
    page.goto(f"{console.url}/staff/kiosks")
    name = page.locator("#kiosks tbody th", has_text="alert(1)")
    expect(name).to_have_text(XSS)  # the characters themselves, not an element
    assert page.locator("#kiosks script").count() == 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content()
    assert problems == []


def test_wrong_passwords_get_one_answer_whoever_is_named(page: Page, console: Console) -> None:
    problems = watch(page)
    answers = []
    for username in ("cyril", "nobody-here"):
        sign_in(page, console, username, password="not the password at all")
        expect(page.get_by_role("heading", name="You could not be signed in")).to_be_visible()
        answers.append(page.locator(".govuk-error-summary").inner_text())
        accessible(page)
    assert answers[0] == answers[1]
    # The password typed is never sent back; the username is kept for a second try.
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    assert problems == []


def test_an_admin_reads_the_audit_log_and_a_viewer_cannot(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "ada")
    page.get_by_role("link", name="Audit log").first.click()
    expect(page.locator("#audit")).to_contain_text("session.start")
    expect(page.locator("#audit")).to_contain_text("staff.add")
    accessible(page)
    # Filtered: only the staff accounts' creation, made at the test's "terminal".
    page.get_by_label("Kind of change").select_option("staff")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    actions = page.locator("#audit tbody tr td:nth-child(3)").all_inner_texts()
    assert actions
    assert set(actions) == {"staff.add"}
    expect(page.get_by_label("Kind of change")).to_have_value("staff")  # kept chosen
    page.get_by_label("Who").select_option("ada")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    expect(page.locator("#no-entries")).to_be_visible()  # ada added no one
    page.get_by_label("Kind of change").select_option("")
    page.get_by_label("From").fill("yesterday")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("must be a date")
    accessible(page)
    page.get_by_label("From").fill("")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    who = page.locator("#audit tbody tr td:nth-child(2)").all_inner_texts()
    assert who
    assert set(who) == {"ada"}
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    sign_in(page, console, "vera")
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)  # not offered
    answer = page.goto(f"{console.url}/staff/audit")
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("heading", name="Your role cannot open this page")).to_be_visible()
    accessible(page)
    assert problems == [
        f"403: {console.url}/staff/audit",
        "console: Failed to load resource: the server responded with a status of 403 (Forbidden)",
    ]


def test_the_pages_work_without_javascript(browser: Browser, console: Console) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, console, "cyril")
        expect(page).to_have_url(f"{console.url}/staff/")
        page.get_by_role("link", name="Kiosks").first.click()
        expect(page.locator("#kiosks tbody tr")).to_have_count(4)
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/staff/signed-out$"))
    finally:
        context.close()
