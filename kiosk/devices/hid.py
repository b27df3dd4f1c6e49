"""USB HID ("keyboard wedge") scanners read through python-evdev.

The scanner is grabbed exclusively so none of its keystrokes reach the UI, and its key
events are decoded here with the layout the scanner was set up for.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from kiosk.devices import layouts
from kiosk.devices.layouts import COMBINING, EV_KEY, KEYPAD, KEYPAD_DIGITS, TERMINATOR_KEYS
from kiosk.devices.reader import Delivery, SourceStatus, StatusBoard, Waker

log = logging.getLogger(__name__)

_SHIFTS = frozenset({layouts.KEY_LEFTSHIFT, layouts.KEY_RIGHTSHIFT})
_CTRLS = frozenset({layouts.KEY_LEFTCTRL, layouts.KEY_RIGHTCTRL})
_IGNORED = frozenset(
    {layouts.KEY_NUMLOCK, layouts.KEY_LEFTMETA, layouts.KEY_RIGHTMETA, layouts.KEY_ESC}
)
_PRESS, _RELEASE = 1, 0
_USB_ID = re.compile(r"(?P<vendor>[0-9a-fA-F]{4}):(?P<product>[0-9a-fA-F]{4})")


class KeyEvent(Protocol):
    """What the decoder needs of an ``evdev.InputEvent``."""

    type: int
    code: int
    value: int


class HidDecoder:
    """A key-event state machine: modifiers, caps lock, dead keys, Alt+keypad codes.

    :meth:`feed` returns the text of a scan when a terminator key (Enter, keypad Enter,
    Tab) goes down, else ``None``. A line containing a key we cannot type (a function
    key, a Ctrl combination, a key the layout lacks) is dropped whole: a patron scans
    again after a beep, but a silently mangled code can lend the wrong book.
    """

    def __init__(self, layout: str = "us", max_length: int = 64, source: str = "hid") -> None:
        self.layout = layouts.LAYOUTS[layout]
        self.max_length = max_length
        self.source = source
        self.caps_lock = False
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._altgr = False
        self._alt = False
        self._alt_digits = ""
        self._dead = ""
        self._chars: list[str] = []
        self._bad: str | None = None

    def reset(self) -> None:
        """Forget a half-typed line and held keys (the device went away mid-scan)."""
        self._shift.clear()
        self._ctrl.clear()
        self._altgr = self._alt = False
        self._alt_digits = self._dead = ""
        self._chars = []
        self._bad = None

    def feed_all(self, events: Iterable[KeyEvent]) -> Iterator[str]:
        for event in events:
            line = self.feed(event)
            if line is not None:
                yield line

    def feed(self, event: KeyEvent) -> str | None:
        if event.type != EV_KEY or self._modifier(event.code, event.value):
            return None
        # Key repeats (value 2) come from the kernel when a release is late; the scanner
        # pressed the key once.
        if event.value != _PRESS:
            return None
        if event.code in TERMINATOR_KEYS:
            return self._finish()
        self._press(event.code)
        return None

    def _modifier(self, code: int, value: int) -> bool:
        """Track a modifier key; ``True`` when ``code`` was one."""
        if code in _SHIFTS:
            (self._shift.add if value else self._shift.discard)(code)
        elif code in _CTRLS:
            (self._ctrl.add if value else self._ctrl.discard)(code)
        elif code == layouts.KEY_RIGHTALT:
            self._altgr = value != _RELEASE
        elif code == layouts.KEY_LEFTALT:
            self._alt = value != _RELEASE
            if value == _RELEASE:
                self._end_alt_code()
        else:
            return False
        return True

    def _press(self, code: int) -> None:
        if code == layouts.KEY_CAPSLOCK:
            self.caps_lock = not self.caps_lock
        elif code in _IGNORED:
            pass
        elif self._alt:
            digit = KEYPAD_DIGITS.get(code)
            if digit is None:
                self._spoil("an Alt combination")
            else:
                self._alt_digits += digit
        elif self._ctrl:
            self._spoil("a Ctrl combination")
        else:
            self._type_key(code)

    def _type_key(self, code: int) -> None:
        if code in KEYPAD:
            self._add(KEYPAD[code])
            return
        chars = self.layout.keys.get(code)
        if chars is None:
            self._spoil(f"key code {code}")
            return
        level = 2 if self._altgr else (1 if self._shift else 0)
        char = chars[level]
        if not char:
            self._spoil(f"key code {code} at level {level}")
            return
        if (code, level) in self.layout.dead:
            if self._dead:
                self._add(self._dead)
            self._dead = char
            return
        if self.caps_lock and level < 2 and char.isalpha():
            swapped = char.swapcase()
            if len(swapped) == 1:  # "ß".swapcase() is "SS"; the key types ß all the same
                char = swapped
        self._add(char)

    def _add(self, char: str) -> None:
        if self._dead:
            accent, self._dead = self._dead, ""
            if char == " ":
                char = accent
            else:
                composed = unicodedata.normalize("NFC", char + COMBINING[accent])
                char = composed if len(composed) == 1 else accent + char
        if self._bad is None and sum(map(len, self._chars)) + len(char) > self.max_length:
            self._spoil(f"longer than {self.max_length} characters")
        if self._bad is None:
            self._chars.append(char)

    def _end_alt_code(self) -> None:
        digits, self._alt_digits = self._alt_digits, ""
        if not digits or self._bad is not None:
            return
        # Windows' Alt codes, which layout-independent scanner settings use: a leading
        # zero means the ANSI code page, otherwise the old OEM one.
        number = int(digits)
        if number > 255 or number == 0:
            self._spoil("an Alt code out of range")
            return
        char = bytes([number]).decode("cp1252" if digits.startswith("0") else "cp437", "replace")
        if not char.isprintable():
            self._spoil("an Alt code for a control character")
            return
        self._add(char)

    def _spoil(self, why: str) -> None:
        if self._bad is None:
            self._bad = why
            self._chars = []

    def _finish(self) -> str | None:
        if self._dead:
            self._add(" ")  # a dead key right before Enter means the accent itself
        text, bad = "".join(self._chars), self._bad
        self._chars, self._bad = [], None
        if bad is not None:
            log.warning("%s: dropped a scan: %s", self.source, bad)
            return None
        if not text:
            return None  # a lone Enter: nothing was scanned
        return text


class InputDevice(Protocol):
    """What the reader needs of an ``evdev.InputDevice`` (tests substitute the kernel)."""

    path: str

    def fileno(self) -> int: ...

    def read(self) -> Iterable[KeyEvent]: ...

    def grab(self) -> None: ...

    def ungrab(self) -> None: ...

    def close(self) -> None: ...

    def leds(self) -> list[int]: ...


class Claims:
    """Device paths already taken by a source, so two identical scanners configured by
    ``vendor:product`` get one device each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: set[str] = set()

    def take(self, path: str) -> bool:
        with self._lock:
            if path in self._paths:
                return False
            self._paths.add(path)
            return True

    def release(self, path: str) -> None:
        with self._lock:
            self._paths.discard(path)


