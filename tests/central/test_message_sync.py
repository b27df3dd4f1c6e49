"""The library's own message on Welcome set by staff in the console (issue 17, item 7):
it reaches a kiosk's Welcome screen through the change log after a sync, with the real
server on loopback, on SQLite and PostgreSQL; while staff have set any, it stands in for
the kiosk's kiosk.toml message; cleared, that one is back. A kiosk one version older is
sent none of it."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from kiosk.central.circulation.messages import messages, set_messages
from kiosk.central.models import AuditEntry
from kiosk.session.viewdata import WelcomeView
from kiosk.store.mirror import MirrorMessage
from kiosk.sync.protocol import ROW_FIELDS_HEADER, ChangesPage, SnapshotPage
from tests.session.conftest import Kiosk

from .conftest import NOW, Central

TOML = {"en": "Welcome to the Papyrus branch", "fr": "Bienvenue à Papyrus"}


def said(kiosk: Kiosk) -> str | None:
    kiosk.idle(10)  # the flow reads the message with the kiosk's health
    view = kiosk.frame.view
    assert isinstance(view, WelcomeView)
    return None if view.message is None else view.message.text


def test_the_message_set_in_the_console_reaches_the_welcome_screen_after_a_sync(
    central: Central, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    kiosk = Kiosk(agent.store, central.clock, welcome_message=TOML)
    assert said(kiosk) == "Welcome to the Papyrus branch"
    with central.session() as db:
        assert set_messages(
            db,
            {"en": "Closed on Monday 25th", "es": "Cerrado el lunes 25", "fr": ""},
            NOW,
            actor="cyril",
            origin="127.0.0.1",
        )
    assert said(kiosk) == "Welcome to the Papyrus branch"  # not before the sync
    agent.sync_once()
    assert said(kiosk) == "Closed on Monday 25th"
    kiosk.press("lang_es")
    assert said(kiosk) == "Cerrado el lunes 25"
    # None in French from the console: the kiosk's default language's, not kiosk.toml's.
    kiosk.press("lang_fr")
    assert said(kiosk) == "Closed on Monday 25th"
    kiosk.press("lang_en")
    # Changed, then cleared: kiosk.toml's message is back.
    with central.session() as db:
        set_messages(db, {"en": "Open late on Friday"}, NOW, actor="cyril", origin="x")
    agent.sync_once()
    assert said(kiosk) == "Open late on Friday"
    with central.session() as db:
        assert set_messages(db, {"en": "", "es": ""}, NOW, actor="cyril", origin="x")
        assert messages(db) == {}
        actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-5:] == [
        "message.set",
        "message.set",
        "message.set",
        "message.clear",
        "message.clear",
    ]
    agent.sync_once()
    assert said(kiosk) == "Welcome to the Papyrus branch"
    with agent.store.mirror.connect() as mirror:
        assert mirror.scalars(select(MirrorMessage.text)).all() == []


def test_a_new_kiosk_takes_the_message_with_its_snapshot(central: Central, tmp_path: Path) -> None:
    with central.session() as db:
        set_messages(db, {"fr": "Fermé le lundi 25"}, NOW, actor="cyril", origin="x")
    agent = central.agent(tmp_path / "new")
    agent.sync_once()
    kiosk = Kiosk(agent.store, central.clock, default_language="fr")
    assert said(kiosk) == "Fermé le lundi 25"


def test_nothing_changes_for_the_same_text(central: Central) -> None:
    with central.session() as db:
        assert set_messages(db, {"en": " Closed today "}, NOW, actor="c", origin="x")
        assert not set_messages(db, {"en": "Closed today"}, NOW, actor="c", origin="x")
        assert messages(db) == {"en": "Closed today"}


@pytest.mark.parametrize(
    "texts",
    [{"de": "Geschlossen"}, {"en": "x" * 301}, {"en": "two\nlines"}, {"en": "a\x00b"}],
)
def test_a_message_with_a_problem_changes_nothing(central: Central, texts: dict[str, str]) -> None:
    with central.session() as db:
        with pytest.raises(ValueError, match=r"."):
            set_messages(db, texts, NOW, actor="c", origin="x")
        assert messages(db) == {}


def test_a_kiosk_one_version_older_is_sent_none_of_it(central: Central) -> None:
    with central.session() as db:
        set_messages(db, {"en": "Closed today"}, NOW, actor="c", origin="x")
    auth = {"Authorization": f"Bearer {central.tokens['kiosk-a']}"}
    for version, sent in (("2", False), ("3", True)):
        known = {**auth, ROW_FIELDS_HEADER: version}
        changes = ChangesPage.model_validate_json(
            requests.get(
                f"{central.url}/v1/changes", params={"since": 0}, headers=known, timeout=30
            ).content
        )
        assert any(change.entity.value == "message" for change in changes.changes) is sent
        entities = []
        after: str | None = ""
        while after is not None:
            page = SnapshotPage.model_validate_json(
                requests.get(
                    f"{central.url}/v1/snapshot",
                    params={"after": after} if after else {},
                    headers=known,
                    timeout=30,
                ).content
            )
            entities.append(page.entity.value)
            after = page.after
        assert ("message" in entities) is sent
