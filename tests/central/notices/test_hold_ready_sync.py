"""The hold-ready notice after a real kiosk's drop-station return: the kiosk store and its
sync agent against the real central server (SQLite and PostgreSQL), the return pushed,
the copy trapped on the server for the patron first in the title's queue, and the next
pass of the notices runner mailing that patron, once, through a real SMTP server; and
the notice of a hold ready at its pickup branch names that branch."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import add_branch
from kiosk.central.circulation.desk import check_in
from kiosk.central.circulation.holds import place_title_hold_by_copy
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.models import Hold, Notice, Patron, Record
from kiosk.central.notices.runner import Runner
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import CheckoutStatus, ReturnStatus
from tests.central.conftest import Central
from tests.central.notices.conftest import SmtpServer, body, notices_config
from tests.central.test_title_hold_sync import (
    _adults,
    _patron_id,
    _sign_in,
    _status,
    _two_copies_on_the_shelf,
)

STAFF = Actor("cyril", "127.0.0.1")


def _mailed_when_ready(db: Session, patron_id: str) -> None:
    """The patron wants the hold-ready notice alone, by email, at bea@example.org."""
    db.execute(
        update(Patron)
        .where(Patron.patron_id == patron_id)
        .values(email="bea@example.org", notify_by="email", notices="hold_ready", digest=False)
    )
    db.commit()


def test_a_drop_station_return_synced_brings_the_hold_ready_notice_once(
    central: Central, smtp: SmtpServer, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "kiosk")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    ann = _sign_in(circulation, _adults(central)[0])
    bea_id = _patron_id(central, _adults(central)[1])
    copy, _ = _two_copies_on_the_shelf(central)
    assert _status(circulation.checkout(ann, copy)) is CheckoutStatus.LENT
    agent.sync_once()
    with central.session() as db:
        _mailed_when_ready(db, bea_id)
        place_title_hold_by_copy(db, bea_id, copy, central.clock.now(), STAFF)
    runner = Runner(central.engine, notices_config(smtp.port), central.clock.now)
    runner.run_once()
    assert smtp.mail.to("bea@example.org") == []  # waiting, not ready: nothing to say

    central.clock.advance(minutes=5)
    assert _status(circulation.return_item(copy)) is ReturnStatus.RETURNED  # no card
    agent.sync_once()  # the return reaches the server, which traps the copy for bea
    with central.session() as db:
        hold = db.scalars(select(Hold).where(Hold.patron_id == bea_id)).one()
        title = db.scalar(select(Record.title).where(Record.brn == hold.brn))
    assert hold.ready
    central.clock.advance(seconds=20)  # the runner's next pass, [notices] poll_seconds
    runner.run_once()
    (ready,) = smtp.mail.to("bea@example.org")
    assert ready["X-Library-Notice"] == "hold_ready"
    assert title is not None
    assert title[:40] in body(ready)
    with central.session() as db:
        notice = db.scalars(select(Notice).where(Notice.patron_id == bea_id)).one()
    assert notice.sent_at is not None
    assert hold.ready_at is not None
    assert notice.sent_at - hold.ready_at <= central.clock.now() - hold.ready_at
    assert (notice.sent_at - hold.ready_at).total_seconds() <= 60
    # Synced again, run again: nothing more.
    agent.sync_once()
    runner.run_once()
    assert len(smtp.mail.to("bea@example.org")) == 1


def test_the_hold_ready_notice_names_the_branch_whose_hold_shelf_it_is_on(
    central: Central, smtp: SmtpServer
) -> None:
    now = central.clock.now()
    with central.session() as db:
        for code, name in (("East", "East End Library"), ("Main", "Main Library")):
            add_branch(db, code, name, now, actor="test", origin="test")
    bea_id = _patron_id(central, _adults(central)[1])
    copy, _ = _two_copies_on_the_shelf(central)
    with central.session() as db:
        _mailed_when_ready(db, bea_id)
        place_title_hold_by_copy(db, bea_id, copy, now, STAFF, pickup="East")
        # Staff pull the copy and check it in where she collects it: trapped, ready there.
        arrived = check_in(db, PolicyCache(), barcode=copy, now=now, actor=STAFF, branch="East")
    assert (arrived.route, arrived.ready_for) == ("hold_shelf", bea_id)
    central.clock.advance(seconds=20)
    Runner(central.engine, notices_config(smtp.port), central.clock.now).run_once()
    (ready,) = smtp.mail.to("bea@example.org")
    assert "is waiting for you on the hold shelf at East End Library." in body(ready)
