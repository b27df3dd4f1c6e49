"""The errors of ``kiosk.devices``, under :class:`DeviceError`.

Hardware trouble is not among them: a scanner or a printer that is absent or fails is
an ordinary state (a ``SourceStatus``, a ``PrintOutcome``), never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence

from kiosk.common import KioskError


class DeviceError(KioskError):
    """The root of the errors ``kiosk.devices`` raises; the message says what to fix."""


class InvalidSettings(DeviceError):
    """Device settings that cannot be used; ``problems`` holds one ``"key: message"`` per
    mistake found, all of them, so the file is fixed in one go."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


__all__ = ["DeviceError", "InvalidSettings"]
