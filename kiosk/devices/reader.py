"""What every source thread shares: the protocol interface, status reporting, delivery.

Shaped after pyserial's ``serial.threaded``: a reader thread owns the hardware and hands
bytes or key events to a protocol object. Losing the hardware is an ordinary event: it
is logged once, shown as a status, and followed by looking for the hardware again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from kiosk.devices.codes import ScanPipeline
from kiosk.devices.scan import ScanBus

log = logging.getLogger(__name__)

State = Literal["starting", "connected", "absent", "disconnected", "error", "stopped"]
Data = TypeVar("Data")


class Protocol(Generic[Data]):
    """Receives what a reader thread reads; the names are those of ``serial.threaded``."""

    def connection_made(self, transport: object) -> None:
        """The hardware is open and being read."""

    def data_received(self, data: Data) -> None:
        """Some input arrived."""

    def idle(self) -> None:
        """No input arrived for the protocol's timeout (see ``timeout``)."""

    def connection_lost(self, exc: BaseException | None) -> None:
        """The hardware went away (``exc``) or the reader was stopped (``None``)."""

    @property
    def timeout(self) -> float | None:
        """How long the reader may wait for input before calling :meth:`idle`."""
        return None


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What the UI can show about one scanner: "connected", "absent" (not plugged in)..."""

    source: str
    kind: Literal["hid", "serial", "keyboard"]
    state: State
    detail: str = ""


class StatusBoard:
    """The current status of every source, safe to read from any thread."""

    def __init__(self, listener: Callable[[SourceStatus], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._statuses: dict[str, SourceStatus] = {}
        self._listener = listener

    def set(self, status: SourceStatus) -> None:
        with self._lock:
            previous = self._statuses.get(status.source)
            self._statuses[status.source] = status
        if previous == status:
            return  # an absent scanner polled every second is logged once, not every second
        level = (
            logging.INFO
            if status.state in ("connected", "starting", "stopped")
            else logging.WARNING
        )
        log.log(
            level,
            "%s: %s%s",
            status.source,
            status.state,
            f" ({status.detail})" if status.detail else "",
        )
        if self._listener is not None:
            self._listener(status)

    def get(self, source: str) -> SourceStatus | None:
        with self._lock:
            return self._statuses.get(source)

    def snapshot(self) -> tuple[SourceStatus, ...]:
        with self._lock:
            return tuple(self._statuses.values())


class Delivery:
    """Hands a finished raw line to the pipeline and the result to the bus."""

    def __init__(self, pipeline: ScanPipeline, bus: ScanBus, source: str) -> None:
        self.pipeline = pipeline
        self.bus = bus
        self.source = source

    def __call__(self, line: str) -> None:
        scan = self.pipeline.process(line, self.source)
        if scan is not None:
            log.info("%s: scanned %s", self.source, scan.masked())
            self.bus.put(scan)


class Waker:
    """A self-pipe: lets ``stop()`` from another thread interrupt a blocking ``select``."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self.stopping = threading.Event()

    def fileno(self) -> int:
        return self._read

    def wake(self) -> None:
        self.stopping.set()
        with contextlib.suppress(BlockingIOError):  # the pipe is full of wake-ups already
            os.write(self._write, b"x")

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; ``True`` when woken to stop."""
        return self.stopping.wait(seconds)

    def wait_readable(self, fileno: int, timeout: float | None) -> bool:
        """Block until ``fileno`` is readable (``True``) or timeout/stop (``False``)."""
        ready, _, _ = select.select([fileno, self._read], [], [], timeout)
        return fileno in ready and not self.stopping.is_set()

    def close(self) -> None:
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)
