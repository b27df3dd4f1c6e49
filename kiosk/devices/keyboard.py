"""The keyboard source: typed characters on a desktop or in the demo feed the pipeline.

The UI forwards key presses here (no Kivy in this module); ``listen --keyboard`` feeds it
lines from standard input.
"""

from __future__ import annotations

import threading
from typing import TextIO

from kiosk.devices.reader import Delivery, SourceStatus, StatusBoard

_TERMINATORS = frozenset("\r\n\t")


class KeyboardSource:
    """Collects typed characters into a line; Enter or Tab hands it on."""

    def __init__(self, deliver: Delivery, status: StatusBoard, max_length: int = 64) -> None:
        self._deliver = deliver
        self.source = deliver.source
        self._max_length = max_length
        self._lock = threading.Lock()
        self._chars: list[str] = []
        status.set(SourceStatus(self.source, "keyboard", "connected"))

    def type_text(self, text: str) -> None:
        """Characters as typed, in order; may be called from any thread."""
        lines: list[str] = []
        with self._lock:
            for char in text:
                if char in _TERMINATORS:
                    lines.append("".join(self._chars))
                    self._chars = []
                elif char.isprintable() and len(self._chars) < self._max_length:
                    self._chars.append(char)
        for line in lines:
            if line.strip():
                self._deliver(line)

    def clear(self) -> None:
        """Forget a half-typed line (the screen changed under it)."""
        with self._lock:
            self._chars = []

    def read_lines(self, stream: TextIO) -> None:
        """Feed whole lines from ``stream`` until it ends (for ``listen --keyboard``)."""
        for line in stream:
            self.type_text(line if line.endswith("\n") else line + "\n")
