"""The trace of a run: one JSON object per screen change or message shown.

Each object has at least ``screen`` and ``texts`` (every text visible, in reading
order), so a test or a person sees exactly what the patron saw.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO


class Trace:
    def __init__(self, path: Path | None) -> None:
        self._file: TextIO | None = path.open("w", encoding="utf-8") if path else None
        self._last: tuple[str, tuple[str, ...]] | None = None
        self.entries = 0

    @property
    def active(self) -> bool:
        return self._file is not None

    def record(self, screen: str, texts: list[str], **extra: Any) -> None:
        key = (screen, tuple(texts))
        if self._file is None or key == self._last:
            return
        self._last = key
        self.entries += 1
        self._file.write(json.dumps({"screen": screen, "texts": texts, **extra}) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
