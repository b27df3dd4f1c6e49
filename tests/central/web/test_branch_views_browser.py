"""The console by the branch of the member of staff signed in (issue 21), in Debian's
chromium with axe-core: cyril works at North, so the Kiosks page, the hold shelf and
the copies in transit show North's first and by default, every branch one choice away;
the copies overdue in transit alone; a branch the library does not have is answered in
words (the text escaped, the page's status 400); and his returns at the desk are routed
from North: a copy for East is sent there, one for North is back on the shelf.

And the new parameters attacked: a script for a branch is shown as text, a code longer
than a branch's is refused, and the desk's change of pickup wants its CSRF token and a
circulation role."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlalchemy import update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import add_branch
from kiosk.central.circulation.holds import place_hold
from kiosk.central.circulation.policy import put_policy
from kiosk.central.models import Hold, Item, Kiosk, Patron, Record
from kiosk.central.web.accounts import set_staff_branch
from kiosk.demo.library import EXAMPLE_POLICY

from .conftest import XSS, Console, csrf_token, serve
from .test_branches_browser import sent_back
from .test_browser import accessible, shot, sign_in, watch

TO_NORTH, TO_EAST, READY = "39000000022001", "39000000022002", "39000000022003"
PATRON = "P2200"


def _seed(database_url: str) -> int:
    """Three branches, cyril at North, kiosks at North and East, a copy on its way to
    each of North (lately) and East (ten days ago), and a hold ready on North's shelf.
    Returns the hold's id."""
    now = datetime.now().replace(microsecond=0)
    engine = database.connect(database_url)
    with Session(engine) as db:
        document = tomllib.loads(EXAMPLE_POLICY.read_text(encoding="utf-8"))
        put_policy(db, json.loads(json.dumps(document, default=str)), now)
        for code, name in (("Main", "Main Library"), ("North", "Northside"), ("East", "East End")):
            add_branch(db, code, name, now, actor="test", origin="test")
        set_staff_branch(db, "cyril", "North", now, actor="test", origin="test")
        for kiosk, branch in (("branch-1", "North"), ("branch-2", "North"), ("branch-3", "East")):
            db.execute(update(Kiosk).where(Kiosk.name == kiosk).values(branch=branch))
        db.add(Record(brn=22, title="On The Road", author="J. Kerouac", publication_type="FICTION"))
        db.add(
            Patron(
                patron_id=PATRON,
                card="22000000000001",
                first_name="Nell",
                surname="Northcote",
                member_type="ADULT",
                expires=now.date() + timedelta(days=300),
                barred=False,
                owed=Decimal("0.00"),
            )
        )
        db.flush()
        for barcode, status, transit_to in (
            (TO_NORTH, "in_transit", "North"),
            (TO_EAST, "in_transit", "East"),
            (READY, "available", None),
        ):
            home = "North" if barcode != TO_EAST else "East"
            db.add(
                Item(
                    barcode=barcode,
                    brn=22,
                    price=Decimal("9.00"),
                    status=status,
                    home_location=home,
                    transit_to=transit_to,
                )
            )
        sent_back(db, now, [(TO_NORTH, 1), (TO_EAST, 10)], at="Main")
        db.commit()
        hold = place_hold(db, PATRON, READY, now, Actor("ada", "test"), pickup="North")
        assert hold.ready
        hold_id = hold.id
    engine.dispose()
    return hold_id


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for running in serve(tmp_path_factory.mktemp("branch-views")):
        running.tokens["hold"] = str(_seed(running.database_url))
        yield running


def _shown(page: Page, table: str, attribute: str) -> list[str | None]:
    return [row.get_attribute(attribute) for row in page.locator(f"#{table} tbody tr").all()]


