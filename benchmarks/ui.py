"""How fast the patron sees the answer: scan to rendered frame, cold start, memory.

Runs the real app in a real Kivy window (under its own Xvfb when no DISPLAY is set) on
the same cached large-library mirror as benchmarks/circulation.py.

* scan to frame: a ``Scan`` is put on the scan bus; the time runs until the first frame
  flipped after the app rendered its answer. Cycles of card (lookup), item (checkout,
  committed to the journal), Done, item again (return, committed). Floors, in the same
  window: a bare cross-thread repaint (another thread asks Kivy to redraw; the time to
  the next flip), and plain ``sqlite3`` doing the durable minimum of a scan (one journal
  insert, WAL, synchronous=FULL).
* cold start: ``kiosk run --data DIR`` as a new process until the Welcome screen is
  drawn; floor: a bare Kivy app with one label, until its first frame.
* memory: the resident set of that process at Welcome, and of another ``kiosk run``
  after a script of the same cycles as the timed scans (with how much of it is file
  pages, which the kernel can drop). The floor is a bare Kivy window: a process that
  opens a window of the same size with Kivy, SDL and OpenGL set up as the kiosk sets
  them, under the same X server, and draws one label (Python, SDL and OpenGL; under
  Xvfb that is Mesa's software renderer, llvmpipe). The kiosk's own share is its
  resident set less the bare window's, measured in the same run: at Welcome against
  the bare window at its first frame, after the scans against a bare window that has
  stayed open and repainted beside the scripted kiosk all along. Goal: a share of at
  most 50 MB at both.
* what the greeting adds: in the same window, after the cycles above, card to screen
  (the card's scan to the PIN screen's frame plus the PIN's to the Checkout screen's,
  where the greeting is shown) for a patron whose greeting has every kind of line (a
  hold ready, a loan overdue, one due soon, money owed, a membership ending within
  its renewal window, with Renew) against a patron with nothing waiting, alternated
  cycle by cycle; both are made so in this run's copy of the mirror. The greeting adds
  the difference of their p99s (and p50s). Goal: at most 10 ms at p99. Beside it, the
  greeting's own computation (Circulation's read of the mirror and journal for it) in
  this process, on the same copy, as a floor-like breakdown.

    python benchmarks/ui.py [--items N] [--patrons M] [--loans K] [--cycles C]
                            [--greeting-cycles G] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from circulation import borrower_and_items, cached_mirror, percentile, timed

from kiosk.common.clock import SystemClock
from kiosk.demo.library import Scale

ROOT = Path(__file__).resolve().parents[1]
SIZE = (800, 480)


def start_display() -> subprocess.Popen[bytes] | None:
    if os.environ.get("DISPLAY"):
        return None
    for number in range(120, 400):
        if not Path(f"/tmp/.X11-unix/X{number}").exists():
            break
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            break
        time.sleep(0.05)
    os.environ["DISPLAY"] = f":{number}"
    return server


def memory_kb(pid: int | str = "self") -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0])
    return fields


# --- cold start ---------------------------------------------------------------------------

# The floor: a bare Kivy window of the kiosk's size, with Kivy set up as the kiosk's
# prepare_kivy sets it (kept in step by hand: importing the kiosk here would load what
# the floor must leave out). "once": closes half a second after its first frame;
# "hold": stays open, repainting its label twice a second, until stopped.
BARE_APP = """
import os, sys
width, height, home, mode = sys.argv[1:5]
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_HOME", home)
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_LOG_MODE", "MIXED")
from kivy.config import Config
Config.set("graphics", "width", width); Config.set("graphics", "height", height)
Config.set("graphics", "fullscreen", "0"); Config.set("graphics", "resizable", "1")
Config.set("kivy", "exit_on_escape", "0")
Config.set("input", "mouse", "mouse,multitouch_on_demand")
from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.label import Label
class Bare(App):
    def build(self):
        Window.bind(on_flip=self.flipped)
        self.label = Label(text="Scan your library card to borrow", font_size=40)
        return self.label
    def flipped(self, *_):
        Window.unbind(on_flip=self.flipped)
        print("drawn", flush=True)
        if mode == "once":
            Clock.schedule_once(lambda dt: self.stop(), 0.5)
        else:
            Clock.schedule_interval(self.repaint, 0.5)
    def repaint(self, dt):
        self.label.text = self.label.text[1:] + self.label.text[0]
