"""Serial scanners through a real pseudo-terminal: the test writes on the master side as
the scanner would, pyserial reads the terminal behind a symlink that stands for the
configured /dev/serial/by-id path (replug = a new terminal behind the same link)."""

from __future__ import annotations

import os
import queue
import time
import tty
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.devices import (
    BarcodeSettings,
    ScanBus,
    ScanPipeline,
    SerialScannerSettings,
    SourceStatus,
)
from kiosk.devices.reader import Delivery, StatusBoard
from kiosk.devices.serial_source import SerialSource, open_serial_port

PATRON = "21234000012344"
ITEM = "31234000567899"
MORNING = datetime(2025, 3, 4, 9, 30)


class Pty:
    """A pseudo-terminal whose slave side is reached through ``link``."""

    def __init__(self, link: Path) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        temporary = link.with_suffix(".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(os.ttyname(self._slave))
        temporary.replace(link)  # atomic: the reader never sees a half-made link

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        os.close(self.master)
        os.close(self._slave)


class Statuses:
    def __init__(self) -> None:
        self.seen: queue.SimpleQueue[SourceStatus] = queue.SimpleQueue()

    def __call__(self, status: SourceStatus) -> None:
        self.seen.put(status)

    def wait_for(self, state: str, timeout: float = 5.0) -> SourceStatus:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                status = self.seen.get(timeout=left)
            except queue.Empty:
                break
            if status.state == state:
                return status
        raise AssertionError(f"no {state!r} status within {timeout} s")


class Rig:
    def __init__(self, tmp_path: Path, **settings: object) -> None:
        self.link = tmp_path / "usb-Datalogic_Scanner-if00"
        self.pty = Pty(self.link)
        self.bus = ScanBus()
        self.statuses = Statuses()
        entry = SerialScannerSettings(port=str(self.link), **settings)  # type: ignore[arg-type]
        pipeline = ScanPipeline(BarcodeSettings(debounce_seconds=0), lambda: MORNING)
        self.source = SerialSource(
            entry,
            Delivery(pipeline, self.bus, "returns"),
            StatusBoard(self.statuses),
            reopen_min_seconds=0.02,
            reopen_max_seconds=0.1,
        )

    def codes(self, count: int, timeout: float = 5.0) -> list[str]:
        found: list[str] = []
        for _ in range(count):
            scan = self.bus.get(timeout=timeout)
            assert scan is not None, f"only {found} arrived"
            found.append(scan.code)
        return found


RigFactory = Callable[..., Rig]


@pytest.fixture
def rig_factory(tmp_path: Path) -> Iterator[RigFactory]:
    made: list[Rig] = []

    def make(**settings: object) -> Rig:
        rig = Rig(tmp_path, **settings)
        made.append(rig)
        rig.source.start()
        rig.statuses.wait_for("connected")
        return rig

    yield make
    for rig in made:
        rig.source.stop()
        assert not rig.source.is_alive()


@pytest.mark.parametrize(("terminator", "end"), [("cr", b"\r"), ("lf", b"\n"), ("crlf", b"\r\n")])
def test_terminated_lines(rig_factory: RigFactory, terminator: str, end: bytes) -> None:
    rig = rig_factory(terminator=terminator)
    rig.pty.write(ITEM.encode() + end + PATRON.encode() + end)
    assert rig.codes(2) == [ITEM, PATRON]
    # Written a byte at a time, as a slow scanner does, it is still one scan.
    for byte in ITEM.encode() + end:
        rig.pty.write(bytes([byte]))
    assert rig.codes(1) == [ITEM]
    assert rig.bus.get(timeout=0.05) is None


def test_any_line_end_works_whatever_was_configured(rig_factory: RigFactory) -> None:
    rig = rig_factory(terminator="cr")
    rig.pty.write(f"{ITEM}\n{PATRON}\r\n{ITEM}\r".encode())
    assert rig.codes(3) == [ITEM, PATRON, ITEM]
    assert rig.bus.get(timeout=0.05) is None  # the LF after a CR is no empty scan


def test_without_terminator_the_quiet_line_is_the_end_of_a_scan(rig_factory: RigFactory) -> None:
    rig = rig_factory(terminator="none", timeout=0.05)
    rig.pty.write(ITEM.encode())
    assert rig.codes(1) == [ITEM]
    rig.pty.write(PATRON.encode())
    assert rig.codes(1) == [PATRON]  # flushed on its own, not glued to the first


def test_a_partial_line_is_discarded_on_timeout_never_glued_to_the_next(
    rig_factory: RigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    rig = rig_factory(terminator="cr", timeout=0.05)
    rig.pty.write(b"3123400")
    deadline = time.monotonic() + 5
    while "never got their terminator" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "discarded 7 characters" in caplog.text
    rig.pty.write(f"{PATRON}\r".encode())
    assert rig.codes(1) == [PATRON]


def test_garbage_and_overlong_lines_are_dropped_with_a_log_line(
    rig_factory: RigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    rig = rig_factory(terminator="cr", max_length=20)
    rig.pty.write(b"\x00\xff\x13\x1b[0m\r")  # power-up chatter
    rig.pty.write(b"31234\x0700567899\r")  # a bell inside a code
    rig.pty.write(b"9" * 100 + b"\r")
    rig.pty.write(f"{ITEM}\r".encode())
    assert rig.codes(1) == [ITEM]
    assert rig.bus.get(timeout=0.05) is None
    assert caplog.text.count("non-printable bytes") == 2
    assert "dropped a line longer than 20 characters" in caplog.text


def test_unplug_then_replug_at_the_same_path(
    rig_factory: RigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    rig = rig_factory(terminator="cr")
    rig.pty.write(f"{ITEM}\r".encode())
    assert rig.codes(1) == [ITEM]

    rig.pty.write(b"21234")  # half a scan as the cable comes out
    rig.pty.unplug()
    assert rig.statuses.wait_for("disconnected").detail == "unplugged"
    rig.link.unlink()  # udev removes the by-id link with the device
    rig.statuses.wait_for("absent")

    rig.pty = Pty(rig.link)  # plugged in again: a new terminal behind the same name
    assert rig.statuses.wait_for("connected").detail == str(rig.link)
    rig.pty.write(f"{PATRON}\r".encode())
    assert rig.codes(1) == [PATRON]
    assert PATRON not in caplog.text
    assert ITEM not in caplog.text


def test_a_port_that_is_not_there_is_no_port() -> None:
    assert open_serial_port(SerialScannerSettings(port="/dev/serial/by-id/nothing")) is None


def test_a_scanner_absent_at_start_is_found_when_it_appears(tmp_path: Path) -> None:
    link = tmp_path / "late"
    bus, statuses = ScanBus(), Statuses()
    source = SerialSource(
        SerialScannerSettings(port=str(link)),
        Delivery(ScanPipeline(BarcodeSettings(), lambda: MORNING), bus, "late"),
        StatusBoard(statuses),
        reopen_min_seconds=0.02,
        reopen_max_seconds=0.1,
    )
    source.start()
    try:
        statuses.wait_for("absent")
        pty = Pty(link)
        statuses.wait_for("connected")
        pty.write(f"{ITEM}\r".encode())
        scan = bus.get(timeout=5)
        assert scan is not None
        assert scan.code == ITEM
        pty.unplug()
    finally:
        source.stop()
