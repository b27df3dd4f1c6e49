"""Drop station: thank you, the title, any fine, and the bin to put the item in."""

from __future__ import annotations

from kivy.properties import ColorProperty

from kiosk.screens.theme import BIN_RGBA, DARK_ON
from kiosk.screens.widgets import KioskScreen, fill_buttons
from kiosk.session.viewdata import DropView

BLACK = (0.04, 0.05, 0.05, 1.0)
WHITE = (1.0, 1.0, 1.0, 1.0)


class DropScreen(KioskScreen):
    bin_fill = ColorProperty(WHITE)
    bin_ink = ColorProperty(BLACK)

    def render(self, view: DropView) -> None:  # type: ignore[override]
        self.ids.heading.text = view.heading
        self.ids.title.text = view.title
        self.ids.fine.text = view.fine
        self.ids.instruction.text = view.instruction
        self.ids.bin_number.text = view.bin_number
        self.ids.bin_label.text = view.bin_label
        self.bin_fill = BIN_RGBA.get(view.bin_colour, WHITE)
        self.bin_ink = (
            BLACK if view.bin_colour in DARK_ON or view.bin_colour not in BIN_RGBA else WHITE
        )
        fill_buttons(self.ids.actions, view.actions)