Bare().run()
"""


def start_bare_window(scratch: Path, env: dict[str, str], mode: str) -> subprocess.Popen[str]:
    """The floor's process, once it has drawn its first frame."""
    width, height = SIZE
    bare_app = scratch / "bare_app.py"  # Kivy looks for a kv file beside the app's source
    bare_app.write_text(BARE_APP)
    home = scratch / "bare-kivy"
    home.mkdir(exist_ok=True)
    bare = subprocess.Popen(
        [sys.executable, str(bare_app), str(width), str(height), str(home), mode],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert bare.stdout is not None
    if bare.stdout.readline().strip() != "drawn":
        raise SystemExit("benchmark: the bare Kivy window (the floor) did not draw a frame")
    return bare


def cold_start(data: Path, runs: int) -> dict[str, float]:
    env = {**os.environ, "SDL_AUDIODRIVER": "dummy", "KIVY_NO_CONSOLELOG": "1"}
    script = data.parent / "cold.script"
    script.write_text("wait 0.2\n")
    kiosk_times, floor_times, rss, floor_rss = [], [], [], []
    for _ in range(runs):
        trace = data.parent / "cold.jsonl"
        trace.unlink(missing_ok=True)
        started = time.perf_counter()
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "kiosk", "run", "--data", str(data), "--size", "800x480"),
                *("--script", str(script), "--trace", str(trace)),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while not (trace.exists() and trace.read_text().strip()):
            if process.poll() is not None:
                raise SystemExit("benchmark: kiosk run exited before drawing Welcome")
            time.sleep(0.005)
        kiosk_times.append(time.perf_counter() - started)
        rss.append(memory_kb(process.pid)["VmRSS"] / 1024)
        process.wait(timeout=60)
        started = time.perf_counter()
        bare = start_bare_window(data.parent, env, "once")
        floor_times.append(time.perf_counter() - started)
        floor_rss.append(memory_kb(bare.pid)["VmRSS"] / 1024)
        bare.wait(timeout=60)
    return {
        "cold_start_s": round(statistics.median(kiosk_times), 2),
        "cold_start_floor_s": round(statistics.median(floor_times), 2),
        "rss_at_welcome_mb": round(max(rss), 1),
        "rss_floor_mb": round(max(floor_rss), 1),
        "share_at_welcome_mb": round(max(rss) - max(floor_rss), 1),
    }


