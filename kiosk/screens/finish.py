"""Finish: what the patron borrowed this time, a receipt or none, and feedback if they
wish."""

from __future__ import annotations

from kiosk.screens.widgets import KioskScreen, fill_buttons, fill_lines, show_banners
from kiosk.session.viewdata import FinishView


class FinishScreen(KioskScreen):
    def render(self, view: FinishView) -> None:  # type: ignore[override]
        self.ids.heading.text = view.heading
        self.ids.summary.text = view.summary
        show_banners(self.ids.banner, [view.banner])
        fill_lines(self.ids.lines, view.lines)
        self.ids.feedback_heading.text = view.feedback_heading
        fill_buttons(self.ids.faces, view.faces)
        self.ids.reasons_heading.text = view.reasons_heading
        fill_buttons(self.ids.reasons, view.reasons)
        fill_buttons(self.ids.actions, view.actions)
