"""The subjects of the weekly new arrivals in *Your details*, on SQLite and PostgreSQL:
offered from the broad subjects of the year's new records, saved as the notices read
them (a subject with a comma in it too), one not offered refused in the patron's words
with nothing changed, shown to staff on the patron's page; and the attacks: no or a forged CSRF token, another patron's
record named in the form, a member of staff's session, no session at all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.models import Patron, Record

from ..conftest import Console
from ..conftest import csrf_token as staff_csrf_token
from .conftest import Portal, csrf_token, reader

SUBJECTS = {1: "Space -- Exploration; Cookery, Vegetarian", 2: "Gardening", 3: "space"}


def _catalogue(portal: Portal) -> None:
    """Three of reader 1's records new this year, with subject headings; one old."""
    assert portal.clock is not None
    today = portal.clock.now().date()
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        for brn, subjects in SUBJECTS.items():
            db.execute(
                update(Record)
                .where(Record.brn == brn)
                .values(subjects=subjects, added_on=today - timedelta(days=brn))
            )
        db.execute(
            update(Record)
            .where(Record.brn == 4)
            .values(subjects="Knitting", added_on=today - timedelta(days=800))
        )
        db.commit()
    engine.dispose()


def _subjects(portal: Portal, patron_id: str) -> str:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        patron = db.get(Patron, patron_id)
        assert patron is not None
        chosen = patron.arrival_subjects
    engine.dispose()
    return chosen


def _form(token: str, **more: object) -> dict[str, object]:
    return {
        "csrf_token": token,
        "email": "someone@example.org",
        "notify_by": "email",
        "notices": ["new_arrivals"],
        **more,
    }


def _save(browser: requests.Session, portal: Portal, data: dict[str, object]) -> requests.Response:
    return browser.post(f"{portal.url}/my/details", data=data, timeout=30)


def test_subjects_are_offered_saved_and_checked(portal: Portal) -> None:
    _catalogue(portal)
    me = reader(5)
    browser = portal.sign_in(me.card, me.pin)
    page = browser.get(f"{portal.url}/my/details", timeout=30).text
    assert "New arrivals on these subjects" in page
    for offered in ("Cookery, Vegetarian", "Gardening", "Space"):
        assert f'value="{offered}"' in page
    assert 'value="Knitting"' not in page  # no new record of it this year
    assert 'value="space"' not in page  # one subject, as the catalogue first spells it
    token = csrf_token(browser, portal.url, "/my/details")
    answer = _save(browser, portal, _form(token, arrival_subjects=["Space", "Cookery, Vegetarian"]))
    assert answer.status_code == 200
    assert _subjects(portal, me.patron_id) == "Cookery, Vegetarian; Space"
    # Staff read the choice on the patron's page.
    staff = Console(portal.url, portal.database_url, Path("server.log")).login("vera")
    shown = staff.get(f"{portal.url}/staff/patrons/{me.patron_id}", timeout=30).text
    assert "new arrivals on Cookery, Vegetarian, on Space" in shown
    page = browser.get(f"{portal.url}/my/details", timeout=30).text
    assert 'value="Space" checked' in page
    assert 'value="Cookery, Vegetarian" checked' in page
    assert 'value="Gardening" checked' not in page

    answer = _save(browser, portal, _form(token, arrival_subjects=["Space", "Knitting"]))
    assert answer.status_code == 400
    assert "Choose subjects of new arrivals from the list shown." in answer.text
    assert 'href="#arrival_subjects"' in answer.text
    assert _subjects(portal, me.patron_id) == "Cookery, Vegetarian; Space"
    # Every box unticked: none chosen.
    assert _save(browser, portal, _form(token)).status_code == 200
    assert _subjects(portal, me.patron_id) == ""


def test_no_one_else_changes_a_patrons_subjects(portal: Portal) -> None:
    _catalogue(portal)
    me, them = reader(6), reader(7)
    theirs = portal.sign_in(them.card, them.pin)
    token = csrf_token(theirs, portal.url, "/my/details")
    assert _save(theirs, portal, _form(token, arrival_subjects=["Gardening"])).status_code == 200
    browser = portal.sign_in(me.card, me.pin)
    token = csrf_token(browser, portal.url, "/my/details")
    # Another patron named in the form: only the signed-in patron's record changes.
    answer = _save(
        browser,
        portal,
        _form(token, arrival_subjects=["Space"], patron_id=them.patron_id, card=them.card),
    )
    assert answer.status_code == 200
    assert _subjects(portal, me.patron_id) == "Space"
    assert _subjects(portal, them.patron_id) == "Gardening"
    # No token, a forged one, one of another session: refused, nothing changed.
    for data in (
        {},
        {"csrf_token": "forged"},
        {"csrf_token": csrf_token(requests.Session(), portal.url)},
    ):
        sent = {**_form(""), "arrival_subjects": ["Cookery, Vegetarian"], **data}
        if not data:
            del sent["csrf_token"]
        assert _save(browser, portal, sent).status_code == 403, data
    assert _subjects(portal, me.patron_id) == "Space"
    # A member of staff's session is no patron's: sent away to the portal's sign-in.
    staff = Console(portal.url, portal.database_url, Path("server.log")).login("ada")
    answer = staff.post(
        f"{portal.url}/my/details",
        data=_form(staff_csrf_token(staff, portal.url, "/staff"), arrival_subjects=["Gardening"]),
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code in (303, 401, 403)
    # No session at all.
    answer = requests.post(
        f"{portal.url}/my/details",
        data=_form("x", arrival_subjects=["Gardening"]),
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code in (303, 401, 403)
    assert _subjects(portal, me.patron_id) == "Space"
    assert _subjects(portal, them.patron_id) == "Gardening"