def memory_after_scans(data: Path, card: str, pin: str, items: list[str]) -> dict[str, float]:
    """The resident set of a ``kiosk run`` of its own after the same scans as are timed
    below (for each item a card, PIN, checkout and Done, then each item's return), driven
    by a script: measured in this process, the figure would hold the benchmark's own
    memory too. Against a bare Kivy window open (and repainting) beside it all along,
    measured at the same moment."""
    env = {**os.environ, "SDL_AUDIODRIVER": "dummy", "KIVY_NO_CONSOLELOG": "1"}
    bare = start_bare_window(data.parent, env, "hold")
    script = data.parent / "memory.script"
    # A barcode scanned again within the scanners' debounce window (a second) is
    # ignored: the card waits that long between sessions, the returns come at the end.
    sessions = [
        f"scan {card}\npin {pin}\nscan {barcode}\npress done\npress no_receipt\nwait 1.05"
        for barcode in items
    ]
    returns = [f"scan {barcode}" for barcode in items]
    script.write_text("\n".join([*sessions, *returns, "wait 4"]) + "\n")
    trace = data.parent / "memory.jsonl"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "kiosk", "run", "--data", str(data), "--size", "800x480"),
            *("--script", str(script), "--trace", str(trace)),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The scans are done when the trace has been quiet for a second and a half: no scan
    # takes that long, and the script ends in a wait of four seconds.
    size, quiet_since, figures = -1, time.monotonic(), {}
    while process.poll() is None:
        now_size = trace.stat().st_size if trace.exists() else 0
        if now_size != size:
            size, quiet_since = now_size, time.monotonic()
        elif size > 0 and time.monotonic() - quiet_since > 1.5:
            figures, floor = memory_kb(process.pid), memory_kb(bare.pid)
            break
        time.sleep(0.05)
    process.wait(timeout=60)
    bare.terminate()  # SDL turns it into the window's close: the bare app stops
    try:
        bare.wait(timeout=30)
    except subprocess.TimeoutExpired:
        bare.kill()
        bare.wait()
    if not figures or '"screen": "drop"' not in trace.read_text().splitlines()[-1]:
        raise SystemExit("benchmark: the scripted kiosk did not finish its scans")
    return {
        "rss_after_scans_mb": round(figures["VmRSS"] / 1024, 1),
        "rss_after_scans_file_mb": round(figures["RssFile"] / 1024, 1),
        "peak_rss_mb": round(figures["VmHWM"] / 1024, 1),
        "rss_floor_after_scans_mb": round(floor["VmRSS"] / 1024, 1),
        "share_after_scans_mb": round((figures["VmRSS"] - floor["VmRSS"]) / 1024, 1),
    }


# --- scan to frame ----------------------------------------------------------------------


class Driver:
    """Feeds the scan bus one scan at a time and times each to its drawn frame."""

    def __init__(self, app: Any, steps: list[tuple[str, Any]]) -> None:
        from kivy.clock import Clock  # noqa: PLC0415

        self.clock = Clock
        self.app = app
        self.steps = steps
        self.samples: dict[str, list[float]] = {}
        self.pending: tuple[str, float, int] | None = None
        self.repaint: float | None = None
        app.flip_listeners.append(self.flipped)

    def start(self) -> None:
        self.clock.schedule_once(lambda _dt: self.next(), 1.0)

    def next(self) -> None:
        if not self.steps:
            self.app.quit_from_staff()
            return
        kind, action = self.steps.pop(0)
        if kind == "repaint":
            self.repaint = time.perf_counter()
            threading.Thread(target=self._ask_repaint).start()
        elif callable(action):
            action()
            self.clock.schedule_once(lambda _dt: self.next(), 0)
        else:
            self.pending = (kind, time.perf_counter(), self.app.scans_handled)
            self.app.bus.put(action)

    def _ask_repaint(self) -> None:
        self.clock.schedule_once(lambda _dt: self.app.root.canvas.ask_update(), -1)

    def flipped(self, now: float) -> None:
        if self.repaint is not None:
            self.samples.setdefault("repaint_floor", []).append((now - self.repaint) * 1000)
            self.repaint = None
            self.clock.schedule_once(lambda _dt: self.next(), 0)
        elif self.pending is not None and self.app.scans_handled > self.pending[2]:
            kind, started, _ = self.pending
            self.samples.setdefault(kind, []).append((now - started) * 1000)
            self.pending = None
            self.clock.schedule_once(lambda _dt: self.next(), 0)


def scan(code: str, kind: Any) -> Any:
    """A scan as the scanners put it on the bus."""
    from kiosk.devices.scan import Scan  # noqa: PLC0415

    return Scan(code, kind, "code128", "benchmark", None, SystemClock().now())


