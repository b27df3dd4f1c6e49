"""HID scanners: real evdev.InputEvent sequences through the decoder, and the reader thread
across an unplug and a replug of a (test double) kernel device."""

from __future__ import annotations

import errno
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

import evdev
import pytest
from evdev import InputEvent
from evdev import ecodes as e

from kiosk.devices import BarcodeSettings, ScanBus, ScanPipeline, SourceStatus
from kiosk.devices.hid import Claims, HidDecoder, HidSource, open_hid_device
from kiosk.devices.layouts import LAYOUTS
from kiosk.devices.reader import Delivery, StatusBoard

PATRON = "21234000012344"
ITEM = "31234000567899"
MORNING = datetime(2025, 3, 4, 9, 30)

_clock = [0.0]


def event(kind: int, code: int, value: int) -> InputEvent:
    _clock[0] += 0.001
    seconds = int(_clock[0])
    return InputEvent(seconds, int((_clock[0] - seconds) * 1e6), kind, code, value)


def tap(code: int) -> list[InputEvent]:
    """One key press as a real keyboard reports it: scan code, key down, sync, key up."""
    return [
        event(e.EV_MSC, e.MSC_SCAN, 0x70000 + code),
        event(e.EV_KEY, code, 1),
        event(e.EV_SYN, e.SYN_REPORT, 0),
        event(e.EV_KEY, code, 0),
        event(e.EV_SYN, e.SYN_REPORT, 0),
    ]


def with_key(modifier: int, code: int) -> list[InputEvent]:
    return [event(e.EV_KEY, modifier, 1), *tap(code), event(e.EV_KEY, modifier, 0)]


def typed(text: str, layout: str = "us", shift: int = e.KEY_LEFTSHIFT) -> list[InputEvent]:
    """Events a scanner set to ``layout`` sends for ``text``, then Enter."""
    where: dict[str, tuple[int, int]] = {}
    keys = LAYOUTS[layout]
    for code, chars in sorted(keys.keys.items(), reverse=True):
        for level, char in enumerate(chars):
            if char and (code, level) not in keys.dead:
                where[char] = (code, level)
    events: list[InputEvent] = []
    for char in text:
        code, level = where[char]
        modifier = {0: None, 1: shift, 2: e.KEY_RIGHTALT}[level]
        events += tap(code) if modifier is None else with_key(modifier, code)
    return events + tap(e.KEY_ENTER)


def decode(events: Iterable[InputEvent], layout: str = "us", max_length: int = 64) -> list[str]:
    return list(HidDecoder(layout, max_length).feed_all(events))


CODES = [
    PATRON,
    ITEM,
    "9780306406157",
    "080442957X",
    "A21234000012344B",
    "]C0LIB-0042/7",
    "Hello World 42",
    "mixed.Case_code+1",
]


@pytest.mark.parametrize("layout", ["us", "uk", "de", "fr"])
@pytest.mark.parametrize("code", CODES)
def test_codes_round_trip_through_every_layout(layout: str, code: str) -> None:
    assert decode(typed(code, layout), layout) == [code]


@pytest.mark.parametrize("shift", [e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT])
def test_shifted_punctuation_with_either_shift(shift: int) -> None:
    text = '!@#$%^&*()_+{}|:"<>?~'
    assert decode(typed(text, "us", shift)) == [text]


@pytest.mark.parametrize(
    ("layout", "events", "expected"),
    [
        ("us", with_key(e.KEY_LEFTSHIFT, e.KEY_2), "@"),
        ("us", with_key(e.KEY_LEFTSHIFT, e.KEY_APOSTROPHE), '"'),
        ("uk", with_key(e.KEY_LEFTSHIFT, e.KEY_2), '"'),
        ("uk", with_key(e.KEY_LEFTSHIFT, e.KEY_APOSTROPHE), "@"),
        ("uk", with_key(e.KEY_LEFTSHIFT, e.KEY_3), "£"),
        ("uk", tap(e.KEY_BACKSLASH) + tap(e.KEY_102ND), "#\\"),
        ("de", tap(e.KEY_Y) + tap(e.KEY_Z), "zy"),
        ("de", with_key(e.KEY_LEFTSHIFT, e.KEY_7), "/"),
        ("de", with_key(e.KEY_RIGHTALT, e.KEY_Q), "@"),
        ("de", tap(e.KEY_MINUS) + tap(e.KEY_SLASH), "ß-"),
        ("de", tap(e.KEY_SEMICOLON) + tap(e.KEY_APOSTROPHE), "öä"),
        ("fr", tap(e.KEY_Q) + tap(e.KEY_W) + tap(e.KEY_A) + tap(e.KEY_Z), "azqw"),
        ("fr", tap(e.KEY_1) + with_key(e.KEY_LEFTSHIFT, e.KEY_1), "&1"),
        ("fr", tap(e.KEY_M) + tap(e.KEY_SEMICOLON), ",m"),
        ("fr", with_key(e.KEY_RIGHTALT, e.KEY_0) + with_key(e.KEY_LEFTSHIFT, e.KEY_SLASH), "@§"),
    ],
)
def test_layout_specific_keys(layout: str, events: list[InputEvent], expected: str) -> None:
    assert decode([*events, *tap(e.KEY_ENTER)], layout) == [expected]


