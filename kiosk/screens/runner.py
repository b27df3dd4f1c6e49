"""Runs a script (kiosk.session.scripting) against the real app, one step per frame.

Scans go through the keyboard source, the scan pipeline and the bus exactly as a
scanner's would; presses dispatch the real button's ``on_release``. Each step waits for
its effect to be drawn before the next begins.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kivy.clock import Clock
from kivy.core.window import Window

from kiosk.session.scripting import ScriptError, Step

if TYPE_CHECKING:
    from kiosk.screens.app import KioskApp

log = logging.getLogger(__name__)

SCAN_TIMEOUT = 5.0


class ScriptRunner:
    def __init__(
        self,
        app: KioskApp,
        steps: list[Step],
        *,
        screenshots: Path | None,
        advance_idle: Callable[[float], None],
    ) -> None:
        self.app = app
        self.steps = steps
        self.screenshots = screenshots
        self.advance_idle = advance_idle
        self.failure: str | None = None
        self._index = 0

    def start(self) -> None:
        # The first frame must be on screen before the first step.
        Clock.schedule_once(lambda _dt: self._settle(self._next), 0.3)

    def _settle(self, then: Callable[[], None], frames: int = 3) -> None:
        if frames == 0:
            then()
        else:
            Clock.schedule_once(lambda _dt: self._settle(then, frames - 1), 0)

    def _next(self) -> None:
        if self._index >= len(self.steps):
            self._finish()
            return
        step = self.steps[self._index]
        self._index += 1
        try:
            self._run(step)
        except ScriptError as error:
            self._fail(f"line {step.line}: {step.command} {step.argument}: {error}")

    def _run(self, step: Step) -> None:
        command, argument = step.command, step.argument
        if command == "scan":
            self._scan(argument)
        elif command == "press":
            self._press(argument)
            self._settle(self._next)
        elif command == "pin":
            for digit in argument:
                self._press(f"digit_{digit}")
            self._press("pin_ok")
            self._settle(self._next)
        elif command == "lang":
            self._press(f"lang_{argument}")
            self._settle(self._next)
        elif command == "wait":
            Clock.schedule_once(lambda _dt: self._next(), step.seconds)
        elif command == "idle":
            self.advance_idle(step.seconds)
            self.app.flow.tick()
            self.app.render()
            self._settle(self._next)
        elif command == "shot":
            self._shot(argument)
            self._settle(self._next)
        elif command == "key":
            self._key(argument)
            self._settle(self._next)

    def _key(self, name: str) -> None:
        """What the window does with the key is what it would do with a real one."""
        if name == "alt+f4":
            Window.dispatch("on_request_close")
        else:
            code = {"escape": 27, "f1": 282, "enter": 13}[name]
            # As SDL2's window does: on_keyboard only for a key on_key_down left alone.
            if not Window.dispatch("on_key_down", code, 0, None, []):
                Window.dispatch("on_keyboard", code, 0, None, [])
            Window.dispatch("on_key_up", code, 0)

    def _press(self, button_id: str) -> None:
        buttons = self.app.buttons_on_screen()
        if button_id not in buttons:
            raise ScriptError(
                f"no button {button_id!r} on the {self.app.flow.screen.value} screen "
                f"(buttons: {', '.join(sorted(buttons)) or 'none'})"
            )
        buttons[button_id].dispatch("on_release")

    def _scan(self, code: str) -> None:
        keyboard = self.app.keyboard
        if keyboard is None:
            raise ScriptError("this kiosk has no keyboard source to scan through")
        handled = self.app.scans_handled
        keyboard.type_text(code + "\n")
        waited = 0.0

        def arrived(dt: float) -> None:
            nonlocal waited
            waited += dt
            if self.app.scans_handled > handled:
                self._settle(self._next)
            elif waited > SCAN_TIMEOUT:
                self._fail(
                    f"the scan of {code!r} never reached the screen (the same code twice "
                    "within the debounce time is dropped on purpose)"
                )
            else:
                Clock.schedule_once(arrived, 0.02)

        Clock.schedule_once(arrived, 0)

    def _shot(self, name: str) -> None:
        self.app.record_now()  # the trace says what the picture shows
        if self.screenshots is None:
            return
        self.screenshots.mkdir(parents=True, exist_ok=True)
        taken = Window.screenshot(name=str(self.screenshots / f"{name}.png"))
        if taken:
            Path(taken).replace(self.screenshots / f"{name}.png")

    def _fail(self, message: str) -> None:
        self.failure = message
        # Kivy puts its own logger in place of sys.stderr; the message is for the person.
        print(f"kiosk run --script: {message}", file=sys.__stderr__)
        self.app.quit_from_staff()

    def _finish(self) -> None:
        if self.app.errors:
            self._fail(f"{self.app.errors} event(s) failed during the run (see the log)")
            return
        self.app.quit_from_staff()
