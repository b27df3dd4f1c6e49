"""Staff mode: the kiosk's health at a glance, sync now, scanner test, leave full screen."""

from __future__ import annotations

from kivy.utils import escape_markup

from kiosk.screens.widgets import KioskLabel, KioskScreen, fill_buttons, fill_labels, show_banners
from kiosk.session.viewdata import Banner, StaffView, Tone


class StatusLine(KioskLabel):
    """One fact of the status page: its name in bold, then its value."""


class StaffScreen(KioskScreen):
    def render(self, view: StaffView) -> None:  # type: ignore[override]
        self.ids.heading.text = view.heading
        show_banners(self.ids.banner, [view.banner])
        fill_labels(
            self.ids.rows,
            [
                f"[b]{escape_markup(label)}[/b]  {escape_markup(value)}"
                for label, value in view.rows
            ],
            StatusLine,
        )
        show_banners(self.ids.faults, [Banner(fault, Tone.ERROR) for fault in view.faults])
        self.ids.scanner_test.text = view.scanner_test
        fill_buttons(self.ids.actions, view.actions)
