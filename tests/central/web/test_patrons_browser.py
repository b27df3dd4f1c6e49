"""*Patrons* walked in Debian's chromium as staff would, every page scanned by axe-core:
circulation staff find a patron by surname and by card, open their record, edit their
contact details (a bad email first), bar and unbar them, let them type a PIN, make a
one-time PIN (shown once), take a payment, waive a charge and renew the membership; a
viewer reads the same record without one change form and is refused every change; a
patron named like a script is shown as text. Nothing of a patron reaches the server's
log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.policy import put_policy
from kiosk.central.models import AuditEntry, Hold, Item, LedgerEntry, Loan, Patron, Record
from kiosk.common.pins import pin_matches

from .conftest import XSS, Console, csrf_token, serve
from .test_browser import accessible, shot, sign_in, watch

POLICY = {
    "member_types": {
        "ADULT": {"name": "Adult", "renewal_period_days": 365},
        "CHILD": {"name": "Child"},  # no period: staff set the new end date by hand
    },
    "publication_types": {"FICTION": {"name": "Fiction"}},
    "privileges": [
        {"member_type": "ADULT", "publication_type": "FICTION", "days": 21, "fine": "0.20"},
        {"member_type": "CHILD", "publication_type": "FICTION", "days": 14},
    ],
}
# patron_id: card, first name, surname, member type
PATRONS = {
    "p-0001": ("29990000000011", "Ada", "Featherstonehaugh", "ADULT"),
    "p-0002": ("29990000000029", "Ada", "Byron", "ADULT"),
    "p-0003": ("29990000000037", "Tom", "Thumb", "CHILD"),
    "p-0004": ("29990000000045", XSS, XSS, "ADULT"),
}
ADA = "p-0001"
CARD = PATRONS[ADA][0]
SURNAME = PATRONS[ADA][2]
EMAIL = "ada.f@example.org"
EXPIRES = date.today() + timedelta(days=30)


def _library(database_url: str) -> None:
    """The policy, two books and three items, the patrons, Ada's loans (one overdue), a
    hold and two charges. The server runs on the real clock: times are relative to now."""
    engine = database.connect(database_url)
    now = datetime.now().replace(microsecond=0)
    with Session(engine) as db:
        put_policy(db, POLICY, now)
        db.add_all(
            [
                Record(
                    brn=1,
                    title="Middlemarch",
                    author="George Eliot",
                    isbn=None,
                    publication_type="FICTION",
                ),
                Record(
                    brn=2,
                    title="Germinal",
                    author="Émile Zola",
                    isbn=None,
                    publication_type="FICTION",
                ),
            ]
        )
        db.flush()
        for barcode, brn in (("39990000000011", 1), ("39990000000029", 2), ("39990000000037", 2)):
            db.add(
                Item(
                    barcode=barcode,
                    brn=brn,
                    price=Decimal("9.99"),
                    status="on_loan",
                    home_location="Main",
                )
            )
        for patron_id, (card, first, surname, member_type) in PATRONS.items():
            db.add(
                Patron(
                    patron_id=patron_id,
                    card=card,
                    first_name=first,
                    surname=surname,
                    member_type=member_type,
                    expires=EXPIRES,
                    barred=False,
                    owed=Decimal("3.50") if patron_id == ADA else Decimal("0.00"),
                    pin_verifier=None,
                )
            )
        db.flush()
        db.add_all(
            [
                Loan(
                    item_barcode="39990000000011",
                    patron_id=ADA,
                    member_type="ADULT",
                    due=(now - timedelta(days=2)).date().isoformat(),
                    renewals=0,
                    lent_at=now - timedelta(days=23),
                    kiosk_id=None,
                ),
                Loan(
                    item_barcode="39990000000029",
                    patron_id=ADA,
                    member_type="ADULT",
                    due=(now + timedelta(days=9)).date().isoformat(),
                    renewals=1,
                    lent_at=now - timedelta(days=12),
                    kiosk_id=None,
                ),
                Loan(
                    item_barcode="39990000000037",
                    patron_id="p-0002",
                    member_type="ADULT",
                    due=(now + timedelta(days=5)).date().isoformat(),
                    renewals=0,
                    lent_at=now,
                    kiosk_id=None,
                ),
                Hold(
                    item_barcode="39990000000037",
                    patron_id=ADA,
                    position=1,
                    ready=False,
                    title="Germinal",
                    placed_at=now - timedelta(days=1),
                ),
                LedgerEntry(
                    patron_id=ADA,
                    amount=Decimal("1.50"),
                    kind="fine",
                    entry_id="k:1",
                    at=now - timedelta(days=3),
                    note="item 39990000000011",
                ),
                LedgerEntry(
                    patron_id=ADA,
                    amount=Decimal("2.00"),
                    kind="fault",
                    entry_id="k:2",
                    at=now - timedelta(days=1),
                    note="item 39990000000029",
                ),
            ]
        )
        db.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for served in serve(tmp_path_factory.mktemp("patrons")):
        _library(served.database_url)
        yield served


def _ada(console: Console) -> Patron:
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        found = db.get(Patron, ADA)
        assert found is not None
        db.expunge(found)
    engine.dispose()
    return found


def _unexpected(problems: list[str], *, refusals: bool = False) -> list[str]:
    """The problems ``watch`` saw but for what the walk means: a form answered with its
    problems (400) or a conflict (409), when ``refusals``."""
    refused = re.compile(r"(40[09]: |console: Failed to load resource: .* (400|409))")
    return [problem for problem in problems if not (refusals and refused.match(problem))]


def _search(page: Page, typed: str) -> None:
    page.get_by_label("Card number, surname or first name").fill(typed)
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()


def test_circulation_finds_a_patron_and_changes_their_record(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.get_by_role("link", name="Patrons").first.click()
    expect(page).to_have_url(f"{console.url}/staff/patrons")
    expect(page.get_by_label("Card number, surname or first name")).to_be_focused()
    accessible(page)

    # By surname, in any case: the search is POSTed, so nothing typed is in the URL.
    _search(page, "FEATHER")
    expect(page).to_have_url(f"{console.url}/staff/patrons/search")
    rows = page.locator("#patrons tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"{SURNAME}, Ada")
    expect(rows.first).to_contain_text("••••0011")
    expect(rows.first).not_to_contain_text(CARD)
    # By first name: both Adas, by surname.
    _search(page, "ada")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Byron, Ada")
    accessible(page)
    shot(page, "patron-search")
    _search(page, "nobody-at-all")
    expect(page.locator("#no-patrons")).to_be_visible()
    # By card: that patron alone.
    _search(page, CARD)
    expect(rows).to_have_count(1)
    assert CARD not in page.url

    rows.first.get_by_role("link").click()
    expect(page).to_have_url(f"{console.url}/staff/patrons/{ADA}")
    expect(page.get_by_role("heading", name=f"{SURNAME}, Ada")).to_be_visible()
    loans = page.locator("#loans tbody tr")
    expect(loans).to_have_count(2)
    expect(loans.nth(0)).to_have_attribute("data-overdue", "yes")
    expect(loans.nth(0)).to_contain_text("Middlemarch")
    expect(loans.nth(0)).to_contain_text("Overdue")
    expect(loans.nth(1)).to_have_attribute("data-overdue", "no")
    expect(loans.nth(1)).to_contain_text("Germinal")
    expect(loans.nth(0).get_by_role("link")).to_have_attribute(
        "href", "/staff/items/39990000000011"
    )
    expect(page.locator("#holds tbody tr")).to_contain_text("Number 1 in the queue")
    expect(page.locator("#ledger tbody tr")).to_have_count(2)
    expect(page.locator("#balance")).to_have_text("3.50")
    expect(page.locator("#desk-link")).to_have_attribute("href", f"/staff/desk/{ADA}")
    accessible(page)
    shot(page, "patron")

    # Contact details: a bad email is refused with the rest kept, then saved.
    page.get_by_role("link", name="Edit details and contact").click()
    page.get_by_label("Email address (optional)").fill("ada.example.org")
    page.get_by_label("Phone number (optional)").fill("01632 960 001")
    page.get_by_label("Language").select_option(label="Español")
    page.get_by_role("button", name="Save").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter an email address like name@example.org")
    expect(page.get_by_label("Phone number (optional)")).to_have_value("01632 960 001")
    accessible(page)
    shot(page, "patron-edit-errors")
    page.get_by_label("Email address (optional)").fill(EMAIL)
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    expect(page.locator("#done")).to_contain_text("Details saved")
    expect(page.locator("#patron")).to_contain_text(EMAIL)
    expect(page.locator("#patron")).to_contain_text("Español")
    accessible(page)

    # Barred with a reason, then the bar lifted.
    page.locator("#bar-link").click()
    page.get_by_role("button", name="Bar this patron").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Say why the patron is barred")
    accessible(page)
    page.get_by_label("Why the patron is barred").fill("Abusive to staff on Tuesday")
    with page.expect_navigation():
        page.get_by_role("button", name="Bar this patron").click()
    expect(page.locator("#done")).to_contain_text("Patron barred")
    expect(page.locator("#barred-reason")).to_have_text("Abusive to staff on Tuesday")
    page.locator("#bar-link").click()
    accessible(page)
    page.get_by_label("Why the bar is lifted").fill("Apologised in writing")
    with page.expect_navigation():
        page.get_by_role("button", name="Lift the bar").click()
    expect(page.locator("#done")).to_contain_text("Bar lifted")
    expect(page.locator("#barred-reason")).to_have_count(0)

    # The patron types a PIN on the keypad page: twice, never shown or sent back.
    page.locator("#pin-link").click()
    pin = page.get_by_label("New PIN")
    expect(pin).to_have_attribute("type", "password")
    expect(pin).to_have_attribute("inputmode", "numeric")
    expect(pin).to_have_attribute("autocomplete", "off")
    expect(pin).to_have_attribute("pattern", r"\d{4,8}")
    accessible(page)
    shot(page, "patron-pin")
    pin.fill("4821")
    page.get_by_label("The same PIN again").fill("4812")
    page.get_by_role("button", name="Set the PIN").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("not the same")
    expect(page.get_by_label("New PIN")).to_have_value("")
    assert "4821" not in page.content()
    accessible(page)
    page.get_by_label("New PIN").fill("4821")
    page.get_by_label("The same PIN again").fill("4821")
    with page.expect_navigation():
        page.get_by_role("button", name="Set the PIN").click()
    expect(page.locator("#done")).to_contain_text("New PIN set")
    verifier = _ada(console).pin_verifier
    assert verifier is not None
    assert pin_matches(verifier, "4821")

    # A one-time PIN: shown once, on the answer to the form; sent again, nothing.
    with page.expect_navigation():
        page.get_by_role("button", name="Make a one-time PIN").click()
    shown = page.locator("#new-pin").inner_text()
    assert re.fullmatch(r"\d{6}", shown)
    assert shown not in page.url
    accessible(page)
    shot(page, "patron-pin-shown")
    verifier = _ada(console).pin_verifier
    assert verifier is not None
    assert pin_matches(verifier, shown)
    page.reload()
    expect(page.locator("#new-pin")).to_have_count(0)
    expect(page.locator(".govuk-error-summary")).to_contain_text("changed already")
    assert shown not in page.content()
    verifier = _ada(console).pin_verifier
    assert verifier is not None
    assert pin_matches(verifier, shown)  # the reload made no other PIN
    page.goto(f"{console.url}/staff/patrons/{ADA}")
    assert shown not in page.content()

    # A payment, then a waiver of one charge: one ledger entry each, the balance follows.
    page.get_by_role("link", name="Take a payment").click()
    page.get_by_label("Amount").fill("2.005")
    page.get_by_role("button", name="Take a payment").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("no more than two decimals")
    accessible(page)
    page.get_by_label("Amount").fill("2.00")
    page.get_by_label("How it was paid (optional)").fill("cash")
    with page.expect_navigation():
        page.get_by_role("button", name="Take a payment").click()
    expect(page.locator("#done")).to_contain_text("Payment taken")
    expect(page.locator("#balance")).to_have_text("1.50")
    expect(page.locator('#ledger tr[data-kind="payment"]')).to_contain_text("-2.00")
    page.get_by_role("link", name="Waive a charge").click()
    fine = page.locator("#charge option", has_text="fine of 1.50").get_attribute("value")
    assert fine
    page.get_by_label("Which charge").select_option(value=fine)
    page.get_by_label("Amount").fill("1.50")
    accessible(page)
    shot(page, "patron-waive")
    page.get_by_label("Why it is waived").fill("Returned on a day the library was closed")
    with page.expect_navigation():
        page.get_by_role("button", name="Waive a charge").click()
    expect(page.locator("#done")).to_contain_text("Charge waived")
    expect(page.locator("#balance")).to_have_text("0.00")
    expect(page.locator('#ledger tr[data-kind="waiver"]')).to_contain_text("-1.50")

    # The membership renewed by the policy's 365 days.
    with page.expect_navigation():
        page.get_by_role("button", name="Renew membership").click()
    expect(page.locator("#done")).to_contain_text("Membership renewed")
    renewed = EXPIRES + timedelta(days=365)
    expect(page.locator("#patron")).to_contain_text(f"Until {renewed.isoformat()}")
    assert _ada(console).expires == renewed
    accessible(page)

    # A Child member: the policy gives no period, and the page says what to do instead.
    page.goto(f"{console.url}/staff/patrons/p-0003")
    expect(page.locator("#renew-by-hand")).to_contain_text("set the new end date by hand")
    expect(page.get_by_role("button", name="Renew membership")).to_have_count(0)

    engine = database.connect(console.database_url)
    with Session(engine) as db:
        actions = list(
            db.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.target == f"patron {ADA}", AuditEntry.actor == "cyril")
                .order_by(AuditEntry.id)
            )
        )
        details = " ".join(db.scalars(select(AuditEntry.detail)))
    engine.dispose()
    assert actions == [
        "patron.edit",
        "patron.bar",
        "patron.unbar",
        "patron.pin",
        "patron.pin",
        "patron.payment",
        "patron.waiver",
        "patron.renew",
    ]
    for secret in (EMAIL, SURNAME, CARD, "4821", shown, "01632"):
        assert secret not in details
    # Nothing of the patron in the server's log: no card, surname, email or PIN.
    log = console.log.read_text(encoding="utf-8")
    assert "POST /staff/patrons/search HTTP/1.1" in log
    for secret in (CARD, SURNAME, "FEATHER", EMAIL, "example.org", "4821", shown, "text="):
        assert secret not in log
    assert _unexpected(problems, refusals=True) == []


def test_a_viewer_reads_a_patron_but_changes_nothing(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "vera")
    page.get_by_role("link", name="Patrons").first.click()
    _search(page, "byron")
    page.locator("#patrons tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Byron, Ada")).to_be_visible()
    expect(page.locator("main form")).to_have_count(0)
    for link in ("Edit details and contact", "Take a payment", "Change"):
        expect(page.get_by_role("link", name=link)).to_have_count(0)
    expect(page.locator("#desk-link")).to_have_count(0)
    accessible(page)
    assert _unexpected(problems) == []

    vera = console.login("vera")
    token = csrf_token(vera, console.url, "/staff/patrons")
    base = f"{console.url}/staff/patrons/p-0002"
    for path in ("/edit", "/bar", "/pin", "/pay", "/waive"):
        assert vera.get(base + path, timeout=10).status_code == 403, path
    forms = {
        "/edit": {"first_name": "Eve", "surname": "Byron"},
        "/bar": {"reason": "x"},
        "/unbar": {"reason": "x"},
        "/pin": {"pin": "1234", "pin_again": "1234"},
        "/one-time-pin": {},
        "/pay": {"amount": "1.00"},
        "/waive": {"amount": "1.00", "reason": "x"},
        "/renew": {},
    }
    for path, data in forms.items():
        answer = vera.post(base + path, data={**data, "csrf_token": token}, timeout=10)
        assert answer.status_code == 403, path
        assert "Your role cannot open this page" in answer.text
    # Searching is reading: a viewer may.
    answer = vera.post(
        f"{console.url}/staff/patrons/search",
        data={"text": "byron", "csrf_token": token},
        timeout=10,
    )
    assert answer.status_code == 200
    assert 'data-patron="p-0002"' in answer.text
    byron = requests.Session()
    assert (
        byron.post(
            f"{console.url}/staff/patrons/search", data={"text": "byron"}, timeout=10
        ).status_code
        == 403
    )


def test_a_patron_named_like_a_script_is_shown_as_text(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/patrons")
    _search(page, "<script>")
    row = page.locator("#patrons tbody tr")
    expect(row).to_have_count(1)
    expect(row.get_by_role("link")).to_have_text(f"{XSS}, {XSS}")
    row.get_by_role("link").click()
    expect(page.locator("#patron-name")).to_have_text(f"{XSS}, {XSS}")
    assert page.locator("main script").count() == 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content()
    accessible(page)
    for path in ("/edit", "/bar", "/pin", "/pay"):
        page.goto(f"{console.url}/staff/patrons/p-0004{path}")
        assert page.locator("main script").count() == 0
    assert _unexpected(problems) == []


def test_the_pages_work_without_javascript(browser: Browser, console: Console) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, console, "cyril")
        page.goto(f"{console.url}/staff/patrons")
        _search(page, "byron")
        page.locator("#patrons tbody tr").first.get_by_role("link").click()
        page.locator("#bar-link").click()
        page.get_by_label("Why the patron is barred").fill("Testing without scripts")
        page.get_by_role("button", name="Bar this patron").click()
        expect(page.locator("#done")).to_contain_text("Patron barred")
        page.locator("#bar-link").click()
        page.get_by_label("Why the bar is lifted").fill("Done testing")
        page.get_by_role("button", name="Lift the bar").click()
        expect(page.locator("#done")).to_contain_text("Bar lifted")
    finally:
        context.close()


def test_a_patrons_pages_need_a_session_and_are_never_cached(console: Console) -> None:
    pages = [
        "/staff/patrons",
        *(
            f"/staff/patrons/{ADA}{page}"
            for page in ("", "/edit", "/bar", "/pin", "/pay", "/waive")
        ),
    ]
    for path in pages:
        answer = requests.get(console.url + path, allow_redirects=False, timeout=10)
        assert (answer.status_code, answer.headers["location"]) == (303, "/staff/login"), path
    cyril = console.login("cyril")
    for path in pages:
        answer = cyril.get(console.url + path, allow_redirects=False, timeout=10)
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-store", path
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert CARD not in answer.text
    missing = cyril.get(f"{console.url}/staff/patrons/no-such-patron", timeout=10)
    assert missing.status_code == 404
    assert "No such patron" in missing.text
    for made_up in ("x" * 400, "p-0001%27%20OR%201=1", "%3Cscript%3E"):
        answer = cyril.get(f"{console.url}/staff/patrons/{made_up}", timeout=10)
        assert answer.status_code == 404, made_up
        assert "<script>" not in answer.text.replace('<script type="module"', "")
