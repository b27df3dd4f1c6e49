"""The subjects of the weekly new arrivals in *Your details*, in Debian's chromium at
360x640 and 1280x800 against the real ``kiosk-central serve``: offered from the year's
new records, a subject with a comma in it ticked and saved with the weekly kind, shown
ticked again from the record, in French too; axe-core on each page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.models import Record

from ..conftest import Console
from .conftest import reader, serve_portal
from .test_details_browser import open_details
from .test_portal_browser import Watch, accessible, sign_in

READER = {"phone": 8, "desktop": 9}


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for served in serve_portal(tmp_path_factory.mktemp("subjects")):
        engine = database.connect(served.database_url)
        with Session(engine) as db:
            # Through the change log, as the catalogue's own writers do: the server has
            # counted the subjects as it started, and counts again for a record change.
            log = ChangeLog(db)
            log.lock()
            for brn, subjects in ((1, "Cookery, Vegetarian"), (2, "Space -- Exploration")):
                record = db.get_one(Record, brn)
                record.subjects, record.added_on = subjects, date.today() - timedelta(days=3)
                db.flush()
                log.record(record)
            db.commit()
        engine.dispose()
        yield served


def test_a_patron_chooses_the_subjects_of_their_new_arrivals(
    page: Page, console: Console, screen: str
) -> None:
    person = reader(READER[screen])
    watch = Watch(page)
    sign_in(page, console.url, person)
    open_details(page)
    subjects = page.get_by_role("group", name="New arrivals on these subjects")
    expect(subjects.get_by_role("checkbox")).to_have_count(2)
    expect(subjects.get_by_label("Space")).not_to_be_checked()
    accessible(page)

    page.get_by_label("New arrivals, once a week").check()
    subjects.get_by_label("Cookery, Vegetarian").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save my details").click()
    expect(page.locator("#details-saved")).to_contain_text("Your details are saved.")
    accessible(page)

    page.goto(f"{console.url}/my/details")  # read again from the record
    subjects = page.get_by_role("group", name="New arrivals on these subjects")
    expect(subjects.get_by_label("Cookery, Vegetarian")).to_be_checked()
    expect(subjects.get_by_label("Space")).not_to_be_checked()
    expect(page.get_by_label("New arrivals, once a week")).to_be_checked()

    page.get_by_role("group", name="Language").get_by_label("Français").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save my details").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    subjects = page.get_by_role("group", name="Nouveautés de ces sujets")
    expect(subjects.get_by_label("Cookery, Vegetarian")).to_be_checked()
    accessible(page)
    watch.check(person.card, person.pin)
