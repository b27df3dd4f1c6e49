"""The console as an attacker meets it, over plain HTTP against the real server: no
session, each role, missing and forged CSRF tokens, other sessions' ids, the lockout,
the headers, and what the server's log keeps."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.models import AuditEntry, StaffMember

from .conftest import PASSWORDS, Console, csrf_token, serve

PAGES = (
    "/staff/",
    "/staff/kiosks",
    "/staff/kiosks/table",  # the Kiosks page's table alone, which its script refreshes
    "/staff/kiosks/1",
    "/staff/branches",  # every role reads it; adding one: test_branches_page
    "/staff/exceptions",
    "/staff/notices",  # the outbox: every role; a resend: circulation and above
    "/staff/notices/print",
    "/staff/desk",  # finding the patron: circulation and above
    "/staff/desk/returns",
    "/staff/holds",  # the hold shelf: every role; an item's queue: test_desk_browser
    "/staff/policy",
    "/staff/policy/upload",  # the upload form: administrators only
    "/staff/imports",
    "/staff/patrons",  # the search form; a patron's own pages: test_patrons_browser
    "/staff/items",
    "/staff/records/new",  # a form's page: circulation and above
    "/staff/items/new",
    "/staff/reports",
    "/staff/reports/loans-per-day.csv",  # each report's CSV download: the same role
    "/staff/audit",
)
FORMS = (
    "/staff/logout",
    "/staff/kiosks/1/token",
    "/staff/kiosks/1/disable",
    "/staff/branches",
    "/staff/exceptions/1/resolve",
    "/staff/notices/1/resend",
    "/staff/notices/printed",
    "/staff/desk/find",
    "/staff/desk/checkout",
    "/staff/desk/return",
    "/staff/desk/renew",
    "/staff/desk/hold",
    "/staff/desk/returns",
    "/staff/holds/place",
    "/staff/holds/1/move",
    "/staff/holds/1/cancel",
    "/staff/policy/upload",  # multipart forms: their own tests in test_imports_browser
    "/staff/imports",
    "/staff/patrons/search",
    "/staff/patrons/p-1/edit",
    "/staff/patrons/p-1/bar",
    "/staff/patrons/p-1/unbar",
    "/staff/patrons/p-1/pin",
    "/staff/patrons/p-1/one-time-pin",
    "/staff/patrons/p-1/pay",
    "/staff/patrons/p-1/waive",
    "/staff/patrons/p-1/renew",
    "/staff/items/search",
    "/staff/items/31000000000011/status",
    "/staff/records/new",
    "/staff/items/new",
)
ADMIN_ONLY = {"/staff/audit", "/staff/policy/upload", "/staff/imports"}
NOT_FOR_VIEWERS = {
    "/staff/records/new",
    "/staff/items/new",
    "/staff/desk",
    "/staff/desk/returns",
}
REFUSED = "The username or password is wrong, or the account is locked."


def refused_sign_in(text: str) -> bool:
    return REFUSED in text


def test_every_page_without_a_session_sends_to_sign_in_and_every_form_is_401(
    console: Console,
) -> None:
    for path in PAGES:
        answer = requests.get(console.url + path, allow_redirects=False, timeout=10)
        assert (answer.status_code, answer.headers["location"]) == (303, "/staff/login"), path
    anonymous = requests.Session()
    token = csrf_token(anonymous, console.url)
    for path in FORMS:
        answer = anonymous.post(console.url + path, data={"csrf_token": token}, timeout=10)
        assert answer.status_code == 401, path


@pytest.mark.parametrize("username", ["ada", "cyril", "vera"])
def test_each_role_opens_its_pages_and_no_other(console: Console, username: str) -> None:
    signed_in = console.login(username)
    for path in PAGES:
        answer = signed_in.get(console.url + path, allow_redirects=False, timeout=10)
        allowed = (path not in ADMIN_ONLY or username == "ada") and (
            path not in NOT_FOR_VIEWERS or username != "vera"
        )
        assert answer.status_code == (200 if allowed else 403), (username, path)


def test_a_form_without_its_token_or_with_a_forged_one_is_refused(console: Console) -> None:
    browser = requests.Session()
    token = csrf_token(browser, console.url)
    login = f"{console.url}/staff/login"
    ada = {"username": "ada", "password": PASSWORDS["ada"]}
    # No token; a made-up token; a token of the right shape signed by nobody.
    for data in (
        ada,
        {**ada, "csrf_token": "forged"},
        {**ada, "csrf_token": secrets.token_hex(20)},
    ):
        answer = browser.post(login, data=data, allow_redirects=False, timeout=10)
        assert answer.status_code == 403
        assert "could not be accepted" in answer.text
    # Another browser's token and cookie: each valid, but not a pair.
    other = requests.Session()
    other_token = csrf_token(other, console.url)
    answer = browser.post(
        login, data={**ada, "csrf_token": other_token}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 403
    # The form's own token but no cookie (a cross-site post carries none: SameSite).
    answer = requests.post(
        login, data={**ada, "csrf_token": token}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 403
    # And the real thing works.
    answer = browser.post(
        login, data={**ada, "csrf_token": token}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 303
    # Signed in, sign-out is a form too: a forged token leaves the session open.
    answer = browser.post(f"{console.url}/staff/logout", data={"csrf_token": "x"}, timeout=10)
    assert answer.status_code == 403
    assert (
        browser.get(f"{console.url}/staff/kiosks", allow_redirects=False, timeout=10).status_code
        == 200
    )


def _session_cookie(browser: requests.Session) -> str:
    return browser.cookies["staff_session"]


def test_an_ended_a_made_up_or_a_planted_session_id_opens_nothing(console: Console) -> None:
    kiosks = f"{console.url}/staff/kiosks"

    def opens(session_id: str) -> bool:
        answer = requests.get(
            kiosks, cookies={"staff_session": session_id}, allow_redirects=False, timeout=10
        )
        return answer.status_code == 200

    cyril = console.login("cyril")
    stolen = _session_cookie(cyril)
    assert opens(stolen)  # a live id is all it takes: hence HttpOnly, Secure, no logs
    cyril.post(
        f"{console.url}/staff/logout",
        data={"csrf_token": csrf_token(cyril, console.url, "/staff/")},
        timeout=10,
    )
    assert not opens(stolen)  # signed out: the id is dead everywhere
    assert not opens(secrets.token_urlsafe(32))
    assert not opens("")
    assert not opens("x" * 5000)
    # Fixation: an id planted before sign-in is replaced, and dies.
    vera = console.login("vera")
    planted = _session_cookie(vera)
    victim = requests.Session()
    victim.cookies.set("staff_session", planted)
    victim.get(f"{console.url}/staff/login", timeout=10)
    token = csrf_token(victim, console.url)
    answer = victim.post(
        f"{console.url}/staff/login",
        data={"username": "ada", "password": PASSWORDS["ada"], "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    given = re.search(r"staff_session=([^;]+);", answer.headers["set-cookie"])
    assert given is not None
    assert given.group(1) != planted
    assert opens(given.group(1))
    assert not opens(planted)


def test_five_wrong_passwords_lock_the_account_with_the_same_answer(console: Console) -> None:
    def attempt(username: str, password: str) -> requests.Response:
        browser = requests.Session()
        return browser.post(
            f"{console.url}/staff/login",
            data={
                "username": username,
                "password": password,
                "csrf_token": csrf_token(browser, console.url),
            },
            allow_redirects=False,
            timeout=10,
        )

    for _ in range(5):
        answer = attempt("lena", "wrong wrong wrong wrong")
        assert answer.status_code == 200
        assert refused_sign_in(answer.text)
    # Locked: the right password is refused, in the same words as an unknown name.
    locked = attempt("lena", PASSWORDS["lena"])
    unknown = attempt("no-such-person", PASSWORDS["lena"])
    assert refused_sign_in(locked.text)
    assert refused_sign_in(unknown.text)
    summary = re.compile(r'<div class="govuk-error-summary".*?</div>\s*</div>', re.S)
    assert summary.findall(locked.text) == summary.findall(unknown.text)
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        lena = db.scalars(select(StaffMember).where(StaffMember.username == "lena")).one()
        assert lena.locked_until is not None
        assert lena.locked_until > datetime.now()
        details = list(db.scalars(select(AuditEntry.detail).where(AuditEntry.target == "lena")))
        actions = list(
            db.scalars(select(AuditEntry.target).where(AuditEntry.action == "signin.refused"))
        )
    engine.dispose()
    assert "wrong password; locked for 15 minutes" in details
    assert "no-such-person" not in actions  # a typed name is never recorded


def test_every_console_response_carries_the_security_headers(console: Console) -> None:
    ada = console.login("ada")
    answers = [ada.get(console.url + path, timeout=10) for path in (*PAGES, "/staff/login")]
    answers.append(requests.get(f"{console.url}/staff/login", timeout=10))
    answers.append(requests.get(f"{console.url}/staff/signed-out", timeout=10))
    answers.append(console.login("cyril").get(f"{console.url}/staff/audit", timeout=10))  # 403
    for answer in answers:
        headers = answer.headers
        assert headers["cache-control"] == "no-store", answer.url
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in answer.text.replace(
            '<script type="module"', ""
        )  # no inline script
    asset = requests.get(
        f"{console.url}/staff/static/govuk-frontend/govuk-frontend.min.css", timeout=10
    )
    assert asset.ok
    assert asset.headers["x-content-type-options"] == "nosniff"
    cookie = ada.get(f"{console.url}/staff/login", timeout=10)
    assert cookie.status_code == 200


def test_the_cookies_are_httponly_and_samesite(console: Console) -> None:
    browser = requests.Session()
    page = browser.get(f"{console.url}/staff/login", timeout=10)
    assert re.search(
        r"staff_csrf=[^;]+;.*HttpOnly.*SameSite=strict", page.headers["set-cookie"], re.I
    )
    answer = browser.post(
        f"{console.url}/staff/login",
        data={
            "username": "cyril",
            "password": PASSWORDS["cyril"],
            "csrf_token": csrf_token(browser, console.url),
        },
        allow_redirects=False,
        timeout=10,
    )
    assert re.search(
        r"staff_session=[^;]+;.*HttpOnly.*SameSite=strict", answer.headers["set-cookie"], re.I
    )


@pytest.fixture(scope="module")
def secure_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    yield from serve(tmp_path_factory.mktemp("secure"), secure_cookies=True)


def test_behind_https_the_cookies_are_secure_and_host_only(secure_console: Console) -> None:
    browser = requests.Session()
    page = browser.get(f"{secure_console.url}/staff/login", timeout=10)
    csrf = page.headers["set-cookie"]
    assert csrf.startswith("__Host-staff_csrf=")
    assert "Secure" in csrf
    assert "Domain" not in csrf
    # requests keeps a Secure cookie from plain HTTP to itself: sent back here by hand.
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = requests.post(
        f"{secure_console.url}/staff/login",
        data={"username": "ada", "password": PASSWORDS["ada"], "csrf_token": token.group(1)},
        cookies={"__Host-staff_csrf": csrf.split(";")[0].split("=", 1)[1]},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303
    session = answer.headers["set-cookie"]
    assert re.match(r"__Host-staff_session=[^;]+;", session)
    assert all(part in session for part in ("HttpOnly", "Secure", "Path=/")), session


def test_the_servers_log_keeps_no_password_and_no_query_string(
    console: Console, tmp_path: Path
) -> None:
    ada = console.login("ada")
    ada.get(f"{console.url}/staff/kiosks?card=20000000000022&surname=Featherstonehaugh", timeout=10)
    requests.get(f"{console.url}/staff/login?email=someone%40example.org", timeout=10)
    log = console.log.read_text(encoding="utf-8")
    assert '"GET /staff/kiosks HTTP/1.1" 200' in log  # the access log is on, and shortened
    for secret in (
        *PASSWORDS.values(),
        "20000000000022",
        "Featherstonehaugh",
        "example.org",
        "card=",
    ):
        assert secret not in log
    assert _session_cookie(ada) not in log
    assert tmp_path.exists()


def test_a_body_no_console_form_sends_is_refused_before_anything_reads_it(
    console: Console,
) -> None:
    """A sign-in page is open to anyone: a huge body, one of no declared length, or a
    file posted to it is refused unread, so no one can fill the server's disk."""
    url = f"{console.url}/staff/login"
    huge = requests.post(url, data={"username": "x" * (200 * 1024)}, timeout=10)
    assert huge.status_code == 413
    assert huge.headers["x-frame-options"] == "DENY"  # still a console answer

    def chunks() -> Iterator[bytes]:
        yield b"username=ada&"
        yield b"password=x"

    chunked = requests.post(
        url,
        data=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert chunked.status_code == 411
    with_file = requests.post(
        url, files={"username": ("a.csv", b"ada")}, data={"password": "x"}, timeout=10
    )
    assert with_file.status_code == 415
    # An ordinary form still goes through (refused only for its password here).
    browser = requests.Session()
    token = csrf_token(browser, console.url)
    answer = browser.post(
        url, data={"username": "nobody-here", "password": "wrong", "csrf_token": token}, timeout=10
    )
    assert answer.status_code == 200
    assert refused_sign_in(answer.text)
