"""The errors of ``kiosk.sync``, under :class:`SyncError`."""

from __future__ import annotations

from kiosk.common import KioskError


class SyncError(KioskError):
    """The kiosk could not sync; the message says why and, where a person must act, what
    to do. The agent retries a failed round with backoff, and the kiosk lends meanwhile."""


__all__ = ["SyncError"]
