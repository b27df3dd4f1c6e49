"""The central server's exceptions, written for the staff member who runs it."""

from __future__ import annotations

from kiosk.common import KioskError


class CentralError(KioskError):
    """Root of every error kiosk-central raises on purpose."""


class ImportRejected(CentralError):
    """A file to import has errors; nothing of it was imported. ``problems`` says where."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s); nothing was imported")


class ForeignEntry(CentralError):
    """A kiosk pushed an entry id already applied for another kiosk: a kiosk may push only
    its own transactions. The argument is the entry's id."""


class LockOrderError(CentralError):
    """A writer took its locks out of the one order every writer keeps: a bug in
    kiosk-central for its developers to fix, never the staff's doing."""
