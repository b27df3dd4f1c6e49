"""An administrator gives a kiosk a new token or disables it, over HTTP on SQLite and
PostgreSQL, and the real sync API obeys at once: the old token refused and the new one
accepted; a disabled kiosk's push and heartbeat refused. Other roles cannot; no form
without its CSRF token; the token never in a URL or the server's answer headers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.models import AuditEntry, Kiosk

from .conftest import Console, csrf_token, heartbeat, in_process, push_return, register


@pytest.fixture
def live(database_url: str) -> Iterator[Console]:
    with in_process(database_url) as console:
        register(console, "lobby", "annexe")
        yield console


def _kiosk_id(console: Console, name: str) -> int:
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        found = db.scalars(select(Kiosk.id).where(Kiosk.name == name)).one()
    engine.dispose()
    return found


def _audit(console: Console, action: str) -> list[tuple[str, str]]:
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        rows = db.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        found = [(row.actor, row.target) for row in rows]
    engine.dispose()
    return found


def test_only_an_admin_with_the_pages_token_may_act_on_a_kiosk(live: Console) -> None:
    lobby = _kiosk_id(live, "lobby")
    page = f"/staff/kiosks/{lobby}"
    forms = (f"{page}/token", f"{page}/disable")
    for username in ("vera", "cyril"):
        signed_in = live.login(username)
        seen = signed_in.get(live.url + page, timeout=10)
        assert seen.status_code == 200
        assert 'id="new-token"' not in seen.text  # not offered
        token = csrf_token(signed_in, live.url, page)
        for form in forms:
            answer = signed_in.post(live.url + form, data={"csrf_token": token}, timeout=10)
            assert answer.status_code == 403, (username, form)
    anonymous = requests.Session()
    token = csrf_token(anonymous, live.url)
    for form in forms:
        assert (
            anonymous.post(live.url + form, data={"csrf_token": token}, timeout=10).status_code
            == 401
        )
    ada = live.login("ada")
    assert 'id="new-token"' in ada.get(live.url + page, timeout=10).text
    for form in forms:
        for data in ({}, {"csrf_token": "forged"}, {"csrf_token": token}):  # another's token
            answer = ada.post(live.url + form, data=data, allow_redirects=False, timeout=10)
            assert answer.status_code == 403, (form, data)
            assert "could not be accepted" in answer.text
    assert ada.get(f"{live.url}/staff/kiosks/999999", timeout=10).status_code == 404
    # Nothing changed: the kiosk's token still works.
    assert heartbeat(live.url, live.tokens["lobby"]).status_code == 200
    assert _audit(live, "kiosk.token") == []
    assert _audit(live, "kiosk.disable") == []


def test_a_new_token_is_shown_once_and_the_old_one_is_refused_at_once(live: Console) -> None:
    old = live.tokens["lobby"]
    assert heartbeat(live.url, old).status_code == 200
    lobby = _kiosk_id(live, "lobby")
    page = f"/staff/kiosks/{lobby}"
    ada = live.login("ada")
    answer = ada.post(
        f"{live.url}{page}/token",
        data={"csrf_token": csrf_token(ada, live.url, page)},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 200  # the answer itself: no redirect, no URL with it
    assert answer.headers["cache-control"] == "no-store"
    found = re.search(r'<code class="console-token" id="token">([^<]+)</code>', answer.text)
    assert found is not None
    new = found.group(1)
    assert new != old
    assert new not in answer.url
    assert all(new not in value for value in answer.headers.values())
    assert heartbeat(live.url, old).status_code == 401
    assert push_return(live.url, old, "lobby:1", 1, "39990000000009").status_code == 401
    assert heartbeat(live.url, new).status_code == 200
    assert push_return(live.url, new, "lobby:1", 1, "39990000000009").status_code == 200
    # Shown once: the kiosk's page never shows it again.
    assert new not in ada.get(live.url + page, timeout=10).text
    assert _audit(live, "kiosk.token") == [("ada", "lobby")]
    # The other kiosk is untouched.
    assert heartbeat(live.url, live.tokens["annexe"]).status_code == 200


def test_a_disabled_kiosk_is_refused_and_the_page_says_so(live: Console) -> None:
    token = live.tokens["annexe"]
    annexe = _kiosk_id(live, "annexe")
    page = f"/staff/kiosks/{annexe}"
    ada = live.login("ada")
    answer = ada.post(
        f"{live.url}{page}/disable",
        data={"csrf_token": csrf_token(ada, live.url, page)},
        allow_redirects=False,
        timeout=10,
    )
    assert (answer.status_code, answer.headers["location"]) == (303, page)
    refused = push_return(live.url, token, "annexe:1", 1, "39990000000010")
    assert refused.status_code == 403
    assert "disabled" in refused.json()["detail"]
    assert heartbeat(live.url, token).status_code == 403
    shown = ada.get(live.url + page, timeout=10).text
    assert 'id="disabled-banner"' in shown
    assert 'id="disable"' not in shown  # nothing more to do to it here
    listed = ada.get(f"{live.url}/staff/kiosks", timeout=10).text
    assert re.search(r'data-kiosk="annexe" data-light="disabled"', listed)
    # A second disable (a form sent twice) changes nothing and says why.
    again = ada.post(
        f"{live.url}{page}/disable",
        data={"csrf_token": csrf_token(ada, live.url, page)},
        timeout=10,
    )
    assert again.status_code == 409
    assert "disabled already" in again.text
    assert _audit(live, "kiosk.disable") == [("ada", "annexe")]
    # Its neighbour still syncs.
    assert heartbeat(live.url, live.tokens["lobby"]).status_code == 200
