"""Receipts for what a patron borrowed at the desk and renewed in the portal (issue 16),
on SQLite and PostgreSQL, through the real console and portal over HTTP and a real SMTP
server on loopback: one receipt a visit and action, only to a patron who chose receipts,
found once the visit has been quiet, never twice (a form sent again, a pass again, a new
runner); a kiosk visit whose patron asked for a receipt at the Finish screen gets that
one alone. A kiosk's loan that reaches the server after its visit's receipt went (the
kiosk offline meanwhile) gets a receipt of its own, and the visit's is not sent again,
even once its first loan is forgotten; a visit receipted one transaction at a time by
the version before is not sent again after the upgrade."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation import desk, loan_history
from kiosk.central.models import AppliedTransaction, Notice, Patron
from kiosk.central.notices import outbox
from kiosk.central.notices.finding import RECEIPT_QUIET, Found, notice_key
from kiosk.central.notices.runner import Runner
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import CheckoutStatus, PatronSession, Unavailable
from tests.central.conftest import Central
from tests.central.notices.conftest import SmtpServer, body, notices_config
from tests.central.notices.test_kiosk_receipt_sync import ADDRESS, STAFF, set_email, sign_in
from tests.central.test_sync import available, card, patron_id
from tests.central.web.conftest import Console
from tests.central.web.my.conftest import Portal, csrf_token, in_process, reader


@pytest.fixture
def portal(database_url: str) -> Iterator[Portal]:
    """The console and the portal in this process over the portal's readers, on a clock
    the test moves."""
    with in_process(database_url) as running:
        yield running


def _choose(database_url: str, patron: str, notices: str) -> None:
    engine = database.connect(database_url)
    with Session(engine) as db:
        db.execute(update(Patron).where(Patron.patron_id == patron).values(notices=notices))
        db.commit()
    engine.dispose()


def _desk(portal: Portal) -> requests.Session:
    """Circulation staff signed in to the console."""
    return Console(portal.url, portal.database_url, Path("server.log")).login("cyril")


def _lend(portal: Portal, staff: requests.Session, patron: str, barcode: str, form: str) -> None:
    answer = staff.post(
        f"{portal.url}/staff/desk/checkout",
        data={
            "patron_id": patron,
            "barcode": barcode,
            "transaction_id": form,
            "csrf_token": csrf_token(staff, portal.url, f"/staff/desk/{patron}"),
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def _renew_all(portal: Portal, card_number: str, pin: str) -> None:
    browser = portal.sign_in(card_number, pin)
    page = browser.get(f"{portal.url}/my/", timeout=30).text
    found = re.search(r'name="transaction_id" value="([^"]+)"', page)
    assert found is not None
    form = {"transaction_id": found.group(1), "csrf_token": csrf_token(browser, portal.url, "/my/")}
    for _ in range(2):  # sent twice (a double click): renewed once
        answer = browser.post(f"{portal.url}/my/renew-all", data=form, timeout=30)
        assert answer.status_code == 200, answer.text


def _receipts(database_url: str) -> list[Notice]:
    engine = database.connect(database_url)
    with Session(engine) as db:
        found = list(db.scalars(select(Notice).where(Notice.kind == "receipt")).all())
    engine.dispose()
    return found


def test_desk_and_portal_receipts_go_once_a_visit_to_whoever_chose_them(
    portal: Portal, smtp: SmtpServer
) -> None:
    assert portal.clock is not None
    clock = portal.clock
    chooser, other = reader(1), reader(2)
    _choose(portal.database_url, chooser.patron_id, "receipt,hold_ready")
    _choose(portal.database_url, other.patron_id, "due_soon,hold_ready")
    staff = _desk(portal)
    for person in (chooser, other):
        form = desk.new_transaction_id()
        for _ in range(2):  # the desk's form sent again: lent once
            _lend(portal, staff, person.patron_id, person.barcode(6), form)
    clock.moment += timedelta(minutes=2)
    for person in (chooser, other):
        _renew_all(portal, person.card, person.pin)

    runner = Runner(database.connect(portal.database_url), notices_config(smtp.port), clock.now)
    clock.moment += timedelta(minutes=3)
    runner.run_once()  # the visit may go on: nothing yet
    assert _receipts(portal.database_url) == []
    assert smtp.mail.to(chooser.email) == []

    clock.moment += RECEIPT_QUIET
    runner.run_once()
    mailed = smtp.mail.to(chooser.email)
    assert sorted(str(message["X-Library-Notice"]) for message in mailed) == ["receipt"] * 2
    texts = {
        ("You borrowed:" if "You borrowed:" in body(message) else "You renewed:"): body(message)
        for message in mailed
    }
    assert set(texts) == {"You borrowed:", "You renewed:"}
    assert "You renewed:" not in texts["You borrowed:"]
    assert chooser.title(6) in texts["You borrowed:"]
    renewed = texts["You renewed:"]
    assert chooser.title(1) in renewed
    assert chooser.title(2) not in renewed  # refused: another member waits for it
    assert chooser.title(3) not in renewed  # renewed the most times allowed
    assert chooser.card not in "".join(message.as_string() for message in mailed)
    # Did not choose receipts. (Run in the half hour before midnight, the clock passes it
    # and the due-soon notice other chose comes: this test is about receipts.)
    notices_to_other = [str(message["X-Library-Notice"]) for message in smtp.mail.to(other.email)]
    assert "receipt" not in notices_to_other
    assert set(notices_to_other) <= {"due_soon"}
    queued = _receipts(portal.database_url)
    assert {notice.patron_id for notice in queued} == {chooser.patron_id}
    assert sorted(notice.subject.rsplit(" ", 1)[1] for notice in queued) == ["checkout", "renew"]

    # Again, and a new runner a little later the same day: nothing more.
    runner.run_once()
    clock.moment += timedelta(hours=3)
    Runner(database.connect(portal.database_url), notices_config(smtp.port), clock.now).run_once()
    assert len(smtp.mail.to(chooser.email)) == 2
    assert len(_receipts(portal.database_url)) == 2

    # A later visit, at the desk, is a receipt of its own.
    staff = _desk(portal)  # signed in again: idle too long
    form = desk.new_transaction_id()
    answer = staff.post(
        f"{portal.url}/staff/desk/renew",
        data={
            "patron_id": chooser.patron_id,
            "barcode": chooser.barcode(1),
            "transaction_id": form,
            "csrf_token": csrf_token(staff, portal.url, f"/staff/desk/{chooser.patron_id}"),
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    clock.moment += RECEIPT_QUIET * 2
    runner.run_once()
    runner.run_once()
    mailed = smtp.mail.to(chooser.email)
    assert len(mailed) == 3
    assert "You renewed:" in body(mailed[-1])


def test_a_kiosk_visit_gets_the_receipt_asked_for_there_and_no_other(
    central: Central, smtp: SmtpServer, tmp_path: Path
) -> None:
    who = card(central, "has loans")
    set_email(central, who, ADDRESS)
    with central.session() as db:
        db.execute(
            update(Patron)
            .where(Patron.patron_id == patron_id(central, who["card"]))
            .values(notices="receipt")
        )
        db.commit()
    agent = central.agent(tmp_path / "kiosk")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    session = sign_in(circulation, who)
    lent = circulation.checkout(session, available(central)[0])
    assert not isinstance(lent, Unavailable)
    assert lent.status is CheckoutStatus.LENT
    assert not isinstance(circulation.email_receipt(session, [lent]), Unavailable)
    agent.sync_once()
    runner = Runner(central.engine, notices_config(smtp.port), central.clock.now)
    runner.run_once()
    central.clock.advance(minutes=RECEIPT_QUIET.seconds // 60 + 1)
    runner.run_once()
    (mailed,) = smtp.mail.to(ADDRESS)  # the one asked for at the Finish screen
    assert lent.title[:40] in body(mailed)

    # A second visit, with no receipt asked for at the kiosk: the patron chose receipts.
    central.clock.advance(minutes=30)
    session = sign_in(circulation, who)
    again = circulation.checkout(session, available(central)[1])
    assert not isinstance(again, Unavailable)
    assert again.status is CheckoutStatus.LENT
    agent.sync_once()
    central.clock.advance(minutes=RECEIPT_QUIET.seconds // 60 + 1)
    runner.run_once()
    runner.run_once()
    mailed_now = smtp.mail.to(ADDRESS)
    assert len(mailed_now) == 2
    assert again.title[:40] in body(mailed_now[-1])
    assert lent.title[:40] not in body(mailed_now[-1])


def _kiosk_patron(central: Central) -> tuple[dict[str, Any], str]:
    """A patron with an email who chose receipts (and no other notice)."""
    who = card(central, "has loans")
    set_email(central, who, ADDRESS)
    patron = patron_id(central, who["card"])
    with central.session() as db:
        db.execute(
            update(Patron)
            .where(Patron.patron_id == patron)
            .values(notices="receipt", keep_loan_history=False, owed=Decimal("0.00"))
        )
        db.commit()
    return who, patron


def _lent(circulation: Circulation, session: PatronSession, barcode: str) -> str:
    answer = circulation.checkout(session, barcode)
    assert not isinstance(answer, Unavailable)
    assert answer.status is CheckoutStatus.LENT
    return answer.title[:40]


def test_a_transaction_that_reaches_the_server_after_its_visits_receipt_gets_its_own(
    central: Central, smtp: SmtpServer, tmp_path: Path
) -> None:
    who, patron = _kiosk_patron(central)
    agent = central.agent(tmp_path / "kiosk")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    runner = Runner(central.engine, notices_config(smtp.port), central.clock.now)
    first, second, late = available(central)[:3]
    session = sign_in(circulation, who)
    titles = [_lent(circulation, session, first), _lent(circulation, session, second)]
    agent.sync_once()
    # The kiosk's network drops: a third loan of the same visit stays in its journal.
    central.clock.advance(minutes=3)
    late_title = _lent(circulation, sign_in(circulation, who), late)
    central.clock.advance(minutes=RECEIPT_QUIET.seconds // 60)
    runner.run_once()
    (mailed,) = smtp.mail.to(ADDRESS)
    assert all(title in body(mailed) for title in titles)
    assert late_title not in body(mailed)

    # Back online: the third loan, decided within minutes of the others, is applied after
    # their receipt went. It is a receipt of its own, once quiet; nothing else again.
    central.clock.advance(minutes=6)
    agent.sync_once()
    runner.run_once()
    assert len(smtp.mail.to(ADDRESS)) == 1
    central.clock.advance(minutes=RECEIPT_QUIET.seconds // 60)
    runner.run_once()
    runner.run_once()
    mailed_now = smtp.mail.to(ADDRESS)
    assert len(mailed_now) == 2
    assert late_title in body(mailed_now[-1])
    assert not any(title in body(mailed_now[-1]) for title in titles)

    # The visit's first loan comes back and the patron has their ended loans forgotten at
    # once: the visit is found without it, under another key, and not sent again.
    returned = circulation.return_item(first)
    assert not isinstance(returned, Unavailable)
    agent.sync_once()
    with central.session() as db:
        forgotten = loan_history.keep(
            db, patron, False, forget_now=True, now=central.clock.now(), actor=STAFF
        )
    assert forgotten >= 2  # the loan and its return
    loan = _checkout_of(central, first)
    with central.session() as db:
        row = db.get(AppliedTransaction, loan)
        assert row is not None
        assert row.patron_id is None  # the visit's first transaction is no one's now
    central.clock.advance(minutes=1)
    runner.run_once()
    central.clock.advance(hours=2)
    runner.run_once()
    assert len(smtp.mail.to(ADDRESS)) == 2
    with central.session() as db:
        assert len(db.scalars(select(Notice.id).where(Notice.kind == "receipt")).all()) == 2


def _checkout_of(central: Central, barcode: str) -> str:
    with central.session() as db:
        found = db.scalar(
            select(AppliedTransaction.id).where(
                AppliedTransaction.item_barcode == barcode, AppliedTransaction.kind == "checkout"
            )
        )
    assert found is not None
    return found


def test_visits_receipted_one_transaction_at_a_time_before_the_upgrade_are_not_sent_again(
    central: Central, smtp: SmtpServer, tmp_path: Path
) -> None:
    """The receipts from before visits were keyed by their transaction's id, one each:
    the first pass after the upgrade sends none of those again, and one for what came
    after them in the same visit."""
    who, patron = _kiosk_patron(central)
    agent = central.agent(tmp_path / "kiosk")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    first, second, after = available(central)[:3]
    session = sign_in(circulation, who)
    titles = [_lent(circulation, session, first), _lent(circulation, session, second)]
    agent.sync_once()
    # The version before sent each one's receipt as it found it.
    with central.session() as db:
        old = [
            Found(
                patron,
                "receipt",
                _checkout_of(central, barcode),
                central.clock.now().date(),
                "email",
                False,
                {"action": "checkout", "items": [{"title": title, "due": "2026-12-14"}]},
            )
            for barcode, title in zip((first, second), titles, strict=True)
        ]
        assert all(
            notice.key
            == notice_key(
                patron, "receipt", _checkout_of(central, barcode), central.clock.now().date()
            )
            for notice, barcode in zip(old, (first, second), strict=True)
        )
        outbox.enqueue(db, old, central.clock.now(), digest_hour=0)
        db.execute(update(Notice).values(status="sent", sent_at=central.clock.now()))
        db.commit()
    # Upgraded: the same visit goes on with a third loan.
    central.clock.advance(minutes=2)
    after_title = _lent(circulation, sign_in(circulation, who), after)
    agent.sync_once()
    runner = Runner(central.engine, notices_config(smtp.port), central.clock.now)
    central.clock.advance(minutes=RECEIPT_QUIET.seconds // 60 + 1)
    runner.run_once()
    runner.run_once()
    (mailed,) = smtp.mail.to(ADDRESS)
    assert after_title in body(mailed)
    assert not any(title in body(mailed) for title in titles)
    central.clock.advance(hours=1)
    Runner(central.engine, notices_config(smtp.port), central.clock.now).run_once()
    assert len(smtp.mail.to(ADDRESS)) == 1
