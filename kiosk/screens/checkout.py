"""Checkout: what waits for the patron, then each item scanned, newest first, with its
due date or why it can't go."""

from __future__ import annotations

from kiosk.screens.widgets import (
    KioskScreen,
    fill_buttons,
    fill_lines,
    fill_sections,
    show_banners,
)
from kiosk.session.viewdata import CheckoutView


class CheckoutScreen(KioskScreen):
    def render(self, view: CheckoutView) -> None:  # type: ignore[override]
        self.ids.heading.text = view.heading
        self.ids.instruction.text = view.instruction
        show_banners(self.ids.notices, view.notices)
        fill_sections(
            self.ids.waiting, [(view.waiting_heading, view.waiting)] if view.waiting else []
        )
        show_banners(self.ids.banner, [view.banner])
        fill_lines(self.ids.lines, view.lines)
        fill_buttons(self.ids.actions, view.actions)
