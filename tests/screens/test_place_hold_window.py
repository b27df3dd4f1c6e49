"""Place a hold at the kiosk (issue 17, item 6) in the real app under Xvfb: ``kiosk run
--demo --script`` scans a copy kept on the hold shelf for another patron, is offered a
hold on its title, takes it, and after the demo's own sync agent has pushed, the demo's
central server holds it: a title hold, waiting in its record's queue. And the library's
message set in the console (item 7) on the Welcome screen after a sync."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from kiosk.central.circulation.messages import set_messages
from kiosk.central.database import connect

from .test_greeting_window import card, demo, shots, template
from .xvfb import run_kiosk

__all__ = ["demo", "template"]  # the greeting tests' demo library, copied for each test


def kept_for_another(demo: Path) -> str:
    items = json.loads((demo / "demo-cards.json").read_text())["items"]
    return str(items["FICTION"]["on_hold_shelf"][0])


def test_a_hold_placed_at_the_kiosk_reaches_the_server_after_a_sync(
    display: str, demo: Path, tmp_path: Path
) -> None:
    patron = card(demo, "adult, nothing on loan")
    copy = kept_for_another(demo)
    run = run_kiosk(
        display,
        demo,
        f"scan {patron['card']}\npin {patron['pin']}\nscan {copy}\nshot hold-offered\n"
        "press place_hold\nshot hold-placed\npress account\nshot hold-account\n"
        "wait 12\n",  # the demo's agent syncs every 10 seconds
        screenshots=shots(tmp_path),
    )
    assert run.status == 0, run.output
    offered = run.trace[run.first("checkout", "Place a hold on this title")]
    assert offered["sound"] == "error"
    assert any("reserved for another member" in text for text in offered["texts"])
    placed = run.trace[
        run.first("checkout", "Your hold is placed. We will tell you when a copy is ready")
    ]
    assert placed["sound"] == "success"
    assert "Place a hold on this title" not in placed["texts"]
    run.first("account", "Your hold is placed.")
    with sqlite3.connect(demo / "central.db") as central:
        rows = central.execute(
            "SELECT h.item_barcode, h.ready, h.brn = i.brn FROM holds h "
            "JOIN patrons p ON p.patron_id = h.patron_id JOIN items i ON i.barcode = ? "
            "WHERE p.card = ? AND h.brn IS NOT NULL",
            (copy, patron["card"]),
        ).fetchall()
        exceptions = central.execute("SELECT count(*) FROM exceptions").fetchone()[0]
    assert rows == [(None, 0, 1)]
    assert exceptions == 0


def test_the_message_set_in_the_console_reaches_the_welcome_screen(
    display: str, demo: Path
) -> None:
    """Issue 17, item 7 in the real app: a message staff set in the demo's console
    database is on the Welcome screen once the demo's own sync agent has pulled it."""
    engine = connect(f"sqlite:///{demo / 'central.db'}")
    try:
        with Session(engine) as db:
            set_messages(
                db, {"en": "Closed on Monday 25th"}, datetime.now(), actor="ada", origin="test"
            )
    finally:
        engine.dispose()
    run = run_kiosk(display, demo, "wait 12\nshot console-message\n")
    assert run.status == 0, run.output
    welcome = run.trace[run.first("welcome", "Closed on Monday 25th")]
    assert welcome["screen"] == "welcome"
