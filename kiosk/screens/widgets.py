"""Widgets every screen shares, and the one way view data becomes widgets."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from kivy.app import App
from kivy.properties import BooleanProperty, ColorProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button as KivyButton
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen as KivyScreen
from kivy.uix.widget import Widget

from kiosk.session.viewdata import Banner, Button, Line, MessageView, Tone

T = TypeVar("T")


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


def reconcile(
    container: Widget,
    specs: Iterable[T],
    make: Callable[[T], Widget],
    update: Callable[[Widget, T], bool],
) -> None:
    """Make ``container`` show ``specs``, reusing the widgets it already has.

    Building a Kivy widget (its kv rules, its text textures) costs milliseconds; setting
    a property on one that exists costs microseconds, and a label whose text did not
    change is not drawn again. A scan usually changes one line of a screen.

    Widgets no longer shown are kept aside for the next time the container grows, never
    dropped: Kivy leaves a dropped widget's bindings behind (to the screen's density and
    the app's theme), and a kiosk that built each patron's rows afresh grew by some
    seventy of them a session, for as long as it ran.
    """
    wanted = list(specs)
    spares = _SPARES.setdefault(container.uid, [])
    children = list(reversed(container.children))  # in layout order
    if not all(update(child, spec) for child, spec in zip(children, wanted, strict=False)):
        container.clear_widgets()
        spares.extend(reversed(children))
        for spec in wanted:
            container.add_widget(_reused(spares, spec, make, update))
        return
    for child in children[len(wanted) :]:
        container.remove_widget(child)
        spares.append(child)
    for spec in wanted[len(children) :]:
        container.add_widget(_reused(spares, spec, make, update))


# Each container's widgets not shown now, by the container's uid (containers live as
# long as the app).
_SPARES: dict[int, list[Widget]] = {}


def _reused(
    spares: list[Widget], spec: T, make: Callable[[T], Widget], update: Callable[[Widget, T], bool]
) -> Widget:
    for position in range(len(spares) - 1, -1, -1):
        if update(spares[position], spec):
            return spares.pop(position)
    return make(spec)


def button(spec: Button) -> KioskButton:
    return KioskButton(text=spec.label, button_id=spec.id, primary=spec.primary)


def _update_button(widget: Widget, spec: Button) -> bool:
    if not isinstance(widget, KioskButton):
        return False
    widget.text, widget.button_id, widget.primary = spec.label, spec.id, spec.primary
    return True


def fill_buttons(container: Widget, specs: Iterable[Button]) -> None:
    reconcile(container, specs, button, _update_button)


def banner(spec: Banner) -> BannerBox:
    return BannerBox(text=spec.text, tone=spec.tone.value, fill=tone_colour(spec.tone))


def _update_banner(widget: Widget, spec: Banner) -> bool:
    if not isinstance(widget, BannerBox):
        return False
    widget.text, widget.tone, widget.fill = spec.text, spec.tone.value, tone_colour(spec.tone)
    return True


def show_banners(container: Widget, specs: Iterable[Banner | None]) -> None:
    reconcile(container, [spec for spec in specs if spec is not None], banner, _update_banner)


def line_row(spec: Line) -> LineRow:
    row = LineRow()
    _update_line(row, spec)
    return row


def _update_line(widget: Widget, spec: Line) -> bool:
    if not isinstance(widget, LineRow):
        return False
    widget.title, widget.detail = spec.title, spec.detail
    widget.tone, widget.mark = spec.tone.value, tone_colour(spec.tone)
    widget.has_action = spec.action is not None
    fill_buttons(widget.ids.slot, [spec.action] if spec.action is not None else [])
    return True


def fill_lines(container: Widget, specs: Iterable[Line]) -> None:
    reconcile(container, specs, line_row, _update_line)


def _section_heading(text: str) -> SectionHeading:
    return SectionHeading(text=text)


def fill_sections(container: Widget, sections: Iterable[tuple[str, Iterable[Line]]]) -> None:
    """Each section's heading, then its lines, in one column."""
    flat: list[str | Line] = []
    for heading, lines in sections:
        flat += [heading, *lines]

    def make(spec: str | Line) -> Widget:
        return _section_heading(spec) if isinstance(spec, str) else line_row(spec)

    def update(widget: Widget, spec: str | Line) -> bool:
        if isinstance(spec, str):
            if not isinstance(widget, SectionHeading):
                return False
            widget.text = spec
            return True
        return _update_line(widget, spec)

    reconcile(container, flat, make, update)


def fill_labels(container: Widget, texts: Iterable[str], kind: type[KioskLabel]) -> None:
    def update(widget: Widget, text: str) -> bool:
        if type(widget) is not kind:
            return False
        widget.text = text
        return True

    reconcile(container, texts, lambda text: kind(text=text), update)
