"""Account: loans with due dates and Renew, money owed, holds waiting and ready."""

from __future__ import annotations

from kiosk.screens.widgets import KioskScreen, fill_buttons, fill_sections, show_banners
from kiosk.session.viewdata import AccountView


class AccountScreen(KioskScreen):
    def render(self, view: AccountView) -> None:  # type: ignore[override]
        self.ids.heading.text = view.heading
        self.ids.owed.text = view.owed
        show_banners(self.ids.banner, [view.banner])
        fill_sections(self.ids.sections, view.sections)
        fill_buttons(self.ids.actions, view.actions)
