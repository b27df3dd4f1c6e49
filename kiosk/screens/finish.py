"""Finish: what the patron borrowed this time, a receipt or none, and feedback if they
wish: three faces drawn beside their words, worst to best."""

from __future__ import annotations

from kivy.properties import NumericProperty
from kivy.uix.widget import Widget

from kiosk.screens.widgets import (
    KioskButton,
    KioskScreen,
    fill_buttons,
    fill_lines,
    reconcile,
    show_banners,
)
from kiosk.session.viewdata import Button, FinishView


class FaceButton(KioskButton):
    """A feedback button: its words, and a face drawn from ``mood`` (1 a frown, 2 a
    straight mouth, 3 a smile; finish.kv draws it)."""

    mood = NumericProperty(2)


def _mood(spec: Button) -> int:
    return int(spec.id.rsplit("_", 1)[-1])


def _face(spec: Button) -> FaceButton:
    return FaceButton(text=spec.label, button_id=spec.id, primary=spec.primary, mood=_mood(spec))


def _update_face(widget: Widget, spec: Button) -> bool:
    if not isinstance(widget, FaceButton):
        return False
    widget.text, widget.button_id, widget.primary = spec.label, spec.id, spec.primary
    widget.mood = _mood(spec)
    return True


class FinishScreen(KioskScreen):
    def render(self, view: FinishView) -> None:  # type: ignore[override]
        self.ids.heading.text = view.heading
        self.ids.summary.text = view.summary
        show_banners(self.ids.banner, [view.banner])
        fill_lines(self.ids.lines, view.lines)
        self.ids.feedback_heading.text = view.feedback_heading
        reconcile(self.ids.faces, view.faces, _face, _update_face)
        self.ids.reasons_heading.text = view.reasons_heading
        fill_buttons(self.ids.reasons, view.reasons)
        fill_buttons(self.ids.actions, view.actions)