def scan_steps(
    card: str, pin: str, items: list[str], press: Callable[[str], None]
) -> list[tuple[str, Any]]:
    def finish() -> None:
        press("done")
        press("no_receipt")

    steps: list[tuple[str, Any]] = []
    for barcode in items:
        steps += [
            ("repaint", None),
            ("card", scan(card, "patron")),
            ("pin", scan(pin, "unknown")),
            ("checkout", scan(barcode, "item")),
            ("done", finish),
            ("return", scan(barcode, "item")),
        ]
    return steps


def greeting_steps(
    app: Any, cards: dict[str, str], pin: str, cycles: int, seen: dict[str, Any]
) -> list[tuple[str, Any]]:
    """Card, PIN and Done for each patron of ``cards`` in turn, ``cycles`` times: the
    card's and the PIN's scan timed as ``<who>_card`` and ``<who>_pin``; what the flow
    greeted each with, and the screen it showed, kept in ``seen``."""

    def look(who: str) -> None:
        seen[who] = (app.flow.screen.name, app.flow.patron.greeting)

    def finish() -> None:
        app.press("done")
        app.press("no_receipt")

    steps: list[tuple[str, Any]] = []
    for _ in range(cycles):
        for who, card in cards.items():
            steps += [
                (f"{who}_card", scan(card, "patron")),
                (f"{who}_pin", scan(pin, "unknown")),
                ("look", partial(look, who)),
                ("done", finish),
            ]
    return steps


def scan_to_frame(
    data: Path,
    card: str,
    pin: str,
    items: list[str],
    *,
    greeting_cards: dict[str, str],
    greeting_cycles: int,
) -> dict[str, Any]:
    from kiosk.appliance import kiosk_run as composition  # noqa: PLC0415

    options = composition.KioskOptions(data_dir=data, size=SIZE, fullscreen=False)
    result: dict[str, Any] = {}
    seen: dict[str, Any] = {}

    def ready(app: Any) -> None:
        steps = scan_steps(card, pin, items, app.press)
        steps += greeting_steps(app, greeting_cards, pin, greeting_cycles, seen)
        driver = Driver(app, steps)
        result["driver"] = driver
        driver.start()

    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    composition.run_app(options, composition.RunRequest(), on_ready=ready)
    driver: Driver = result["driver"]
    if driver.steps:
        raise SystemExit("benchmark: the app stopped before every scan was answered")
    return {"samples": driver.samples, "seen": seen}


def durable_floor(scratch: Path, count: int) -> list[float]:
    """The least a scan must do before its answer may be shown: one durable insert."""
    with sqlite3.connect(scratch / "floor.db", isolation_level=None) as journal:
        journal.execute("PRAGMA journal_mode=WAL")
        journal.execute("PRAGMA synchronous=FULL")
        journal.execute("CREATE TABLE entries (id TEXT PRIMARY KEY, payload TEXT)")
        samples = []
        for _ in range(count):
            started = time.perf_counter_ns()
            journal.execute("BEGIN IMMEDIATE")
            journal.execute("INSERT INTO entries VALUES (?, ?)", (str(uuid.uuid4()), "{}"))
            journal.execute("COMMIT")
            samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


def patron_card(cached: Path, patron_id: str) -> tuple[str, str, str]:
    """A card with a known PIN: the demo's verifiers are shared, so copy one onto ours."""
    cards = json.loads((cached / "demo-cards.json").read_text())["cards"]
    known = next(card for card in cards if card["situation"] == "adult, nothing on loan")
    with sqlite3.connect(cached / "mirror.db") as mirror:
        (card,) = mirror.execute(
            "SELECT card FROM patrons WHERE patron_id = ?", (patron_id,)
        ).fetchone()
        (verifier,) = mirror.execute(
            "SELECT pin_verifier FROM patrons WHERE card = ?", (known["card"],)
        ).fetchone()
    return card, known["pin"], verifier


# --- what the greeting costs -------------------------------------------------------------

GREETING_GOAL_MS = 10.0  # issue 17: the greeting adds at most this to card to screen's p99
SCAN_GOAL_MS = 100.0  # and each scan to its drawn answer stays within this at p99


