"""Help / see staff: plain words, and Back to where the patron was."""

from __future__ import annotations

from kiosk.screens.widgets import MessageScreen


class HelpScreen(MessageScreen):
    pass
