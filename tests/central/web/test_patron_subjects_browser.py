"""The subjects of a patron's new arrivals set by staff (issue 16) in the console's
patron edit, in Debian's chromium with axe-core, on SQLite and PostgreSQL: circulation
staff tick two of the subjects offered (the year's new records' broad subjects, and
those the patron chose before), save, and read them on the patron's page, as the
patron's row holds them; more than preferences.MAX_SUBJECTS is refused with the ticks
kept; with no subject offered the form says so. A viewer's post is refused; a subject
forged by hand is refused, shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.models import AuditEntry, Patron, Record
from kiosk.central.notices import preferences

from .conftest import XSS, Console, csrf_token, in_process
from .test_browser import accessible, sign_in, watch

ADA, BO = "P1601", "P1602"
HISTORY, COOKERY = "History", "Cookery, Vegetarian"
# Every subject of the catalogue's new records: as many as may be chosen, so that the
# one Bo chose before makes one too many.
TOPICS = [f"Topic {number:03}" for number in range(preferences.MAX_SUBJECTS - 2)]
OLD = "Knitting"  # Bo's, from a record no longer new


def _seed(database_url: str, *, subjects: bool = True) -> None:
    now = datetime.now().replace(microsecond=0)
    engine = database.connect(database_url)
    with Session(engine) as db:
        headings = [f"{HISTORY} -- Europe", COOKERY, *TOPICS] if subjects else []
        for brn, heading in enumerate(headings, start=1):
            db.add(
                Record(
                    brn=brn,
                    title=f"Book {brn}",
                    author="A. Writer",
                    isbn=None,
                    publication_type="FICTION",
                    added_on=now.date() - timedelta(days=3),
                    subjects=heading,
                )
            )
        for patron_id, card, first, chosen in (
            (ADA, "16000000000001", "Ada", ""),
            (BO, "16000000000002", "Bo", OLD),
        ):
            db.add(
                Patron(
                    patron_id=patron_id,
                    card=card,
                    first_name=first,
                    surname="Subjectson",
                    member_type="ADULT",
                    expires=now.date() + timedelta(days=300),
                    barred=False,
                    owed=Decimal("0.00"),
                    arrival_subjects=chosen,
                )
            )
        db.commit()
    engine.dispose()


def _chosen(console: Console, patron_id: str) -> str:
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        patron = db.get(Patron, patron_id)
        assert patron is not None
        chosen = patron.arrival_subjects
    engine.dispose()
    return chosen


@pytest.fixture
def console(database_url: str) -> Iterator[Console]:
    with in_process(database_url) as live:
        _seed(database_url)
        yield live


def test_circulation_sets_a_patrons_subjects(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/patrons/{ADA}")
    page.get_by_role("link", name="Edit details and contact").click()
    subjects = page.get_by_role("group", name="New arrivals on these subjects")
    expect(subjects.get_by_role("checkbox")).to_have_count(preferences.MAX_SUBJECTS)
    expect(subjects.get_by_role("checkbox", checked=True)).to_have_count(0)
    expect(subjects.get_by_label(OLD)).to_have_count(0)  # Bo's, not Ada's
    accessible(page)

    page.get_by_label("New arrivals (weekly)").check()
    subjects.get_by_label(HISTORY, exact=True).check()
    subjects.get_by_label(COOKERY, exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    expect(page.locator("#done")).to_contain_text("Details saved")
    expect(page.locator("#patron")).to_contain_text(f"new arrivals on {COOKERY}, on {HISTORY}")
    accessible(page)
    assert set(preferences.headings(_chosen(console, ADA))) == {HISTORY, COOKERY}

    # Shown ticked again from the record; unticked, cleared.
    page.get_by_role("link", name="Edit details and contact").click()
    subjects = page.get_by_role("group", name="New arrivals on these subjects")
    expect(subjects.get_by_role("checkbox", checked=True)).to_have_count(2)
    expect(subjects.get_by_label(HISTORY, exact=True)).to_be_checked()
    subjects.get_by_label(HISTORY, exact=True).uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    expect(page.locator("#done")).to_contain_text("Details saved")
    assert _chosen(console, ADA) == COOKERY

    engine = database.connect(console.database_url)
    with Session(engine) as db:
        details = list(
            db.scalars(select(AuditEntry.detail).where(AuditEntry.target == f"patron {ADA}"))
        )
    engine.dispose()
    assert details
    assert all("subjects of the new arrivals" in detail for detail in details)
    assert all(HISTORY not in detail for detail in details)
    assert problems == []


def test_too_many_subjects_are_refused_with_the_ticks_kept(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/patrons/{BO}/edit")
    subjects = page.get_by_role("group", name="New arrivals on these subjects")
    boxes = subjects.get_by_role("checkbox")
    # The catalogue's and the one Bo chose before: one more than may be chosen.
    expect(boxes).to_have_count(preferences.MAX_SUBJECTS + 1)
    expect(subjects.get_by_label(OLD)).to_be_checked()
    for number in range(boxes.count()):
        boxes.nth(number).check()
    page.get_by_role("button", name="Save").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text(
        f"Choose at most {preferences.MAX_SUBJECTS} subjects of new arrivals"
    )
    expect(page.locator("#arrival_subjects-error")).to_contain_text("Choose at most")
    subjects = page.get_by_role("group", name="New arrivals on these subjects")
    expect(subjects.get_by_role("checkbox", checked=True)).to_have_count(
        preferences.MAX_SUBJECTS + 1
    )
    accessible(page)
    summary.get_by_role("link").click()
    expect(page.locator("#arrival_subjects")).to_be_focused()
    assert _chosen(console, BO) == OLD  # nothing changed

    # One unticked: as many as may be, saved.
    subjects.get_by_label(OLD).uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    expect(page.locator("#done")).to_contain_text("Details saved")
    assert len(preferences.headings(_chosen(console, BO))) == preferences.MAX_SUBJECTS
    assert [problem for problem in problems if "400" not in problem] == []


def test_a_viewer_may_not_and_a_forged_subject_is_refused(console: Console) -> None:
    form = {
        "first_name": "Ada",
        "surname": "Subjectson",
        "member_type": "ADULT",
        "with_notices": "1",
        "notify_by": "email",
        "notices": ["new_arrivals"],
        "digest": "no",
    }
    vera = console.login("vera")
    token = csrf_token(vera, console.url, "/staff/patrons")
    answer = vera.post(
        f"{console.url}/staff/patrons/{ADA}/edit",
        data={**form, "arrival_subjects": [HISTORY], "csrf_token": token},
        timeout=10,
    )
    assert answer.status_code == 403
    assert _chosen(console, ADA) == ""

    cyril = console.login("cyril")
    token = csrf_token(cyril, console.url, f"/staff/patrons/{ADA}/edit")
    answer = cyril.post(
        f"{console.url}/staff/patrons/{ADA}/edit",
        data={**form, "arrival_subjects": [HISTORY, XSS], "csrf_token": token},
        timeout=10,
    )
    assert answer.status_code == 400
    assert "unknown subject" in answer.text
    assert XSS not in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
    assert 'value="History" checked' in answer.text  # the ticks kept
    assert _chosen(console, ADA) == ""

    # A post of the details alone (no with_notices) leaves the subjects as they are.
    answer = cyril.post(
        f"{console.url}/staff/patrons/{BO}/edit",
        data={
            **{key: value for key, value in form.items() if key != "with_notices"},
            "first_name": "Bo",
            "csrf_token": token,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303
    assert _chosen(console, BO) == OLD


def test_with_no_subject_offered_the_form_says_so(page: Page, database_url: str) -> None:
    with in_process(database_url) as live:
        _seed(database_url, subjects=False)
        sign_in(page, live, "cyril")
        page.goto(f"{live.url}/staff/patrons/{ADA}/edit")
        expect(page.locator("#arrival_subjects")).to_contain_text("No subjects to choose")
        expect(page.get_by_role("group", name="New arrivals on these subjects")).to_have_count(0)
        accessible(page)
        # Bo's one chosen before is still offered, ticked.
        page.goto(f"{live.url}/staff/patrons/{BO}/edit")
        subjects = page.get_by_role("group", name="New arrivals on these subjects")
        expect(subjects.get_by_role("checkbox")).to_have_count(1)
        expect(subjects.get_by_label(OLD)).to_be_checked()
