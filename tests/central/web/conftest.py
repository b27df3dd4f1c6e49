"""The staff console as staff meet it: the real ``kiosk-central serve`` on a loopback
port, and Debian's chromium driven by Playwright (never ``playwright install``).

One server and one browser are shared by a module's tests: the server (over SQLite, with
three accounts, one of each role, and kiosks in each state) costs a second or two to
start, the browser about as much.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
import uvicorn
from playwright.sync_api import Browser, Page, Request, sync_playwright
from sqlalchemy import update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.api.app import create_app
from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.config import CONFIG_ENV
from kiosk.central.config.model import RegistrationSection
from kiosk.central.models import Kiosk
from kiosk.central.process import CentralProcess, free_port
from kiosk.central.web.accounts import add_staff
from kiosk.central.web.sessions import Lifetimes
from kiosk.central.web.settings import ConsoleSettings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORDS = {
    "ada": "ada's long admin password",
    "cyril": "cyril's circulation password",
    "vera": "vera's viewer-only password",
    "lena": "lena's password, to be locked",  # the lockout's victim alone
}
ROLES = {"ada": "admin", "cyril": "circulation", "vera": "viewer", "lena": "viewer"}
XSS = "<script>alert(1)</script>"


def failed_requests_into(problems: list[str]) -> Callable[[Request], None]:
    """A browser watcher's ``requestfailed`` handler: each failed request a problem, but
    for one the browser gave up itself as the page went on to the next (ERR_ABORTED: a
    script still loading when a form was sent), which is no failure of the server's."""

    def failed(request: Request) -> None:
        if "ERR_ABORTED" not in (request.failure or ""):
            problems.append(f"failed: {request.url}")

    return failed


@dataclass
class Console:
    url: str
    database_url: str
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)  # kiosks registered by a test

    def login(self, username: str, password: str | None = None) -> requests.Session:
        """A signed-in requests session (as a browser would: the sign-in page's token)."""
        browser = requests.Session()
        browser.get(f"{self.url}/staff/login", timeout=10)
        answer = browser.post(
            f"{self.url}/staff/login",
            data={
                "username": username,
                "password": PASSWORDS[username] if password is None else password,
                "csrf_token": csrf_token(browser, self.url),
            },
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 303, answer.text
        return browser


def csrf_token(browser: requests.Session, url: str, page: str = "/staff/login") -> str:
    """The hidden csrf_token of a page's form, as the browser would send it."""
    text = browser.get(f"{url}{page}", timeout=10).text
    marker = 'name="csrf_token" value="'
    start = text.index(marker) + len(marker)
    return text[start : text.index('"', start)]


def _library(database_url: str) -> None:
    """The accounts, and kiosks whose heartbeats make each light: the server uses the
    real clock, so the heartbeats are placed relative to now."""
    engine = database.connect(database_url)
    database.upgrade(engine)
    now = datetime.now().replace(microsecond=0)
    with Session(engine) as db:
        for username, password in PASSWORDS.items():
            add_staff(db, username, ROLES[username], password, now, actor="test", origin="test")
        for name in ("branch-1", "branch-2", "branch-3", XSS):
            add_kiosk(db, name, now)
        beats = {
            "branch-1": {"last_seen": now, "journal_depth": 0, "disk_free_mb": 12000},
            "branch-2": {
                "last_seen": now - timedelta(minutes=1),
                "journal_depth": 4,
                "oldest_pending": now - timedelta(hours=2),
                "last_error": "server unreachable",
                "disk_free_mb": 150,
            },
            "branch-3": {"last_seen": now - timedelta(hours=3), "journal_depth": 12},
        }
        for name, beat in beats.items():
            db.execute(
                update(Kiosk)
                .where(Kiosk.name == name)
                .values(version="0.1.0", scanners=["hid:Honeywell"], **beat)
            )
        db.commit()
    engine.dispose()


def serve(directory: Path, *, secure_cookies: bool = False, extra: str = "") -> Iterator[Console]:
    """``kiosk-central serve`` on a loopback port over a fresh library in ``directory``;
    ``extra``: more of central.toml (tables after [web])."""
    database_url = f"sqlite:///{directory / 'central.db'}"
    _library(database_url)
    config = directory / "central.toml"
    config.write_text(
        f'[library]\nname = "Riverside Library"\n[web]\nsecure_cookies = {str(secure_cookies).lower()}\n'
        + extra,
        encoding="utf-8",
    )
    log = directory / "server.log"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CONFIG_ENV, str(config))  # the child reads it: CentralProcess's own env
        server = CentralProcess(database_url, log=log).start()
    try:
        yield Console(server.url, database_url, log)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    yield from serve(tmp_path_factory.mktemp("console"))


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Chromium, for this folder's tests only: Playwright's sync API leaves its asyncio
    loop running on the main thread while it is open, and a test elsewhere that calls
    asyncio.run (SIP2's, Nagle's) after these in the same process would find it there."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page for each test."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    opened = context.new_page()
    yield opened
    context.close()


def screenshots() -> Path | None:
    """Where the walk saves the README's screenshots: ``$CONSOLE_SCREENSHOTS``, if set."""
    named = os.environ.get("CONSOLE_SCREENSHOTS")
    return Path(named) if named else None


def push_return(url: str, token: str, entry_id: str, seq: int, barcode: str) -> requests.Response:
    """A kiosk's offline return pushed to the real sync API, as the agent sends it (a
    barcode the catalogue lacks makes an ``unknown_item`` exception)."""
    entry = {
        "id": entry_id,
        "seq": seq,
        "kind": "return",
        "decided_at": datetime.now().replace(microsecond=0).isoformat(),
        "item_barcode": barcode,
        "patron_id": None,
        "details": {},
        "charged": "0.00",
        "status_after": "",
        "loan_patron_id": None,
        "loan_member_type": None,
        "loan_due": None,
        "loan_renewals": None,
        "fulfilled_hold_of": None,
    }
    return requests.post(
        f"{url}/v1/journal",
        json={"entries": [entry]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def heartbeat(url: str, token: str) -> requests.Response:
    beat = {
        "version": "0.1.0",
        "journal_depth": 0,
        "oldest_pending": None,
        "last_error": None,
        "scanners": [],
        "disk_free_mb": 5000,
    }
    return requests.post(
        f"{url}/v1/heartbeat", json=beat, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def register(console: Console, *names: str) -> None:
    """Kiosks added to the running server's database, their tokens kept for the test."""
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        for name in names:
            console.tokens[name] = add_kiosk(db, name, datetime.now().replace(microsecond=0))
    engine.dispose()


@contextmanager
def in_process(
    database_url: str,
    now: Callable[[], datetime] = datetime.now,
    *,
    registration: RegistrationSection | None = None,
) -> Iterator[Console]:
    """The same app ``kiosk-central serve`` builds (sync API, console and portal) served
    by uvicorn in this process, on the clock ``now``: cheap enough to run each test on
    SQLite and on PostgreSQL. ``registration``: the portal's [registration] (closed
    when not given)."""
    _library(database_url)
    engine = database.connect(database_url)
    settings = ConsoleSettings(
        secret_key="a test key that signs the CSRF tokens of this server",
        secure_cookies=False,
        lifetimes=Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12)),
        library_name="Riverside Library",
        registration=registration or RegistrationSection(),
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(engine, now, settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield Console(f"http://127.0.0.1:{port}", database_url, Path(os.devnull))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
