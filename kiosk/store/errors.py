"""The store's exceptions, written for the staff member who must fix the kiosk."""

from __future__ import annotations

from kiosk.common import KioskError


class StoreError(KioskError):
    """Root of every error the store raises."""


class StoreCorrupt(StoreError):
    """A database file is damaged or is not a database; the mirror can be rebuilt by
    syncing again, the journal must be saved before anything else is done."""


class StoreFull(StoreError):
    """The disk (or the database's size limit) is full: nothing was written."""