def _evdev() -> Any:
    try:
        import evdev  # noqa: PLC0415 - optional: absent off Linux, where HID reports absent
    except ImportError:
        return None
    return evdev


def is_scanner_like(device: Any) -> bool:
    """A device that can type digits and Enter: a keyboard or a keyboard-wedge scanner,
    not the mouse, power button or "consumer control" half of the same USB device."""
    keys: list[int] = device.capabilities().get(EV_KEY, [])
    return layouts.KEY_ENTER in keys and all(code in keys for code in range(2, 12))


def open_hid_device(spec: str, claims: Claims) -> InputDevice | None:
    """Open the input device ``spec`` names, or ``None`` when it is not there.

    ``spec`` is a path (``/dev/input/by-id/...`` survives replugging into another USB
    socket; ``eventN`` numbers do not), ``vendor:product`` in hex, or an exact name.
    Permission problems are raised: an absent scanner and one we may not read need
    different fixes.
    """
    evdev = _evdev()
    if evdev is None:
        return None
    if spec.startswith("/"):
        path = os.path.realpath(spec)
        if not os.path.exists(path) or not claims.take(path):
            return None
        try:
            return evdev.InputDevice(path)  # type: ignore[no-any-return]
        except OSError as error:
            claims.release(path)
            if error.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
                return None
            raise
    usb = _USB_ID.fullmatch(spec)
    for path in evdev.list_devices():
        if not claims.take(path):
            continue
        try:
            device = evdev.InputDevice(path)
        except OSError:
            claims.release(path)
            continue  # vanished between listing and opening, or not ours to read
        if usb is not None:
            wanted = (int(usb["vendor"], 16), int(usb["product"], 16))
            matches = (device.info.vendor, device.info.product) == wanted
        else:
            matches = device.name == spec
        if matches and is_scanner_like(device):
            return device  # type: ignore[no-any-return]
        device.close()
        claims.release(path)
    return None


