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

    python benchmarks/ui.py [--items N] [--patrons M] [--loans K] [--cycles C] [--json]
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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from circulation import borrower_and_items, cached_mirror, percentile

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


def scan_steps(
    card: str, pin: str, items: list[str], press: Callable[[str], None]
) -> list[tuple[str, Any]]:
    from kiosk.common.clock import SystemClock  # noqa: PLC0415
    from kiosk.devices.scan import Scan  # noqa: PLC0415

    def scan(code: str, kind: Any) -> Scan:
        return Scan(code, kind, "code128", "benchmark", None, SystemClock().now())

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


def scan_to_frame(data: Path, card: str, pin: str, items: list[str]) -> dict[str, Any]:
    from kiosk.appliance import kiosk_run as composition  # noqa: PLC0415

    options = composition.KioskOptions(data_dir=data, size=SIZE, fullscreen=False)
    result: dict[str, Any] = {}

    def ready(app: Any) -> None:
        driver = Driver(app, scan_steps(card, pin, items, app.press))
        result["driver"] = driver
        driver.start()

    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    composition.run_app(options, composition.RunRequest(), on_ready=ready)
    driver: Driver = result["driver"]
    if driver.steps:
        raise SystemExit("benchmark: the app stopped before every scan was answered")
    return {"samples": driver.samples}


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2_000_000)
    parser.add_argument("--patrons", type=int, default=500_000)
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--cold-starts", type=int, default=3)
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
            measured = scan_to_frame(data, card, pin, items)
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
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
