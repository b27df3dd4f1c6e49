"""*Exceptions* over HTTP on SQLite and PostgreSQL: made by a kiosk's real push, listed
with filters, resolved with a note by circulation staff (audited in the same
transaction), read only for a viewer, and no form without its CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.staff import exceptions, open_exceptions
from kiosk.central.models import AuditEntry, StaffException

from .conftest import Console, csrf_token, in_process, push_return, register

NOTE = "Found on the returns trolley; checked in at the desk."


@pytest.fixture
def live(database_url: str) -> Iterator[Console]:
    with in_process(database_url) as console:
        register(console, "north", "south")
        for seq, (kiosk, barcode) in enumerate(
            [("north", "39990000000001"), ("south", "39990000000002"), ("north", "39990000000003")],
            start=1,
        ):
            answer = push_return(console.url, console.tokens[kiosk], f"{kiosk}:{seq}", seq, barcode)
            assert answer.status_code == 200, answer.text
            assert answer.json()["results"][0]["outcome"] == "exception"
        yield console


def _ids(console: Console, browser: requests.Session, query: str) -> list[int]:
    text = browser.get(f"{console.url}/staff/exceptions{query}", timeout=10).text
    return [int(found) for found in re.findall(r'data-exception="(\d+)"', text)]


def _numbers(console: Console) -> dict[str, int]:
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        found = {row.exception.entry_id: row.exception.id for row in exceptions(db, state="all")}
    engine.dispose()
    return found


def test_the_queue_filters_by_state_kind_and_kiosk_and_sorts_by_date(live: Console) -> None:
    numbers = _numbers(live)
    first, second, third = numbers["north:1"], numbers["south:2"], numbers["north:3"]
    vera = live.login("vera")
    assert _ids(live, vera, "") == [first, second, third]  # open, oldest first
    assert _ids(live, vera, "?order=newest") == [third, second, first]
    engine = database.connect(live.database_url)
    with Session(engine) as db:
        north = next(row.exception.kiosk_id for row in exceptions(db) if row.kiosk == "north")
    engine.dispose()
    assert _ids(live, vera, f"?kiosk={north}") == [first, third]
    assert _ids(live, vera, "?kind=unknown_item&order=newest") == [third, second, first]
    assert _ids(live, vera, "?kind=already_returned") == []
    assert _ids(live, vera, "?state=resolved") == []
    # Nonsense filters are no filters, never an error.
    assert _ids(live, vera, "?state=%27;drop&kind=%25&kiosk=x&order=sideways") == [
        first,
        second,
        third,
    ]


def test_circulation_resolves_with_a_note_audited_and_a_viewer_cannot(live: Console) -> None:
    number = _numbers(live)["south:2"]
    page = f"/staff/exceptions/{number}"
    form = f"{live.url}{page}/resolve"
    # A viewer reads the exception but is offered no form, and its POST is refused.
    vera = live.login("vera")
    seen = vera.get(live.url + page, timeout=10)
    assert seen.status_code == 200
    assert "39990000000002" in seen.text
    assert 'id="note"' not in seen.text
    token = csrf_token(vera, live.url, page)
    answer = vera.post(form, data={"note": NOTE, "csrf_token": token}, timeout=10)
    assert answer.status_code == 403
    assert "Your role cannot open this page" in answer.text
    # Circulation staff: no token, a forged one, and an empty note are each refused.
    cyril = live.login("cyril")
    token = csrf_token(cyril, live.url, page)
    for data in ({"note": NOTE}, {"note": NOTE, "csrf_token": "forged"}):
        answer = cyril.post(form, data=data, allow_redirects=False, timeout=10)
        assert answer.status_code == 403
        assert "could not be accepted" in answer.text
    empty = cyril.post(form, data={"note": "  ", "csrf_token": token}, timeout=10)
    assert "the note is empty" in empty.text  # and nothing audited (checked below)
    assert number in [found.id for found in _open(live)]
    # The real thing.
    answer = cyril.post(
        form, data={"note": NOTE, "csrf_token": token}, allow_redirects=False, timeout=10
    )
    assert (answer.status_code, answer.headers["location"]) == (303, page)
    shown = cyril.get(live.url + page, timeout=10).text
    assert "Resolved" in shown
    assert "by cyril" in shown
    assert "returns trolley" in shown
    assert _ids(live, cyril, "?state=resolved") == [number]
    assert number not in _ids(live, cyril, "")
    # Resolved once: a second note does not replace the first.
    again = cyril.post(form, data={"note": "another", "csrf_token": token}, timeout=10)
    assert "resolved already" in again.text
    engine = database.connect(live.database_url)
    with Session(engine) as db:
        resolved = db.get(StaffException, number)
        assert resolved is not None
        assert (resolved.resolution, resolved.resolved_by) == (NOTE, "cyril")
        audited = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "exception.resolve")
        ).all()
        assert [(entry.actor, entry.target, entry.detail) for entry in audited] == [
            ("cyril", f"exception {number}", NOTE)
        ]
        assert audited[0].at == resolved.resolved_at  # one transaction, one moment
    engine.dispose()
    # An admin may resolve too; an unknown number is a 404.
    ada = live.login("ada")
    other = _numbers(live)["north:1"]
    answer = ada.post(
        f"{live.url}/staff/exceptions/{other}/resolve",
        data={
            "note": "seen",
            "csrf_token": csrf_token(ada, live.url, f"/staff/exceptions/{other}"),
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303
    assert ada.get(f"{live.url}/staff/exceptions/999999", timeout=10).status_code == 404


def _open(console: Console) -> list[StaffException]:
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        found = open_exceptions(db)
    engine.dispose()
    return found


def test_a_long_queue_is_read_a_hundred_at_a_time(live: Console) -> None:
    """Past the first hundred, the queue goes on over pages, each numbered, none lost."""
    engine = database.connect(live.database_url)
    with Session(engine) as db:
        model = db.scalars(select(StaffException)).first()
        assert model is not None
        db.add_all(
            StaffException(
                entry_id=f"north:{1000 + n}",
                kiosk_id=model.kiosk_id,
                reason="not_on_loan",
                detail=f"item {n} came back but was not on loan",
                created_at=model.created_at,
            )
            for n in range(247)
        )
        db.commit()
        every = {row.exception.id for row in exceptions(db, state="all", limit=1000)}
    engine.dispose()
    vera = live.login("vera")
    pages = [_ids(live, vera, f"?page={page}") for page in (1, 2, 3)]
    assert [len(found) for found in pages] == [100, 100, 50]
    assert {number for found in pages for number in found} == every
    last = vera.get(f"{live.url}/staff/exceptions?page=3", timeout=10).text
    assert "250 exceptions: open (showing 201 to 250)" in last
    assert 'rel="prev"' in last
    assert 'rel="next"' not in last
    assert _ids(live, vera, "?page=99") == pages[2]  # past the end: the last page
    assert _ids(live, vera, "?page=2&kind=unknown_item") == _ids(live, vera, "?kind=unknown_item")
