"""Serial (RS-232 / USB CDC) scanners read through pyserial."""

from __future__ import annotations

import contextlib
import errno
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

from kiosk.devices.reader import Delivery, Protocol, SourceStatus, StatusBoard, Waker
from kiosk.devices.settings import SerialScannerSettings

log = logging.getLogger(__name__)

_CR, _LF = 0x0D, 0x0A
_PARITY = {
    "none": serial.PARITY_NONE,
    "even": serial.PARITY_EVEN,
    "odd": serial.PARITY_ODD,
    "mark": serial.PARITY_MARK,
    "space": serial.PARITY_SPACE,
}
# What opening a device node fails with while the hardware is not there (unplugged).
ABSENT_ERRNOS = (errno.ENOENT, errno.ENODEV, errno.ENXIO)


class LineFramer(Protocol[bytes]):
    """Cuts a byte stream into scans.

    CR, LF and CRLF all end a line whatever ``terminator`` says, and empty lines are
    skipped: a scanner reset to its factory terminator keeps working. With
    ``terminator = "none"`` a line also ends when the input has been quiet for
    ``timeout`` seconds, and that text is *flushed* as a scan (silence is the framing).
    With a terminator, a line still open after ``timeout`` is *discarded*: its end was
    lost (an unplug, noise at power-up), and a truncated code can still look valid.
    Either way, it is never glued to the next scan.
    """

    def __init__(
        self,
        on_line: Callable[[str], None],
        *,
        terminator: str = "cr",
        max_length: int = 64,
        timeout: float = 0.5,
        source: str = "serial",
    ) -> None:
        self.on_line = on_line
        self.flush_on_timeout = terminator == "none"
        self.max_length = max_length
        self._timeout = timeout
        self.source = source
        self._buffer = bytearray()
        self._garbage = 0
        self._overlong = False

    @property
    def timeout(self) -> float | None:
        # Only a line in progress has anything to time out; an idle port blocks forever.
        return self._timeout if self._pending() else None

    def _pending(self) -> bool:
        return bool(self._buffer) or self._garbage > 0 or self._overlong

    def connection_made(self, _transport: object) -> None:
        self._clear()

    def data_received(self, data: bytes) -> None:
        for byte in data:
            if byte in (_CR, _LF):
                self._end_line()
            elif 0x20 <= byte < 0x7F:
                if len(self._buffer) >= self.max_length:
                    self._overlong = True
                    self._buffer.clear()
                elif not self._overlong:
                    self._buffer.append(byte)
            else:
                self._garbage += 1

    def idle(self) -> None:
        if not self._pending():
            return
        if self.flush_on_timeout:
            self._end_line()
        else:
            log.warning(
                "%s: discarded %d characters that never got their terminator",
                self.source,
                len(self._buffer),
            )
            self._clear()

    def connection_lost(self, _exc: BaseException | None) -> None:
        if self._buffer:
            log.warning("%s: discarded a scan cut off by the disconnect", self.source)
        self._clear()

    def _end_line(self) -> None:
        text = self._buffer.decode("ascii")
        garbage, overlong = self._garbage, self._overlong
        self._clear()
        if garbage:
            log.warning("%s: dropped a line with %d non-printable bytes", self.source, garbage)
        elif overlong:
            log.warning(
                "%s: dropped a line longer than %d characters", self.source, self.max_length
            )
        elif text.strip():
            self.on_line(text)

    def _clear(self) -> None:
        self._buffer.clear()
        self._garbage = 0
        self._overlong = False


def open_serial_port(settings: SerialScannerSettings) -> serial.Serial | None:
    """Open the configured port, or ``None`` while it is not there (unplugged)."""
    return open_serial(
        settings.port,
        baudrate=settings.baud,
        parity=_PARITY[settings.parity],
        bytesize=serial.SEVENBITS if settings.bytesize == 7 else serial.EIGHTBITS,
        stopbits=serial.STOPBITS_TWO if settings.stopbits == 2 else serial.STOPBITS_ONE,
        timeout=0,
    )


def open_serial(port: str, **options: Any) -> serial.Serial | None:
    """Open ``port`` with pyserial ``options``, or ``None`` while it is not there.

    Exclusive: two programs reading one scanner would each get half the scans, and two
    writing one printer would interleave their receipts.
    """
    try:
        return serial.Serial(port, exclusive=True, **options)
    except serial.SerialException as error:
        if error.errno in ABSENT_ERRNOS:
            return None
        raise


class SerialSource(threading.Thread):
    """Reads one configured serial scanner for the life of the kiosk, across replugs."""

    def __init__(
        self,
        settings: SerialScannerSettings,
        deliver: Delivery,
        status: StatusBoard,
        *,
        reopen_min_seconds: float = 0.25,
        reopen_max_seconds: float = 5.0,
        opener: Callable[[SerialScannerSettings], Any] = open_serial_port,
    ) -> None:
        super().__init__(name=f"scanner {deliver.source}", daemon=True)
        self.settings = settings
        self.source = deliver.source
        self._status = status
        self._opener = opener
        self._reopen_min = min(reopen_min_seconds, reopen_max_seconds)
        self._reopen_max = reopen_max_seconds
        self._waker = Waker()
        self.protocol = LineFramer(
            deliver,
            terminator=settings.terminator,
            max_length=settings.max_length,
            timeout=settings.line_timeout,
            source=self.source,
        )
        self._report("starting")

    def _report(self, state: str, detail: str = "") -> None:
        self._status.set(SourceStatus(self.source, "serial", state, detail))  # type: ignore[arg-type]

    def stop(self, timeout: float | None = 2.0) -> None:
        self._waker.wake()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        delay = self._reopen_min
        try:
            while not self._waker.stopping.is_set():
                try:
                    port = self._opener(self.settings)
                except (OSError, ValueError) as error:
                    self._report("error", f"cannot open {self.settings.port}: {error}")
                    port = None
                else:
                    if port is None:
                        self._report("absent", f"no serial port {self.settings.port}")
                if port is not None:
                    opened = time.monotonic()
                    self._serve(port)
                    if time.monotonic() - opened > self._reopen_max:
                        delay = self._reopen_min  # it worked for a while: retry quickly
                # Backoff: a port that keeps failing is retried less and less often,
                # never in a tight loop.
                self._waker.wait(delay)
                delay = min(delay * 2, self._reopen_max)
        finally:
            self._report("stopped")
            self._waker.close()

    def _serve(self, port: Any) -> None:
        self.protocol.connection_made(port)
        self._report("connected", self.settings.port)
        error: BaseException | None = None
        try:
            self._read(port)
        except OSError as lost:  # serial.SerialException is an OSError
            error = lost
            self._report("disconnected", "unplugged")
        finally:
            self.protocol.connection_lost(error)
            with contextlib.suppress(OSError):  # already gone with the device
                port.close()

    def _read(self, port: Any) -> None:
        fileno = port.fileno()
        while not self._waker.stopping.is_set():
            if self._waker.wait_readable(fileno, self.protocol.timeout):
                # Readable with nothing to read means the device is gone; pyserial
                # raises SerialException for that, and an EIO for a closed pty.
                data = port.read(max(1, port.in_waiting))
                if not data:
                    raise serial.SerialException("the port reports data but has none (unplugged)")
                self.protocol.data_received(data)
            elif not self._waker.stopping.is_set():
                self.protocol.idle()
