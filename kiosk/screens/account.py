"""Account: loans with due dates and Renew, money owed, holds waiting and ready."""

from __future__ import annotations

from kiosk.screens.viewdata import AccountView
from kiosk.screens.widgets import (
    KioskScreen,
    SectionHeading,
    fill_buttons,
    line_row,
    show_banners,
)


class AccountScreen(KioskScreen):
    def render(self, view: AccountView) -> None:  # type: ignore[override]
        self.ids.heading.text = view.heading
        self.ids.owed.text = view.owed
        show_banners(self.ids.banner, [view.banner])
        sections = self.ids.sections
        sections.clear_widgets()
        for title, lines in view.sections:
            sections.add_widget(SectionHeading(text=title))
            for line in lines:
                sections.add_widget(line_row(line))
        fill_buttons(self.ids.actions, view.actions)
