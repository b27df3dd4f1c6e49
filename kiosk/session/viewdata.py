"""Immutable view data: everything a screen shows, already worded in the patron's language.

A screen (``name.py`` + ``name.kv``) only lays these values out; it decides nothing
and translates nothing. Nothing here imports Kivy, so every flow is tested without a
window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Screen(StrEnum):
    WELCOME = "welcome"
    PIN = "pin"
    CHECKOUT = "checkout"
    ACCOUNT = "account"
    DROP = "drop"
    FINISH = "finish"
    HELP = "help"
    OUT_OF_SERVICE = "out_of_service"
    STAFF = "staff"


class Tone(StrEnum):
    NEUTRAL = "neutral"
    SUCCESS = "success"
    ERROR = "error"
    NOTICE = "notice"


class Sound(StrEnum):
    SUCCESS = "success"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Button:
    """A touch target; ``id`` is what scripts press (docs/screens.md lists them all)."""

    id: str
    label: str
    primary: bool = False


@dataclass(frozen=True, slots=True)
class Banner:
    text: str
    tone: Tone = Tone.NEUTRAL


@dataclass(frozen=True, slots=True)
class Line:
    """One row of a list: an item scanned, a loan, a hold."""

    title: str
    detail: str
    tone: Tone = Tone.NEUTRAL
    action: Button | None = None


@dataclass(frozen=True, slots=True)
class WelcomeView:
    library_name: str
    logo: str
    heading: str
    hints: tuple[str, ...]
    banner: Banner | None
    languages: tuple[Button, ...]
    options: tuple[Button, ...]  # high contrast, larger text, help
    demo: tuple[str, ...] = ()
    message: Banner | None = None  # the library's own (kiosk.toml's [library.message])


@dataclass(frozen=True, slots=True)
class PinView:
    heading: str
    masked: str
    banner: Banner | None
    keys: tuple[Button, ...]  # 1-9, clear, 0, OK in keypad order
    actions: tuple[Button, ...]


@dataclass(frozen=True, slots=True)
class CheckoutView:
    heading: str
    instruction: str
    notices: tuple[Banner, ...]
    lines: tuple[Line, ...]  # newest first, so the last scan is always in sight
    banner: Banner | None
    actions: tuple[Button, ...]
    # What waits for the patron (holds ready, loans due, money owed, membership ending),
    # under its heading; none: nothing to say.
    waiting_heading: str = ""
    waiting: tuple[Line, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountView:
    heading: str
    owed: str
    sections: tuple[tuple[str, tuple[Line, ...]], ...]  # heading, lines
    banner: Banner | None
    actions: tuple[Button, ...]


@dataclass(frozen=True, slots=True)
class DropView:
    heading: str
    title: str
    fine: str
    bin_number: str
    bin_label: str
    bin_colour: str
    instruction: str
    actions: tuple[Button, ...]


@dataclass(frozen=True, slots=True)
class FinishView:
    heading: str
    summary: str
    lines: tuple[Line, ...]
    banner: Banner | None
    actions: tuple[Button, ...]
    # Feedback, all of it optional: three faces worst to best (ids feedback_1..3, each
    # labelled in words), then, once one is chosen, the reasons one may add.
    feedback_heading: str = ""
    faces: tuple[Button, ...] = ()
    reasons_heading: str = ""
    reasons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class MessageView:
    """Help, and out of service: a heading, plain words, and perhaps a way back."""

    heading: str
    body: str
    detail: str = ""
    actions: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class StaffView:
    heading: str
    rows: tuple[tuple[str, str], ...]
    faults: tuple[str, ...]
    scanner_test: str
    banner: Banner | None
    actions: tuple[Button, ...]


@dataclass(frozen=True, slots=True)
class WarningView:
    """The inactivity countdown, over whatever screen is showing."""

    heading: str
    body: str
    action: Button


View = (
    WelcomeView | PinView | CheckoutView | AccountView | DropView | FinishView | MessageView
) | StaffView


@dataclass(frozen=True, slots=True)
class Look:
    theme: str = "standard"  # or "high_contrast"
    large_text: bool = False


@dataclass(frozen=True, slots=True)
class Frame:
    """What the window shows now. ``serial`` grows with every change, so a renderer can
    tell a new event (and play its sound once) from a repaint."""

    screen: Screen
    view: View
    language: str
    look: Look = field(default_factory=Look)
    warning: WarningView | None = None
    sound: Sound | None = None
    serial: int = 0
    fullscreen: bool = True
