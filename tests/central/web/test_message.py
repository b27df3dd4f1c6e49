"""The kiosks' message in the console (issue 17, item 7), as an attacker tries it, over
HTTP on SQLite and PostgreSQL: only an administrator with the page's CSRF token sets it;
a viewer, a circulation member, no token, a forged one or another's are refused and
change nothing; a message is text, never markup, in the page that shows it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.messages import messages

from .conftest import XSS, Console, csrf_token, in_process

FORM = "/staff/message"


@pytest.fixture
def live(database_url: str) -> Iterator[Console]:
    with in_process(database_url) as console:
        yield console


def kept(console: Console) -> dict[str, str]:
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        found = messages(db)
    engine.dispose()
    return found


def test_only_an_admin_with_the_pages_token_sets_the_message(live: Console) -> None:
    wanted = {"message_en": "Closed on Monday 25th"}
    for username in ("vera", "cyril"):
        signed_in = live.login(username)
        assert signed_in.get(live.url + FORM, timeout=10).status_code == 403
        token = csrf_token(signed_in, live.url, "/staff/")
        answer = signed_in.post(live.url + FORM, data={**wanted, "csrf_token": token}, timeout=10)
        assert answer.status_code == 403, username
    anonymous = requests.Session()
    token = csrf_token(anonymous, live.url)
    assert anonymous.post(live.url + FORM, data={**wanted, "csrf_token": token}).status_code == 401
    ada = live.login("ada")
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": token}):  # another's token
        answer = ada.post(live.url + FORM, data={**wanted, **data}, timeout=10)
        assert answer.status_code == 403, data
        assert "could not be accepted" in answer.text
    assert kept(live) == {}
    answer = ada.post(
        live.url + FORM,
        data={**wanted, "csrf_token": csrf_token(ada, live.url, FORM)},
        timeout=10,
    )
    assert answer.status_code == 200
    assert 'id="message-saved"' in answer.text
    assert kept(live) == {"en": "Closed on Monday 25th"}


def test_the_message_is_text_never_markup(live: Console) -> None:
    ada = live.login("ada")
    answer = ada.post(
        live.url + FORM,
        data={"message_fr": XSS, "csrf_token": csrf_token(ada, live.url, FORM)},
        timeout=10,
    )
    assert answer.status_code == 200
    assert kept(live) == {"fr": XSS}
    shown = ada.get(live.url + FORM, timeout=10).text
    assert XSS not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


def test_a_message_with_a_problem_is_said_and_changes_nothing(live: Console) -> None:
    ada = live.login("ada")
    answer = ada.post(
        live.url + FORM,
        data={
            "message_en": "fine",
            "message_es": "x" * 301,
            "csrf_token": csrf_token(ada, live.url, FORM),
        },
        timeout=10,
    )
    assert answer.status_code == 422
    assert "The message in Español must be 300 characters or fewer" in answer.text
    assert 'href="#message_es"' in answer.text
    assert kept(live) == {}
