"""Issue 17 in the real app under Xvfb: what waits for the patron, membership renewal
allowed and refused, the guard for a long time offline, and nothing of the patron left
after inactivity. Each run is ``kiosk run --script`` on a copy of one demo library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .xvfb import Run, kiosk_env, run_kiosk

# KIOSK_SCREENSHOTS=DIR keeps each run's shots there (the README's come from it).
SHOTS = os.environ.get("KIOSK_SCREENSHOTS")


@pytest.fixture(scope="module")
def template(display: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo-template")
    run = run_kiosk(display, directory, "shot first\n")
    assert run.status == 0, run.output
    return directory


@pytest.fixture
def demo(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "demo"
    shutil.copytree(template, copy, ignore=shutil.ignore_patterns("kivy", "trace.jsonl"))
    return copy


def card(demo: Path, situation: str) -> dict[str, Any]:
    cards = json.loads((demo / "demo-cards.json").read_text())["cards"]
    return next(c for c in cards if c["situation"] == situation)


def available(demo: Path, kind: str) -> list[str]:
    return list(json.loads((demo / "demo-cards.json").read_text())["items"][kind]["available"])


def shots(tmp_path: Path) -> Path:
    return Path(SHOTS) if SHOTS else tmp_path / "shots"


def test_a_hold_ready_greets_the_patron_and_inactivity_leaves_none_of_it(
    display: str, demo: Path, tmp_path: Path
) -> None:
    patron = card(demo, "has a hold ready for pickup")
    run = run_kiosk(
        display,
        demo,
        f"scan {patron['card']}\npin {patron['pin']}\nshot greeting\nidle 60\nidle 16\n",
        "--inactivity",
        "60",
        screenshots=shots(tmp_path),
    )
    assert run.status == 0, run.output
    greeting = run.trace[run.first("checkout", "Waiting for you")]
    assert "Ready for you at the hold shelf." in greeting["texts"]
    assert (shots(tmp_path) / "greeting.png").stat().st_size > 10_000
    last = run.trace[-1]
    assert last["screen"] == "welcome"
    said = set(greeting["texts"]) - {"Help"}
    assert not said & set(last["texts"])
    assert not any(patron["first_name"] in text for text in last["texts"])


def test_a_membership_ending_soon_is_renewed_at_the_kiosk(
    display: str, demo: Path, tmp_path: Path
) -> None:
    patron = card(demo, "membership ends soon")
    run = run_kiosk(
        display,
        demo,
        f"scan {patron['card']}\npin {patron['pin']}\nshot membership\n"
        "press renew_membership\nshot membership-renewed\n",
        screenshots=shots(tmp_path),
    )
    assert run.status == 0, run.output
    run.first("checkout", "You can renew it here.")
    renewed = run.trace[run.first("checkout", "Your membership is renewed until")]
    assert renewed["sound"] == "success"
    assert "Your membership is renewed." in renewed["texts"]


def test_a_membership_renewal_refused_says_why(display: str, demo: Path) -> None:
    patron = card(demo, "membership ends soon, owes too much")
    run = run_kiosk(
        display, demo, f"scan {patron['card']}\npin {patron['pin']}\npress renew_membership\n"
    )
    assert run.status == 0, run.output
    refused = run.trace[-1]
    assert refused["screen"] == "checkout"
    assert refused["sound"] == "error"
    assert any("renew" in text and "10.00" in text for text in refused["texts"]), refused


def kiosk_alone(display: str, directory: Path, script: str, *options: str) -> Run:
    """``kiosk run`` with ``options`` (a data directory or a config) and no server: an
    installed kiosk's screens, whose sync agent is another service (here none runs)."""
    script_file, trace = directory / "alone.script", directory / "alone.jsonl"
    script_file.write_text(script)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "kiosk", "run", *options, "--size", "800x480"),
            *("--script", str(script_file), "--trace", str(trace)),
        ],
        env=kiosk_env(display),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = trace.read_text().splitlines() if trace.exists() else []
    return Run(done.returncode, [json.loads(line) for line in lines], done.stdout + done.stderr)


def test_a_day_without_the_server_lends_three_items_a_visit(
    display: str, demo: Path, tmp_path: Path
) -> None:
    patron = card(demo, "adult, nothing on loan")
    books = available(demo, "FICTION")[:2] + available(demo, "NONFICTION")[:2]
    a_day_on = datetime.now() + timedelta(hours=25)  # the kiosk runs on local time
    scans = "".join(f"scan {book}\n" for book in books)
    run = kiosk_alone(
        display,
        demo,
        f"scan {patron['card']}\npin {patron['pin']}\nshot offline\n{scans}shot offline-limit\n",
        *("--data", str(demo / "kiosk"), "--now", a_day_on.isoformat(timespec="minutes")),
        *("--screenshots", str(shots(tmp_path))),
    )
    assert run.status == 0, run.output
    greeting = run.trace[run.first("checkout", "This kiosk has been offline for a while.")]
    assert "You can borrow up to 3 items here this time." in greeting["texts"]
    last = run.trace[-1]
    assert last["sound"] == "error"
    assert (
        "This kiosk has been offline for a while, so it lends only 3 items a visit. "
        "Please borrow the rest at the desk."
    ) in last["texts"]
    assert sum(text.startswith("Due back by") for text in last["texts"]) == 3


def test_an_item_scanned_again_is_renewed_with_one_tap(display: str, demo: Path) -> None:
    patron = card(demo, "adult, nothing on loan")
    book = available(demo, "FICTION")[0]
    run = run_kiosk(
        display,
        demo,
        # Again after the scanner's debounce time (a second read at once is dropped).
        f"scan {patron['card']}\npin {patron['pin']}\nscan {book}\nwait 1.5\nscan {book}\n"
        "press renew_scanned\n",
    )
    assert run.status == 0, run.output
    run.first("checkout", "This item is already on your card, due back by")
    renewed = run.trace[-1]
    assert renewed["sound"] == "success"
    assert any(text.startswith("Renewed: now due back by") for text in renewed["texts"])


def test_the_librarys_message_on_welcome_in_each_language(
    display: str, demo: Path, tmp_path: Path
) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f"""
[kiosk]
name = "main-hall"
data_dir = "{demo / "kiosk"}"

[library]
name = "Papyrus Public Library"

[library.message]
en = "Closed on Monday 25th"
fr = "Fermé le lundi 25"

[scanners]
keyboard = true
"""
    )
    run = kiosk_alone(
        display,
        tmp_path,
        "shot welcome-message\nlang fr\nlang es\n",
        *("--config", str(config), "--screenshots", str(shots(tmp_path))),
    )
    assert run.status == 0, run.output
    said = [entry["texts"] for entry in run.trace]
    assert "Closed on Monday 25th" in said[0]
    assert "Fermé le lundi 25" in said[-2]
    assert "Closed on Monday 25th" in said[-1]  # none in Spanish: the default language's
