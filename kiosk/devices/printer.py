"""The receipt printer: ESC/POS over a serial port or a USB printer-class device.

A serial printer (``/dev/ttyUSB0``, ``/dev/serial/by-id/...``) is opened with pyserial at
the configured baud; a USB printer-class device (``/dev/usb/lp0``) is written as a plain
binary file. Which one it is shows when the path is opened: a terminal is serial.

Printing is synchronous and the caller chooses the thread. It never hangs and never
raises for hardware: every wait has a deadline, and the result is a :class:`PrintOutcome`.
A printer that is not plugged in is an ordinary state (``ABSENT``). The device is opened
for each receipt, so a printer replugged after a failure works again on the next one.
Receipts hold titles and due dates: their text is never logged, only sizes and errors.
Nothing here imports Kivy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import select
import termios
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import serial

from kiosk.common.settings import (
    Section,
    SettingsReader,
    as_flag,
    as_positive_int,
    as_text,
)
from kiosk.devices.errors import InvalidSettings
from kiosk.devices.serial_source import ABSENT_ERRNOS, open_serial

log = logging.getLogger(__name__)

# How long a receipt may take to leave the kiosk before the print counts as failed. A
# serial printer also gets the time its bytes need on the wire at the configured baud.
WRITE_TIMEOUT = 5.0

ESC, GS, LF = b"\x1b", b"\x1d", b"\n"
INITIALISE = ESC + b"@"
CODE_PAGE_WPC1252 = ESC + b"t\x10"  # ESC t 16: Windows-1252, Spanish and French accents
BOLD_ON, BOLD_OFF = ESC + b"E\x01", ESC + b"E\x00"
DOUBLE_SIZE, NORMAL_SIZE = GS + b"!\x11", GS + b"!\x00"  # double width and height
PARTIAL_CUT = GS + b"VB\x00"  # GS V 66 0: feed to the cutter, cut leaving a hinge
FEED_LINES = 4  # the last line clears the tear bar before the cut
ENCODING = "cp1252"

# Control characters would reach the printer as commands (ESC, GS...): printed as "?".
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Each word with the spaces before it. Only a plain space breaks a line: a no-break space
# (French "Merci\xa0!", "5\xa0€") holds its neighbours together, and prints as a space.
_WORDS = re.compile(r"( *)([^ ]+)")
_BITS_PER_BYTE = 10  # start bit, 8 data bits, stop bit
_DRAIN_POLL_SECONDS = 0.01
# What hardware trouble raises: OSError (serial.SerialException is one), termios.error
# from pyserial's terminal calls on a vanished device, ValueError for a bad setting.
_HARDWARE_ERRORS = (OSError, termios.error, ValueError)


@dataclass(frozen=True, slots=True)
class PrinterSettings:
    enabled: bool = False
    device: str = "/dev/usb/lp0"  # or a serial port: /dev/ttyUSB0, /dev/serial/by-id/...
    baud: int = 19200  # serial printers only
    width: int = 42  # characters per line (font A on 80 mm paper)


@dataclass(frozen=True, slots=True)
class Receipt:
    heading: str  # e.g. the library name
    lines: tuple[str, ...]  # already translated, already formatted text lines
    footer: str = ""

    def __repr__(self) -> str:  # titles and due dates stay out of tracebacks and logs
        return f"Receipt({len(self.lines)} lines)"


class PrintOutcome(StrEnum):
    PRINTED = "printed"
    ABSENT = "absent"  # no printer at the configured path (unplugged, switched off)
    FAILED = "failed"  # there, but the receipt did not get through (jam, error, unplug)
    DISABLED = "disabled"  # printing is switched off in the config


class PrinterConnection(Protocol):
    """An open printer, for one receipt."""

    def send(self, data: bytes) -> None:
        """Write all of ``data`` within the write timeout, or raise ``OSError`` (or
        another of ``_HARDWARE_ERRORS``)."""

    def close(self) -> None:
        """Close, never raising and never waiting on the printer."""


Opener = Callable[[PrinterSettings, float], PrinterConnection | None]


class _FileConnection:
    """A USB printer-class device (or any file) written without blocking.

    ``usblp`` opened with O_NONBLOCK takes a block and sends it in the background, and
    closing the device cancels what is still in flight: so after the last write we wait,
    within the deadline, until the device reports it writable again (the block is done).
    """

    def __init__(self, fd: int, timeout: float) -> None:
        self._fd = fd
        self._timeout = timeout

    def send(self, data: bytes) -> None:
        deadline = time.monotonic() + self._timeout
        pending = memoryview(data)
        while pending:
            if time.monotonic() > deadline:  # a device that keeps taking nothing
                raise TimeoutError("write timeout: the printer takes no data")
            try:
                pending = pending[os.write(self._fd, pending) :]
            except BlockingIOError:
                self._wait_writable(deadline)
        if self._wait_writable(deadline) & (select.POLLERR | select.POLLHUP):
            raise OSError("the printer reported an error after the receipt was written")

    def _wait_writable(self, deadline: float) -> int:
        poller = select.poll()
        poller.register(self._fd, select.POLLOUT)
        left = deadline - time.monotonic()
        ready = poller.poll(max(0, int(left * 1000))) if left > 0 else []
        if not ready:
            raise TimeoutError("write timeout: the printer takes no data")
        return ready[0][1]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


class _SerialConnection:
    """A serial printer through pyserial, whose ``write_timeout`` bounds each write."""

    def __init__(self, port: serial.Serial, timeout: float) -> None:
        self._port = port
        self._timeout = timeout

    def send(self, data: bytes) -> None:
        wire_seconds = len(data) * _BITS_PER_BYTE / self._port.baudrate
        deadline = time.monotonic() + self._timeout + wire_seconds
        try:
            self._port.write(data)  # SerialTimeoutException after write_timeout
            # Wait for the bytes to leave the kiosk: closing a port with output pending
            # blocks (the kernel's closing wait, 30 s) on a printer that holds the line.
            while self._port.out_waiting:
                if time.monotonic() > deadline:
                    raise TimeoutError("write timeout: the printer takes no data")
                time.sleep(_DRAIN_POLL_SECONDS)
        except _HARDWARE_ERRORS:
            # Discard the rest of a failed receipt: it must not hold up the close, nor
            # come out on paper ahead of the next one.
            with contextlib.suppress(*_HARDWARE_ERRORS):
                self._port.reset_output_buffer()
            raise

    def close(self) -> None:
        with contextlib.suppress(*_HARDWARE_ERRORS):
            self._port.close()


def open_printer(settings: PrinterSettings, write_timeout: float) -> PrinterConnection | None:
    """Open the configured printer, or ``None`` while it is not there (unplugged)."""
    try:
        fd = os.open(settings.device, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as error:
        if error.errno in ABSENT_ERRNOS:
            return None
        raise
    if not os.isatty(fd):
        return _FileConnection(fd, write_timeout)
    os.close(fd)
    port = open_serial(settings.device, baudrate=settings.baud, write_timeout=write_timeout)
    return None if port is None else _SerialConnection(port, write_timeout)


def wrap(text: str, width: int) -> list[str]:
    """``text`` as printed lines of at most ``width`` characters.

    A line that fits is printed as it is (spaces that align columns stay). A longer one
    wraps at spaces; a word longer than a line starts a line of its own and is broken.
    Line breaks in the text are kept, an empty line stays a blank line, tabs become
    spaces and control characters "?".
    """
    width = max(1, width)
    printed: list[str] = []
    for line in unicodedata.normalize("NFC", text).splitlines() or [""]:
        printed += _wrap_line(_CONTROL.sub("?", line.expandtabs()), width)
    return printed


def _wrap_line(line: str, width: int) -> list[str]:
    printed: list[str] = []
    current = ""
    for gap, word in _WORDS.findall(line):
        if not printed and not current:
            piece = gap + word if len(gap) < width else word  # the first keeps its indent
        elif len(current) + len(gap) + len(word) <= width:
            current += gap + word
            continue
        else:
            printed.append(current)
            piece = word
        while len(piece) > width:
            printed.append(piece[:width])
            piece = piece[width:]
        current = piece
    printed.append(current)
    return printed


def _encoded(lines: Iterable[str]) -> bytes:
    return b"".join(line.encode(ENCODING, errors="replace") + LF for line in lines)


class ReceiptPrinter:
    """Prints :class:`Receipt` values on the configured printer; safe from any thread."""

    def __init__(
        self,
        settings: PrinterSettings,
        *,
        opener: Opener = open_printer,
        write_timeout: float = WRITE_TIMEOUT,
    ) -> None:
        self.settings = settings
        self._opener = opener
        self._write_timeout = write_timeout
        self._lock = threading.Lock()  # two receipts at once would interleave on paper

    @property
    def available(self) -> bool:
        """Printing is enabled and the device path exists now."""
        device = self.settings.device
        return self.settings.enabled and bool(device) and os.path.exists(device)

    def encode(self, receipt: Receipt) -> bytes:
        """The ESC/POS bytes for ``receipt``."""
        width = self.settings.width
        data = bytearray(INITIALISE + CODE_PAGE_WPC1252)
        if receipt.heading.strip():
            data += BOLD_ON + DOUBLE_SIZE
            data += _encoded(wrap(receipt.heading, width // 2))  # double-width characters
            data += NORMAL_SIZE + BOLD_OFF + LF
        for line in receipt.lines:
            data += _encoded(wrap(line, width))
        if receipt.footer.strip():
            data += LF + _encoded(wrap(receipt.footer, width))
        data += LF * FEED_LINES + PARTIAL_CUT
        return bytes(data)

    def print_receipt(self, receipt: Receipt) -> PrintOutcome:
        """Print ``receipt``; returns within about the write timeout, never raises for
        hardware problems."""
        if not self.settings.enabled:
            return PrintOutcome.DISABLED
        data = self.encode(receipt)
        with self._lock:
            return self._send(data)

    def _send(self, data: bytes) -> PrintOutcome:
        device = self.settings.device
        if not device:
            log.warning("printer: absent (enabled, but no device is configured)")
            return PrintOutcome.ABSENT
        try:
            connection = self._opener(self.settings, self._write_timeout)
        except _HARDWARE_ERRORS as error:
            log.warning("printer %s: failed (cannot open it: %s)", device, error)
            return PrintOutcome.FAILED
        if connection is None:
            log.warning("printer %s: absent (not plugged in or switched off)", device)
            return PrintOutcome.ABSENT
        try:
            connection.send(data)
        except _HARDWARE_ERRORS as error:
            log.warning("printer %s: failed (%s)", device, str(error) or type(error).__name__)
            return PrintOutcome.FAILED
        finally:
            connection.close()
        log.info("printer %s: printed a receipt of %d bytes", device, len(data))
        return PrintOutcome.PRINTED


class InvalidPrinterSettings(InvalidSettings):
    """The ``[printer]`` table cannot be used."""


_PRINTER_KEYS = ("enabled", "device", "baud", "width")
_NARROWEST = 16  # characters per line; 58 mm paper has 32, 80 mm 42 or 48


def _width(value: object) -> int | None:
    width = as_positive_int(value)
    return width if width is not None and width >= _NARROWEST else None


def read_printer_settings(config: Mapping[str, Any]) -> PrinterSettings:
    """Build :class:`PrinterSettings` from a whole ``kiosk.toml`` dict (its ``[printer]``).

    No ``[printer]`` table means no printer. Raises :class:`InvalidPrinterSettings`
    listing every problem found.
    """
    reader = SettingsReader()
    settings = _read_printer(reader, config)
    if reader.problems:
        raise InvalidPrinterSettings(reader.problems)
    return settings


def read_printer(reader: SettingsReader, config: Mapping[str, Any]) -> PrinterSettings:
    """The printer ``config``'s table gives to a kiosk starting now, every mistake kept
    in ``reader``: none when the table has a mistake; when nothing is at the device's
    path, the printer as configured (it may be switched on later) and a mistake."""
    before = len(reader.problems)
    settings = _read_printer(reader, config)
    if len(reader.problems) > before:
        return PrinterSettings()
    if settings.enabled and not os.path.exists(settings.device):
        reader.problem(
            "printer.device",
            f"{settings.device} does not exist: is the printer plugged in and on?",
        )
    return settings


PRINTER_SECTION: Section[PrinterSettings] = Section(("printer",), read_printer)


def _read_printer(reader: SettingsReader, config: Mapping[str, Any]) -> PrinterSettings:
    table = reader.table(config.get("printer", {}), "printer", _PRINTER_KEYS)
    defaults = PrinterSettings()
    settings = PrinterSettings(
        enabled=reader.get(table, "printer", "enabled", False, as_flag, "true or false"),
        device=reader.get(table, "printer", "device", defaults.device, as_text, "text").strip(),
        baud=reader.get(
            table, "printer", "baud", defaults.baud, as_positive_int, "a whole number above 0"
        ),
        width=reader.get(
            table,
            "printer",
            "width",
            defaults.width,
            _width,
            f"a whole number of characters from {_NARROWEST}",
        ),
    )
    if settings.enabled and not settings.device:
        reader.problem(
            "printer.device", "missing: the printer, e.g. /dev/usb/lp0 or /dev/serial/by-id/..."
        )
    return settings


__all__ = [
    "PRINTER_SECTION",
    "InvalidPrinterSettings",
    "PrintOutcome",
    "PrinterSettings",
    "Receipt",
    "ReceiptPrinter",
    "open_printer",
    "read_printer",
    "read_printer_settings",
    "wrap",
]