def test_a_german_dead_key_gives_its_accent_before_a_space_and_accents_a_letter() -> None:
    events = tap(e.KEY_GRAVE) + tap(e.KEY_SPACE) + tap(e.KEY_EQUAL) + tap(e.KEY_E)
    events += with_key(e.KEY_LEFTSHIFT, e.KEY_EQUAL) + tap(e.KEY_1)
    assert decode([*events, *tap(e.KEY_ENTER)], "de") == ["^é`1"]


def test_caps_lock_toggles_letters_only_and_shift_inverts_it() -> None:
    events = tap(e.KEY_CAPSLOCK) + tap(e.KEY_A) + tap(e.KEY_1) + with_key(e.KEY_LEFTSHIFT, e.KEY_B)
    events += with_key(e.KEY_LEFTSHIFT, e.KEY_1) + tap(e.KEY_CAPSLOCK) + tap(e.KEY_C)
    assert decode([*events, *tap(e.KEY_ENTER)]) == ["A1b!c"]


def test_caps_lock_state_read_from_the_device_leds_applies_from_the_first_key() -> None:
    decoder = HidDecoder("us")
    decoder.caps_lock = True
    assert list(decoder.feed_all(typed("abc"))) == ["ABC"]


def test_keypad_digits_and_terminators() -> None:
    keypad = [e.KEY_KP2, e.KEY_KP1, e.KEY_KP0, e.KEY_KP9, e.KEY_KPMINUS, e.KEY_KPDOT]
    events = [event(e.EV_KEY, e.KEY_NUMLOCK, 1), event(e.EV_KEY, e.KEY_NUMLOCK, 0)]
    for code in keypad:
        events += tap(code)
    events += tap(e.KEY_KPENTER) + tap(e.KEY_A) + tap(e.KEY_TAB)
    assert decode(events) == ["2109-.", "a"]


def test_alt_keypad_codes_type_any_character_whatever_the_layout() -> None:
    alt = [event(e.EV_KEY, e.KEY_LEFTALT, 1)]
    for code in (e.KEY_KP6, e.KEY_KP4):
        alt += tap(code)
    alt.append(event(e.EV_KEY, e.KEY_LEFTALT, 0))
    ansi = [event(e.EV_KEY, e.KEY_LEFTALT, 1)]
    for code in (e.KEY_KP0, e.KEY_KP2, e.KEY_KP3, e.KEY_KP3):
        ansi += tap(code)
    ansi.append(event(e.EV_KEY, e.KEY_LEFTALT, 0))
    assert decode([*alt, *ansi, *tap(e.KEY_ENTER)], "fr") == ["@é"]


@pytest.mark.parametrize(
    "spoiler",
    [
        with_key(e.KEY_LEFTCTRL, e.KEY_J),
        tap(e.KEY_F1),
        with_key(e.KEY_LEFTALT, e.KEY_A),
        with_key(e.KEY_RIGHTALT, e.KEY_A),  # AltGr+A types nothing on a US layout
    ],
)
def test_a_line_with_a_key_we_cannot_type_is_dropped_and_the_next_is_clean(
    spoiler: list[InputEvent], caplog: pytest.LogCaptureFixture
) -> None:
    events = typed(ITEM)[:-5] + spoiler + tap(e.KEY_ENTER) + typed(PATRON)
    assert decode(events) == [PATRON]
    assert "dropped a scan" in caplog.text
    assert ITEM not in caplog.text


def test_an_overlong_line_is_dropped_whole() -> None:
    assert decode(typed("9" * 30) + typed(ITEM), max_length=20) == [ITEM]


def test_key_repeats_and_lone_enters_add_nothing() -> None:
    events = [*tap(e.KEY_ENTER), event(e.EV_KEY, e.KEY_A, 1), event(e.EV_KEY, e.KEY_A, 2)]
    events += [event(e.EV_KEY, e.KEY_A, 2), event(e.EV_KEY, e.KEY_A, 0), *tap(e.KEY_ENTER)]
    assert decode(events) == ["a"]


def test_many_codes_in_one_stream() -> None:
    codes = [f"3{n:012d}" for n in range(200)]
    stream = [ev for code in codes for ev in typed(code)]
    assert decode(stream) == codes


# --- the reader thread, with a test double for the kernel's input device ----------------


