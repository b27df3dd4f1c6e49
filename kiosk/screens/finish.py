"""Finish: what the patron borrowed this time, and a receipt or none."""

from __future__ import annotations

from kiosk.screens.widgets import KioskScreen, fill_buttons, fill_lines, show_banners
from kiosk.session.viewdata import FinishView


class FinishScreen(KioskScreen):
    def render(self, view: FinishView) -> None:  # type: ignore[override]
        self.ids.heading.text = view.heading
        self.ids.summary.text = view.summary
        show_banners(self.ids.banner, [view.banner])
        fill_lines(self.ids.lines, view.lines)
        fill_buttons(self.ids.actions, view.actions)
