"""Finding and sending notices, on SQLite and PostgreSQL, through a real SMTP server and
an HTTP gateway on loopback: each kind to a patron who chose it and to no one else, the
digest, texts, the printed list, a second run the same day sending nothing, the mail
server down then up, refusals retried with backoff then recorded as failed; the
hold-expiring notice naming the branch whose hold shelf the hold is on."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from kiosk.central.circulation.branches import add_branch
from kiosk.central.models import Hold, Loan, Notice, Patron
from kiosk.central.notices import outbox
from kiosk.central.notices.finding import Found
from kiosk.central.notices.runner import Runner
from kiosk.common.clock import FixedClock
from kiosk.demo.library import Scale
from tests.central.notices.conftest import (
    NOW,
    PATRONS,
    TODAY,
    Gateway,
    SmtpServer,
    body,
    demo_library,
    notices_config,
)

EVERY = [
    "due_soon",
    "hold_expiring",
    "hold_ready",
    "membership_expiring",
    "new_arrivals",
    "overdue",
    "receipt",
]


def _statuses(engine: Engine) -> dict[str, int]:
    with Session(engine) as db:
        return {k: v for k, v in outbox.counts(db).items() if v}


def test_each_kind_goes_once_to_whoever_chose_it(
    library: Engine,
    smtp: SmtpServer,
    gateway: Gateway,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="kiosk")
    runner = Runner(library, notices_config(smtp.port, gateway.url), clock.now)
    report = runner.run_once()
    mail = smtp.mail
    assert mail.kinds("ada@example.org") == EVERY
    assert mail.to("bo@example.org") == []  # chose nothing
    assert mail.to("ed@example.org") == []  # a digest: at eight tomorrow
    # Each message: plain text and HTML, the link to the preferences, no card number.
    for message in mail.to("ada@example.org"):
        text = body(message)
        html = body(message, "html")
        assert "https://library.example/my/preferences" in text
        assert 'href="https://library.example/my/preferences"' in html
        assert PATRONS["p-all"][0] not in message.as_string()
        assert "Surname" not in message.as_string()
    overdue = next(m for m in mail.to("ada@example.org") if m["X-Library-Notice"] == "overdue")
    assert "Emma" in overdue["Subject"] or "Emma" in body(overdue)
    assert "£0.20" in body(overdue)  # the fine so far
    # The texting patron's gateway got one request per kind, JSON, their number.
    texts = gateway.texts()
    assert len(texts) == len(EVERY)
    assert {text["to"] for text in texts} == {"+44 7700 900003"}
    assert all(len(text["text"]) <= 200 for text in texts)
    # The patron with neither channel: on the list to print.
    with Session(library) as db:
        printed = db.scalars(
            select(Notice.kind).where(Notice.status == "print", Notice.patron_id == "p-post")
        ).all()
    assert sorted(printed) == EVERY
    assert report.sent == len(mail.messages) + len(texts)
    # A second run the same day (and a restart: a new runner) sends nothing more.
    again = Runner(library, notices_config(smtp.port, gateway.url), clock.now).run_once()
    assert again.added == 0
    assert again.sent == 0
    assert len(gateway.texts()) == len(EVERY)
    assert mail.kinds("ada@example.org") == EVERY
    # No name, card, address or number in the logs.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("kiosk"))
    for card, first, email, phone, *_ in PATRONS.values():
        for secret in (card, f"Surname{first}", email, phone):
            assert not secret or secret not in logged


def test_a_digest_is_one_message_a_day_at_its_hour(
    library: Engine, smtp: SmtpServer, clock: FixedClock
) -> None:
    runner = Runner(library, notices_config(smtp.port), clock.now)
    runner.run_once()
    assert smtp.mail.to("ed@example.org") == []
    clock.set(NOW.replace(hour=7, minute=59) + timedelta(days=1))
    runner.run_once()
    assert smtp.mail.to("ed@example.org") == []
    # Before it goes, Ed brings Emma back and collects Dune: the digest leaves them out.
    number = list(PATRONS).index("p-digest")
    with Session(library) as db:
        db.execute(delete(Loan).where(Loan.item_barcode == f"{number}b"))
        db.execute(delete(Hold).where(Hold.item_barcode == f"{number}c"))
        db.commit()
    clock.set(NOW.replace(hour=8, minute=0) + timedelta(days=1))
    report = runner.run_once()
    (digest,) = smtp.mail.to("ed@example.org")
    assert digest["X-Library-Notice"] == "digest"
    text = body(digest)
    for title in ("Middlemarch", "Persuasion", "Brand New Novel"):
        assert title in text
    assert "Emma" not in text
    assert "Dune" not in text
    assert report.cancelled == 2  # the overdue notice and the hold-ready one
    with Session(library) as db:
        cancelled = db.scalars(
            select(Notice.kind).where(Notice.patron_id == "p-digest", Notice.status == "cancelled")
        ).all()
    assert sorted(cancelled) == ["hold_ready", "overdue"]
    clock.advance(hours=3)
    runner.run_once()
    assert len(smtp.mail.to("ed@example.org")) == 1


def test_the_mail_server_down_then_up_loses_nothing_and_sends_once(
    library: Engine, clock: FixedClock
) -> None:
    with SmtpServer() as probe:
        port = probe.port
    runner = Runner(library, notices_config(port), clock.now)
    report = runner.run_once()
    assert report.sent == 0
    assert report.waiting_for_server >= 1
    with Session(library) as db:
        waiting = db.scalars(
            select(Notice).where(Notice.channel == "email", Notice.digest.is_(False))
        ).all()
    assert waiting
    assert all(n.status == "waiting" and n.attempts == 0 for n in waiting)
    with SmtpServer(port) as smtp:
        clock.advance(minutes=2)
        runner.run_once()
        runner.run_once()
        runner.close()
        for address in ("ada@example.org", "eva@example.org", "fleur@example.org"):
            kinds = smtp.mail.kinds(address)
            assert kinds == EVERY, address


def test_a_refusal_is_tried_again_with_backoff_then_failed(
    library: Engine, smtp: SmtpServer, clock: FixedClock
) -> None:
    smtp.mail.refuse["ada@example.org"] = "450 4.2.1 Mailbox ada@example.org busy"
    smtp.mail.refuse["eva@example.org"] = "550 5.1.1 <EVA@example.org>: no such user"
    runner = Runner(library, notices_config(smtp.port, attempts=3, retry_minutes=5), clock.now)
    runner.run_once()
    with Session(library) as db:
        ada = db.scalars(select(Notice).where(Notice.patron_id == "p-all")).all()
        eva = db.scalars(select(Notice).where(Notice.patron_id == "p-es")).all()
    assert all(n.status == "waiting" and n.attempts == 1 for n in ada)
    assert all(n.send_after == NOW + timedelta(minutes=5) for n in ada)
    assert all(n.status == "failed" for n in eva)  # 5xx: at once
    for notice in (*ada, *eva):  # the server's words, without the address
        assert notice.last_error
        assert "example.org" not in notice.last_error.lower()
    clock.advance(minutes=5)
    runner.run_once()
    with Session(library) as db:
        ada = db.scalars(select(Notice).where(Notice.patron_id == "p-all")).all()
    assert all(n.attempts == 2 and n.send_after == clock.now() + timedelta(minutes=10) for n in ada)
    clock.advance(minutes=10)
    runner.run_once()
    with Session(library) as db:
        ada = db.scalars(select(Notice).where(Notice.patron_id == "p-all")).all()
    assert all(n.status == "failed" and n.attempts == 3 for n in ada)
    assert smtp.mail.to("ada@example.org") == []
    # Staff resend one: it goes once, the rest stay failed.
    with Session(library) as db:
        assert outbox.resend(db, ada[0].id, clock.now()) is not None
        db.commit()
    del smtp.mail.refuse["ada@example.org"]
    runner.run_once()
    assert len(smtp.mail.to("ada@example.org")) == 1


def test_the_demo_library_sends_notices_of_each_channel(
    tmp_path: Path, smtp: SmtpServer, gateway: Gateway
) -> None:
    # SQLite alone: the demo's data, not the database, is what this adds to the others.
    engine, _ = demo_library(
        f"sqlite:///{tmp_path / 'demo.db'}", Scale(items=300, patrons=60, loans=80, seed=3)
    )
    # A week on: loans are due, some overdue, the week's new arrivals are news.
    later = FixedClock(NOW + timedelta(days=14))
    report = Runner(engine, notices_config(smtp.port, gateway.url), later.now).run_once()
    assert report.sent > 0
    assert smtp.mail.messages
    assert all(str(m["To"]).endswith("@example.org") for m in smtp.mail.messages)
    assert gateway.requests
    with Session(engine) as db:
        counts = outbox.counts(db)
    assert counts["print"] > 0  # the patrons who chose neither
    assert counts["waiting"] > 0  # the digests, at eight tomorrow
    engine.dispose()


def test_what_a_notice_said_is_forgotten_after_thirty_days_and_it_is_never_sent_again(
    library: Engine, smtp: SmtpServer, clock: FixedClock
) -> None:
    runner = Runner(library, notices_config(smtp.port), clock.now)
    runner.run_once()
    sent_before = len(smtp.mail.to("ada@example.org"))
    with Session(library) as db:
        overdue = db.scalars(
            select(Notice).where(Notice.patron_id == "p-all", Notice.kind == "overdue")
        ).one()
    assert overdue.facts["items"][0]["title"] == "Emma"
    clock.advance(days=31)  # Emma still out: the third overdue notice is due by now
    report = runner.run_once()
    assert report.forgotten > 0
    with Session(library) as db:
        first = db.get(Notice, overdue.id)
        assert first is not None
        assert (first.status, first.facts) == ("sent", {})
        assert outbox.resend(db, overdue.id, clock.now()) is None  # nothing left to say
        db.rollback()
        thirds = db.scalars(
            select(Notice).where(Notice.patron_id == "p-all", Notice.subject == "level 3")
        ).all()  # Emma's, and Middlemarch's (due two days after the first run)
    assert sorted(n.facts["items"][0]["title"] for n in thirds) == ["Emma", "Middlemarch"]
    runner.run_once()
    kinds = [m["X-Library-Notice"] for m in smtp.mail.to("ada@example.org")[sent_before:]]
    assert kinds.count("overdue") == len(thirds)  # each third notice once; the first never


def test_texts_carry_the_gateways_credentials_and_its_refusals_are_kept(
    library: Engine, smtp: SmtpServer, gateway: Gateway, clock: FixedClock, tmp_path: Path
) -> None:
    secret = tmp_path / "sms.credentials"
    secret.write_text("library:s3cret-gateway\n")
    secret.chmod(0o600)
    config = notices_config(smtp.port, gateway.url)
    config = replace(
        config,
        notices=replace(
            config.notices,
            sms=replace(
                config.notices.sms,
                credentials_file=secret,
                body="to={{ to|urlencode }}&text={{ message|urlencode }}",
            ),
        ),
    )
    gateway.status = 503  # busy: tried again later
    runner = Runner(library, config, clock.now)
    runner.run_once()
    first = gateway.requests[0]
    assert first["headers"]["Authorization"] == "Basic bGlicmFyeTpzM2NyZXQtZ2F0ZXdheQ=="
    assert first["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert first["body"].startswith("to=%2B44%207700%20900003&text=")
    with Session(library) as db:
        texts = db.scalars(select(Notice).where(Notice.channel == "sms")).all()
    assert {(n.status, n.attempts) for n in texts} == {("waiting", 1)}
    assert all("503" in (n.last_error or "") for n in texts)
    gateway.status = 400  # refused for good
    clock.advance(minutes=5)
    runner.run_once()
    with Session(library) as db:
        texts = db.scalars(select(Notice).where(Notice.channel == "sms")).all()
    assert {n.status for n in texts} == {"failed"}
    assert all("900003" not in (n.last_error or "") for n in texts)


def _expiring(messages: list[EmailMessage]) -> str:
    (message,) = [m for m in messages if m["X-Library-Notice"] == "hold_expiring"]
    assert "East End Library" in body(message, "html")
    return body(message)


def test_the_hold_expiring_notice_names_the_branch_whose_hold_shelf_it_is_on(
    library: Engine, smtp: SmtpServer, gateway: Gateway, clock: FixedClock
) -> None:
    """Persuasion, on its last day on the shelf tomorrow, waits at East End for Ada
    (English email), Eva (Spanish email), Cy (English texts) and Fleur (French texts, for
    this test); a notice to Bo queued before pickups were told, with no ``pickup`` in its
    facts, reads as before."""
    with Session(library) as db:
        add_branch(db, "EAST", "East End Library", NOW, actor="test", origin="test")
        db.execute(update(Hold).where(Hold.title == "Persuasion").values(pickup="EAST"))
        db.execute(
            update(Patron)
            .where(Patron.patron_id == "p-fr")
            .values(notify_by="sms", phone="+33 6 00 00 00 07")
        )
        bos = db.scalars(
            select(Hold.id).where(Hold.patron_id == "p-nothing", Hold.title == "Persuasion")
        ).one()
        facts = {"title": "Persuasion", "pickup_by": "2026-11-24", "hold": bos}
        old = Found("p-nothing", "hold_expiring", "old", TODAY, "email", False, facts)
        assert outbox.enqueue(db, [old], NOW - timedelta(hours=1), 8) == 1
        db.commit()
    Runner(library, notices_config(smtp.port, gateway.url), clock.now).run_once()
    assert (
        "Persuasion waits for you on the hold shelf at East End Library until "
        "November 24, 2026. After that it goes to the next reader."
    ) in _expiring(smtp.mail.to("ada@example.org"))
    assert (
        "Persuasion le espera en el estante de reservas de East End Library hasta el "
        "24 de noviembre de 2026."
    ) in _expiring(smtp.mail.to("eva@example.org"))
    texts = {t["to"]: t["text"] for t in gateway.texts() if "Persuasion" in t["text"]}
    assert texts == {
        "+44 7700 900003": "Riverside Library: collect Persuasion from the hold shelf at "
        "East End Library by November 24, 2026 or it goes to the next reader.",
        "+33 6 00 00 00 07": "Riverside Library : retirez Persuasion de l'étagère des "
        "réservations à East End Library avant le 24 novembre 2026 inclus, sinon il "
        "passera au lecteur suivant.",
    }
    # Queued before: the notice it was, no branch named.
    (before,) = smtp.mail.to("bo@example.org")
    assert before["X-Library-Notice"] == "hold_expiring"
    assert (
        "Persuasion waits for you on the hold shelf until November 24, 2026. After that "
        "it goes to the next reader."
    ) in body(before)
    assert "East End" not in before.as_string()
