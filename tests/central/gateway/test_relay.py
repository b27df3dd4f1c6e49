"""Gateway mode end to end: transactions decided on the gateway reach the library's own
system (a second kiosk-central, through its SIP2 server) once each, in the order
decided, whatever is lost or killed on the way. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, update

from kiosk.central.circulation import ledger
from kiosk.central.gateway.outbox import DONE, REFUSED, relay_status
from kiosk.central.gateway.relay import STALE_HOLD, Report
from kiosk.central.models import Loan, Patron, StaffException, UpstreamOutbox, UpstreamRelay
from tests.central.gateway.conftest import (
    ACTOR,
    Gateway,
    Proxy,
    barcode,
    card,
    count_upstream,
    patron_id,
    relay_to,
    unused_port,
    upstream_transactions,
    write_secret,
)
from tests.central.sip2.conftest import ACCOUNT, PASSWORD, RunningSip2


def _statuses(gateway: Gateway) -> list[str]:
    with gateway.session() as db:
        return list(db.scalars(select(UpstreamOutbox.status).order_by(UpstreamOutbox.change_seq)))


def test_every_transaction_is_relayed_once_in_the_order_decided(
    gateway: Gateway, upstream: RunningSip2
) -> None:
    gateway.checkout(0)
    gateway.checkout(1)
    gateway.renew(0)
    gateway.check_in(1)
    with gateway.session() as db:
        ledger.pay(db, patron_id(2), Decimal("1.25"), "cash", gateway.now(), ACTOR)
    gateway.checkout(2, item=1)  # the copy returned, lent again: after its return
    relay = relay_to(gateway, upstream.port)
    try:
        report = relay.run_once()
    finally:
        relay.close()
    assert (report.relayed, report.refused, report.errors) == (6, 0, [])
    assert upstream_transactions(upstream) == [
        ("checkout", barcode(0)),
        ("checkout", barcode(1)),
        ("renew", barcode(0)),
        ("return", barcode(1)),
        ("checkout", barcode(1)),
    ]
    with upstream.session() as db:
        loans = dict(
            db.execute(
                select(Loan.item_barcode, Loan.patron_id).where(Loan.item_barcode.like("3888%"))
            ).all()
        )
        assert loans == {barcode(0): patron_id(0), barcode(1): patron_id(2)}
        assert db.scalar(select(Loan.renewals).where(Loan.item_barcode == barcode(0))) == 1
        paid = db.get(Patron, patron_id(2))
        assert paid is not None
        assert paid.owed == Decimal("1.75")  # 3.00 less 1.25
    assert _statuses(gateway) == [DONE] * 6
    with gateway.session() as db:
        status = relay_status(db)
    assert (status.backlog, status.relayed, status.refused, status.last_error) == (
        6 - 6,
        6,
        0,
        None,
    )
    # Run again: nothing sent twice.
    relay = relay_to(gateway, upstream.port)
    try:
        assert relay.run_once().relayed == 0
    finally:
        relay.close()
    assert len(upstream_transactions(upstream)) == 5


def test_the_upstream_down_then_back_the_relay_catches_up(
    gateway: Gateway, upstream: RunningSip2
) -> None:
    gateway.checkout(3)
    gateway.checkout(4)
    down = relay_to(gateway, unused_port())
    report = down.run_once()
    down.close()
    assert report.relayed == 0
    assert report.errors
    assert "cannot connect" in report.errors[0]
    with gateway.session() as db:
        status = relay_status(db)
    assert status.backlog == 2
    assert status.oldest_waiting is not None
    assert status.last_error is not None
    assert "cannot connect" in status.last_error
    assert upstream_transactions(upstream) == []
    gateway.check_in(3)
    back = relay_to(gateway, upstream.port)
    try:
        report = back.run_once()
    finally:
        back.close()
    assert (report.relayed, report.errors) == (3, [])
    assert upstream_transactions(upstream) == [
        ("checkout", barcode(3)),
        ("checkout", barcode(4)),
        ("return", barcode(3)),
    ]
    with gateway.session() as db:
        status = relay_status(db)
    assert (status.backlog, status.oldest_waiting, status.last_error) == (0, None, None)


def test_a_lost_answer_after_the_upstream_lent_it_is_not_lent_twice(
    gateway: Gateway, upstream: RunningSip2, proxy: Proxy
) -> None:
    gateway.checkout(5)
    gateway.checkout(6)
    proxy.lose_answer_to = b"11"
    relay = relay_to(gateway, proxy.port)
    try:
        first = relay.run_once()
        assert proxy.lost == 1
        assert first.errors
        assert count_upstream(upstream, "checkout", barcode(5)) == 1  # applied, answer lost
        assert _statuses(gateway) == ["sending", "sending"]
        second = relay.run_once()
    finally:
        relay.close()
    assert (second.verified, second.relayed, second.errors) == (1, 2, [])
    assert count_upstream(upstream, "checkout", barcode(5)) == 1
    assert count_upstream(upstream, "checkout", barcode(6)) == 1
    assert _statuses(gateway) == [DONE, DONE]


def test_an_upstream_refusal_becomes_an_exception_and_the_relay_goes_on(
    gateway: Gateway, upstream: RunningSip2
) -> None:
    with upstream.session() as db:
        db.execute(
            update(Patron)
            .where(Patron.patron_id == patron_id(7))
            .values(barred=True, barred_reason="lost cards")
        )
        db.commit()
    gateway.checkout(7)
    gateway.checkout(8)
    relay = relay_to(gateway, upstream.port)
    try:
        report = relay.run_once()
    finally:
        relay.close()
    assert (report.relayed, report.refused) == (1, 1)
    assert _statuses(gateway) == [REFUSED, DONE]
    with gateway.session() as db:
        found = db.scalars(select(StaffException).where(StaffException.source == "upstream")).all()
        assert [(e.reason, e.resolved_at) for e in found] == [("upstream_refused", None)]
        answer = db.scalar(select(UpstreamOutbox.answer).where(UpstreamOutbox.status == REFUSED))
        assert answer
        assert answer in found[0].detail
        assert f"item {barcode(7)}" in found[0].detail
        assert card(7) not in found[0].detail
        # The book left the building: the gateway's loan stands.
        assert db.scalar(select(Loan.patron_id).where(Loan.item_barcode == barcode(7))) == (
            patron_id(7)
        )
        assert relay_status(db).refused == 1
    assert count_upstream(upstream, "checkout", barcode(7)) == 0
    assert upstream_transactions(upstream) == [("checkout", barcode(8))]


def test_side_by_side_each_once_and_a_patrons_in_order(
    gateway: Gateway, upstream: RunningSip2, proxy: Proxy
) -> None:
    for n in range(14, 22):
        gateway.checkout(n)
    gateway.renew(14)  # the same patron and copy: a later run than its checkout
    gateway.check_in(15)
    gateway.checkout(16, item=15)  # patron 16's second loan, after 15 came back
    proxy.lose_answer_to = b"11"  # one lane's answer lost: asked after, not lent twice
    relay = relay_to(gateway, proxy.port, connections=3)
    try:
        first = relay.run_once()
        assert first.errors
        second = relay.run_once()
    finally:
        relay.close()
    assert second.errors == []
    assert first.relayed + second.relayed == 11
    assert second.verified == 1
    sent = upstream_transactions(upstream)
    assert sorted(sent) == sorted(
        [("checkout", barcode(n)) for n in range(14, 22)]
        + [("renew", barcode(14)), ("return", barcode(15)), ("checkout", barcode(15))]
    )
    # What depends on another arrived after it.
    assert sent.index(("renew", barcode(14))) > sent.index(("checkout", barcode(14)))
    first_loan = sent.index(("checkout", barcode(15)))
    assert sent.index(("return", barcode(15))) > first_loan
    assert sent[first_loan + 1 :].index(("checkout", barcode(15))) >= 0
    with upstream.session() as db:
        assert db.scalar(select(Loan.patron_id).where(Loan.item_barcode == barcode(15))) == (
            patron_id(16)
        )
    assert set(_statuses(gateway)) == {DONE}


def test_two_relays_at_once_one_sends(gateway: Gateway, upstream: RunningSip2) -> None:
    for n in range(9, 13):
        gateway.checkout(n)
    first = relay_to(gateway, upstream.port, holder="relay-one", run=2)
    second = relay_to(gateway, upstream.port, holder="relay-two", run=2)
    try:
        assert first._hold()
        assert not second._hold()
        assert second.run_once().relayed == 0
        assert first.run_once().relayed == 4
    finally:
        first.close()
        second.close()
    assert upstream_transactions(upstream) == [("checkout", barcode(n)) for n in range(9, 13)]


def _relay_process(
    tmp_path: Path, database_url: str, port: int, *extra: str
) -> subprocess.Popen[bytes]:
    password = write_secret(tmp_path / "upstream-password", PASSWORD)
    config = tmp_path / "central.toml"
    config.write_text(
        '[upstream]\nenabled = true\nhost = "127.0.0.1"\n'
        f'port = {port}\nuser = "{ACCOUNT}"\npassword_file = "{password}"\n'
        "retry_seconds = 0.2\nretry_max_seconds = 1\n",
        encoding="utf-8",
    )
    return subprocess.Popen(
        [
            sys.executable,
            *("-m", "kiosk.central.cli", "--db", database_url, "--config", str(config)),
            "relay",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "relay.log").open("ab"),
    )


def test_kill_9_of_the_relay_mid_send_then_again_nothing_doubled_or_lost(
    gateway: Gateway, upstream: RunningSip2, database_url: str, tmp_path: Path
) -> None:
    count = 40
    for n in range(count):
        gateway.checkout(n)
    for n in range(0, count, 2):
        gateway.check_in(n)
    expected = [("checkout", barcode(n)) for n in range(count)] + [
        ("return", barcode(n)) for n in range(0, count, 2)
    ]
    process = _relay_process(tmp_path, database_url, upstream.port)
    try:
        deadline = time.monotonic() + 60
        while not upstream_transactions(upstream):
            assert time.monotonic() < deadline, (tmp_path / "relay.log").read_text()
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    sent_before = len(upstream_transactions(upstream))
    assert 0 < sent_before < len(expected)
    again = _relay_process(tmp_path, database_url, upstream.port, "--once")
    out, _ = again.communicate(timeout=120)
    log = (tmp_path / "relay.log").read_text()
    assert again.returncode == 0, log
    assert "took over" in log
    assert upstream_transactions(upstream) == expected
    assert set(_statuses(gateway)) == {DONE}
    assert b"relayed" in out
    for one in (card(n) for n in range(count)):
        assert one not in log


def test_status_says_backlog_oldest_and_last_error(gateway: Gateway, database_url: str) -> None:
    gateway.checkout(13)
    down = relay_to(gateway, unused_port())
    down.run_once()
    down.close()
    shown = subprocess.run(
        [sys.executable, "-m", "kiosk.central.cli", "--db", database_url, "status", "--json"],
        capture_output=True,
        check=True,
    )
    figures = json.loads(shown.stdout)["upstream"]
    assert figures["relaying"] is True
    assert figures["backlog"] == 1
    assert figures["oldest_waiting_seconds"] is not None
    assert "cannot connect" in figures["last_error"]
    text = subprocess.run(
        [sys.executable, "-m", "kiosk.central.cli", "--db", database_url, "status"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    assert "backlog 1" in text
    assert "last error" in text
    with gateway.session() as db:
        assert db.scalar(select(func.count()).select_from(UpstreamOutbox)) == 1


def test_the_relay_service_relays_as_they_come_and_stops_on_sigterm(
    gateway: Gateway, upstream: RunningSip2, database_url: str, tmp_path: Path
) -> None:
    process = _relay_process(tmp_path, database_url, upstream.port)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"kiosk-central relay: running\n"
        gateway.checkout(22)  # decided while it runs: found within its second's look
        deadline = time.monotonic() + 60
        while upstream_transactions(upstream) != [("checkout", barcode(22))]:
            assert time.monotonic() < deadline, (tmp_path / "relay.log").read_text()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert _statuses(gateway) == [DONE]


def test_no_block_replays_are_recorded_upstream_as_the_facts_they_are(
    gateway: Gateway, upstream: RunningSip2
) -> None:
    with upstream.session() as db:
        db.execute(update(Patron).where(Patron.patron_id == patron_id(23)).values(barred=True))
        db.commit()
    gateway.checkout(23)
    relay = relay_to(gateway, upstream.port, no_block=True)
    try:
        report = relay.run_once()
    finally:
        relay.close()
    assert (report.relayed, report.refused) == (1, 0)
    # The upstream took it as a fact (a no-block checkout) and kept it for its own staff.
    assert upstream_transactions(upstream) == [("checkout", barcode(23))]
    with upstream.session() as db:
        found = db.scalars(
            select(StaffException.reason).where(StaffException.source.like("sip2:%"))
        ).all()
    assert "refused_now" in found


def test_a_lost_renewal_answer_is_found_done_by_the_due_date_it_moved(
    gateway: Gateway, upstream: RunningSip2, proxy: Proxy
) -> None:
    with gateway.session() as db, upstream.session() as up:
        # Lent a week ago on both sides, so that a renewal today moves the due date.
        for session in (db, up):
            session.add(
                Loan(
                    item_barcode=barcode(24),
                    patron_id=patron_id(24),
                    member_type="ADULT",
                    due=(gateway.now() + timedelta(days=1)).date().isoformat(),
                    renewals=0,
                    lent_at=gateway.now() - timedelta(days=7),
                    kiosk_id=None,
                )
            )
            session.commit()
    gateway.renew(24)
    proxy.lose_answer_to = b"29"
    relay = relay_to(gateway, proxy.port)
    try:
        first = relay.run_once()
        assert first.errors
        assert proxy.lost == 1
        second = relay.run_once()
    finally:
        relay.close()
    assert (second.verified, second.relayed, second.errors) == (1, 1, [])
    assert count_upstream(upstream, "renew", barcode(24)) == 1
    with upstream.session() as db:
        assert db.scalar(select(Loan.renewals).where(Loan.item_barcode == barcode(24))) == 1


def test_a_lost_payment_answer_is_not_sent_again_but_left_to_staff(
    gateway: Gateway, upstream: RunningSip2, proxy: Proxy
) -> None:
    with gateway.session() as db:
        ledger.pay(db, patron_id(25), Decimal("2.00"), "cash", gateway.now(), ACTOR)
    proxy.lose_answer_to = b"37"
    relay = relay_to(gateway, proxy.port)
    try:
        assert relay.run_once().errors
        second = relay.run_once()
    finally:
        relay.close()
    assert (second.relayed, second.refused, second.errors) == (0, 1, [])
    assert _statuses(gateway) == [REFUSED]
    with gateway.session() as db:
        details = list(db.scalars(select(StaffException.detail)))
    assert len(details) == 1
    assert "may not have reached the library system" in details[0]
    with upstream.session() as db:
        paid = db.get(Patron, patron_id(25))
        assert paid is not None
        assert paid.owed == Decimal("1.00")  # 3.00 less 2.00: the lost answer's, once


def test_a_second_relay_does_not_take_over_while_the_first_sends(
    gateway: Gateway, upstream: RunningSip2, proxy: Proxy
) -> None:
    """Each message takes 90 s of the relays' clock, the hold goes stale after 120: a
    hold renewed only at commits would be taken mid-run and its rows sent again."""
    for n in range(26, 30):
        gateway.checkout(n)
    moment = [datetime.now(UTC).replace(tzinfo=None)]

    def now() -> datetime:
        return moment[0]

    first = relay_to(gateway, proxy.port, holder="relay-one")
    second = relay_to(gateway, upstream.port, holder="relay-two")
    first.now = second.now = now
    attempts: list[Report] = []

    def meanwhile(message: bytes) -> None:
        if message.startswith(b"11"):
            moment[0] += timedelta(seconds=90)
            attempts.append(second.run_once())

    proxy.on_message = meanwhile
    try:
        done = first.run_once()
    finally:
        first.close()
        second.close()
    assert len(attempts) == 4
    assert [(a.relayed, a.refused, a.verified) for a in attempts] == [(0, 0, 0)] * 4
    assert (done.relayed, done.errors) == (4, [])
    assert upstream_transactions(upstream) == [("checkout", barcode(n)) for n in range(26, 30)]
    with gateway.session() as db:
        assert db.scalar(select(UpstreamRelay.holder)) == "relay-one"


def test_a_relay_passed_over_sends_nothing_more(
    gateway: Gateway, upstream: RunningSip2, proxy: Proxy
) -> None:
    """The relay stopped (a paused machine) while its first checkout was answered, longer
    than a hold lasts; a second relay took the row meanwhile. Its hold renewed before
    the next message, the first finds the row gone, and sends nothing more."""
    for n in range(30, 33):
        gateway.checkout(n)
    moment = [datetime.now(UTC).replace(tzinfo=None)]
    relay = relay_to(gateway, proxy.port, holder="relay-one")
    relay.now = lambda: moment[0]

    def taken(message: bytes) -> None:
        if message.startswith(b"11"):
            moment[0] += STALE_HOLD + timedelta(seconds=1)
            with gateway.session() as db:
                db.execute(update(UpstreamRelay).values(holder="relay-two", held_at=moment[0]))
                db.commit()

    proxy.on_message = taken
    try:
        report = relay.run_once()
    finally:
        relay.close()
    assert report.relayed == 0
    assert upstream_transactions(upstream) == [("checkout", barcode(30))]
