"""PIN: a large keypad; digits show only as dots."""

from __future__ import annotations

from kiosk.screens.widgets import KioskScreen, fill_buttons, show_banners
from kiosk.session.viewdata import PinView


class PinScreen(KioskScreen):
    def render(self, view: PinView) -> None:  # type: ignore[override]
        self.ids.heading.text = view.heading
        self.ids.masked.text = view.masked
        show_banners(self.ids.banner, [view.banner])
        fill_buttons(self.ids.keypad, view.keys)
        fill_buttons(self.ids.actions, view.actions)
