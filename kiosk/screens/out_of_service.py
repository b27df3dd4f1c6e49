"""Out of service: says so plainly and why; the app leaves it when the cause is gone."""

from __future__ import annotations

from kiosk.screens.widgets import MessageScreen


class OutOfServiceScreen(MessageScreen):
    pass
