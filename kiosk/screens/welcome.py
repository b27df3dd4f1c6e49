"""Welcome: who we are, what to do first, and the patron's language and look."""

from __future__ import annotations

from kiosk.screens.widgets import (
    Hint,
    KioskScreen,
    SecondaryLabel,
    fill_buttons,
    fill_labels,
    show_banners,
)
from kiosk.session.viewdata import WelcomeView


class WelcomeScreen(KioskScreen):
    def render(self, view: WelcomeView) -> None:  # type: ignore[override]
        self.ids.library.text = view.library_name
        self.ids.logo.source = view.logo
        self.ids.heading.text = view.heading
        fill_labels(self.ids.hints, view.hints, Hint)
        show_banners(self.ids.message, [view.message])
        show_banners(self.ids.banner, [view.banner])
        fill_labels(self.ids.demo, view.demo, SecondaryLabel)
        fill_buttons(self.ids.languages, view.languages)
        fill_buttons(self.ids.options, view.options)
