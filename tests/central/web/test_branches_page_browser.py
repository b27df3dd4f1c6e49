"""The Branches page (issue 21, item 1) walked in Debian's chromium and scanned by
axe-core: items imported with a home branch the library lacks are pointed out; an
administrator finds the page in the navigation, adds that branch through the form and
sees it listed with its kiosks and items counted, the warning gone; a taken code and a
malformed one are refused beside the field with what was typed kept; the branch's name
is not in the server's log. A viewer reads the page without the form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.branches import add_branch
from kiosk.central.models import Kiosk

from .conftest import Console, serve
from .test_branches_page import shelve
from .test_browser import accessible, shot, sign_in, watch
from .test_imports_browser import error_items, refusals

NAME = "Northside Library"


def _seed(database_url: str) -> None:
    """Branch Main with a kiosk and an item; two items whose home is North, which the
    library does not have yet."""
    engine = database.connect(database_url)
    with Session(engine) as db:
        add_branch(db, "Main", "Main Library", datetime.now(), actor="test", origin="test")
        db.execute(update(Kiosk).where(Kiosk.name == "branch-1").values(branch="Main"))
        shelve(db, 7, ["Main", "North", "North"])
        db.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for running in serve(tmp_path_factory.mktemp("branches-page")):
        _seed(running.database_url)
        yield running


def cells(page: Page, code: str) -> list[str]:
    """Branch ``code``'s row as a screen reader reads it (the hidden words too)."""
    return [
        " ".join(text.split())
        for text in page.locator(f'#branches tr[data-branch="{code}"] td').all_text_contents()
    ]


def test_an_admin_adds_a_branch_and_sees_its_counts(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "ada")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Menu").get_by_role("link", name="Branches").click()
    expect(page).to_have_url(f"{console.url}/staff/branches")
    expect(page.get_by_role("heading", name="Branches", exact=True)).to_be_visible()
    expect(page.locator("#homeless")).to_contain_text("2 items have a home_location")
    expect(page.locator("#homeless")).to_contain_text("'North' (2)")
    assert cells(page, "Main") == ["Main", "Main Library", "1 kiosk in Main Library", "1"]
    accessible(page)

    page.get_by_label("Code").fill("North")
    page.get_by_label("Name").fill(NAME)
    with page.expect_navigation():
        page.get_by_role("button", name="Add the branch").click()
    expect(page).to_have_url(f"{console.url}/staff/branches?added=North")
    expect(page.locator("#branch-added")).to_contain_text(f"Branch {NAME} (North) added.")
    expect(page.locator("#branches caption")).to_have_text("2 branches")
    assert cells(page, "North") == ["North", NAME, "0", "2"]
    expect(page.locator("#homeless")).to_have_count(0)
    expect(page.get_by_label("Code")).to_have_value("")  # a fresh form after the redirect
    accessible(page)
    shot(page, "branches")

    # A taken code: said in the summary and beside the field, what was typed kept.
    page.get_by_label("Code").fill("North")
    page.get_by_label("Name").fill("Northside Annexe")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the branch").click()
    assert error_items(page) == ["A branch 'North' exists already"]
    expect(page.locator("#code-error")).to_contain_text("A branch 'North' exists already")
    expect(page.get_by_label("Code")).to_have_value("North")
    expect(page.get_by_label("Name")).to_have_value("Northside Annexe")
    expect(page).to_have_title(re.compile(r"^Error: Branches "))
    accessible(page)
    page.get_by_role("link", name="A branch 'North' exists already").click()
    expect(page.get_by_label("Code")).to_be_focused()

    # A malformed code: the same, and still only two branches.
    page.get_by_label("Code").fill("East End")
    page.get_by_label("Name").fill("East End Library")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the branch").click()
    expect(page.locator("#code-error")).to_contain_text(
        "Branch code 'East End' must be 1 to 32 letters, digits"
    )
    expect(page.get_by_label("Code")).to_have_value("East End")
    expect(page.get_by_label("Name")).to_have_value("East End Library")
    expect(page.locator("#branches caption")).to_have_text("2 branches")
    accessible(page)

    assert refusals(problems, 400) == []
    logged = console.log.read_text(encoding="utf-8")
    assert NAME not in logged
    assert "Northside Annexe" not in logged


def test_a_viewer_reads_the_branches_without_the_form(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "vera")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Menu").get_by_role("link", name="Branches").click()
    expect(page.locator("#branches")).to_contain_text("Main Library")
    expect(page.get_by_role("heading", name="Add a branch")).to_have_count(0)
    expect(page.get_by_role("button", name="Add the branch")).to_have_count(0)
    accessible(page)
    assert problems == []
