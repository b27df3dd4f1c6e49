"""An upgraded kiosk has what the server passed over while it was older, with the real
server on loopback, on SQLite and PostgreSQL. A kiosk of an older row version is sent no
`message` and no field it does not know, and its cursor moves past them all the same;
so its mirror says the version it was built from, and once the kiosk reads a later one
its next round replaces the mirror with a snapshot instead of going on from its cursor.
The journal is not the mirror's: an entry the server has not applied outlives it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from kiosk.central.circulation.messages import set_messages
from kiosk.central.models import Loan
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import AccountAnswer, CheckoutStatus
from kiosk.store import mirroring, outbox
from kiosk.sync import agent as agent_module
from kiosk.sync.agent import SyncAgent
from kiosk.sync.protocol import ROW_FIELDS_VERSION
from tests.central.notices.test_kiosk_receipt_sync import set_email
from tests.central.test_sync import available, card, sign_in
from tests.session.conftest import Kiosk

from .conftest import NOW, Central
from .test_message_sync import TOML, said


def older(monkeypatch: pytest.MonkeyPatch, version: int) -> None:
    """The kiosk's software as it was when it read rows of ``version``."""
    monkeypatch.setattr(agent_module, "ROW_FIELDS_VERSION", version)


def test_an_upgraded_kiosk_shows_the_message_set_while_it_was_older(
    central: Central, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    older(monkeypatch, 2)
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    kiosk = Kiosk(agent.store, central.clock, welcome_message=TOML)
    with central.session() as db:
        set_messages(db, {"en": "Closed on Monday 25th"}, NOW, actor="cyril", origin="x")
    assert agent.sync_once().snapshot_rows == 0
    assert said(kiosk) == "Welcome to the Papyrus branch"  # a version 2 kiosk: none sent

    monkeypatch.undo()  # upgraded
    assert agent.sync_once().snapshot_rows > 0
    assert said(kiosk) == "Closed on Monday 25th"
    assert mirroring.row_fields(agent.store) == ROW_FIELDS_VERSION
    assert agent.sync_once().snapshot_rows == 0  # once: then it follows the change log


@pytest.mark.parametrize("version", [0, 1])
def test_an_upgraded_kiosk_knows_who_has_an_email_since_it_was_older(
    central: Central, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    """The earlier versions alike: a patron's email flag (version 2) set while the
    kiosk read version 1 or none came without it, and the mirror said no."""
    who = card(central, "has loans")
    set_email(central, who, "")  # none when the kiosk takes its snapshot
    older(monkeypatch, version)
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    set_email(central, who, "reader@example.org")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    assert not sign_in(circulation, who).has_email

    monkeypatch.undo()
    assert agent.sync_once().snapshot_rows > 0
    assert sign_in(circulation, who).has_email


def test_a_mirror_from_before_it_said_its_version_is_replaced_once(
    central: Central, tmp_path: Path
) -> None:
    """Mirror migration 0010 leaves a mirror's version unknown (null): which version
    built it cannot be told, so it is replaced once."""
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    with agent.store.mirror.begin() as mirror:
        mirror.execute(text("UPDATE sync_cursor SET row_fields = NULL"))
    assert mirroring.row_fields(agent.store) is None
    assert agent.sync_once().snapshot_rows > 0
    assert agent.sync_once().snapshot_rows == 0


def test_the_snapshot_of_an_upgrade_loses_no_entry_of_the_journal(
    central: Central, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout decided while the upgraded kiosk's round runs (after its push, before
    its snapshot) is still the kiosk's after the mirror is replaced, laid over it, and
    reaches the server at the next round, once."""
    older(monkeypatch, 2)
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    monkeypatch.undo()
    circulation = Circulation(agent.store, central.clock)
    copy = available(central)[0]
    reader = card(central, "adult, nothing on loan")
    pushed = SyncAgent.push

    def push_then_lend(self: SyncAgent) -> tuple[int, int, int]:
        done = pushed(self)
        lent = circulation.checkout(sign_in(circulation, reader), copy)
        assert getattr(lent, "status", None) is CheckoutStatus.LENT
        return done

    monkeypatch.setattr(SyncAgent, "push", push_then_lend)
    assert agent.sync_once().snapshot_rows > 0
    monkeypatch.undo()
    assert outbox.waiting(agent.store)[0] == 1
    account = circulation.account(sign_in(circulation, reader))
    assert isinstance(account, AccountAnswer)
    assert [loan.barcode for loan in account.loans] == [copy]
    assert agent.sync_once().pushed == 1
    assert outbox.waiting(agent.store)[0] == 0
    with central.session() as db:
        assert db.scalars(select(Loan.item_barcode).where(Loan.item_barcode == copy)).all() == [
            copy
        ]
