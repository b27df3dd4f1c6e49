"""The console's Branches page (issue 21, item 1) as an attacker tries it, over HTTP on
SQLite and PostgreSQL: every role reads the branches with their kiosks and home items
counted; only an administrator with the page's CSRF token adds one (audited as theirs,
from their address); a viewer, a circulation member, no session, no token, a forged one
or another's are refused and add nothing; every refusal of add_branch is said beside
its field with what was typed kept; a name is text, never markup."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal

import pytest
import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.branches import add_branch
from kiosk.central.models import AuditEntry, Branch, Item, Kiosk, Record

from .conftest import XSS, Console, csrf_token, in_process

PAGE = "/staff/branches"
FORM = 'action="/staff/branches"'


@pytest.fixture
def live(database_url: str) -> Iterator[Console]:
    with in_process(database_url) as console:
        yield console


def kept(console: Console) -> dict[str, str]:
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        found = {branch.code: branch.name for branch in db.scalars(select(Branch))}
    engine.dispose()
    return found


def _add(console: Console, code: str, name: str) -> None:
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        add_branch(db, code, name, datetime.now(), actor="test", origin="test")
    engine.dispose()


def shelve(db: Session, brn: int, homes: Sequence[str]) -> None:
    """Record ``brn`` with an available copy at each of ``homes`` (home locations)."""
    db.add(Record(brn=brn, title="At Home", author="A. Writer", publication_type="FICTION"))
    db.flush()
    for number, home in enumerate(homes, start=1):
        db.add(
            Item(
                barcode=f"39{brn:06d}{number:06d}",
                brn=brn,
                price=Decimal("5.00"),
                status="available",
                home_location=home,
            )
        )


def post(browser: requests.Session, console: Console, **data: str) -> requests.Response:
    """The form sent as its page gives it: the page's own CSRF token, no redirect followed."""
    token = csrf_token(browser, console.url, PAGE)
    return browser.post(
        console.url + PAGE, data={"csrf_token": token, **data}, allow_redirects=False, timeout=10
    )


def cells(text: str, code: str) -> list[str]:
    """The text of each cell of branch ``code``'s row in the page's table."""
    row = re.search(rf'<tr class="govuk-table__row" data-branch="{code}">(.*?)</tr>', text, re.S)
    assert row is not None, code
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]


def typed(text: str, field: str) -> str:
    """What the page's field ``field`` holds, unescaped."""
    found = re.search(rf'<input [^>]*id="{field}" name="{field}"[^>]*value="([^"]*)"', text)
    assert found is not None, field
    return html.unescape(found.group(1))


def test_every_role_reads_the_branches_and_only_an_admin_adds_one(live: Console) -> None:
    anonymous = requests.Session()
    answer = anonymous.get(live.url + PAGE, allow_redirects=False, timeout=10)
    assert (answer.status_code, answer.headers["location"]) == (303, "/staff/login")
    token = csrf_token(anonymous, live.url)
    answer = anonymous.post(
        live.url + PAGE, data={"code": "North", "name": "N", "csrf_token": token}
    )
    assert answer.status_code == 401
    empty = live.login("vera").get(live.url + PAGE, timeout=10)
    assert empty.status_code == 200
    assert "one undivided library" in empty.text
    assert "An administrator adds the first branch on this page" in empty.text
    for username in ("vera", "cyril"):
        signed_in = live.login(username)
        page = signed_in.get(live.url + PAGE, timeout=10)
        assert page.status_code == 200, username
        assert 'href="/staff/branches"' in page.text  # in the navigation
        assert FORM not in page.text
        answer = post(signed_in, live, code="North", name="Northside")
        assert answer.status_code == 403, username
        assert "Your role cannot open this page" in answer.text
    ada = live.login("ada")
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": token}):  # another's token
        answer = ada.post(
            live.url + PAGE, data={"code": "North", "name": "Northside", **data}, timeout=10
        )
        assert answer.status_code == 403, data
        assert "could not be accepted" in answer.text
    assert kept(live) == {}
    offered = ada.get(live.url + PAGE, timeout=10).text
    assert FORM in offered
    assert "Add the first branch below" in offered
    answer = post(ada, live, code="North", name="Northside Library")
    assert (answer.status_code, answer.headers["location"]) == (303, "/staff/branches?added=North")
    assert kept(live) == {"North": "Northside Library"}
    shown = ada.get(live.url + answer.headers["location"], timeout=10)
    assert 'id="branch-added"' in shown.text
    assert "Branch Northside Library (North) added." in shown.text
    assert cells(shown.text, "North") == ["North", "Northside Library", "0", "0"]
    engine = database.connect(live.database_url)
    with Session(engine) as db:
        entries = db.execute(
            select(AuditEntry.actor, AuditEntry.target, AuditEntry.origin).where(
                AuditEntry.action == "branch.add"
            )
        ).all()
    engine.dispose()
    assert [tuple(entry) for entry in entries] == [("ada", "North", "127.0.0.1")]


