"""The Kivy application: one window that renders the flow's frames.

Import this module only after the composition root (kiosk.appliance.kiosk_run) has set Kivy's
environment: the window is created when ``kivy.core.window`` is first imported.
Scans arrive on a reader thread and reach the flow only through
``Clock.schedule_once``; everything else here runs on Kivy's main thread.
"""

from __future__ import annotations

import gc
import logging
import re
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from kivy.app import App
from kivy.clock import Clock
from kivy.core.audio import SoundLoader
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.metrics import mm
from kivy.properties import ColorProperty, NumericProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import NoTransition

from kiosk.screens import theme
from kiosk.screens.account import AccountScreen
from kiosk.screens.checkout import CheckoutScreen
from kiosk.screens.drop import DropScreen
from kiosk.screens.finish import FinishScreen
from kiosk.screens.help import HelpScreen
from kiosk.screens.out_of_service import OutOfServiceScreen
from kiosk.screens.pin import PinScreen
from kiosk.screens.sounds import sound_files
from kiosk.screens.staff import StaffScreen
from kiosk.screens.welcome import WelcomeScreen
from kiosk.screens.widgets import KioskButton, fill_buttons
from kiosk.session.flow import KioskFlow, UnknownButton
from kiosk.session.trace import Trace
from kiosk.session.viewdata import Frame, Sound

log = logging.getLogger(__name__)


class ScanQueue(Protocol):
    """Where the scanners' threads leave their scans (the devices' scan bus)."""

    def get(self, timeout: float) -> Any: ...


class TypedText(Protocol):
    """The keyboard scanner: text typed into the window is a barcode being scanned."""

    def type_text(self, text: str) -> None: ...


HERE = Path(__file__).resolve().parent
SCREENS = (
    WelcomeScreen,
    PinScreen,
    CheckoutScreen,
    AccountScreen,
    DropScreen,
    FinishScreen,
    HelpScreen,
    OutOfServiceScreen,
    StaffScreen,
)
KV_FILES = ("widgets", *(cls.__module__.rsplit(".", 1)[1] for cls in SCREENS))
TICK_SECONDS = 0.25
# Touch targets of at least 15 mm: the smallest a hurried or unsteady finger hits.
TOUCH_TARGET_MM = 15
ENTER_KEYS = (13, 271)  # Return, keypad Enter


class KioskRoot(FloatLayout):
    pass


