"""The portal as an attacker would try it, on SQLite and PostgreSQL: another patron's
loans, holds and record out of reach (404, nothing changed), forms without their CSRF
token refused, the staff console and the portal each closed to the other's session,
the idle timeout, and guessing many cards from one address slowed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation import authentication
from kiosk.central.models import Hold, Loan, Patron, PatronSession
from kiosk.central.web.routes.my import signin
from kiosk.common import pins

from .conftest import NO_PIN_CARD, STAFF, Portal, csrf_token, reader


def _hold_ids(portal: Portal, patron_id: str) -> list[int]:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        found = list(db.scalars(select(Hold.id).where(Hold.patron_id == patron_id)))
    engine.dispose()
    return found


def _loan(portal: Portal, barcode: str) -> tuple[str, str, int] | None:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        loan = db.get(Loan, barcode)
        found = None if loan is None else (loan.patron_id, loan.due, loan.renewals)
    engine.dispose()
    return found


def test_another_patrons_holds_loans_and_record_are_not_found(portal: Portal) -> None:
    me, them = reader(1), reader(2)
    browser = portal.sign_in(me.card, me.pin)
    token = csrf_token(browser, portal.url, "/my/")
    theirs = _hold_ids(portal, them.patron_id)
    assert theirs
    for hold_id in [*theirs, 999999, "x1", "-1"]:
        answer = browser.post(
            f"{portal.url}/my/holds/{hold_id}/cancel", data={"csrf_token": token}, timeout=30
        )
        assert answer.status_code == 404, (hold_id, answer.status_code)
    assert _hold_ids(portal, them.patron_id) == theirs
    before = _loan(portal, them.barcode(1))
    answer = browser.post(
        f"{portal.url}/my/renew",
        data={"csrf_token": token, "barcode": them.barcode(1), "transaction_id": "my-1"},
        timeout=30,
    )
    assert answer.status_code == 404
    assert _loan(portal, them.barcode(1)) == before
    # Renewing everything renews only one's own.
    browser.post(f"{portal.url}/my/renew-all", data={"csrf_token": token}, timeout=30)
    assert _loan(portal, them.barcode(1)) == before
    # The pages name no one: there is no id to change.
    page = browser.get(f"{portal.url}/my/", timeout=30).text
    assert them.title(1) not in page
    assert them.first_name not in page
    record = browser.get(f"{portal.url}/my/data.json", timeout=30).json()
    assert record["details"]["card"] == me.card
    assert them.card not in str(record)
    assert them.barcode(1) not in str(record)
    text = browser.get(f"{portal.url}/my/data.csv", timeout=30).text
    assert me.card in text
    assert them.card not in text


def test_a_form_without_its_csrf_token_or_with_a_forged_one_changes_nothing(
    portal: Portal,
) -> None:
    me = reader(1)
    browser = portal.sign_in(me.card, me.pin)
    [mine, *_] = _hold_ids(portal, me.patron_id)
    for data in (
        {},
        {"csrf_token": "forged"},
        {"csrf_token": csrf_token(requests.Session(), portal.url)},
    ):
        answer = browser.post(f"{portal.url}/my/holds/{mine}/cancel", data=data, timeout=30)
        assert answer.status_code == 403, data
        assert "The form could not be accepted" in answer.text
    assert mine in _hold_ids(portal, me.patron_id)
    # Signing in too: a login form planted on another site is refused.
    fresh = requests.Session()
    answer = fresh.post(f"{portal.url}/my/login", data={"card": me.card, "pin": me.pin}, timeout=30)
    assert answer.status_code == 403


def test_staff_and_patron_sessions_open_only_their_own_pages(portal: Portal) -> None:
    me = reader(1)
    patron = portal.sign_in(me.card, me.pin)
    answer = patron.get(f"{portal.url}/staff/", allow_redirects=False, timeout=30)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/login"
    staff = requests.Session()
    staff.post(
        f"{portal.url}/staff/login",
        data={
            "username": STAFF[0],
            "password": STAFF[1],
            "csrf_token": csrf_token(staff, portal.url, "/staff/login"),
        },
        timeout=30,
    )
    assert staff.get(f"{portal.url}/staff/", allow_redirects=False, timeout=30).status_code == 200
    answer = staff.get(f"{portal.url}/my/", allow_redirects=False, timeout=30)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/my/login"
    assert (
        staff.get(f"{portal.url}/my/data.json", allow_redirects=False, timeout=30).status_code
        == 303
    )


def test_the_session_ends_after_fifteen_idle_minutes_and_at_sign_out(portal: Portal) -> None:
    assert portal.clock is not None
    me = reader(1)
    browser = portal.sign_in(me.card, me.pin)
    portal.clock.moment += timedelta(minutes=14)
    assert browser.get(f"{portal.url}/my/", allow_redirects=False, timeout=30).status_code == 200
    portal.clock.moment += timedelta(minutes=16)
    answer = browser.get(f"{portal.url}/my/", allow_redirects=False, timeout=30)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/my/login"
    # Signed out, the old cookie opens nothing again.
    browser = portal.sign_in(me.card, me.pin)
    cookie = browser.cookies.get("my_session")
    token = csrf_token(browser, portal.url, "/my/")
    assert browser.post(f"{portal.url}/my/logout", data={"csrf_token": token}, timeout=30).ok
    thief = requests.Session()
    thief.cookies.set("my_session", cookie or "")
    answer = thief.get(f"{portal.url}/my/", allow_redirects=False, timeout=30)
    assert answer.status_code == 303


def test_every_refusal_has_one_answer(portal: Portal) -> None:
    """An unknown card, a wrong PIN, a card without a PIN: the same words."""
    answers = set()
    for card, pin in ((reader(3).card, "0000"), ("21999999999999", "1234"), (NO_PIN_CARD, "1234")):
        browser = requests.Session()
        answer = browser.post(
            f"{portal.url}/my/login",
            data={"card": card, "pin": pin, "csrf_token": csrf_token(browser, portal.url)},
            timeout=30,
        )
        assert answer.status_code == 200
        start = answer.text.index("govuk-error-summary__list")
        answers.add(answer.text[start : answer.text.index("</ul>", start)])
    assert len(answers) == 1


def test_guessing_many_cards_from_one_address_is_slowed(portal: Portal) -> None:
    browser = requests.Session()
    token = csrf_token(browser, portal.url)
    for guess in range(10):
        answer = browser.post(
            f"{portal.url}/my/login",
            data={"card": f"2199999999{guess:04d}", "pin": "1234", "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 200, guess
    me = reader(4)
    answer = browser.post(
        f"{portal.url}/my/login",
        data={"card": me.card, "pin": me.pin, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 429
    assert "Please wait 15 minutes" in answer.text
    # The card itself was not counted against: its owner is let in once the wait is over.
    assert portal.clock is not None
    portal.clock.moment += timedelta(minutes=15)
    portal.sign_in(me.card, me.pin)


def _expires(portal: Portal, patron_id: str) -> str:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        patron = db.get(Patron, patron_id)
        found = patron.expires.isoformat() if patron and patron.expires else ""
    engine.dispose()
    return found


def test_a_membership_renewal_is_decided_by_the_rules_and_done_once(portal: Portal) -> None:
    early = reader(1)  # a year to run: the window is not open
    browser = portal.sign_in(early.card, early.pin)
    token = csrf_token(browser, portal.url, "/my/")
    before = _expires(portal, early.patron_id)
    answer = browser.post(
        f"{portal.url}/my/membership", data={"csrf_token": token, "seen": before}, timeout=30
    )
    assert "Your membership could not be renewed" in answer.text
    assert "Your membership can be renewed from" in answer.text
    assert _expires(portal, early.patron_id) == before
    # A date the membership has not passed, or none, is decided afresh: refused again,
    # never reported as renewed (only an earlier date, a page drawn before a renewal,
    # is answered with the later expiry).
    for forged in ("2999-01-01", "not a date", ""):
        answer = browser.post(
            f"{portal.url}/my/membership", data={"csrf_token": token, "seen": forged}, timeout=30
        )
        assert "Your membership could not be renewed" in answer.text, forged
        assert "it now runs until" not in answer.text, forged
    assert _expires(portal, early.patron_id) == before
    due = reader(9)  # ends in 10 days, inside the 30-day window
    browser = portal.sign_in(due.card, due.pin)
    token = csrf_token(browser, portal.url, "/my/")
    seen = _expires(portal, due.patron_id)
    for _ in range(2):  # a double click
        answer = browser.post(
            f"{portal.url}/my/membership", data={"csrf_token": token, "seen": seen}, timeout=30
        )
        assert "it now runs until" in answer.text
    renewed = _expires(portal, due.patron_id)
    assert renewed == (date.fromisoformat(seen) + timedelta(days=365)).isoformat()


def test_wrong_current_pins_in_the_pin_form_count_towards_the_lockout(portal: Portal) -> None:
    me = reader(11)
    browser = portal.sign_in(me.card, me.pin)
    token = csrf_token(browser, portal.url, "/my/pin")
    for _ in range(5):
        answer = browser.post(
            f"{portal.url}/my/pin",
            data={"csrf_token": token, "current": "0000", "pin": "5555", "pin_again": "5555"},
            timeout=30,
        )
        assert answer.status_code == 400
    answer = browser.post(
        f"{portal.url}/my/pin",
        data={"csrf_token": token, "current": me.pin, "pin": "5555", "pin_again": "5555"},
        timeout=30,
    )
    assert "your card is locked for 15 minutes" in answer.text
    fresh = requests.Session()
    refused = fresh.post(
        f"{portal.url}/my/login",
        data={"card": me.card, "pin": me.pin, "csrf_token": csrf_token(fresh, portal.url)},
        allow_redirects=False,
        timeout=30,
    )
    assert refused.status_code == 200  # the sign-in page again


def test_every_refused_sign_in_costs_one_pin_check(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown card, a wrong PIN, a card locked by wrong PINs, a card with no PIN:
    each refusal verifies one PIN, so how soon it comes tells a guesser nothing of the
    card (the server runs in this process: the verifier is counted where it is called)."""
    checks: list[str] = []

    def counted(verifier: str, pin: str) -> bool:
        checks.append(pin)
        return pins.pin_matches(verifier, pin)

    monkeypatch.setattr(authentication, "pin_matches", counted)
    monkeypatch.setattr(signin, "pin_matches", counted)
    me = reader(12)

    def refused_sign_in(card: str, pin: str) -> int:
        checks.clear()
        browser = requests.Session()
        answer = browser.post(
            f"{portal.url}/my/login",
            data={"card": card, "pin": pin, "csrf_token": csrf_token(browser, portal.url)},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 200, (card, answer.status_code)
        return len(checks)

    assert refused_sign_in("21999999999999", "1234") == 1  # no one's card
    assert refused_sign_in(NO_PIN_CARD, "1234") == 1
    for _ in range(5):
        assert refused_sign_in(me.card, "0000") == 1
    assert refused_sign_in(me.card, me.pin) == 1  # locked now: the right PIN refused too


def test_a_new_pin_signs_out_whoever_signed_in_with_the_old_one(portal: Portal) -> None:
    me = reader(10)
    elsewhere = portal.sign_in(me.card, me.pin)
    here = portal.sign_in(me.card, me.pin)
    token = csrf_token(here, portal.url, "/my/pin")
    answer = here.post(
        f"{portal.url}/my/pin",
        data={"csrf_token": token, "current": me.pin, "pin": "97531", "pin_again": "97531"},
        timeout=30,
    )
    assert answer.status_code == 200
    # Where the PIN was changed goes on; the other browser must sign in again.
    assert here.get(f"{portal.url}/my/", allow_redirects=False, timeout=30).status_code == 200
    gone = elsewhere.get(f"{portal.url}/my/", allow_redirects=False, timeout=30)
    assert gone.status_code == 303
    assert gone.headers["location"].startswith("/my/login")
    portal.sign_in(me.card, "97531")


def test_behind_the_librarys_proxy_each_patron_is_counted_at_their_own_address(
    portal: Portal,
) -> None:
    """The TLS proxy on the server's own machine (docs/install.md) names each browser in
    X-Forwarded-For, which the server takes from 127.0.0.1 alone (uvicorn's default,
    FORWARDED_ALLOW_IPS for a proxy elsewhere): one address's guessing slows that
    address, not every patron coming through the proxy."""
    guesser = requests.Session()
    guesser.headers["X-Forwarded-For"] = "203.0.113.7"
    token = csrf_token(guesser, portal.url)
    for guess in range(10):
        guesser.post(
            f"{portal.url}/my/login",
            data={"card": f"2199999999{guess:04d}", "pin": "1234", "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )
    slowed = guesser.post(
        f"{portal.url}/my/login",
        data={"card": "21999999990099", "pin": "1234", "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert slowed.status_code == 429
    me = reader(4)
    patron = requests.Session()
    patron.headers["X-Forwarded-For"] = "198.51.100.23"
    answer = patron.post(
        f"{portal.url}/my/login",
        data={"card": me.card, "pin": me.pin, "csrf_token": csrf_token(patron, portal.url)},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 303


def _sessions_of(portal: Portal, patron_id: str) -> int:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        found = len(
            db.scalars(select(PatronSession).where(PatronSession.patron_id == patron_id)).all()
        )
    engine.dispose()
    return found


def test_sessions_left_idle_are_cleared_by_the_next_sign_in(portal: Portal) -> None:
    """A browser closed without signing out leaves its session's row; once idle past the
    portal's limit, the next sign-in (anyone's) removes it."""
    assert portal.clock is not None
    left, later = reader(5), reader(6)
    portal.sign_in(left.card, left.pin)  # and never comes back
    assert _sessions_of(portal, left.patron_id) == 1
    portal.clock.moment += timedelta(minutes=10)
    portal.sign_in(later.card, later.pin)
    assert _sessions_of(portal, left.patron_id) == 1  # idle 10 minutes: still theirs
    portal.clock.moment += timedelta(minutes=10)
    portal.sign_in(later.card, later.pin)
    assert _sessions_of(portal, left.patron_id) == 0
    assert _sessions_of(portal, later.patron_id) == 2  # 10 minutes idle, and the new one