def test_a_member_of_staff_sees_their_branch_first_and_every_branch_on_asking(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/kiosks")
    choice = page.get_by_label("Branch")
    expect(choice).to_have_value("North")
    expect(choice.locator("option")).to_have_text(
        ["Northside (North), your branch", "Every branch", "East End (East)", "Main Library (Main)"]
    )
    assert _shown(page, "kiosks", "data-kiosk") == ["branch-1", "branch-2"]
    assert page.locator("#kiosks-table").get_attribute("data-refresh-url") == (
        "/staff/kiosks/table?branch=North"
    )
    accessible(page)
    choice.select_option(label="Every branch")
    with page.expect_navigation():
        page.locator("#show-branch").click()
    expect(page).to_have_url(f"{console.url}/staff/kiosks?branch=")
    assert len(_shown(page, "kiosks", "data-kiosk")) == 4
    assert page.locator("#kiosks-table").get_attribute("data-refresh-url") == (
        "/staff/kiosks/table?branch="
    )
    accessible(page)

    # The hold shelf: North's by default, where the hold waits.
    page.goto(f"{console.url}/staff/holds")
    expect(page.get_by_label("Branch")).to_have_value("North")
    assert _shown(page, "hold-shelf", "data-barcode") == [READY]
    accessible(page)
    page.goto(f"{console.url}/staff/holds?branch=East")
    expect(page.locator("#no-holds")).to_be_visible()

    # In transit: to North by default; every branch's; those overdue alone.
    page.goto(f"{console.url}/staff/transfers")
    expect(page.get_by_label("Going to")).to_have_value("North")
    assert _shown(page, "transfers", "data-item") == [TO_NORTH]
    accessible(page)
    shot(page, "transfers")
    page.get_by_label("Going to").select_option(label="Every branch")
    page.get_by_label("Show", exact=True).select_option(label="Overdue in transit")
    with page.expect_navigation():
        page.locator("#show-branch").click()
    expect(page).to_have_url(f"{console.url}/staff/transfers?to=&show=overdue")
    assert _shown(page, "transfers", "data-item") == [TO_EAST]
    expect(page.locator("#transfers caption")).to_have_text("1 copy overdue in transit")
    accessible(page)
    assert problems == []


def test_a_branch_the_library_does_not_have_is_answered_in_words(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    sign_in(page, console, "vera")  # a viewer with no branch of her own
    for path in ("kiosks?branch=", "holds?branch=", "transfers?to="):
        answer = page.goto(f"{console.url}/staff/{path}{XSS}")
        assert answer is not None
        assert answer.status == 400
        error = page.locator(".govuk-error-message")
        expect(error).to_contain_text(f"no branch '{XSS}'")
        expect(error).to_contain_text("Every branch is shown.")
        accessible(page)
    answer = page.goto(f"{console.url}/staff/kiosks?branch=Nrth")
    assert answer is not None
    assert answer.status == 400
    expect(page.locator(".govuk-error-message")).to_contain_text("did you mean 'North'")
    # Only the pages' own 400s went wrong: no alert(1), the script was text.
    assert [problem for problem in problems if "400" not in problem] == []

    # As the page's refresh asks for it too; and no longer than a branch's code.
    browser = console.login("vera")
    table = browser.get(f"{console.url}/staff/kiosks/table", params={"branch": XSS}, timeout=10)
    assert table.status_code == 400
    assert XSS not in table.text
    too_long = browser.get(f"{console.url}/staff/holds", params={"branch": "N" * 33}, timeout=10)
    assert too_long.status_code == 422


def test_returns_at_the_desk_are_routed_from_the_staff_members_branch(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/desk/returns")
    expect(page.locator("#desk-branch")).to_contain_text("at branch North")
    accessible(page)
    for barcode, said in (
        (TO_EAST, "Send it to East End (East): it is in transit until checked in there."),
        (TO_NORTH, "Put it back on the shelf."),
    ):
        page.get_by_label("Barcode to return").fill(barcode)
        with page.expect_navigation():
            page.locator("#return").click()
        expect(page.locator("#answer-route")).to_have_text(said)
        accessible(page)
    assert problems == []


def test_changing_a_pickup_at_the_desk_wants_a_token_and_a_circulation_role(
    console: Console,
) -> None:
    hold = console.tokens["hold"]
    url = f"{console.url}/staff/holds/{hold}/pickup"
    viewer = console.login("vera")
    token = csrf_token(viewer, console.url, "/staff/kiosks")
    refused = viewer.post(
        url, data={"pickup": "East", "csrf_token": token}, allow_redirects=False, timeout=10
    )
    assert refused.status_code == 403
    staff = console.login("cyril")
    forged = staff.post(url, data={"pickup": "East"}, allow_redirects=False, timeout=10)
    assert forged.status_code == 403
    other_site = requests.Session()
    other_site.cookies.update(staff.cookies)
    wrong = other_site.post(
        url, data={"pickup": "East", "csrf_token": "x" * 40}, allow_redirects=False, timeout=10
    )
    assert wrong.status_code == 403
    token = csrf_token(staff, console.url, f"/staff/desk/{PATRON}")
    injected = staff.post(
        url, data={"pickup": XSS, "csrf_token": token}, allow_redirects=False, timeout=10
    )
    assert injected.status_code in (200, 409)
    assert XSS not in injected.text
    assert "no branch &#39;&lt;script&gt;" in injected.text
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        found = db.get(Hold, int(hold))
        assert found is not None
        assert (found.pickup, found.ready) == ("North", True)
    engine.dispose()


def test_the_reports_of_the_staff_members_branch_and_of_every_branch(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/reports")
    expect(page.get_by_label("Branch")).to_have_value("North")
    expect(page.locator("#summary")).to_contain_text("branch North")
    expect(page.locator("#branch-scope")).to_contain_text("the loans and returns made there")
    kiosks = page.locator("#per-kiosk-table tbody th")
    # Its kiosks and its desk, where cyril works.
    expect(kiosks).to_have_text(["branch-1", "branch-2", "Staff desk"])
    csv = page.locator('a[data-csv="loans-per-kiosk"]').get_attribute("href") or ""
    assert csv.endswith("&branch=North")
    quick = page.get_by_role("link", name="Last 7 days").get_attribute("href") or ""
    assert quick.endswith("&branch=North")
    accessible(page)
    page.get_by_label("Branch").select_option(label="Every branch")
    with page.expect_navigation():
        page.locator("#show").click()
    assert page.url.endswith("&branch=")
    expect(page.locator("#branch-scope")).to_have_count(0)
    expect(kiosks.last).to_have_text("Staff desk")
    accessible(page)
    answer = page.goto(f"{console.url}/staff/reports?branch={XSS}")
    assert answer is not None
    assert answer.status == 400
    expect(page.locator(".govuk-error-message")).to_contain_text(f"no branch '{XSS}'")
    accessible(page)
    assert [problem for problem in problems if "400" not in problem] == []
    browser = console.login("cyril")
    refused = browser.get(
        f"{console.url}/staff/reports/loans-per-day.csv", params={"branch": XSS}, timeout=10
    )
    assert refused.status_code == 400
    assert XSS not in refused.text
    north = browser.get(f"{console.url}/staff/reports/loans-per-kiosk.csv", timeout=10)
    # Its kiosks, then its desk (with cyril's returns when the desk's test ran first).
    rows = north.text.splitlines()[1:]
    assert rows[:2] == ["branch-1,0,0", "branch-2,0,0"]
    assert [row.split(",")[0] for row in rows[2:]] == ["Staff desk"]


def test_staff_set_a_patrons_home_branch_where_their_holds_are_collected(
    page: Page, console: Console
) -> None:
    """The patron's page shows their home branch; staff change it on Edit details and
    contact (one the library lacks refused, escaped, nothing changed), and the desk's
    hold form then starts at it; a hold queue's form, where staff type a card, starts
    at the home branch of whoever it is."""
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/patrons/{PATRON}")
    expect(page.locator("#patron")).to_contain_text("None chosen")
    page.get_by_role("link", name="Edit details and contact").click()
    home = page.get_by_label("Home branch")
    expect(home).to_have_value("")
    expect(home.locator("option")).to_have_text(
        ["None chosen", "East End (East)", "Main Library (Main)", "Northside (North)"]
    )
    accessible(page)
    home.select_option(label="East End (East)")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    expect(page.locator("#done")).to_contain_text("Details saved")
    expect(page.locator("#patron")).to_contain_text("East End (East)")
    accessible(page)

    page.goto(f"{console.url}/staff/desk/{PATRON}")
    expect(page.get_by_label("Collected at")).to_have_value("East")
    page.goto(f"{console.url}/staff/holds/item/{TO_NORTH}")
    collected = page.get_by_label("Collected at")
    expect(collected).to_have_value("")
    expect(collected.locator("option").first).to_have_text("The patron's home branch")
    accessible(page)
    assert problems == []

    # Posted by hand: a branch the library lacks is refused in words, escaped.
    staff = console.login("cyril")
    token = csrf_token(staff, console.url, f"/staff/patrons/{PATRON}/edit")
    typed = {"first_name": "Nell", "surname": "Northcote", "member_type": "ADULT"}
    answer = staff.post(
        f"{console.url}/staff/patrons/{PATRON}/edit",
        data={**typed, "home_branch": XSS, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 400
    assert XSS not in answer.text
    assert "no branch &#39;&lt;script&gt;" in answer.text
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        found = db.get(Patron, PATRON)
        assert found is not None
        assert found.home_branch == "East"
    engine.dispose()
