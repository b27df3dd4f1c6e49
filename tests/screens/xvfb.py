"""A real X display for the real Kivy window: Xvfb, started by the tests themselves."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SCREEN = "1920x1080x24"


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """An Xvfb of this test process's own. Xvfb picks the display number itself
    (``-displayfd``: the first it can lock) and writes it once it accepts clients, so
    test processes started together (pytest-xdist's workers, other runs) never pick
    the same number."""
    xvfb = shutil.which("Xvfb")
    assert xvfb, "Xvfb is needed for the screen tests: sudo apt install xvfb (.ci/run does)"
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", SCREEN, "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(write_end,),
    )
    os.close(write_end)
    written = b""
    with os.fdopen(read_end, "rb") as numbers:
        selector = selectors.DefaultSelector()
        selector.register(numbers, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while not written.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                server.kill()
                raise AssertionError("Xvfb did not start within 30 s")
            byte = os.read(read_end, 1)
            assert byte, f"Xvfb exited at start (status {server.wait(timeout=10)})"
            written += byte
        selector.close()
    yield f":{int(written)}"
    server.terminate()
    server.wait(timeout=10)


@dataclass
class Run:
    status: int
    trace: list[dict[str, Any]]
    output: str
    logs: str = ""

    def screens(self) -> list[str]:
        return [entry["screen"] for entry in self.trace]

    def seen(self, fragment: str) -> bool:
        return any(fragment in text for entry in self.trace for text in entry["texts"])

    def after(self, index: int) -> list[dict[str, Any]]:
        return self.trace[index:]

    def first(self, screen: str, fragment: str = "") -> int:
        for index, entry in enumerate(self.trace):
            if entry["screen"] == screen and any(fragment in text for text in entry["texts"]):
                return index
        raise AssertionError(f"no {screen} screen showing {fragment!r} in {self.screens()}")


def run_kiosk(
    display: str,
    demo_dir: Path,
    script: str,
    *extra: str,
    screenshots: Path | None = None,
    timeout: float = 120,
    kiosk: Sequence[str] = (sys.executable, "-m", "kiosk"),
    cwd: Path | None = None,
) -> Run:
    """``kiosk run --demo`` with ``script``; ``kiosk`` is the command (an installed one, say)."""
    script_file = demo_dir / "test.script"
    trace_file = demo_dir / "trace.jsonl"
    script_file.write_text(script)
    command = [
        *kiosk,
        "run",
        "--demo",
        "--demo-dir",
        str(demo_dir),
        "--script",
        str(script_file),
        "--trace",
        str(trace_file),
        *extra,
    ]
    if screenshots is not None:
        command += ["--screenshots", str(screenshots)]
    if "--size" not in extra:
        command += ["--size", "800x480"]
    done = subprocess.run(
        command,
        env=kiosk_env(display),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = trace_file.read_text().splitlines() if trace_file.exists() else []
    trace = [json.loads(line) for line in lines]
    return Run(done.returncode, trace, done.stdout + done.stderr, done.stderr)


def kiosk_env(display: str) -> dict[str, str]:
    return {**os.environ, "DISPLAY": display, "SDL_AUDIODRIVER": "dummy", "KIVY_NO_CONSOLELOG": "1"}


def start_kiosk(display: str, data: Path, script: str, trace: Path) -> subprocess.Popen[str]:
    """``kiosk run --data DATA`` with ``script``, once its first screen is drawn.
    Its standard error (the logs) is a pipe; standard output is dropped."""
    script_file = trace.with_suffix(".script")
    script_file.write_text(script)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "kiosk", "run", "--data", str(data), "--size", "800x480"),
            *("--script", str(script_file), "--trace", str(trace)),
        ],
        env=kiosk_env(display),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (trace.exists() and trace.read_text().strip()):
        if process.poll() is not None:
            raise AssertionError(f"kiosk run exited at start: {process.communicate()[1]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the kiosk never drew its first screen")
        time.sleep(0.1)
    return process