def greeting_patrons(
    mirror_path: Path, borrower: str, avoid: list[str], verifier: str
) -> dict[str, str]:
    """Two adults of this run's copy of the mirror (never the cache's), made so: "full",
    whose greeting has every kind of line (a hold ready to collect, a loan overdue, one
    due soon, one not due yet, money owed, a membership ending within the renewal
    window, so with Renew), and "empty", with nothing waiting. Both with the demo's
    known PIN. Their cards, by name."""
    today = SystemClock().now().date()
    with sqlite3.connect(mirror_path) as mirror:
        chosen = [
            row[0]
            for row in mirror.execute(
                "SELECT patron_id FROM patrons WHERE member_type = 'ADULT' AND NOT barred "
                "AND patron_id != ? ORDER BY patron_id LIMIT 2",
                (borrower,),
            )
        ]
        # Copies nobody has or waits for, and none of those the timed cycles lend.
        marks = ", ".join("?" * len(avoid)) or "''"
        copies = mirror.execute(
            "SELECT barcode, title, brn FROM items JOIN records USING (brn) "
            "WHERE status = 'available' AND barcode NOT IN (SELECT item_barcode FROM loans) "
            "AND barcode NOT IN (SELECT item_barcode FROM holds WHERE item_barcode "
            f"IS NOT NULL) AND barcode NOT IN ({marks}) LIMIT 4",
            avoid,
        ).fetchall()
        if len(chosen) < 2 or len(copies) < 4:
            raise SystemExit("benchmark setup: too small a mirror for the greeting's patrons")
        full, empty = chosen
        for patron_id, owed, expires in (
            (full, 350, today + timedelta(days=10)),
            (empty, 0, today + timedelta(days=730)),
        ):
            mirror.execute("DELETE FROM loans WHERE patron_id = ?", (patron_id,))
            mirror.execute("DELETE FROM holds WHERE patron_id = ?", (patron_id,))
            mirror.execute(
                "UPDATE patrons SET owed = ?, expires = ?, pin_verifier = ?, "
                "pin_failures = 0, pin_locked_until = NULL WHERE patron_id = ?",
                (owed, expires.isoformat(), verifier, patron_id),
            )
        (ready, title, brn), *lent = copies
        for (barcode, _, _), days in zip(lent, (-5, 1, 14), strict=True):
            mirror.execute(
                "INSERT INTO loans (item_barcode, patron_id, member_type, due, renewals) "
                "VALUES (?, ?, 'ADULT', ?, 0)",
                (barcode, full, (today + timedelta(days=days)).isoformat()),
            )
        mirror.execute(
            "INSERT INTO holds (item_barcode, patron_id, position, ready, title, brn, pickup) "
            "VALUES (?, ?, 1, 1, ?, ?, NULL)",
            (ready, full, title, brn),
        )
        cards = dict(
            mirror.execute(
                "SELECT patron_id, card FROM patrons WHERE patron_id IN (?, ?)", (full, empty)
            ).fetchall()
        )
    return {"full": cards[full], "empty": cards[empty]}


def check_greetings(seen: dict[str, Any]) -> list[str]:
    """That each patron was greeted as made, on the Checkout screen: the full one's
    kinds of line, named."""
    from kiosk.circulation.views import Greeting  # noqa: PLC0415

    (full_screen, full), (empty_screen, empty) = seen["full"], seen["empty"]
    kinds = {
        "hold ready": bool(full.holds_ready),
        "overdue": full.overdue > 0,
        "due soon": full.due_soon > 0,
        "owed": full.owed > 0,
        "membership ending, Renew": full.membership_ends is not None and full.renewable,
    }
    if full_screen != "CHECKOUT" or not all(kinds.values()):
        raise SystemExit(f"benchmark setup: the full greeting was {full} on {full_screen}")
    # Nothing waiting: only what every patron is told alike (an old mirror's limit).
    if empty_screen != "CHECKOUT" or empty != Greeting(offline_limit=empty.offline_limit):
        raise SystemExit(f"benchmark setup: the empty greeting was {empty} on {empty_screen}")
    return list(kinds)


