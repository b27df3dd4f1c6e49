"""``kiosk scanners listen`` and ``list`` as staff run them: real processes, a real pty."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tty
from pathlib import Path

import pytest

ITEM = "31234000567899"
PATRON = "21234000012344"


def kiosk(*args: str) -> list[str]:
    return [sys.executable, "-m", "kiosk", *args]


def read_line(stream: int, timeout: float = 10.0) -> bytes:
    """One line from a pipe, failing (not hanging) if none comes in ``timeout``."""
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([stream], [], [], timeout)
        assert ready, f"no output within {timeout} s; got {line!r}"
        chunk = os.read(stream, 1)
        assert chunk, f"output ended early: {line!r}"
        line += chunk
    return line


def wait_for_stderr(process: subprocess.Popen[bytes], text: bytes) -> bytes:
    assert process.stderr is not None
    seen = b""
    while text not in seen:
        seen += read_line(process.stderr.fileno())
    return seen


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_listen_prints_one_json_line_per_scan_and_exits_0_on_a_signal(
    tmp_path: Path, stop: signal.Signals
) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    port = os.ttyname(slave)
    process = subprocess.Popen(
        kiosk("scanners", "listen", "--serial", port, "--terminator", "crlf", "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        wait_for_stderr(process, b"connected")
        os.write(master, f"]F0A{PATRON}B\r\n".encode())
        assert process.stdout is not None
        scan = json.loads(read_line(process.stdout.fileno()))
        assert {k: scan[k] for k in ("code", "kind", "symbology", "valid_check_digit")} == {
            "code": PATRON,
            "kind": "patron",
            "symbology": "codabar",
            "valid_check_digit": True,
        }
        assert scan["source"] == f"serial:{port}"
        os.write(master, f"{ITEM}\r\n".encode())
        assert json.loads(read_line(process.stdout.fileno()))["kind"] == "item"
        process.send_signal(stop)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
        os.close(slave)


def test_listen_reports_a_broken_config_with_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[scanners]\nserial = [{ port = "/dev/x", baud = "fast", parity = "od" }]\n')
    run = subprocess.run(
        kiosk("scanners", "listen", "--config", str(config)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert f"{config}: scanners.serial[0].baud: must be a whole number" in run.stderr
    assert "(did you mean 'odd'?)" in run.stderr


def test_listen_with_nothing_to_listen_to_says_so() -> None:
    run = subprocess.run(
        kiosk("scanners", "listen"), capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 2
    assert "nothing to listen to" in run.stderr


def test_list_marks_what_the_config_uses_and_what_is_missing(tmp_path: Path) -> None:
    master, slave = os.openpty()
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[[scanners.serial]]\nport = "{os.ttyname(slave)}"\nname = "returns"\n'
        '[[scanners.hid]]\ndevice = "/dev/input/by-id/usb-not-here-event-kbd"\n'
    )
    try:
        run = subprocess.run(
            kiosk("scanners", "list", "--config", str(config)),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        os.close(master)
        os.close(slave)
    assert "Input devices" in run.stdout
    assert "Serial ports" in run.stdout
    assert "Configured but not present: hid:/dev/input/by-id/usb-not-here-event-kbd" in run.stdout
    # A pty is no serial port pyserial lists, so the configured one shows as missing too.
    assert "Configured but not present: returns" in run.stdout
