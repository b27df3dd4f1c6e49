"""The subjects of the weekly new arrivals in *Your details*, on SQLite and PostgreSQL:
offered from the broad subjects of the year's new records, saved as the notices read
them (a subject with a comma in it too), one not offered refused in the patron's words
with nothing changed, shown to staff on the patron's page; as many as the portal offers
kept whatever their length, more than that refused as too many in the patron's language
(English, Spanish, French) with nothing changed; the subjects counted from the records
once, not on each page and save, and again after a catalogue import; and the attacks: no or a forged CSRF
token, another patron's record named in the form, a member of staff's session, no
session at all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import Engine, event, update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.importers import import_file
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


def test_the_subjects_are_counted_once_until_the_catalogue_changes(
    portal: Portal, tmp_path: Path
) -> None:
    _catalogue(portal)
    me = reader(5)
    browser = portal.sign_in(me.card, me.pin)
    counted: list[str] = []

    def before(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        # patrons.arrival_subjects' one statement, on the app's engine (any, here).
        if "records.subjects" in statement and "records.added_on >=" in statement:
            counted.append(statement)

    event.listen(Engine, "before_cursor_execute", before)
    try:
        for _ in range(3):
            page = browser.get(f"{portal.url}/my/details", timeout=30).text
            assert 'value="Gardening"' in page
        token = csrf_token(browser, portal.url, "/my/details")
        answer = _save(browser, portal, _form(token, arrival_subjects=["Gardening"]))
        assert answer.status_code == 200, answer.text
        assert _subjects(portal, me.patron_id) == "Gardening"
        assert len(counted) == 1
        # A catalogue import (the terminal's or the timer's, not the server's) brings a
        # subject: the next page offers it.
        assert portal.clock is not None
        csv = tmp_path / "catalogue.csv"
        csv.write_text(
            "brn,title,author,isbn,publication_type,subjects\n"
            "9001,Cast On,A. Knitter,,FICTION,Knitting -- Patterns\n",
            encoding="utf-8",
        )
        engine = database.connect(portal.database_url)
        with Session(engine) as db:
            import_file(db, "catalogue", csv, actor="vera", now=portal.clock.now())
        engine.dispose()
        page = browser.get(f"{portal.url}/my/details", timeout=30).text
        assert 'value="Knitting"' in page
        browser.get(f"{portal.url}/my/details", timeout=30)
        assert len(counted) == 2
    finally:
        event.remove(Engine, "before_cursor_execute", before)


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


# A hundred subjects, as many as the portal offers: thirty of them fill more than the
# 400 characters the patron's choice was once kept in.
MANY = [f"Parish history, part {number:03d}" for number in range(1, 101)]
TOO_MANY = {
    "en": "Choose at most 100 subjects of new arrivals.",
    "es": "Elija como máximo 100 temas de novedades.",
    "fr": "Choisissez au plus 100 sujets de nouveautés.",
}
NOT_LISTED = {
    "en": "Choose subjects of new arrivals from the list shown.",
    "es": "Elija temas de novedades de la lista.",
    "fr": "Choisissez des sujets de nouveautés dans la liste.",
}


def _many_subjects(portal: Portal) -> None:
    """MANY subjects of the year's new records, ten on each of ten records."""
    assert portal.clock is not None
    today = portal.clock.now().date()
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        for brn in range(1, 11):
            db.execute(
                update(Record)
                .where(Record.brn == brn)
                .values(
                    subjects="; ".join(MANY[(brn - 1) * 10 : brn * 10]),
                    added_on=today - timedelta(days=brn),
                )
            )
        db.commit()
    engine.dispose()


def _set(portal: Portal, patron_id: str, **values: object) -> None:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        db.execute(update(Patron).where(Patron.patron_id == patron_id).values(**values))
        db.commit()
    engine.dispose()


def test_many_subjects_are_kept_and_too_many_are_said_to_be(portal: Portal) -> None:
    _many_subjects(portal)
    me = reader(8)
    browser = portal.sign_in(me.card, me.pin)
    page = browser.get(f"{portal.url}/my/details", timeout=30).text
    assert all(f'value="{subject}"' in page for subject in MANY)
    token = csrf_token(browser, portal.url, "/my/details")
    chosen = MANY[:40]
    answer = _save(browser, portal, _form(token, arrival_subjects=chosen))
    assert answer.status_code == 200, answer.text
    assert _subjects(portal, me.patron_id) == "; ".join(chosen)
    # Every one offered, and one chosen before that is offered no longer: more than a
    # patron may choose, said so in the patron's language, and nothing changes.
    kept = "; ".join([*chosen, "Knitting"])
    for language, words in TOO_MANY.items():
        _set(portal, me.patron_id, arrival_subjects=kept, language=language)
        page = browser.get(f"{portal.url}/my/details", timeout=30).text
        assert 'value="Knitting" checked' in page
        everything = [*MANY, "Knitting"]
        answer = _save(browser, portal, _form(token, arrival_subjects=everything))
        assert answer.status_code == 400, language
        assert words in answer.text, language
        assert NOT_LISTED[language] not in answer.text, language
        assert 'href="#arrival_subjects"' in answer.text
        assert _subjects(portal, me.patron_id) == kept
        # As many as a patron may choose are kept, each once, in the catalogue's order.
        answer = _save(browser, portal, _form(token, arrival_subjects=[*MANY[1:], "Knitting"]))
        assert answer.status_code == 200, language
        assert _subjects(portal, me.patron_id) == "; ".join([*MANY[1:], "Knitting"])
