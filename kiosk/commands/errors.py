"""The commands' exception root: what a staff command cannot go on with."""

from __future__ import annotations

from collections.abc import Sequence

from kiosk.common import KioskError


class CommandError(KioskError):
    """A command stopped; ``lines`` are its messages for staff, one problem each."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


class UnusableFile(CommandError):
    """A file given to a command (a policy, a kiosk.toml) that it cannot use."""
