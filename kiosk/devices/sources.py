"""Starting and stopping every configured scanner: the one object the app holds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

from kiosk.devices.codes import ScanPipeline
from kiosk.devices.hid import Claims, HidSource, open_hid_device
from kiosk.devices.keyboard import KeyboardSource
from kiosk.devices.reader import Delivery, SourceStatus, StatusBoard
from kiosk.devices.scan import Now, ScanBus
from kiosk.devices.serial_source import SerialSource, open_serial_port
from kiosk.devices.settings import ScannerSettings

log = logging.getLogger(__name__)


class Scanners:
    """Every configured source, reading into one :class:`ScanBus`.

    Build it in the composition root with the clock the rest of the kiosk uses, call
    :meth:`start`, consume ``bus``, and :meth:`stop` on the way out. Scanners that are
    not plugged in are not an error: they show as "absent" in :meth:`statuses` and are
    picked up when they appear.
    """

    def __init__(
        self,
        settings: ScannerSettings,
        bus: ScanBus,
        clock: Now,
        *,
        on_status: Callable[[SourceStatus], None] | None = None,
        hid_opener: Any = open_hid_device,
        serial_opener: Any = open_serial_port,
        serial_reopen_min_seconds: float = 0.25,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.pipeline = ScanPipeline(settings.barcodes, clock)
        self.status = StatusBoard(on_status)
        claims = Claims()
        self.hid = [
            HidSource(
                entry.device,
                Delivery(self.pipeline, bus, entry.source),
                self.status,
                layout=entry.layout,
                grab=entry.grab,
                max_length=entry.max_length,
                poll_seconds=settings.poll_seconds,
                claims=claims,
                opener=hid_opener,
            )
            for entry in settings.hid
        ]
        self.serial = [
            SerialSource(
                entry,
                Delivery(self.pipeline, bus, entry.source),
                self.status,
                reopen_min_seconds=serial_reopen_min_seconds,
                reopen_max_seconds=settings.reopen_max_seconds,
                opener=serial_opener,
            )
            for entry in settings.serial
        ]
        self.keyboard = (
            KeyboardSource(Delivery(self.pipeline, bus, "keyboard"), self.status)
            if settings.keyboard
            else None
        )

    @property
    def threads(self) -> list[HidSource | SerialSource]:
        return [*self.hid, *self.serial]

    def start(self) -> Scanners:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        for thread in self.threads:
            thread.stop(timeout)

    def statuses(self) -> tuple[SourceStatus, ...]:
        return self.status.snapshot()

    def __enter__(self) -> Scanners:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
