"""A drop station in one branch of three (issue 21), the real app under Xvfb: the demo's
central server puts the demo kiosk in North, the kiosk hears of it at its sync, and a
copy of the Main library returned there goes in the transfer bin, whose number and
colour the screen shows with the branch it goes back to."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from .test_window import demo, template  # noqa: F401 - the same demo library, built here
from .xvfb import run_kiosk


def central(demo_dir: Path, *args: str) -> None:
    url = f"sqlite:///{demo_dir / 'central.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.central.cli", "--db", url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def lent_to_no_ones_queue(demo_dir: Path) -> str:
    """A copy on loan that no hold waits for (so it is not trapped where it comes back)."""
    with sqlite3.connect(demo_dir / "central.db") as db:
        row = db.execute(
            "SELECT l.item_barcode FROM loans l JOIN items i ON i.barcode = l.item_barcode "
            "WHERE i.home_location = 'Main' AND NOT EXISTS (SELECT 1 FROM holds h "
            "WHERE h.item_barcode = i.barcode OR h.brn = i.brn) ORDER BY l.item_barcode"
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_a_copy_from_another_branch_goes_in_the_transfer_bin(
    display: str,
    demo: Path,  # noqa: F811 - the fixture imported above
) -> None:
    for code, name in (("Main", "Main Library"), ("North", "Northside"), ("East", "East End")):
        central(demo, "branch", "add", code, name)
    central(demo, "kiosk", "branch", "demo-kiosk", "North")
    lent = lent_to_no_ones_queue(demo)
    run = run_kiosk(display, demo, f"wait 6\nscan {lent}\nshot transfer\n")
    assert run.status == 0, run.output
    drop = run.trace[run.first("drop", "It goes back to its home branch, Main.")]
    assert drop["sound"] == "success"
    assert {
        "4",
        "Transfer",
        "Please put it in bin 4, the blue one. It goes back to its home branch, Main.",
    } <= set(drop["texts"])
