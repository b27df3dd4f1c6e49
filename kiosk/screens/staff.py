"""Staff mode: the kiosk's health at a glance, sync now, scanner test, leave full screen."""

from __future__ import annotations

from kiosk.screens.viewdata import Banner, StaffView, Tone
from kiosk.screens.widgets import (
    KioskLabel,
    KioskScreen,
    SecondaryLabel,
    fill_buttons,
    show_banners,
)


class StaffScreen(KioskScreen):
    def render(self, view: StaffView) -> None:  # type: ignore[override]
        self.ids.heading.text = view.heading
        show_banners(self.ids.banner, [view.banner])
        rows = self.ids.rows
        rows.clear_widgets()
        for label, value in view.rows:
            rows.add_widget(SecondaryLabel(text=label))
            rows.add_widget(KioskLabel(text=value))
        show_banners(self.ids.faults, [Banner(fault, Tone.ERROR) for fault in view.faults])
        self.ids.scanner_test.text = view.scanner_test
        fill_buttons(self.ids.actions, view.actions)
