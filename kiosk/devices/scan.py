"""The values every barcode source produces: ``Scan`` and its kinds."""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Kind = Literal["patron", "item", "unknown"]
Symbology = Literal["codabar", "ean-upc", "code128", "code39", "other", "unknown"]

# What stamps a scan: the ``now`` of the program's one clock (kiosk.common.clock), handed
# in by the composition root, so tests and the demo can run at any date.
Now = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Scan:
    """One clean, classified scan.

    ``code`` is left out of ``repr`` because patron card numbers are personal data and a
    stray ``log.info("%r", scan)`` must not write one to disk; use :meth:`masked` in logs.
    ``valid_check_digit`` is ``None`` for codes that carry no check digit we know.
    """

    code: str = field(repr=False)
    kind: Kind
    symbology: Symbology
    source: str
    valid_check_digit: bool | None
    at: datetime

    def masked(self) -> str:
        return mask(self.code, self.kind)

    def as_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "kind": self.kind,
            "symbology": self.symbology,
            "source": self.source,
            "valid_check_digit": self.valid_check_digit,
            "at": self.at.isoformat(),
        }


def mask(code: str, kind: str = "code") -> str:
    """The loggable form of a code: its kind and at most its last four characters.

    Short codes show nothing, since four characters of a six-character card number
    would be most of it.
    """
    shown = code[-4:] if len(code) >= 8 else ""
    return f"{kind} …{shown}" if shown else f"{kind} ({len(code)} chars)"


class ScanBus:
    """The one thread-safe queue every source delivers into and the app consumes.

    Unbounded on purpose: a scan is a few hundred bytes and people scan a few times a
    minute, so memory is never the limit, while a bound would force a reader either to
    block (keystrokes pile up in the kernel, the scanner beeps but nothing happens) or to
    drop a scan a patron saw succeed.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Scan] = queue.SimpleQueue()

    def put(self, scan: Scan) -> None:
        self._queue.put(scan)

    def get(self, timeout: float | None = None) -> Scan | None:
        """The next scan, or ``None`` when none arrived within ``timeout`` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> list[Scan]:
        """Every scan waiting now, oldest first, without blocking (for a UI tick)."""
        scans: list[Scan] = []
        while True:
            try:
                scans.append(self._queue.get_nowait())
            except queue.Empty:
                return scans

    def __len__(self) -> int:
        return self._queue.qsize()
