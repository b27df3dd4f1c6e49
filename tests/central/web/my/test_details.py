"""*Your details* on SQLite and PostgreSQL: the patron's contact details and messaging
preferences written through ``patrons.update_patron`` (what the notices read), every
problem reported at once in the patron's words with nothing changed, fields the page
does not offer (member type, expiry, another patron) out of reach, and the CSRF token
required."""

from __future__ import annotations

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.models import AuditEntry, Patron
from kiosk.central.notices import preferences

from .conftest import Portal, csrf_token, reader

GOOD = {
    "email": "new.address@example.org",
    "phone": "+44 1632 960001",
    "language": "es",
    "notify_by": "sms",
    "notices": ["due_soon", "hold_ready"],
    "due_soon_days": "5",
    "digest": "yes",
    "arrivals": ["FICTION"],
}


def _row(portal: Portal, patron_id: str) -> dict[str, object]:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        patron = db.get(Patron, patron_id)
        assert patron is not None
        found = {
            name: getattr(patron, name)
            for name in (
                "email",
                "phone",
                "language",
                "notify_by",
                "notices",
                "due_soon_days",
                "digest",
                "arrivals",
                "member_type",
                "expires",
                "first_name",
            )
        }
    engine.dispose()
    return found


def _save(browser: requests.Session, portal: Portal, data: dict[str, object]) -> requests.Response:
    return browser.post(f"{portal.url}/my/details", data=data, timeout=30)


def test_details_and_preferences_are_saved_as_the_notices_read_them(portal: Portal) -> None:
    me = reader(1)
    browser = portal.sign_in(me.card, me.pin)
    page = browser.get(f"{portal.url}/my/details", timeout=30)
    assert me.email in page.text
    token = csrf_token(browser, portal.url, "/my/details")
    answer = _save(browser, portal, {**GOOD, "csrf_token": token})
    assert answer.status_code == 200
    assert "Sus datos se han guardado" in answer.text  # the page is now in Spanish
    row = _row(portal, me.patron_id)
    assert row["email"] == GOOD["email"]
    assert row["phone"] == GOOD["phone"]
    assert row["language"] == "es"
    chosen = preferences.preferences(
        str(row["notify_by"]),
        str(row["notices"]),
        int(str(row["due_soon_days"])),
        bool(row["digest"]),
        str(row["arrivals"]),
    )
    assert chosen.notify_by == "sms"
    assert chosen.kinds == {"due_soon", "hold_ready"}
    assert chosen.due_soon_days == 5
    assert chosen.digest
    assert chosen.arrivals == {"FICTION"}
    assert not chosen.wants("overdue")
    # Every box unticked and the contact details emptied: none chosen, none kept.
    answer = _save(
        browser,
        portal,
        {"csrf_token": token, "email": "", "phone": "", "notify_by": "none", "digest": "no"},
    )
    assert answer.status_code == 200
    row = _row(portal, me.patron_id)
    assert (row["email"], row["phone"], row["notices"], row["arrivals"]) == (None, None, "", "")
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        actors = set(db.scalars(select(AuditEntry.actor).where(AuditEntry.action == "patron.edit")))
    engine.dispose()
    assert actors == {f"patron {me.patron_id}"}


def test_every_problem_is_reported_at_once_and_nothing_changes(portal: Portal) -> None:
    me = reader(2)
    browser = portal.sign_in(me.card, me.pin)
    token = csrf_token(browser, portal.url, "/my/details")
    before = _row(portal, me.patron_id)
    answer = _save(
        browser,
        portal,
        {
            **GOOD,
            "csrf_token": token,
            "email": "not an address",
            "phone": "12",
            "due_soon_days": "30",
            "notify_by": "fax",
            "notices": ["spam"],
            "arrivals": ["NOSUCHTYPE"],
            "language": "de",
        },
    )
    assert answer.status_code == 400
    for words in (
        "Enter an email address like name@example.org, or leave it empty.",
        "Enter a phone number of 6 to 15 digits",
        "Enter a number of days from 1 to 14.",
        "Choose how the library sends you notices.",
        "Choose notices from the list shown.",
        "Choose kinds of new arrivals from the list shown.",
        "Choose one of the languages shown.",
    ):
        assert words in answer.text, words
    assert 'value="not an address"' in answer.text  # what was typed, to correct
    assert _row(portal, me.patron_id) == before


def test_fields_the_page_does_not_offer_and_forms_without_csrf_change_nothing(
    portal: Portal,
) -> None:
    me, them = reader(3), reader(4)
    browser = portal.sign_in(me.card, me.pin)
    token = csrf_token(browser, portal.url, "/my/details")
    mine, theirs = _row(portal, me.patron_id), _row(portal, them.patron_id)
    _save(
        browser,
        portal,
        {
            "csrf_token": token,
            "email": mine["email"],
            "notify_by": "email",
            "notices": ["due_soon"],
            "member_type": "STAFF",
            "expires": "2099-12-31",
            "first_name": "Mallory",
            "patron_id": them.patron_id,
        },
    )
    after = _row(portal, me.patron_id)
    assert (after["member_type"], after["expires"], after["first_name"]) == (
        mine["member_type"],
        mine["expires"],
        mine["first_name"],
    )
    assert after["notices"] == "due_soon"
    assert _row(portal, them.patron_id) == theirs
    for data in (
        {},
        {"csrf_token": "forged"},
        {"csrf_token": csrf_token(requests.Session(), portal.url)},
    ):
        answer = _save(browser, portal, {**GOOD, **data})
        assert answer.status_code == 403, data
    assert _row(portal, me.patron_id) == after
    answer = requests.get(f"{portal.url}/my/details", allow_redirects=False, timeout=30)
    assert answer.headers["location"] == "/my/login"
