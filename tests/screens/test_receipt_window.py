"""A receipt by email (issue 17, item 3) in the real app under Xvfb: ``kiosk run --demo
--script`` borrows a book and presses email_receipt, and after the demo's own sync agent
has pushed, the demo's central server holds the receipt in its notices' outbox, by email
to the patron (every demo patron has an address at example.org; the kiosk has only
the yes)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .test_greeting_window import available, card, demo, shots, template
from .xvfb import run_kiosk

__all__ = ["demo", "template"]  # the greeting tests' demo library, copied for each test


def test_the_receipt_asked_for_reaches_the_server_after_a_sync(
    display: str, demo: Path, tmp_path: Path
) -> None:
    patron = card(demo, "adult, nothing on loan")
    book = available(demo, "FICTION")[0]
    run = run_kiosk(
        display,
        demo,
        f"scan {patron['card']}\npin {patron['pin']}\nscan {book}\npress done\n"
        "shot email-receipt\npress email_receipt\n"
        "wait 12\n",  # the demo's agent syncs every 10 seconds
        screenshots=shots(tmp_path),
    )
    assert run.status == 0, run.output
    offered = run.trace[run.first("finish", "Email me a receipt")]
    assert not any("@" in text for text in offered["texts"])
    run.first("welcome", "Your receipt will be emailed to you. Goodbye!")
    for name in ("mirror.db", "journal.db"):
        assert b"@example.org" not in (demo / "kiosk" / name).read_bytes()
    with sqlite3.connect(demo / "central.db") as central:
        rows = central.execute(
            "SELECT n.kind, n.channel, n.facts FROM notices n "
            "JOIN patrons p ON p.patron_id = n.patron_id "
            "WHERE p.card = ? AND n.subject LIKE 'kiosk %'",
            (patron["card"],),
        ).fetchall()
    [(kind, channel, facts)] = rows
    assert (kind, channel) == ("receipt", "email")
    said = json.loads(facts)
    assert said["action"] == "checkout"
    assert len(said["items"]) == 1
