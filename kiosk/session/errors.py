"""The session's exception root."""

from __future__ import annotations

from kiosk.common import KioskError


class SessionError(KioskError):
    """Something the patron's path through the kiosk cannot go on with."""