class FakeInputDevice:
    """Stands in for the kernel device only: a pollable fd, queued events, and ENODEV
    once it is unplugged, as a real evdev device raises."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._read_fd, self._write_fd = os.pipe()
        self._events: queue.SimpleQueue[InputEvent] = queue.SimpleQueue()
        self.unplugged = False
        self.calls: list[str] = []

    def send(self, events: Iterable[InputEvent]) -> None:
        for ev in events:
            self._events.put(ev)
        os.write(self._write_fd, b"!")

    def unplug(self) -> None:
        self.unplugged = True
        os.write(self._write_fd, b"!")

    def fileno(self) -> int:
        return self._read_fd

    def read(self) -> Iterator[InputEvent]:
        os.read(self._read_fd, 4096)
        if self.unplugged:
            raise OSError(errno.ENODEV, "No such device")
        while not self._events.empty():
            yield self._events.get()

    def grab(self) -> None:
        self.calls.append("grab")

    def ungrab(self) -> None:
        self.calls.append("ungrab")
        if self.unplugged:
            raise OSError(errno.ENODEV, "No such device")

    def close(self) -> None:
        self.calls.append("close")
        os.close(self._read_fd)
        os.close(self._write_fd)

    def leds(self) -> list[int]:
        return []


class FakeKernel:
    def __init__(self) -> None:
        self.present: FakeInputDevice | None = None
        self.opens = 0
        self.lock = threading.Lock()

    def open(self, _spec: str, claims: Claims) -> FakeInputDevice | None:
        with self.lock:
            self.opens += 1
            device = self.present
        if device is None or device.unplugged or not claims.take(device.path):
            return None
        return device


class Statuses:
    def __init__(self) -> None:
        self.seen: queue.SimpleQueue[SourceStatus] = queue.SimpleQueue()

    def __call__(self, status: SourceStatus) -> None:
        self.seen.put(status)

    def wait_for(self, state: str, timeout: float = 5.0) -> SourceStatus:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                status = self.seen.get(timeout=left)
            except queue.Empty:
                break
            if status.state == state:
                return status
        raise AssertionError(f"no {state!r} status within {timeout} s")


def test_unplug_mid_scan_is_an_event_and_a_replug_is_picked_up_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")
    kernel, statuses, bus = FakeKernel(), Statuses(), ScanBus()
    pipeline = ScanPipeline(BarcodeSettings(), lambda: MORNING)
    source = HidSource(
        "/dev/input/by-id/usb-scanner-event-kbd",
        Delivery(pipeline, bus, "front"),
        StatusBoard(statuses),
        poll_seconds=0.02,
        opener=kernel.open,
    )
    first = FakeInputDevice("/dev/input/event5")
    kernel.present = first
    source.start()
    try:
        statuses.wait_for("connected")
        first.send(typed(ITEM))
        scan = bus.get(timeout=5)
        assert scan is not None
        assert (scan.code, scan.kind, scan.source, scan.at) == (ITEM, "item", "front", MORNING)

        first.send(typed(PATRON)[:20])  # half a scan, then the cleaner pulls the cable
        first.unplug()
        with kernel.lock:
            kernel.present = None
        assert statuses.wait_for("disconnected").detail == "unplugged"
        statuses.wait_for("absent")
        assert first.calls == ["grab", "ungrab", "close"]

        # Absent, it is looked for once per poll interval, not in a tight loop.
        with kernel.lock:
            opens_before = kernel.opens
        started = time.monotonic()
        while kernel.opens < opens_before + 3:
            time.sleep(0.01)
        elapsed = time.monotonic() - started
        assert kernel.opens - opens_before <= elapsed / 0.02 + 3

        second = FakeInputDevice("/dev/input/event7")
        with kernel.lock:
            kernel.present = second
        statuses.wait_for("connected")
        second.send(typed(PATRON))
        scan = bus.get(timeout=5)
        assert scan is not None
        assert scan.code == PATRON  # the half scan from before the unplug is gone
        assert bus.get(timeout=0.05) is None
        assert second.calls == ["grab"]
    finally:
        source.stop()
    assert not source.is_alive()
    statuses.wait_for("stopped")
    assert PATRON not in caplog.text
    assert ITEM not in caplog.text
    assert "patron …2344" in caplog.text


def test_a_missing_device_path_yields_no_device() -> None:
    assert open_hid_device("/dev/input/by-id/no-such-scanner", Claims()) is None
    assert open_hid_device("ffff:fffe", Claims()) is None
    assert open_hid_device("No Such Scanner", Claims()) is None


@pytest.mark.uinput
def test_a_virtual_keyboard_through_the_kernel() -> None:
    capabilities: dict[int, Sequence[int]] = {e.EV_KEY: list(range(1, 128))}
    with evdev.UInput(capabilities, name="kiosk test scanner", vendor=0x1234, product=0x5678) as ui:
        bus, statuses = ScanBus(), Statuses()
        source = HidSource(
            "1234:5678",
            Delivery(ScanPipeline(BarcodeSettings(), lambda: MORNING), bus, "uinput"),
            StatusBoard(statuses),
            poll_seconds=0.1,  # udev makes the node a moment after UInput returns
        )
        source.start()
        try:
            statuses.wait_for("connected")
            for ev in typed(ITEM):
                if ev.type == e.EV_KEY:
                    ui.write(e.EV_KEY, ev.code, ev.value)
                    ui.syn()
            scan = bus.get(timeout=5)
            assert scan is not None
            assert (scan.code, scan.kind) == (ITEM, "item")
        finally:
            source.stop()
