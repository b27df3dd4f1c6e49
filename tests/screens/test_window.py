"""The real app in a real Kivy window under Xvfb, driven by scripts as a patron would.

Each test runs ``kiosk run --demo --script`` on a fresh copy of one demo library (a
central server on loopback, the sync agent, the keyboard as the scanner) and reads the
trace: every screen shown and every text on it.
"""

from __future__ import annotations

import json
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kiosk.common.check_digits import luhn_digit
from kiosk.demo.loopback import DEMO_STAFF_CARD, DEMO_STAFF_PIN

from .xvfb import kiosk_env, run_kiosk, start_kiosk


@pytest.fixture(scope="module")
def template(display: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo library, built and synced once; each test gets a copy."""
    directory = tmp_path_factory.mktemp("demo-template")
    run = run_kiosk(display, directory, "shot first\n")
    assert run.status == 0, run.output
    assert run.screens() == ["welcome"]
    return directory


@pytest.fixture
def demo(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "demo"
    shutil.copytree(template, copy, ignore=shutil.ignore_patterns("kivy", "trace.jsonl"))
    return copy


def cards(demo: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((demo / "demo-cards.json").read_text())
    return loaded


def card(demo: Path, situation: str) -> dict[str, Any]:
    return next(c for c in cards(demo)["cards"] if c["situation"] == situation)


def items(demo: Path, kind: str, state: str) -> list[str]:
    return list(cards(demo)["items"][kind][state])


def test_checkout_with_a_refusal_renew_and_finish(display: str, demo: Path) -> None:
    adult = card(demo, "adult, nothing on loan")
    book = items(demo, "FICTION", "available")[0]
    elsewhere = items(demo, "FICTION", "on_loan")[0]
    run = run_kiosk(
        display,
        demo,
        f"scan {adult['card']}\npin {adult['pin']}\nscan {book}\nscan {elsewhere}\n"
        "press account\npress renew_1\npress done\npress no_receipt\n"
        "key escape\nkey f1\nkey alt+f4\nshot still-running\n",
    )
    assert run.status == 0, run.output
    checkout = run.trace[run.first("checkout", "can't be borrowed right now")]
    assert f"Hello {adult['first_name']}" in checkout["texts"]
    assert checkout["sound"] == "error"
    assert any(text.startswith("Due back by") for text in checkout["texts"])
    account = run.trace[run.first("account", "Renew")]
    assert any("item on loan" in text for text in account["texts"])
    run.first("account", "Renewed: now due back by")
    run.first("finish", "You borrowed 1 item today.")
    goodbye = run.trace[run.first("welcome", "Thank you. Goodbye!")]
    assert not any(adult["first_name"] in text for text in goodbye["texts"])
    # Escape, F1 (Kivy's settings) and the window's close were tried after that: the
    # kiosk is still there, showing only its own screen.
    assert run.screens()[-1] == "welcome"
    assert run.trace[-1]["texts"] == goodbye["texts"]


def test_pin_lockout_on_the_fifth_wrong_pin(display: str, demo: Path) -> None:
    adult = card(demo, "adult, nothing on loan")
    wrong = "0000" if adult["pin"] != "0000" else "1111"
    run = run_kiosk(display, demo, f"scan {adult['card']}\n" + f"pin {wrong}\n" * 5)
    assert run.status == 0, run.output
    run.first("pin", "Please try again (4 tries left).")
    run.first("pin", "Please try again (1 try left).")
    locked = run.trace[-1]
    assert locked["screen"] == "welcome"
    assert any("this card is locked on this kiosk until" in text for text in locked["texts"])


def test_returns_are_routed_to_their_bins(display: str, demo: Path) -> None:
    lent = items(demo, "DVD", "on_loan")[0]
    unknown = "3999999999999" + luhn_digit("3999999999999")
    run = run_kiosk(display, demo, f"scan {lent}\nscan {unknown}\nscan 39999999999991\n")
    assert run.status == 0, run.output
    first = run.trace[run.first("drop", "Please put it in bin")]
    assert first["sound"] == "success"
    assert {"1", "2"} & set(first["texts"])
    run.first("drop", "Please put this item in the staff bin, number 3.")
    misread = run.trace[-1]
    assert misread["screen"] == "welcome"
    assert "That barcode didn't scan properly. Please try again." in misread["texts"]


def test_inactivity_resets_and_leaves_no_patron_text(display: str, demo: Path) -> None:
    patron = card(demo, "has loans")
    book = items(demo, "NONFICTION", "available")[0]
    run = run_kiosk(
        display,
        demo,
        f"scan {patron['card']}\npin {patron['pin']}\nscan {book}\npress account\n"
        "idle 60\nidle 15\n",
        "--inactivity",
        "60",
    )
    assert run.status == 0, run.output
    warning = run.trace[run.first("account", "Are you still there?")]
    assert warning["warning"] is True
    assert "For your privacy, this session ends in 15 seconds." in warning["texts"]
    last = run.trace[-1]
    assert last["screen"] == "welcome"
    titles = [
        text for entry in run.trace if entry["screen"] == "account" for text in entry["texts"]
    ]
    for text in last["texts"]:
        assert patron["first_name"] not in text
        assert patron["card"] not in text or "Card " in text  # the demo's list of cards
    assert not set(titles) & set(last["texts"]) - {"Help"}


def test_the_patrons_language_lasts_for_their_session(display: str, demo: Path) -> None:
    adult = card(demo, "adult, nothing on loan")
    run = run_kiosk(
        display,
        demo,
        f"lang es\nscan {adult['card']}\npin {adult['pin']}\npress done\npress no_receipt\n",
    )
    assert run.status == 0, run.output
    run.first("welcome", "Escanee su carné")
    spanish = run.trace[run.first("checkout")]
    assert spanish["language"] == "es"
    assert f"Hola, {adult['first_name']}" in spanish["texts"] or any(
        adult["first_name"] in text and "Hola" in text for text in spanish["texts"]
    )
    last = run.trace[-1]
    assert (last["screen"], last["language"]) == ("welcome", "en")
    assert "Scan your library card to borrow" in last["texts"]


def test_staff_mode_status_and_scanner_test(display: str, demo: Path) -> None:
    book = items(demo, "FICTION", "available")[0]
    run = run_kiosk(
        display,
        demo,
        f"scan {DEMO_STAFF_CARD}\npin {DEMO_STAFF_PIN}\npress scanner_test\nscan {book}\n"
        "press sync_now\npress close_staff\n",
    )
    assert run.status == 0, run.output
    staff = run.trace[run.first("staff", "pending")]
    assert any(text.startswith("journal  ") for text in staff["texts"])
    assert any(text.startswith("mirror  ready; synced") for text in staff["texts"])
    assert not any("[b]" in text for text in staff["texts"])  # what is read, not markup
    run.first("staff", f"item …{book[-4:]} from keyboard")
    assert run.screens()[-1] == "welcome"


def test_a_bad_script_line_is_reported_with_its_number(display: str, demo: Path) -> None:
    run = run_kiosk(display, demo, "scan 1\nfrobnicate 2\nwait soon\n")
    assert run.status == 2
    assert "test.script:2: unknown command 'frobnicate'" in run.output
    assert "test.script:3: wait takes a number of seconds, not 'soon'" in run.output


def test_pressing_a_button_that_is_not_there_fails_the_run(display: str, demo: Path) -> None:
    run = run_kiosk(display, demo, "press renew_all\n")
    assert run.status == 1
    assert "no button 'renew_all' on the welcome screen" in run.output


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.parametrize(
    ("size", "theme"), [("800x480", "standard"), ("1920x1080", "high_contrast")]
)
def test_every_screen_renders_at_the_pi_and_full_hd_sizes(
    display: str, demo: Path, tmp_path: Path, size: str, theme: str
) -> None:
    tour = (Path(__file__).parents[2] / "docs" / "screens" / "tour.script").read_text()
    shots = tmp_path / "shots"
    run = run_kiosk(
        display, demo, tour, "--size", size, "--theme", theme, screenshots=shots, timeout=180
    )
    assert run.status == 0, run.output
    width, height = (int(part) for part in size.split("x"))
    names = sorted(path.stem for path in shots.glob("*.png"))
    assert names == sorted(
        [
            "welcome",
            "pin",
            "checkout",
            "account",
            "finish",
            "feedback",
            "drop",
            "help",
            "staff",
            "warning",
            "after-inactivity",
        ]
    )
    for path in shots.glob("*.png"):
        assert png_size(path) == (width, height)
    assert {entry["theme"] for entry in run.trace} == {theme}
    # Every button on every screen is a touch target of 15 mm at least (by the display's
    # own size here: Xvfb says 96 dots to the inch).
    targets = [entry["smallest_target_mm"] for entry in run.trace if entry["smallest_target_mm"]]
    assert len(targets) > 10
    assert min(targets) >= 15


def test_out_of_service_until_the_library_arrives_then_back_by_itself(
    display: str, tmp_path: Path
) -> None:
    """An empty data directory: nothing to lend from. The library then arrives (written
    into the mirror by another process, as the sync agent would) and the kiosk comes
    back to Welcome without anyone touching it."""
    data = tmp_path / "kiosk"
    trace = tmp_path / "trace.jsonl"
    app = start_kiosk(display, data, "shot waiting\nwait 12\n", trace)
    try:
        first = json.loads(trace.read_text().splitlines()[0])
        assert first["screen"] == "out_of_service"
        assert "The library's records have not arrived at this kiosk yet." in first["texts"]
        subprocess.run(
            [
                *(sys.executable, "-m", "kiosk", "demo-data", "--out", str(data)),
                *("--items", "200", "--patrons", "20", "--loans", "5"),
            ],
            check=True,
            capture_output=True,
        )
        _, logs = app.communicate(timeout=60)
    finally:
        app.kill()
    assert app.returncode == 0, logs
    screens = [json.loads(line)["screen"] for line in trace.read_text().splitlines()]
    assert screens[-1] == "welcome", screens


def test_a_whole_session_at_debug_level_logs_no_patron_name_card_or_pin(
    display: str, demo: Path
) -> None:
    every = cards(demo)["cards"]
    tour = (Path(__file__).parents[2] / "docs" / "screens" / "tour.script").read_text()
    run = run_kiosk(display, demo, tour, "--log-level", "debug")
    assert run.status == 0, run.output
    assert "kiosk.session.flow" in run.logs or "kiosk.devices" in run.logs  # it did log
    for card in every:
        assert card["card"] not in run.logs, card["situation"]
        assert f" {card['first_name']} " not in run.logs, card["situation"]
        assert f"PIN {card['pin']}" not in run.logs
    assert DEMO_STAFF_PIN not in run.logs


def test_kiosk_run_with_a_config_file(display: str, demo: Path, tmp_path: Path) -> None:
    """An installed kiosk: kiosk.toml names the data directory, a drop-station mode, the
    library and its bins; the sync agent is another service, so none runs here."""
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f"""
[kiosk]
name = "branch-drop"
mode = "return"
data_dir = "{demo / "kiosk"}"

[library]
name = "Riverside Branch"

[display]
languages = ["en", "fr"]
screen_width_mm = 155  # the Raspberry Pi Touch Display, 800 pixels across

[bins.shelf]
label = "Shelf"
number = 7
colour = "blue"

[scanners]
keyboard = true
"""
    )
    lent = items(demo, "FICTION", "on_loan")[0]
    script = tmp_path / "drop.script"
    trace = tmp_path / "trace.jsonl"
    script.write_text(f"scan {lent}\n")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "kiosk", "run", "--config", str(config)),
            *("--size", "800x480", "--script", str(script), "--trace", str(trace)),
        ],
        env=kiosk_env(display),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in trace.read_text().splitlines()]
    welcome = entries[0]
    assert "Riverside Branch" in welcome["texts"]
    assert "Scan a book to return it" in welcome["texts"]
    assert "Français" in welcome["texts"]
    assert "Español" not in welcome["texts"]
    drop = entries[-1]
    assert drop["screen"] == "drop"
    # 15 mm on the Pi's 155 mm glass is 77 of its 800 pixels, not Xvfb's 57.
    assert min(entry["smallest_target_mm"] for entry in entries) >= 15
    assert {"Please put it in bin 7, the blue one.", "7"} <= set(drop["texts"]) or any(
        "bin 1" in text
        for text in drop["texts"]  # an item someone reserved meanwhile
    )


def test_a_broken_config_stops_kiosk_run_with_every_mistake(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[kiosk]\nname = "x"\nmode = "chekout"\n\n[sesion]\n')
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "did you mean 'checkout'" in done.stderr
    assert "sesion" in done.stderr


def test_a_damaged_journal_is_out_of_service_and_staff_mode_says_why(
    display: str, demo: Path
) -> None:
    journal = demo / "kiosk" / "journal.db"
    journal.write_bytes(b"this is not a database" * 100)
    for side in ("journal.db-wal", "journal.db-shm"):
        (demo / "kiosk" / side).unlink(missing_ok=True)
    run = run_kiosk(
        display, demo, f"scan {DEMO_STAFF_CARD}\npin {DEMO_STAFF_PIN}\n", "--log-level", "info"
    )
    assert run.status == 0, run.output
    assert run.trace[0]["screen"] == "out_of_service"
    assert "This kiosk cannot open its records." in run.trace[0]["texts"]
    run.first("staff", "The data directory cannot be used")
    assert journal.read_bytes().startswith(b"this is not a database")  # kept for staff


def test_sigterm_stops_the_kiosk_though_the_window_refuses_to_close(
    display: str, demo: Path
) -> None:
    """systemctl stop sends SIGTERM; Alt+F4 must not close the kiosk, but this must."""
    app = start_kiosk(display, demo / "kiosk", "wait 60\n", demo / "trace.jsonl")
    try:
        app.terminate()
        _, logs = app.communicate(timeout=20)
    finally:
        app.kill()
    assert app.returncode == 0
    assert "stopping: asked to by a signal" in logs


def test_the_screens_tell_systemd_they_are_ready_and_feed_its_watchdog(
    display: str, demo: Path, tmp_path: Path
) -> None:
    """kiosk.service is Type=notify with WatchdogSec: the UI's own clock feeds it, so a
    frozen screen stops feeding it and systemd restarts the kiosk."""
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        listener.settimeout(0.2)
        env = {
            **kiosk_env(display),
            "NOTIFY_SOCKET": address,
            "WATCHDOG_USEC": "400000",  # fed every 0.2 s
        }
        script = tmp_path / "wait.script"
        script.write_text("wait 2\n")
        app = subprocess.Popen(
            [
                *(sys.executable, "-m", "kiosk", "run", "--data", str(demo / "kiosk")),
                *("--size", "800x480", "--script", str(script)),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        messages: list[str] = []
        try:
            while app.poll() is None:
                try:
                    messages.append(listener.recv(4096).decode())
                except TimeoutError:
                    continue
        finally:
            app.kill()
    assert app.returncode == 0
    assert messages[0] == "READY=1"
    assert messages.count("WATCHDOG=1") >= 5
    assert messages[-1] == "STOPPING=1"
