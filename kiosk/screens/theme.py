"""Colours and sizes: GOV.UK's palette for the standard look, and a high-contrast one.

Plain values (RGBA tuples, scale factors); the Kivy app copies them into properties the
``.kv`` files bind to.
"""

from __future__ import annotations

from dataclasses import dataclass

RGBA = tuple[float, float, float, float]


def _hex(code: str) -> RGBA:
    code = code.lstrip("#")
    red, green, blue = (int(code[index : index + 2], 16) / 255 for index in (0, 2, 4))
    return (red, green, blue, 1.0)


@dataclass(frozen=True, slots=True)
class Palette:
    background: RGBA
    text: RGBA
    secondary_text: RGBA
    panel: RGBA
    button: RGBA
    button_text: RGBA
    primary: RGBA
    primary_text: RGBA
    success: RGBA
    error: RGBA
    notice: RGBA
    banner_text: RGBA
    focus: RGBA


# https://design-system.service.gov.uk/styles/colour/ - contrast of at least 4.5:1 for
# every text on its background.
STANDARD = Palette(
    background=_hex("ffffff"),
    text=_hex("0b0c0c"),
    secondary_text=_hex("505a5f"),
    panel=_hex("f3f2f1"),
    button=_hex("f3f2f1"),
    button_text=_hex("0b0c0c"),
    primary=_hex("00703c"),
    primary_text=_hex("ffffff"),
    success=_hex("00703c"),
    error=_hex("d4351c"),
    notice=_hex("1d70b8"),
    banner_text=_hex("ffffff"),
    focus=_hex("ffdd00"),
)

# Yellow and white on black: the combination most low-vision readers ask for.
HIGH_CONTRAST = Palette(
    background=_hex("000000"),
    text=_hex("ffffff"),
    secondary_text=_hex("ffff00"),
    panel=_hex("1a1a1a"),
    button=_hex("000000"),
    button_text=_hex("ffff00"),
    primary=_hex("ffff00"),
    primary_text=_hex("000000"),
    success=_hex("00ff66"),
    error=_hex("ff6666"),
    notice=_hex("66ccff"),
    banner_text=_hex("000000"),
    focus=_hex("ffffff"),
)

THEMES = {"standard": STANDARD, "high_contrast": HIGH_CONTRAST}

# The bins' colours as painted on them, so the screen matches the bin.
BIN_RGBA = {
    "yellow": _hex("ffdd00"),
    "green": _hex("00703c"),
    "red": _hex("d4351c"),
    "blue": _hex("1d70b8"),
    "orange": _hex("f47738"),
    "purple": _hex("4c2c92"),
    "white": _hex("ffffff"),
    "black": _hex("0b0c0c"),
}
DARK_ON = frozenset({"yellow", "white", "orange"})

LARGE_TEXT_FACTOR = 1.3


def scale_for(width: int, height: int, large_text: bool) -> float:
    """Sizes are designed for the Pi's 800x480 screen and grow with the window."""
    base = min(width / 800, height / 480)
    return base * (LARGE_TEXT_FACTOR if large_text else 1.0)
