"""The one source of "now": the library's local wall-clock time, naive by design.

Everything that needs the time is handed a ``Clock``; nothing else reads the
system clock, so tests (and a kiosk whose clock cannot be trusted) control it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The library's local time, without a time zone."""
        ...


class SystemClock:
    """The operating system's local time (the Pi's time zone is the library's)."""

    def now(self) -> datetime:
        return datetime.now().replace(microsecond=0)  # noqa: DTZ005 - local time is the contract


class StartedClock:
    """Set to ``start``, then running on at the system clock's pace: a kiosk tried out
    at another time (``kiosk run --now``), e.g. a day after its mirror was refreshed."""

    def __init__(self, start: datetime) -> None:
        self._offset = start - SystemClock().now()

    def now(self) -> datetime:
        return SystemClock().now() + self._offset


class FixedClock:
    """A clock that only moves when told to: for tests and what-if runs."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)
