"""Welcome: who we are, what to do first, and the patron's language and look."""

from __future__ import annotations

from kiosk.screens.viewdata import WelcomeView
from kiosk.screens.widgets import Hint, KioskScreen, SecondaryLabel, fill_buttons, show_banners


class WelcomeScreen(KioskScreen):
    def render(self, view: WelcomeView) -> None:  # type: ignore[override]
        self.ids.library.text = view.library_name
        self.ids.logo.source = view.logo
        self.ids.heading.text = view.heading
        hints = self.ids.hints
        hints.clear_widgets()
        for hint in view.hints:
            hints.add_widget(Hint(text=hint))
        show_banners(self.ids.banner, [view.banner])
        demo = self.ids.demo
        demo.clear_widgets()
        for line in view.demo:
            demo.add_widget(SecondaryLabel(text=line))
        fill_buttons(self.ids.languages, view.languages)
        fill_buttons(self.ids.options, view.options)