@pytest.mark.parametrize(
    ("code", "name", "field", "said"),
    [
        ("North", "Another Northside", "code", "A branch &#39;North&#39; exists already"),
        ("no rth", "Northside", "code", "Branch code &#39;no rth&#39; must be 1 to 32 letters"),
        ("N" * 33, "Northside", "code", "must be 1 to 32 letters"),
        ("", "Northside", "code", "Branch code &#39;&#39; must be 1 to 32"),
        ("West", "   ", "name", "A branch&#39;s name must be 1 to 120 characters"),
        ("West", "W" * 121, "name", "A branch&#39;s name must be 1 to 120 characters"),
        ("West", "West\tEnd", "name", "it has a tab at character 5"),
        ("West", "West\x07End", "name", "a control character (U+0007) at character 5"),
    ],
)
def test_each_refusal_is_said_beside_its_field_and_adds_nothing(
    live: Console, code: str, name: str, field: str, said: str
) -> None:
    _add(live, "North", "Northside")
    ada = live.login("ada")
    answer = post(ada, live, code=code, name=name)
    assert answer.status_code == 400
    assert "<title>Error: Branches" in answer.text
    assert "The branch was not added" in answer.text
    assert f'href="#{field}"' in answer.text  # the summary links to the field
    assert f'id="{field}-error"' in answer.text  # and the field says it too
    assert said in answer.text
    assert (typed(answer.text, "code"), typed(answer.text, "name")) == (code, name)  # kept
    assert 'name="csrf_token"' in answer.text  # the form, to correct and send again
    assert kept(live) == {"North": "Northside"}


def test_a_name_is_text_never_markup(live: Console) -> None:
    ada = live.login("ada")
    assert post(ada, live, code="X", name=XSS).status_code == 303
    assert kept(live) == {"X": XSS}
    shown = ada.get(f"{live.url}{PAGE}?added=X", timeout=10).text
    assert XSS not in shown
    assert shown.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # the banner and the table
    # Refused, and shown back escaped in the field it was typed in.
    answer = post(ada, live, code="X", name=XSS)
    assert answer.status_code == 400
    assert XSS not in answer.text
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in answer.text


def test_the_counts_and_the_items_whose_home_is_no_branch(live: Console) -> None:
    for code, name in (("East", "East End"), ("Main", "Main Library"), ("North", "Northside")):
        _add(live, code, name)
    engine = database.connect(live.database_url)
    with Session(engine) as db:
        for kiosk, branch in (("branch-1", "North"), ("branch-2", "North"), ("branch-3", "Main")):
            db.execute(update(Kiosk).where(Kiosk.name == kiosk).values(branch=branch))
        shelve(db, 1, ["Main"] * 3 + ["North"] + ["Stacks"] * 2)
        db.commit()
    engine.dispose()
    text = live.login("vera").get(live.url + PAGE, timeout=10).text
    assert cells(text, "East") == ["East", "East End", "0", "0"]
    assert cells(text, "Main") == ["Main", "Main Library", "1 kiosk in Main Library", "3"]
    assert cells(text, "North") == ["North", "Northside", "2 kiosks in Northside", "1"]
    assert 'href="/staff/kiosks?branch=North"' in text
    assert "3 branches" in text
    assert 'id="homeless"' in text
    assert "2 items have a home_location that names no branch" in text
    assert "&#39;Stacks&#39; (2)" in text
