"""The portal's catalogue search and title holds on SQLite and PostgreSQL: a hold is
placed through the decision path for the signed-in patron alone (the form names no
patron), refusals come back in plain words with nothing changed, a record number that
names no title is a page not found, forms without their CSRF token are refused, and a
search's words are in no address."""

from __future__ import annotations

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.models import AuditEntry, Hold, Record

from .conftest import OTHER, OTHER_CARD, OTHER_PIN, Portal, csrf_token, reader


def _brn(portal: Portal, title: str) -> int:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        found = db.scalar(select(Record.brn).where(Record.title == title))
    engine.dispose()
    assert found is not None
    return found


def _title_holds(portal: Portal, brn: int) -> list[tuple[str, int]]:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        found = [
            (hold.patron_id, hold.position)
            for hold in db.scalars(select(Hold).where(Hold.brn == brn).order_by(Hold.position))
        ]
    engine.dispose()
    return found


def _hold(browser: requests.Session, portal: Portal, brn: object, token: str) -> requests.Response:
    return browser.post(
        f"{portal.url}/my/catalogue/hold",
        data={"csrf_token": token, "brn": str(brn), "text": "far horizon"},
        timeout=30,
    )


def test_a_search_finds_titles_by_title_author_and_copy_with_their_availability(
    portal: Portal,
) -> None:
    me = reader(1)
    browser = portal.sign_in(me.card, me.pin)
    token = csrf_token(browser, portal.url, "/my/catalogue")
    answer = browser.post(
        f"{portal.url}/my/catalogue", data={"csrf_token": token, "text": "fresh ARRIVAL 3"}
    )
    assert answer.status_code == 200
    assert answer.url == f"{portal.url}/my/catalogue"  # the words are in no address
    assert "1 title found" in answer.text
    assert "Fresh Arrival 3" in answer.text
    assert "1 copy on the shelf" in answer.text
    answer = browser.post(
        f"{portal.url}/my/catalogue", data={"csrf_token": token, "text": "far horizon 2"}
    )
    assert "On loan, due back by" in answer.text
    assert "No copy on the shelf now" in answer.text
    # The borrower is never named: the page says only when the copy is due.
    assert "Quillfeather" not in answer.text
    assert "Barnaby" not in answer.text
    answer = browser.post(
        f"{portal.url}/my/catalogue", data={"csrf_token": token, "text": "a. writer"}
    )
    assert "The first 50 titles found: type more to narrow them" in answer.text
    answer = browser.post(f"{portal.url}/my/catalogue", data={"csrf_token": token, "text": "zzz"})
    assert "Nothing matches." in answer.text


def test_a_title_hold_is_placed_for_the_signed_in_patron_and_refusals_change_nothing(
    portal: Portal,
) -> None:
    me, them = reader(1), reader(2)
    brn = _brn(portal, them.title(5))  # on loan to another; them and OTHER hold its copy
    browser = portal.sign_in(me.card, me.pin)
    token = csrf_token(browser, portal.url, "/my/catalogue")
    answer = _hold(browser, portal, brn, token)
    assert answer.status_code == 200
    assert "You are on the list for Far Horizon 2: number 1 in the queue." in answer.text
    assert _title_holds(portal, brn) == [(me.patron_id, 1)]
    # Sent again (a double click): refused, in plain words, and still one hold.
    answer = _hold(browser, portal, brn, token)
    assert "You are already waiting for this title" in answer.text
    assert _title_holds(portal, brn) == [(me.patron_id, 1)]
    # The patron's own loan, and a copy they hold already: refused by the decision path.
    answer = _hold(browser, portal, _brn(portal, me.title(1)), token)
    assert "You have a copy of this title on loan already." in answer.text
    answer = _hold(browser, portal, _brn(portal, me.title(5)), token)
    assert "You already have a hold on one copy of this title." in answer.text
    assert _title_holds(portal, _brn(portal, me.title(5))) == []
    # The audit names the patron by their id, never by card or name.
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        actors = list(db.scalars(select(AuditEntry.actor).where(AuditEntry.action == "hold.place")))
    engine.dispose()
    assert actors == [f"patron {me.patron_id}"]
    # A second patron queues behind the first.
    second = portal.sign_in(reader(3).card, reader(3).pin)
    answer = _hold(second, portal, brn, csrf_token(second, portal.url, "/my/catalogue"))
    assert "number 2 in the queue" in answer.text
    assert _title_holds(portal, brn) == [(me.patron_id, 1), (reader(3).patron_id, 2)]


def test_a_barred_card_is_told_why_it_cannot_place_a_hold(portal: Portal) -> None:
    brn = _brn(portal, reader(4).title(1))
    browser = portal.sign_in(OTHER_CARD, OTHER_PIN)
    answer = _hold(browser, portal, brn, csrf_token(browser, portal.url, "/my/catalogue"))
    assert "Your card can&#39;t be used to place holds at the moment." in answer.text
    assert all(patron_id != OTHER for patron_id, _ in _title_holds(portal, brn))


def test_a_title_the_patron_may_not_borrow_is_not_held_and_the_rules_say_why(
    portal: Portal,
) -> None:
    """Non fiction's lending has closed (no_issue_after): a hold on Closed Book 2 (on loan
    to reader 2) could never be collected. Refused in the rules' own words, nothing
    placed."""
    brn = _brn(portal, reader(2).title(7))
    browser = portal.sign_in(reader(1).card, reader(1).pin)
    answer = _hold(browser, portal, brn, csrf_token(browser, portal.url, "/my/catalogue"))
    assert answer.status_code == 200
    assert "Your hold on Closed Book 2 could not be placed" in answer.text
    assert "Lending of this item has closed for now: loans had to be back by" in answer.text
    assert _title_holds(portal, brn) == []


def test_a_record_number_no_title_has_is_not_found_and_csrf_is_required(portal: Portal) -> None:
    me = reader(1)
    browser = portal.sign_in(me.card, me.pin)
    token = csrf_token(browser, portal.url, "/my/catalogue")
    for brn in (999999, "x1", "-1", "", "1" * 15):
        answer = _hold(browser, portal, brn, token)
        assert answer.status_code == 404, brn
        assert "Page not found" in answer.text
    brn = _brn(portal, reader(2).title(5))
    for data in (
        {},
        {"csrf_token": "forged"},
        {"csrf_token": csrf_token(requests.Session(), portal.url)},
    ):
        answer = browser.post(
            f"{portal.url}/my/catalogue/hold", data={**data, "brn": str(brn)}, timeout=30
        )
        assert answer.status_code == 403, data
        answer = browser.post(f"{portal.url}/my/catalogue", data={**data, "text": "far"})
        assert answer.status_code == 403, data
    assert _title_holds(portal, brn) == []
    # Signed out, the catalogue is the sign-in page's.
    answer = requests.get(f"{portal.url}/my/catalogue", allow_redirects=False, timeout=30)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/my/login"
