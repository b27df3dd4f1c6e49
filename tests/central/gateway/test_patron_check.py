"""Gateway mode's patron check at the portal's sign-in: the library's own system (a
second kiosk-central's real SIP2 server) is asked first (63, the card and PIN) and
decides when it answers within [upstream] patron_check_seconds; down or silent, the
local verifier decides, and the patron waits no longer than the budget. SQLite and
PostgreSQL."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from kiosk.central.gateway.client import Login
from kiosk.central.gateway.patrons import PatronCheck
from kiosk.central.models import Patron
from kiosk.central.web.sessions import Lifetimes
from kiosk.central.web.settings import ConsoleSettings
from kiosk.common.clock import SystemClock
from kiosk.common.pins import pin_verifier
from kiosk.demo.library import GeneratedLibrary
from tests.central.conftest import ServerThread
from tests.central.gateway.conftest import (
    Gateway,
    Proxy,
    add_people,
    card,
    patron_id,
    settings_for,
    unused_port,
    write_secret,
)
from tests.central.sip2.conftest import (
    ACCOUNT,
    PASSWORD,
    RunningSip2,
    prepare_database,
    start_sip2,
)

UPSTREAM_PIN = "2468"
LOCAL_PIN = "1357"
N = 30


@contextmanager
def portal(gateway: Gateway, port: int, budget: float = 1.5) -> Iterator[str]:
    """The gateway's portal, in gateway mode towards ``port``, on a loopback port."""
    settings = ConsoleSettings(
        secret_key="a test key that signs the CSRF tokens of this server",
        secure_cookies=False,
        lifetimes=Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12)),
        library_name="Gateway Library",
        patron_check=PatronCheck(
            Login(settings_for(port, patron_check_seconds=budget), PASSWORD), SystemClock()
        ),
    )
    with ServerThread(gateway.engine, SystemClock(), console=settings) as server:
        yield server.url