def greeting_computation(data: Path, cards: dict[str, str], rounds: int) -> dict[str, list[float]]:
    """The greeting's own computation (Circulation's read of the mirror and journal for
    it, the patron already read), in this process on the same copy, the patrons
    alternated; each timed inside its own journal transaction, one warm-up each first."""
    from kiosk.circulation.service import Circulation  # noqa: PLC0415
    from kiosk.store.store import Store  # noqa: PLC0415

    store = Store.open(data)
    circulation = Circulation(store, SystemClock())
    samples: dict[str, list[float]] = {who: [] for who in cards}

    def greet(card: str, into: list[float], world: Any, now: datetime) -> object:
        patron = world.patron_by_card(card)
        return timed(partial(circulation._greeting, world, now, patron), into)

    try:
        for card in cards.values():
            circulation._run(partial(greet, card, []))
        for _ in range(rounds):
            for who, card in cards.items():
                circulation._run(partial(greet, card, samples[who]))
    finally:
        store.close()
    return samples


def greeting_figures(
    samples: dict[str, list[float]], computed: dict[str, list[float]], kinds: list[str]
) -> dict[str, Any]:
    """Card to screen for each patron (its card's and its PIN's scan to frame, added
    cycle by cycle), and what the full greeting adds to it."""

    def to_screen(who: str) -> list[float]:
        return [
            card + pin
            for card, pin in zip(samples[f"{who}_card"], samples[f"{who}_pin"], strict=True)
        ]

    full, empty = to_screen("full"), to_screen("empty")
    # Rounded before compared, so that the word matches the figure printed beside it.
    adds_p50 = round(percentile(full, 0.5) - percentile(empty, 0.5), 1)
    adds_p99 = round(percentile(full, 0.99) - percentile(empty, 0.99), 1)
    scans_p99 = round(percentile(samples["full_card"] + samples["full_pin"], 0.99), 1)
    own_p50 = percentile(computed["full"], 0.5) - percentile(computed["empty"], 0.5)
    own_p99 = percentile(computed["full"], 0.99) - percentile(computed["empty"], 0.99)
    return {
        "cycles": len(full),
        "full_greeting_lines": kinds,
        "full_card_to_screen_p50_ms": round(percentile(full, 0.5), 1),
        "full_card_to_screen_p99_ms": round(percentile(full, 0.99), 1),
        "empty_card_to_screen_p50_ms": round(percentile(empty, 0.5), 1),
        "empty_card_to_screen_p99_ms": round(percentile(empty, 0.99), 1),
        "adds_p50_ms": adds_p50,
        "adds_p99_ms": adds_p99,
        "goal_p99_ms": GREETING_GOAL_MS,
        "goal": "met" if adds_p99 <= GREETING_GOAL_MS else "missed",
        # Each of the full greeting's scans (card, PIN) to its drawn answer.
        "full_scan_to_frame_p99_ms": scans_p99,
        "scan_goal_p99_ms": SCAN_GOAL_MS,
        "scan_goal": "met" if scans_p99 <= SCAN_GOAL_MS else "missed",
        "computation_full_p50_ms": round(percentile(computed["full"], 0.5), 3),
        "computation_full_p99_ms": round(percentile(computed["full"], 0.99), 3),
        "computation_empty_p50_ms": round(percentile(computed["empty"], 0.5), 3),
        "computation_empty_p99_ms": round(percentile(computed["empty"], 0.99), 3),
        "computation_adds_p50_ms": round(own_p50, 3),
        "computation_adds_p99_ms": round(own_p99, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2_000_000)
    parser.add_argument("--patrons", type=int, default=500_000)
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument(
        "--greeting-cycles",
        type=int,
        default=100,
        help="card, PIN and Done for each of the two patrons of what the greeting adds",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    display = start_display()
    try:
        scale = Scale(args.items, args.patrons, args.loans, args.seed)
        # Built, when not cached yet, in a process of its own: two million items held in
        # this one would stay in its heap and count in the memory measured after the scans.
        with multiprocessing.get_context("spawn").Pool(1) as builder:
            cached, _ = builder.apply(cached_mirror, (scale,))
        patron_id, items = borrower_and_items(cached, args.cycles, args.seed)
        card, pin, verifier = patron_card(cached, patron_id)
        with tempfile.TemporaryDirectory() as scratch_name:
            scratch = Path(scratch_name)
            data = scratch / "kiosk"
            data.mkdir()
            shutil.copyfile(cached / "mirror.db", data / "mirror.db")
            with sqlite3.connect(data / "mirror.db") as mirror:
                mirror.execute(
                    "UPDATE patrons SET pin_verifier = ? WHERE patron_id = ?",
                    (verifier, patron_id),
                )
            started = cold_start(data, args.cold_starts)
            remembered = memory_after_scans(data, card, pin, items)
            shutil.copyfile(cached / "mirror.db", data / "mirror.db")  # the items back in
            for name in ("journal.db", "journal.db-wal", "journal.db-shm"):
                (data / name).unlink(missing_ok=True)
            with sqlite3.connect(data / "mirror.db") as mirror:
                mirror.execute(
                    "UPDATE patrons SET pin_verifier = ? WHERE patron_id = ?",
                    (verifier, patron_id),
                )
            greeting_cards = greeting_patrons(data / "mirror.db", patron_id, items, verifier)
            measured = scan_to_frame(
                data,
                card,
                pin,
                items,
                greeting_cards=greeting_cards,
                greeting_cycles=args.greeting_cycles,
            )
            kinds = check_greetings(measured["seen"])
            computed = greeting_computation(data, greeting_cards, args.greeting_cycles)
            floor = durable_floor(scratch, len(items) * 2)
    finally:
        if display is not None:
            display.terminate()
    samples = measured["samples"]
    answers = samples["card"] + samples["checkout"] + samples["return"]
    result = {
        "items": args.items,
        "patrons": args.patrons,
        "scans": len(answers),
        "scan_to_frame_p50_ms": round(percentile(answers, 0.5), 1),
        "scan_to_frame_p99_ms": round(percentile(answers, 0.99), 1),
        "checkout_p99_ms": round(percentile(samples["checkout"], 0.99), 1),
        "return_p99_ms": round(percentile(samples["return"], 0.99), 1),
        "card_p99_ms": round(percentile(samples["card"], 0.99), 1),
        "pin_p50_ms": round(percentile(samples["pin"], 0.5), 1),
        "repaint_floor_p50_ms": round(percentile(samples["repaint_floor"], 0.5), 1),
        "repaint_floor_p99_ms": round(percentile(samples["repaint_floor"], 0.99), 1),
        "durable_floor_p50_ms": round(percentile(floor, 0.5), 2),
        "durable_floor_p99_ms": round(percentile(floor, 0.99), 2),
        **started,
        **remembered,
        "greeting_adds": greeting_figures(samples, computed, kinds),
    }
    if args.json:
        print(json.dumps(result))
    else:
        greeting = result.pop("greeting_adds")
        for key, value in result.items():
            print(f"{key:>22}: {value}")
        print(
            f"the greeting adds (card to screen, {greeting['cycles']} cycles of each patron "
            f"alternated): p50 {greeting['adds_p50_ms']} ms, p99 {greeting['adds_p99_ms']} ms; "
            f"goal <= {greeting['goal_p99_ms']:g} ms at p99: {greeting['goal']}"
        )
        for key, value in greeting.items():
            print(f"{key:>30}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
