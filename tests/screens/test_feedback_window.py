"""Feedback at the end of a session (issue 17, item 4) in the real app under Xvfb: ``kiosk
run --demo --script`` rates with a reason, then without one, and the demo's own sync
agent takes both to the demo's central server, anonymous and to the hour."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from .test_greeting_window import available, card, demo, shots, template
from .xvfb import run_kiosk

__all__ = ["demo", "template"]  # the greeting tests' demo library, copied for each test


def test_feedback_with_and_without_a_reason_reaches_the_server(
    display: str, demo: Path, tmp_path: Path
) -> None:
    first = card(demo, "adult, nothing on loan")
    second = card(demo, "has loans")
    book = available(demo, "FICTION")[0]
    started = datetime.now().replace(minute=0, second=0, microsecond=0)
    run = run_kiosk(
        display,
        demo,
        f"scan {first['card']}\npin {first['pin']}\nscan {book}\npress done\n"
        "press feedback_1\npress reason_slow\nshot feedback\npress no_receipt\n"
        f"scan {second['card']}\npin {second['pin']}\npress done\npress feedback_3\n"
        "press no_receipt\n"
        "wait 12\n",  # the demo's agent syncs every 10 seconds
        screenshots=shots(tmp_path),
    )
    assert run.status == 0, run.output
    rated = run.trace[run.first("finish", "Anything to add? (optional)")]
    assert {"Not good", "It was OK", "Good", "The kiosk was slow"} <= set(rated["texts"])
    assert (shots(tmp_path) / "feedback.png").stat().st_size > 10_000
    run.first("welcome", "Thank you for your feedback. Goodbye!")
    with sqlite3.connect(demo / "central.db") as central:
        rows = central.execute(
            "SELECT k.name, f.hour, f.rating, f.reason FROM kiosk_feedback f "
            "JOIN kiosks k ON k.id = f.kiosk_id ORDER BY f.rating"
        ).fetchall()
    assert [(name, rating, reason) for name, _, rating, reason in rows] == [
        ("demo-kiosk", 1, "slow"),
        ("demo-kiosk", 3, None),
    ]
    for _, hour, _, _ in rows:
        assert datetime.fromisoformat(hour) >= started
        assert datetime.fromisoformat(hour).minute == 0