class KioskApp(App):
    scale = NumericProperty(1.0)
    target = NumericProperty(56)
    background_colour = ColorProperty(theme.STANDARD.background)
    text_colour = ColorProperty(theme.STANDARD.text)
    secondary_colour = ColorProperty(theme.STANDARD.secondary_text)
    panel_colour = ColorProperty(theme.STANDARD.panel)
    button_colour = ColorProperty(theme.STANDARD.button)
    button_text_colour = ColorProperty(theme.STANDARD.button_text)
    primary_colour = ColorProperty(theme.STANDARD.primary)
    primary_text_colour = ColorProperty(theme.STANDARD.primary_text)
    success_colour = ColorProperty(theme.STANDARD.success)
    error_colour = ColorProperty(theme.STANDARD.error)
    notice_colour = ColorProperty(theme.STANDARD.notice)
    banner_text_colour = ColorProperty(theme.STANDARD.banner_text)
    focus_colour = ColorProperty(theme.STANDARD.focus)

    def __init__(
        self,
        flow: KioskFlow,
        bus: ScanQueue,
        *,
        keyboard: TypedText | None = None,
        trace: Trace | None = None,
        sounds_dir: Path | None = None,
        fullscreen: bool = True,
        screen_width_mm: float = 0.0,
        on_tick: Callable[[], None] | None = None,
        on_start: Callable[[KioskApp], None] | None = None,
    ) -> None:
        super().__init__()
        self.title = "Library kiosk"
        self.flow = flow
        self.bus = bus
        self.keyboard = keyboard
        self.trace = trace or Trace(None)
        self.sounds_dir = sounds_dir
        self.configured_fullscreen = fullscreen
        self.screen_width_mm = screen_width_mm
        self.on_tick_hook = on_tick
        self.on_start_hook = on_start
        self.scans_handled = 0
        self.errors = 0
        self.renders = 0
        self.rendered_serial = -1
        self.may_close = False
        self.sounds: dict[Sound, Any] = {}
        self.last_render_at = 0.0
        self.flip_listeners: list[Callable[[float], None]] = []
        self._stop_pump = threading.Event()
        self._look: tuple[str, bool, int, int] | None = None
        self._record_trigger = Clock.create_trigger(lambda _dt: self._record(), 0)

    # --- building ---------------------------------------------------------------------

    def build(self) -> Any:
        for name in KV_FILES:
            Builder.load_file(str(HERE / f"{name}.kv"))
        root = Builder.load_file(str(HERE / "app.kv"))
        manager = root.ids.manager
        manager.transition = NoTransition()
        self.screens: dict[str, Any] = {}
        for cls in SCREENS:
            screen = cls()
            self.screens[screen.name] = screen
            manager.add_widget(screen)
        Window.bind(
            on_key_down=self._key_down,
            on_textinput=self._text_input,
            on_request_close=self._request_close,
            on_touch_down=self._touched,
            size=lambda *_: self._apply_look(force=True),
            on_flip=self._flipped,
        )
        return root

    def on_start(self) -> None:
        self._load_sounds()
        self.render(force=True)
        # Everything built so far (Kivy, the screens, the libraries) lives as long as the
        # app: moved out of the collector's sight, a collection during a scan is short.
        gc.collect()
        gc.freeze()
        threading.Thread(target=self._pump_scans, name="scan-pump", daemon=True).start()
        Clock.schedule_interval(self._tick, TICK_SECONDS)
        if self.on_start_hook is not None:
            self.on_start_hook(self)

    def on_stop(self) -> None:
        self._stop_pump.set()
        self.trace.close()

    # --- input ------------------------------------------------------------------------

    def _pump_scans(self) -> None:
        while not self._stop_pump.is_set():
            scan = self.bus.get(timeout=0.2)
            if scan is not None:
                Clock.schedule_once(lambda _dt, scan=scan: self.on_scan(scan), -1)

    def on_scan(self, scan: Any) -> None:
        self._guarded("a scan", lambda: self.flow.on_scan(scan))
        self.scans_handled += 1

    def press(self, button_id: str) -> None:
        self._guarded("a touch", lambda: self.flow.press(button_id))

    def _guarded(self, what: str, action: Callable[[], None]) -> None:
        """Run one event through the flow; whatever goes wrong, the kiosk stays up."""
        try:
            action()
        except UnknownButton:
            log.info("a touch on a button no longer on screen was ignored")
        except Exception as error:  # an appliance must not crash on one bad event
            self.errors += 1
            # The type and the place, not the message or the locals: either may hold a
            # card number.
            where = traceback.extract_tb(error.__traceback__)[-1]
            log.error(
                "%s failed with %s at %s:%d; the session was reset",
                what,
                type(error).__name__,
                Path(where.filename).name,
                where.lineno,
            )
            self.flow.fail_safe()
        self.render()

    def _key_down(self, _window: Any, key: int, *_args: Any) -> bool:
        """Every key is taken here, so none reaches Kivy's own: Escape would quit, F1
        would open Kivy's settings over the patron's screen. Typed text still arrives
        (as text input); Enter ends a barcode typed on the keyboard."""
        if key in ENTER_KEYS and self.keyboard is not None:
            self.keyboard.type_text("\n")
        return True

    def open_settings(self, *_args: Any) -> bool:
        return False  # the kiosk has no settings panel: staff edit kiosk.toml

    def _text_input(self, _window: Any, text: str) -> None:
        if self.keyboard is not None:
            self.keyboard.type_text(text)

    def _touched(self, *_args: Any) -> bool:
        self.flow.activity()
        return False

    def _request_close(self, *_args: Any, **_kwargs: Any) -> bool:
        # Alt+F4 and the window manager's close ask here; only staff mode may close.
        return not self.may_close

    def quit_from_staff(self) -> None:
        self.may_close = True
        self.stop()

    # --- time ---------------------------------------------------------------------------

    def _tick(self, _dt: float) -> None:
        self._guarded("the clock's tick", self.flow.tick)
        if self.on_tick_hook is not None:
            self.on_tick_hook()

    # --- output -----------------------------------------------------------------------

    def render(self, *, force: bool = False) -> None:
        # Building a frame words every text of a screen: only when something changed
        # (or while the inactivity countdown ticks), not every tick.
        unchanged = self.flow.serial == self.rendered_serial and not self.flow.warning_shown
        if unchanged and not force:
            return
        frame = self.flow.frame()
        new_event = frame.serial != self.rendered_serial
        self.rendered_serial = frame.serial
        self._show(frame, play=new_event)

    def _show(self, frame: Frame, *, play: bool) -> None:
        self._apply_look(frame)
        manager = self.root.ids.manager
        screen = self.screens[frame.screen.value]
        screen.render(frame.view)
        if manager.current != screen.name:
            manager.current = screen.name
        self._show_warning(frame)
        want_full = self.configured_fullscreen and frame.fullscreen
        if bool(Window.fullscreen) != want_full:
            Window.fullscreen = "auto" if want_full else False
        if play and frame.sound is not None:
            self._play(frame.sound)
        self.renders += 1
        self.last_render_at = time.perf_counter()
        # The trace reads the widgets once Kivy has laid them out, as the patron sees them.
        self._record_trigger()

    def _apply_look(self, frame: Frame | None = None, *, force: bool = False) -> None:
        frame = frame or self.flow.frame()
        key = (frame.look.theme, frame.look.large_text, Window.width, Window.height)
        if key == self._look and not force:
            return
        self._look = key
        palette = theme.THEMES.get(frame.look.theme, theme.STANDARD)
        for name in (
            "background",
            "text",
            "panel",
            "button",
            "button_text",
            "primary",
            "primary_text",
            "success",
            "error",
            "notice",
            "banner_text",
            "focus",
        ):
            setattr(self, f"{name}_colour", getattr(palette, name))
        self.secondary_colour = palette.secondary_text
        self.scale = theme.scale_for(Window.width, Window.height, frame.look.large_text)
        self.target = max(TOUCH_TARGET_MM * self.pixels_per_mm(), 56 * self.scale)
        if not force:
            return
        self.rendered_serial = -1  # colours of banners and rows are set when built

    def pixels_per_mm(self) -> float:
        """From the width staff measured, else from the display's report (which a panel
        without its physical size in its EDID gets wrong, and 15 mm with it)."""
        if self.screen_width_mm > 0:
            return float(Window.width) / self.screen_width_mm
        return float(mm(1))

    def _show_warning(self, frame: Frame) -> None:
        overlay = self.root.ids.overlay
        warning = frame.warning
        overlay.opacity = 1 if warning else 0
        overlay.disabled = warning is None
        if warning is None:
            return
        self.root.ids.warning_heading.text = warning.heading
        self.root.ids.warning_body.text = warning.body
        fill_buttons(self.root.ids.warning_action, [warning.action])

    def _load_sounds(self) -> None:
        if self.sounds_dir is None:
            return
        try:
            for sound, path in sound_files(self.sounds_dir).items():
                self.sounds[sound] = SoundLoader.load(str(path))
        except Exception as error:  # an audio device that is absent must not stop lending
            log.warning("sounds are off: %s", error)

    def _play(self, sound: Sound) -> None:
        player = self.sounds.get(sound)
        if player is not None:
            player.stop()
            player.play()

    def _flipped(self, *_args: Any) -> None:
        now = time.perf_counter()
        for listener in self.flip_listeners:
            listener(now)

    # --- what the patron sees -------------------------------------------------------------

    def visible_texts(self) -> list[str]:
        """Every text on screen now, in the order the layouts place it (reading order),
        including whatever else the window shows over the kiosk (Kivy's own panels)."""
        roots = [self.root.ids.manager.current_screen]
        if self.root.ids.overlay.opacity > 0:
            roots.append(self.root.ids.overlay)
        roots += [child for child in reversed(Window.children) if child is not self.root]
        return [text for root in roots for text in _texts(root)]

    def buttons_on_screen(self) -> dict[str, Any]:
        roots = [self.root.ids.manager.current_screen]
        if self.root.ids.overlay.opacity > 0:
            roots = [self.root.ids.overlay]
        return {
            widget.button_id: widget
            for root in roots
            for widget in root.walk(restrict=True)
            if isinstance(widget, KioskButton)
        }

    def record_now(self) -> None:
        self._record()

    def _record(self) -> None:
        if not self.trace.active:  # a kiosk in service keeps no trace: nothing to gather
            return
        frame = self.flow.frame()
        self.trace.record(
            frame.screen.value,
            self.visible_texts(),
            language=frame.language,
            theme=frame.look.theme,
            large_text=frame.look.large_text,
            sound=frame.sound.value if frame.sound else None,
            warning=frame.warning is not None,
            smallest_target_mm=self.smallest_target_mm(),
        )

    def smallest_target_mm(self) -> float | None:
        """The height of the smallest button on screen, on the glass."""
        heights = [button.height for button in self.buttons_on_screen().values()]
        return round(min(heights) / self.pixels_per_mm(), 1) if heights else None


MARKUP_TAG = re.compile(r"\[/?[a-z_]+(=[^\]]*)?\]")
MARKUP_ESCAPES = (("&bl;", "["), ("&br;", "]"), ("&amp;", "&"))


def _shown(label: Label) -> str:
    """A label's text as it reads on screen: without its markup tags."""
    text = label.text.strip()
    if not label.markup:
        return text
    text = MARKUP_TAG.sub("", text)
    for escaped, character in MARKUP_ESCAPES:
        text = text.replace(escaped, character)
    return text


def _texts(widget: Any) -> list[str]:
    if widget.opacity == 0:
        return []
    texts = [_shown(widget)] if isinstance(widget, Label) and widget.text.strip() else []
    # Kivy keeps the last child added first; layouts place the first added first.
    for child in reversed(widget.children):
        texts += _texts(child)
    return texts
