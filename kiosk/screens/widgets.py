"""Widgets every screen shares, and the one way view data becomes widgets."""

from __future__ import annotations

from collections.abc import Iterable

from kivy.app import App
from kivy.properties import BooleanProperty, ColorProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button as KivyButton
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen as KivyScreen
from kivy.uix.widget import Widget

from kiosk.screens.viewdata import Banner, Button, Line, MessageView, Tone


class KioskLabel(Label):
    pass


class Heading(KioskLabel):
    pass


class SecondaryLabel(KioskLabel):
    pass


class SectionHeading(KioskLabel):
    pass


class Hint(KioskLabel):
    pass


class KioskButton(KivyButton):
    button_id = StringProperty("")
    primary = BooleanProperty(False)


class BannerBox(BoxLayout):
    text = StringProperty("")
    tone = StringProperty("neutral")
    fill = ColorProperty((0, 0, 0, 0))


class LineRow(BoxLayout):
    title = StringProperty("")
    detail = StringProperty("")
    tone = StringProperty("neutral")
    mark = ColorProperty((0, 0, 0, 0))
    has_action = BooleanProperty(False)


class ButtonRow(BoxLayout):
    pass


class KioskScreen(KivyScreen):
    """A screen renders one kind of view; ``render`` is all it does."""

    def render(self, view: object) -> None:
        raise NotImplementedError


class MessageScreen(KioskScreen):
    """Help and out of service: a heading, plain words, perhaps a way back."""

    def render(self, view: MessageView) -> None:  # type: ignore[override]
        self.ids.heading.text = view.heading
        self.ids.body.text = view.body
        self.ids.detail.text = view.detail
        fill_buttons(self.ids.actions, view.actions)


def tone_colour(tone: Tone | str) -> tuple[float, float, float, float]:
    app = App.get_running_app()
    return {
        Tone.SUCCESS: app.success_colour,
        Tone.ERROR: app.error_colour,
        Tone.NOTICE: app.notice_colour,
    }.get(Tone(tone), app.panel_colour)


def button(spec: Button) -> KioskButton:
    return KioskButton(text=spec.label, button_id=spec.id, primary=spec.primary)


def fill_buttons(container: Widget, specs: Iterable[Button]) -> None:
    container.clear_widgets()
    for spec in specs:
        container.add_widget(button(spec))


def banner(spec: Banner | None) -> BannerBox | None:
    if spec is None:
        return None
    return BannerBox(text=spec.text, tone=spec.tone.value, fill=tone_colour(spec.tone))


def show_banners(container: Widget, specs: Iterable[Banner | None]) -> None:
    container.clear_widgets()
    for spec in specs:
        box = banner(spec)
        if box is not None:
            container.add_widget(box)


def line_row(spec: Line) -> LineRow:
    row = LineRow(
        title=spec.title,
        detail=spec.detail,
        tone=spec.tone.value,
        mark=tone_colour(spec.tone),
        has_action=spec.action is not None,
    )
    if spec.action is not None:
        row.ids.slot.add_widget(button(spec.action))
    return row


def fill_lines(container: Widget, specs: Iterable[Line]) -> None:
    container.clear_widgets()
    for spec in specs:
        container.add_widget(line_row(spec))