class HidSource(threading.Thread):
    """Reads one configured HID scanner for the life of the kiosk, across replugs."""

    def __init__(
        self,
        spec: str,
        deliver: Delivery,
        status: StatusBoard,
        *,
        layout: str = "us",
        grab: bool = True,
        max_length: int = 64,
        poll_seconds: float = 1.0,
        claims: Claims | None = None,
        opener: Any = open_hid_device,
    ) -> None:
        super().__init__(name=f"scanner {deliver.source}", daemon=True)
        self.spec = spec
        self.source = deliver.source
        self._deliver = deliver
        self._status = status
        self._grab = grab
        self._poll_seconds = poll_seconds
        self._claims = claims if claims is not None else Claims()
        self._opener = opener
        self._waker = Waker()
        self.decoder = HidDecoder(layout, max_length, self.source)
        self._report("starting")

    def _report(self, state: str, detail: str = "") -> None:
        self._status.set(SourceStatus(self.source, "hid", state, detail))  # type: ignore[arg-type]

    def stop(self, timeout: float | None = 2.0) -> None:
        self._waker.wake()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        try:
            while not self._waker.stopping.is_set():
                try:
                    device = self._opener(self.spec, self._claims)
                except OSError as error:
                    self._report("error", f"cannot open {self.spec}: {error.strerror or error}")
                    device = None
                else:
                    if device is None:
                        self._report("absent", f"no input device {self.spec}")
                if device is not None:
                    self._serve(device)
                # Poll rather than watch /dev/input with inotify: one stat a second is
                # nothing, and it also covers a device that opened but failed at once.
                self._waker.wait(self._poll_seconds)
        finally:
            self._report("stopped")
            self._waker.close()

    def _serve(self, device: InputDevice) -> None:
        try:
            if self._grab:
                device.grab()
            self.decoder.reset()
            self.decoder.caps_lock = layouts.LED_CAPSL in device.leds()
            self._report("connected", device.path)
            self._read(device)
        except OSError as error:
            if error.errno in (errno.ENODEV, errno.ENOENT, errno.EIO):
                self._report("disconnected", "unplugged")
            else:
                self._report("error", f"{device.path}: {error.strerror or error}")
        finally:
            # A scan cut off by the unplug is lost, never glued to the next one.
            self.decoder.reset()
            for release in (device.ungrab, device.close):
                with contextlib.suppress(OSError):  # already gone with the device
                    release()
            self._claims.release(device.path)

    def _read(self, device: InputDevice) -> None:
        while self._waker.wait_readable(device.fileno(), None):
            try:
                events = list(device.read())
            except BlockingIOError:
                continue  # woken without events: nothing to do
            for line in self.decoder.feed_all(events):
                self._deliver(line)
