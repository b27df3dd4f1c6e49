"""The *Desk* and *Holds* pages walked in Debian's chromium as circulation staff would,
with a scanner that types like a keyboard and ends with Enter; every page scanned by
axe-core. The answers and refusals are the decision path's, in the kiosk's words."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.policy import put_policy
from kiosk.central.models import AppliedTransaction, Hold, Item, Loan, Patron, Record
from kiosk.demo.library import EXAMPLE_POLICY

from .conftest import XSS, Console, serve
from .test_browser import accessible, shot, sign_in, watch

# (patron id, card, first name, surname, standing)
PATRONS: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("P0000001", "20000000000011", "Olive", "Featherstonehaugh", {}),
    (
        "P0000002",
        "20000000000022",
        "Barnaby",
        "Quillfeather",
        {"barred": True, "barred_reason": "Card reported stolen", "expired": True, "owed": "14.00"},
    ),
    ("P0000003", "20000000000033", "Fenella", "Dueworthy", {"owed": "12.50"}),
    ("P0000004", "20000000000044", "Mallory", XSS, {}),
    ("P0000005", "20000000000055", "Harriet", "Holdsworth", {}),
    ("P0000006", "20000000000066", "Ned", "Twiceclick", {}),
    ("P0000007", "20000000000077", "Quentin", "Queueby", {}),
]
CARDS = {first: card for _, card, first, _, _ in PATRONS}
SURNAMES = [surname for _, _, _, surname, _ in PATRONS if surname != XSS]
# (barcode, title, publication type)
ITEMS = [
    ("39000000001001", "The Quiet River", "FICTION"),
    ("39000000001002", "Borrowed Light", "FICTION"),
    ("39000000001003", "Late Again", "FICTION"),
    ("39000000001004", "Wanted Elsewhere", "FICTION"),
    ("39000000001005", "Second Wind", "NONFICTION"),
    ("39000000001006", "Barred Reading", "FICTION"),
    ("39000000001007", "Queue Up", "FICTION"),
    ("39000000001008", "Long Forgotten", "FICTION"),
    ("39000000001009", "Fresh Arrival", "FICTION"),
    ("39000000001010", "Twice Clicked", "FICTION"),
    ("39000000001011", "Placed From Queue", "FICTION"),
    ("39000000001012", "No Script Needed", "FICTION"),
]
BARCODE = {title: barcode for barcode, title, _ in ITEMS}
DUE_WORDS = re.compile(
    r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) \d{1,2} [A-Z][a-z]+ \d{4}"
)


def _seed(database_url: str) -> None:
    """The policy of the demo library, and the patrons, items, loans and holds the walk
    needs, placed relative to now (the server keeps the real clock)."""
    now = datetime.now().replace(microsecond=0)
    today = now.date()
    document = tomllib.loads(EXAMPLE_POLICY.read_text(encoding="utf-8"), parse_float=Decimal)
    engine = database.connect(database_url)
    with Session(engine) as db:
        put_policy(db, json.loads(json.dumps(document, default=str)), now)
        for patron_id, card, first, surname, standing in PATRONS:
            db.add(
                Patron(
                    patron_id=patron_id,
                    card=card,
                    first_name=first,
                    surname=surname,
                    member_type="ADULT",
                    expires=today - timedelta(days=30)
                    if standing.get("expired")
                    else today + timedelta(days=300),
                    barred=bool(standing.get("barred")),
                    barred_reason=standing.get("barred_reason"),
                    owed=Decimal(standing.get("owed", "0.00")),
                )
            )
        for brn, (barcode, title, kind) in enumerate(ITEMS, start=1):
            db.add(Record(brn=brn, title=title, author="A. Writer", publication_type=kind))
            db.flush()
            db.add(
                Item(
                    barcode=barcode,
                    brn=brn,
                    price=Decimal("12.00"),
                    status="available",
                    home_location="Main",
                )
            )
        loans = [
            ("Borrowed Light", "P0000005", today + timedelta(days=10)),
            ("Late Again", "P0000001", today - timedelta(days=5)),
            ("Wanted Elsewhere", "P0000001", today + timedelta(days=10)),
            ("Second Wind", "P0000001", today + timedelta(days=3)),
            ("Queue Up", "P0000005", today + timedelta(days=10)),
            ("Placed From Queue", "P0000005", today + timedelta(days=10)),
        ]
        for title, patron_id, due in loans:
            db.add(
                Loan(
                    item_barcode=BARCODE[title],
                    patron_id=patron_id,
                    member_type="ADULT",
                    due=due.isoformat(),
                    renewals=0,
                    lent_at=now - timedelta(days=11),
                    kiosk_id=None,
                )
            )
        holds = [
            ("Wanted Elsewhere", "P0000005", 1, None),
            ("Queue Up", "P0000004", 1, None),
            ("Queue Up", "P0000007", 2, None),
            ("Long Forgotten", "P0000004", 1, now - timedelta(days=10)),
            ("Fresh Arrival", "P0000005", 1, now - timedelta(days=1)),
        ]
        for title, patron_id, position, ready_at in holds:
            db.add(
                Hold(
                    item_barcode=BARCODE[title],
                    patron_id=patron_id,
                    position=position,
                    ready=ready_at is not None,
                    title=title,
                    placed_at=now - timedelta(days=20),
                    ready_at=ready_at,
                )
            )
        db.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for served in serve(tmp_path_factory.mktemp("desk")):
        _seed(served.database_url)
        yield served


def scan(page: Page, field: str, code: str) -> None:
    """A scanner typing into the focused field, then Enter (which sends the form)."""
    expect(page.locator(field)).to_be_focused()
    with page.expect_navigation():
        page.keyboard.type(code)
        page.keyboard.press("Enter")


def at_the_desk(page: Page, console: Console, first_name: str) -> None:
    page.goto(f"{console.url}/staff/desk")
    scan(page, "#card", CARDS[first_name])
    expect(page.locator("#patron-name")).to_contain_text(first_name)


def loans(page: Page) -> list[str]:
    return [
        row.get_attribute("data-barcode") or "" for row in page.locator("#loans tbody tr").all()
    ]


def queue(page: Page) -> list[str]:
    return [row.get_attribute("data-patron") or "" for row in page.locator("#queue tbody tr").all()]


@contextmanager
def with_db(console: Console) -> Iterator[Session]:
    engine = database.connect(console.database_url)
    try:
        with Session(engine) as db:
            yield db
    finally:
        engine.dispose()


def test_circulation_checks_out_renews_and_returns_at_the_desk(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.get_by_role("link", name="Desk", exact=True).first.click()
    expect(page).to_have_url(f"{console.url}/staff/desk")
    expect(page.get_by_role("heading", name="Find the patron")).to_be_visible()
    accessible(page)
    scan(page, "#card", CARDS["Olive"])
    # The patron's opaque id in the address, never the card.
    expect(page).to_have_url(f"{console.url}/staff/desk/P0000001")
    expect(page.locator("#patron-name")).to_have_text("Featherstonehaugh, Olive")
    expect(page.locator("#patron")).to_contain_text("Adult")
    expect(page.locator("#balance")).to_have_text("0.00")
    assert sorted(loans(page)) == sorted(
        BARCODE[title] for title in ("Late Again", "Wanted Elsewhere", "Second Wind")
    )
    late = page.locator(f'#loans tr[data-barcode="{BARCODE["Late Again"]}"]')
    expect(late).to_have_attribute("data-overdue", "true")
    expect(late).to_contain_text("Overdue")
    accessible(page)

    # Check out: the title and the due date in words; the loan joins the list.
    scan(page, "#checkout-barcode", BARCODE["The Quiet River"])
    answer = page.locator("#answer")
    expect(answer).to_have_attribute("data-done", "true")
    expect(answer).to_contain_text("Checked out: The Quiet River")
    expect(answer).to_contain_text(DUE_WORDS)
    due = DUE_WORDS.search(answer.inner_text())
    assert due is not None
    row = page.locator(f'#loans tr[data-barcode="{BARCODE["The Quiet River"]}"]')
    expect(row).to_contain_text(due.group(0))
    assert "?done=desk-" in page.url
    expect(page.locator("#checkout-barcode")).to_have_value("")
    accessible(page)
    shot(page, "desk")

    # An item on loan to someone else: refused in the kiosk's words, nothing lent.
    scan(page, "#checkout-barcode", BARCODE["Borrowed Light"])
    expect(answer).to_have_attribute("data-done", "false")
    expect(answer).to_contain_text("Not checked out: Borrowed Light")
    expect(answer).to_contain_text(
        "This item can't be borrowed right now (it is recorded as on loan). "
        "Please hand it to a member of staff."
    )
    assert BARCODE["Borrowed Light"] not in loans(page)
    expect(page.locator("#checkout-barcode")).to_be_focused()  # ready for the next scan
    accessible(page)

    # Renew a loan from its row.
    with page.expect_navigation():
        page.get_by_role("button", name="Renew Second Wind").click()
    expect(answer).to_contain_text("Renewed: Second Wind")
    expect(answer).to_contain_text("Now due")
    expect(answer).to_contain_text("No fine.")
    expect(page.locator(f'#loans tr[data-barcode="{BARCODE["Second Wind"]}"]')).to_contain_text(
        "1 of 3"
    )
    accessible(page)

    # Return an overdue item: five days late, two days' grace, 0.50 a day.
    page.locator("#return-barcode").focus()
    scan(page, "#return-barcode", BARCODE["Late Again"])
    expect(answer).to_contain_text("Returned: Late Again")
    expect(page.locator("#answer-fine")).to_have_text("1.50")
    expect(page.locator("#answer-route")).to_have_text("Put it back on the shelf.")
    expect(page.locator("#balance")).to_have_text("1.50")
    assert BARCODE["Late Again"] not in loans(page)
    accessible(page)

    # Return an item someone is waiting for: to the hold shelf, for them.
    scan(page, "#return-barcode", BARCODE["Wanted Elsewhere"])  # the return field kept focus
    expect(page.locator("#answer-route")).to_have_text(
        "Put it on the hold shelf for Holdsworth, Harriet."
    )
    expect(answer).to_contain_text("No fine.")
    accessible(page)
    expect(page.locator("#record-link")).to_have_attribute("href", "/staff/patrons/P0000001")
    assert problems == []


def test_a_barred_patron_and_one_who_owes_too_much_are_refused_with_every_reason(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    at_the_desk(page, console, "Barnaby")
    expect(page.locator("#patron")).to_contain_text("Barred")
    expect(page.locator("#patron")).to_contain_text("Card reported stolen")
    expect(page.locator("#patron")).to_contain_text("Expired")
    accessible(page)
    scan(page, "#checkout-barcode", BARCODE["Barred Reading"])
    reasons = page.locator("#answer .govuk-error-summary__list li")
    expect(reasons).to_have_count(3)
    expect(reasons.nth(0)).to_have_text(
        "Your card can't be used to borrow at the moment. Please see a member of staff."
    )
    expect(reasons.nth(1)).to_contain_text("Your membership ended on")
    expect(reasons.nth(2)).to_have_text(
        "You owe 14.00, which is more than the 10.00 you may owe and still borrow. "
        "Please pay at the desk."
    )
    expect(page.locator("#no-loans")).to_be_visible()
    accessible(page)

    at_the_desk(page, console, "Fenella")
    scan(page, "#checkout-barcode", BARCODE["Barred Reading"])
    expect(reasons).to_have_count(1)
    expect(reasons.first).to_contain_text("You owe 12.50, which is more than the 10.00")
    accessible(page)

    # A card no patron has, and a barcode no item has: said in words, nothing else.
    page.goto(f"{console.url}/staff/desk")
    scan(page, "#card", "29999999999999")
    expect(page.locator(".govuk-error-summary")).to_contain_text("No patron has that card")
    expect(page).to_have_url(f"{console.url}/staff/desk/find")
    accessible(page)
    at_the_desk(page, console, "Fenella")
    scan(page, "#checkout-barcode", "39999999999999")
    expect(page.locator("#trouble")).to_contain_text("no item has barcode 39999999999999")
    accessible(page)
    assert problems == []


def test_a_form_sent_twice_is_applied_once(page: Page, console: Console) -> None:
    sign_in(page, console, "cyril")
    at_the_desk(page, console, "Ned")
    form = page.locator('form[action="/staff/desk/checkout"]')
    fields: dict[str, str | float | bool] = {
        name: form.locator(f'input[name="{name}"]').get_attribute("value") or ""
        for name in ("csrf_token", "patron_id", "transaction_id")
    }
    fields["barcode"] = BARCODE["Twice Clicked"]
    answers = [
        page.request.post(f"{console.url}/staff/desk/checkout", form=fields, max_redirects=0)
        for _ in range(2)
    ]
    assert [answer.status for answer in answers] == [303, 303]
    first, second = (answer.headers["location"] for answer in answers)
    assert first == f"/staff/desk/P0000006?done={fields['transaction_id']}"
    assert second == f"{first}&again=1"
    page.goto(console.url + second)
    answer = page.locator("#answer")
    expect(answer).to_contain_text("Checked out: Twice Clicked")
    expect(page.locator("#answer-duplicate")).to_contain_text("it was done the first time")
    assert loans(page) == [BARCODE["Twice Clicked"]]
    accessible(page)
    with with_db(console) as db:
        lent = db.scalar(
            select(func.count())
            .select_from(Loan)
            .where(Loan.item_barcode == BARCODE["Twice Clicked"])
        )
        applied = db.scalar(
            select(func.count())
            .select_from(AppliedTransaction)
            .where(AppliedTransaction.id == fields["transaction_id"])
        )
    assert (lent, applied) == (1, 1)


def test_holds_are_placed_reordered_and_cancelled(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    # From the desk: a hold for the patron at the desk, by the item's barcode.
    at_the_desk(page, console, "Olive")
    page.locator("#hold-barcode").focus()
    scan(page, "#hold-barcode", BARCODE["Queue Up"])
    expect(page.locator("#hold-placed")).to_contain_text("number 3 in its queue")
    expect(page.locator(f'#holds tr[data-barcode="{BARCODE["Queue Up"]}"]')).to_contain_text(
        "Number 3 in the queue"
    )
    accessible(page)

    # The item's queue: the patron named like a script is text, not an element.
    page.get_by_role("link", name=f"{BARCODE['Queue Up']} (its hold queue)").click()
    expect(page.get_by_role("heading", name="Queue Up")).to_be_visible()
    assert queue(page) == ["P0000004", "P0000007", "P0000001"]
    expect(page.locator('#queue tr[data-patron="P0000004"] th a')).to_have_text(f"{XSS}, Mallory")
    assert page.locator("#queue script").count() == 0
    expect(page.locator("#item")).to_contain_text("On loan to Holdsworth, Harriet")
    accessible(page)
    shot(page, "item-holds")

    with page.expect_navigation():
        page.get_by_role("button", name="Up (the hold for Featherstonehaugh, Olive)").click()
    assert queue(page) == ["P0000004", "P0000001", "P0000007"]
    expect(page.locator("#queue-changed")).to_contain_text("The hold is moved.")
    place = page.get_by_label("New place for Featherstonehaugh, Olive")
    place.fill("1")
    with page.expect_navigation():
        place.press("Enter")  # the form's first button: Move, not Up
    assert queue(page) == ["P0000001", "P0000004", "P0000007"]
    with page.expect_navigation():
        page.get_by_role("button", name="Cancel the hold for Queueby, Quentin").click()
    assert queue(page) == ["P0000001", "P0000004"]
    expect(page.locator("#queue-changed")).to_contain_text("The hold is cancelled.")
    accessible(page)

    # A hold placed from an item's queue, for the card scanned.
    page.goto(f"{console.url}/staff/holds")
    page.get_by_label("An item's hold queue").fill(BARCODE["Placed From Queue"])
    with page.expect_navigation():
        page.get_by_role("button", name="Open its queue").click()
    expect(page.get_by_role("heading", name="Placed From Queue")).to_be_visible()
    page.get_by_label("Place a hold for").fill(CARDS["Quentin"])
    with page.expect_navigation():
        page.get_by_role("button", name="Place the hold").click()
    expect(page.locator("#hold-placed")).to_contain_text("Queueby, Quentin: number 1 in the queue")
    assert CARDS["Quentin"] not in page.url
    # Twice is refused in words: the patron is in the queue already.
    page.get_by_label("Place a hold for").fill(CARDS["Quentin"])
    with page.expect_navigation():
        page.get_by_role("button", name="Place the hold").click()
    expect(page.locator("#trouble")).to_contain_text("in item 39000000001011's hold queue already")
    accessible(page)
    assert problems == []


def test_the_hold_shelf_marks_expired_holds_and_a_viewer_only_looks(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    sign_in(page, console, "vera")
    expect(page.get_by_role("link", name="Desk", exact=True)).to_have_count(0)  # not offered
    page.get_by_role("link", name="Holds", exact=True).first.click()
    expect(page.get_by_role("heading", name="Hold shelf")).to_be_visible()
    expired = page.locator(f'#hold-shelf tr[data-barcode="{BARCODE["Long Forgotten"]}"]')
    expect(expired).to_have_attribute("data-expired", "true")
    expect(expired).to_contain_text("Expired")
    expect(expired.locator("td").nth(1)).to_have_text(f"{XSS}, Mallory")
    fresh = page.locator(f'#hold-shelf tr[data-barcode="{BARCODE["Fresh Arrival"]}"]')
    expect(fresh).to_have_attribute("data-expired", "false")
    expect(fresh).to_contain_text("Holdsworth, Harriet")
    assert page.locator("#hold-shelf script").count() == 0
    expect(page.get_by_role("button", name=re.compile("^Cancel"))).to_have_count(0)
    accessible(page)
    answer = page.goto(f"{console.url}/staff/desk")
    assert answer is not None
    assert answer.status == 403
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()

    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/holds")
    expect(expired).to_have_attribute("data-expired", "true")
    accessible(page)
    shot(page, "hold-shelf")
    with page.expect_navigation():
        expired.get_by_role("button", name=re.compile("^Cancel")).click()
    expect(page.locator("#hold-cancelled")).to_be_visible()
    expect(expired).to_have_count(0)
    accessible(page)
    assert problems == [
        f"403: {console.url}/staff/desk",
        "console: Failed to load resource: the server responded with a status of 403 (Forbidden)",
    ]


def test_the_desk_works_without_javascript(browser: Browser, console: Console) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, console, "cyril")
        page.goto(f"{console.url}/staff/desk")
        page.get_by_label("Card number").fill(CARDS["Quentin"])
        page.get_by_label("Card number").press("Enter")
        expect(page.locator("#patron-name")).to_have_text("Queueby, Quentin")
        page.get_by_label("Barcode to check out").fill(BARCODE["No Script Needed"])
        page.get_by_label("Barcode to check out").press("Enter")
        expect(page.locator("#answer")).to_contain_text("Checked out: No Script Needed")
        # The returns station needs no patron.
        page.goto(f"{console.url}/staff/desk/returns")
        page.get_by_label("Barcode to return").fill(BARCODE["No Script Needed"])
        page.get_by_label("Barcode to return").press("Enter")
        expect(page.locator("#answer")).to_contain_text("Returned: No Script Needed")
        expect(page.locator("#answer-route")).to_have_text("Put it back on the shelf.")
        expect(page.get_by_label("Barcode to return")).to_have_value("")
        # Scanned again: it is not on loan, so nothing is done, and the page says so.
        page.get_by_label("Barcode to return").fill(BARCODE["No Script Needed"])
        page.get_by_label("Barcode to return").press("Enter")
        expect(page.locator("#answer")).to_have_attribute("data-done", "false")
        expect(page.locator("#answer-note")).to_have_text(
            f"Barcode {BARCODE['No Script Needed']}. Not on loan: nothing to check in."
        )
    finally:
        context.close()


def test_an_unknown_patron_or_item_is_not_found(page: Page, console: Console) -> None:
    sign_in(page, console, "cyril")
    for path in ("/staff/desk/P9999999", "/staff/holds/item/39999999999999"):
        answer = page.goto(console.url + path)
        assert answer is not None
        assert answer.status == 404, path
        accessible(page)


def test_the_servers_log_names_no_card_and_no_surname(console: Console) -> None:
    log = console.log.read_text(encoding="utf-8")
    assert "/staff/desk/P0000001" in log  # the walk is in it, by the patron's opaque id
    for secret in (*CARDS.values(), *SURNAMES, "Mallory", "alert(1)"):
        assert secret not in log, secret
    with with_db(console) as db:
        assert db.get(Patron, "P0000001") is not None
