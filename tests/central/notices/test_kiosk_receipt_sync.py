"""A receipt by email asked for at a kiosk (issue 17, item 3), on SQLite and PostgreSQL:
the kiosk learns only whether the patron has an email (the mirror's yes or no, from the
snapshot and the change log), journals the request with the session's entries, and after
a sync the server has queued the receipt in the notices' outbox in the same transaction;
the next pass of the notices runner mails it through a real SMTP server, once, whatever
the pushes again or their order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.patrons import update_patron
from kiosk.central.models import AppliedTransaction, Notice, Patron
from kiosk.central.notices.runner import Runner
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import (
    CheckoutStatus,
    Identification,
    PatronSession,
    RenewStatus,
    Unavailable,
)
from kiosk.store import outbox
from kiosk.sync.agent import _wire_entry
from kiosk.sync.protocol import ROW_FIELDS_HEADER
from tests.central.conftest import Central
from tests.central.notices.conftest import SmtpServer, body, notices_config
from tests.central.test_membership_sync import push
from tests.central.test_pin_sync import _changes
from tests.central.test_sync import available, card, patron_id

STAFF = Actor("cyril", "127.0.0.1")
ADDRESS = "reader@example.org"


def sign_in(circulation: Circulation, who: dict[str, Any]) -> PatronSession:
    answer = circulation.identify(who["card"], who["pin"])
    assert isinstance(answer, Identification), answer
    assert answer.session is not None
    return answer.session


def set_email(central: Central, who: dict[str, Any], email: str) -> None:
    with central.session() as db:
        changed = update_patron(
            db, patron_id(central, who["card"]), {"email": email}, central.clock.now(), STAFF
        )
    assert changed == ("email",)


def test_a_receipt_asked_for_at_the_kiosk_is_mailed_once(
    central: Central, smtp: SmtpServer, tmp_path: Path
) -> None:
    who = card(central, "has loans")
    set_email(central, who, ADDRESS)
    agent = central.agent(tmp_path / "kiosk")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    session = sign_in(circulation, who)
    assert session.has_email
    lent = circulation.checkout(session, available(central)[0])
    assert not isinstance(lent, Unavailable)
    assert lent.status is CheckoutStatus.LENT
    account = circulation.account(session)
    assert not isinstance(account, Unavailable)
    already = next(loan for loan in account.loans if loan.barcode != lent.barcode)
    renewed = circulation.renew(session, already.barcode)
    assert not isinstance(renewed, Unavailable)
    assert renewed.status is RenewStatus.RENEWED
    assert not isinstance(circulation.email_receipt(session, [lent, renewed]), Unavailable)
    entries = [_wire_entry(row) for row in outbox.entries(agent.store)]
    assert [entry.kind for entry in entries] == ["checkout", "renew", "receipt"]
    # The receipt first, then all of it twice: one receipt queued, as it was asked for.
    assert push(central, entries[2:]) == ["applied"]
    assert push(central, entries) == ["applied", "applied", "duplicate"]
    assert push(central, entries[::-1]) == ["duplicate"] * 3
    with central.session() as db:
        queued = db.scalars(select(Notice).where(Notice.kind == "receipt")).all()
        receipt = db.scalars(
            select(AppliedTransaction).where(AppliedTransaction.kind == "receipt")
        ).one()
    assert sorted(notice.facts["action"] for notice in queued) == ["checkout", "renew"]
    assert {notice.channel for notice in queued} == {"email"}
    # What it listed lives in its notices alone, forgotten with them.
    assert receipt.details == {}

    runner = Runner(central.engine, notices_config(smtp.port), central.clock.now)
    runner.run_once()
    mailed = {message["Subject"]: body(message) for message in smtp.mail.to(ADDRESS)}
    assert len(mailed) == 2
    assert all(message["X-Library-Notice"] == "receipt" for message in smtp.mail.to(ADDRESS))
    text = "\n".join(mailed.values())
    assert lent.title[:40] in text
    assert renewed.title[:40] in text
    assert "You borrowed" in text
    assert "You renewed" in text
    # Synced and run again: nothing more.
    agent.sync_once()
    runner.run_once()
    assert len(smtp.mail.to(ADDRESS)) == 2


def test_the_kiosk_knows_whether_there_is_an_email_never_the_address(
    central: Central, tmp_path: Path
) -> None:
    who = card(central, "has loans")
    set_email(central, who, ADDRESS)
    agent = central.agent(tmp_path / "kiosk")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    assert sign_in(circulation, who).has_email
    # Cleared by staff: no more offer, once the change log's patron row arrives.
    set_email(central, who, "")
    with central.session() as db:
        patron = db.get(Patron, patron_id(central, who["card"]))
        assert patron is not None
        assert patron.email is None
    agent.sync_once()
    assert not sign_in(circulation, who).has_email
    set_email(central, who, ADDRESS)
    agent.sync_once()
    assert sign_in(circulation, who).has_email
    # A fresh kiosk takes it with its snapshot.
    fresh = central.agent(tmp_path / "fresh")
    fresh.sync_once()
    assert sign_in(Circulation(fresh.store, central.clock), who).has_email
    for directory in (tmp_path / "kiosk", tmp_path / "fresh"):
        for name in ("mirror.db", "journal.db"):
            assert ADDRESS.encode() not in (directory / name).read_bytes()


def test_kiosks_one_and_two_versions_older_get_patron_rows_they_know(central: Central) -> None:
    who = card(central, "has loans")
    set_email(central, who, "")  # a change without has_email: left out while False
    set_email(central, who, ADDRESS)
    knows = _changes(central, {ROW_FIELDS_HEADER: "2"})
    assert [row.get("has_email") for row in knows] == [None, True]
    for older in ({ROW_FIELDS_HEADER: "1"}, {}):
        rows = _changes(central, older)
        assert len(rows) == 2
        assert not any("has_email" in row or "email" in row for row in rows)
        assert [row["card"] for row in rows] == [who["card"]] * 2
