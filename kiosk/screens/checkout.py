"""Checkout: each item scanned, newest first, with its due date or why it can't go."""

from __future__ import annotations

from kiosk.screens.widgets import KioskScreen, fill_buttons, fill_lines, show_banners
from kiosk.session.viewdata import CheckoutView


class CheckoutScreen(KioskScreen):
    def render(self, view: CheckoutView) -> None:  # type: ignore[override]
        self.ids.heading.text = view.heading
        self.ids.instruction.text = view.instruction
        show_banners(self.ids.notices, view.notices)
        show_banners(self.ids.banner, [view.banner])
        fill_lines(self.ids.lines, view.lines)
        fill_buttons(self.ids.actions, view.actions)