def signs_in(url: str, pin: str, number: int = N) -> bool:
    browser = requests.Session()
    text = browser.get(f"{url}/my/login", timeout=30).text
    marker = 'name="csrf_token" value="'
    start = text.index(marker) + len(marker)
    token = text[start : text.index('"', start)]
    answer = browser.post(
        f"{url}/my/login",
        data={"card": card(number), "pin": pin, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code == 303:
        assert answer.headers["location"] == "/my/"
        return True
    assert answer.status_code == 200, answer.status_code
    return False


def _set_pin(session_maker: object, pin: str | None, **more: object) -> None:
    with session_maker() as db:  # type: ignore[operator]
        db.execute(
            update(Patron)
            .where(Patron.patron_id == patron_id(N))
            .values(pin_verifier=pin_verifier(pin) if pin else None, **more)
        )
        db.commit()


def test_the_upstream_decides_when_it_answers_in_time(
    gateway: Gateway, upstream: RunningSip2
) -> None:
    _set_pin(upstream.session, UPSTREAM_PIN)  # the gateway keeps no PIN for the patron
    # A budget a loaded test machine meets (the upstream verifies our login's password
    # and the PIN, each an argon2id verification); the budget itself is tested below.
    with portal(gateway, upstream.port, budget=8.0) as url:
        assert signs_in(url, UPSTREAM_PIN)
        assert not signs_in(url, "9999")
        _set_pin(upstream.session, UPSTREAM_PIN, barred=True, barred_reason="lost card")
        assert not signs_in(url, UPSTREAM_PIN)


def test_the_upstream_down_or_silent_the_local_pin_decides_within_the_budget(
    gateway: Gateway,
) -> None:
    _set_pin(gateway.session, LOCAL_PIN)
    with portal(gateway, unused_port()) as url:  # nothing listens there
        started = time.monotonic()
        assert signs_in(url, LOCAL_PIN)
        alone = time.monotonic() - started  # the sign-in's own time, refused at once
        assert not signs_in(url, UPSTREAM_PIN)
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        with portal(gateway, silent.getsockname()[1], budget=0.5) as url:
            started = time.monotonic()
            assert signs_in(url, LOCAL_PIN)
            waited = time.monotonic() - started
    finally:
        stop.set()
        thread.join(timeout=5)
        silent.close()
        for one in held:
            one.close()
    assert held  # it was asked
    # The budget, then the sign-in's own time (with room for a loaded machine).
    assert 0.5 <= waited < alone + 0.5 + 2.0


def _prepare_gateway(url: str, library: GeneratedLibrary) -> Engine:
    engine = prepare_database(url, library)
    add_people(engine)
    _set_pin(lambda: Session(engine), LOCAL_PIN)
    return engine


def _pin_answer(running: RunningSip2, pin: str) -> bytes:
    when = datetime.now().strftime("%Y%m%d    %H%M%S")
    with running.logged_in() as client:
        answer = client.ask(f"23001{when}AO|AA{card(N)}|AC|AD{pin}|".encode())
    assert answer.startswith(b"24"), answer
    return answer


@contextmanager
def _gateway_sip2(
    database_url: str, upstream: RunningSip2, tmp_path: Path, sip2_library: GeneratedLibrary
) -> Iterator[RunningSip2]:
    """The gateway's own SIP2 server, in gateway mode towards ``upstream``."""
    folder = tmp_path / "gateway-sip2"
    folder.mkdir()
    password = write_secret(folder / "upstream-password", PASSWORD)
    site = (
        f'[upstream]\nenabled = true\nhost = "127.0.0.1"\nport = {upstream.port}\n'
        f'user = "{ACCOUNT}"\npassword_file = "{password}"\npatron_check_seconds = 4\n'
    )
    with start_sip2(
        database_url, folder, sip2_library, site=site, prepare=_prepare_gateway
    ) as gateway_sip2:
        yield gateway_sip2


def test_a_sip2_devices_pin_is_checked_upstream_first(
    database_url: str, upstream: RunningSip2, tmp_path: Path, sip2_library: GeneratedLibrary
) -> None:
    _set_pin(upstream.session, UPSTREAM_PIN)
    with _gateway_sip2(database_url, upstream, tmp_path, sip2_library) as gateway_sip2:
        assert b"CQY" in _pin_answer(gateway_sip2, UPSTREAM_PIN)
        assert b"CQN" in _pin_answer(gateway_sip2, LOCAL_PIN)  # the upstream decides
        upstream.process.send_signal(signal.SIGSTOP)  # the upstream stops answering
        try:
            started = time.monotonic()
            assert b"CQY" in _pin_answer(gateway_sip2, LOCAL_PIN)  # the local PIN, in time
            assert time.monotonic() - started < 4 + 3.0
        finally:
            upstream.process.send_signal(signal.SIGCONT)


def _pin_state(session_maker: object) -> tuple[int, datetime | None]:
    with session_maker() as db:  # type: ignore[operator]
        failures, until = db.execute(
            select(Patron.pin_failures, Patron.pin_locked_until).where(
                Patron.patron_id == patron_id(N)
            )
        ).one()
    return failures, until


def test_the_portal_keeps_the_local_lock_and_counts_the_upstreams_wrong_answers(
    gateway: Gateway, upstream: RunningSip2
) -> None:
    _set_pin(upstream.session, UPSTREAM_PIN)
    with portal(gateway, upstream.port, budget=8.0) as url:
        assert not signs_in(url, "9999")
        assert _pin_state(gateway.session) == (1, None)  # the upstream's "wrong", counted
        assert signs_in(url, UPSTREAM_PIN)
        assert _pin_state(gateway.session) == (0, None)  # its "right" clears the count
        locked = datetime.now() + timedelta(minutes=15)
        _set_pin(gateway.session, None, pin_failures=5, pin_locked_until=locked)
        assert not signs_in(url, UPSTREAM_PIN)  # locked by wrong PINs here: still locked
        _set_pin(upstream.session, UPSTREAM_PIN, barred=True, barred_reason="lost card")
        _set_pin(gateway.session, None, pin_failures=0, pin_locked_until=None)
        assert not signs_in(url, UPSTREAM_PIN)  # blocked there
        assert _pin_state(gateway.session) == (0, None)


def test_an_unknown_card_is_answered_no_sooner_than_a_known_one(
    gateway: Gateway, upstream: RunningSip2, proxy: Proxy
) -> None:
    """The library's own system answers each 63 after a fixed delay: a card no patron
    here has must wait for it too, or how soon the refusal comes tells it is unknown."""
    delay = 1.0
    _set_pin(upstream.session, UPSTREAM_PIN)

    def slow(message: bytes) -> None:
        if message.startswith(b"63"):
            time.sleep(delay)

    proxy.on_message = slow
    known: list[float] = []
    unknown: list[float] = []
    with portal(gateway, proxy.port, budget=8.0) as url:
        assert not signs_in(url, "9999", number=N + 1)  # the first, slower, not measured
        for _ in range(3):
            for number, times in ((N, known), (9000, unknown)):  # 9000: no patron's card
                started = time.monotonic()
                assert not signs_in(url, "9999", number=number)
                times.append(time.monotonic() - started)
    assert min(known) >= delay
    assert min(unknown) >= delay
    # Each the upstream's delay and the same work on both sides, give or take a loaded
    # machine's noise: the unknown card's refusal is no sooner.
    assert sorted(unknown)[1] > sorted(known)[1] - 0.5


def test_a_sip2_device_meets_the_local_lock_and_its_wrong_pins_count(
    database_url: str, upstream: RunningSip2, tmp_path: Path, sip2_library: GeneratedLibrary
) -> None:
    _set_pin(upstream.session, UPSTREAM_PIN)
    with _gateway_sip2(database_url, upstream, tmp_path, sip2_library) as gateway_sip2:
        assert b"CQN" in _pin_answer(gateway_sip2, "9999")
        assert _pin_state(gateway_sip2.session) == (1, None)
        locked = datetime.now() + timedelta(minutes=15)
        _set_pin(gateway_sip2.session, LOCAL_PIN, pin_failures=5, pin_locked_until=locked)
        answer = _pin_answer(gateway_sip2, UPSTREAM_PIN)
        assert b"CQN" in answer
        assert b"Too many wrong PINs" in answer
        _set_pin(gateway_sip2.session, LOCAL_PIN, pin_failures=0, pin_locked_until=None)
        _set_pin(upstream.session, UPSTREAM_PIN, barred=True, barred_reason="lost card")
        answer = _pin_answer(gateway_sip2, UPSTREAM_PIN)
        assert b"CQN" in answer
        assert b"blocked" in answer
