"""Keyboard-layout tables: which character a scanner means by a key code.

A HID scanner types like a keyboard of some country; the code it sends for "Z" on a
German setting is the one a US keyboard calls "Y". Key codes are the Linux input ABI
(linux/input-event-codes.h), written out here so decoding needs no evdev import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

KEY_ESC = 1
KEY_TAB = 15
KEY_ENTER = 28
KEY_LEFTCTRL = 29
KEY_LEFTSHIFT = 42
KEY_RIGHTSHIFT = 54
KEY_LEFTALT = 56
KEY_SPACE = 57
KEY_CAPSLOCK = 58
KEY_NUMLOCK = 69
KEY_KPENTER = 96
KEY_RIGHTCTRL = 97
KEY_RIGHTALT = 100
KEY_LEFTMETA = 125
KEY_RIGHTMETA = 126
KEY_102ND = 86
KEY_GRAVE = 41
KEY_BACKSLASH = 43

EV_KEY = 1
LED_CAPSL = 1

TERMINATOR_KEYS = frozenset({KEY_ENTER, KEY_KPENTER, KEY_TAB})

# Keypad keys type the same characters under every layout we support (numlock assumed on:
# scanners that use the keypad send digits).
KEYPAD: dict[int, str] = {
    71: "7",
    72: "8",
    73: "9",
    74: "-",
    75: "4",
    76: "5",
    77: "6",
    78: "+",
    79: "1",
    80: "2",
    81: "3",
    82: "0",
    83: ".",
    55: "*",
    98: "/",
}
KEYPAD_DIGITS: dict[int, str] = {code: char for code, char in KEYPAD.items() if char.isdigit()}

_DIGIT_ROW = range(2, 14)  # KEY_1 .. KEY_EQUAL
_TOP_ROW = range(16, 28)  # KEY_Q .. KEY_RIGHTBRACE
_HOME_ROW = range(30, 41)  # KEY_A .. KEY_APOSTROPHE
_BOTTOM_ROW = range(44, 54)  # KEY_Z .. KEY_SLASH


@dataclass(frozen=True, slots=True)
class Layout:
    """Characters per key code at three levels: plain, shift, AltGr ("" for none).

    ``dead`` holds the (code, level) pairs of dead keys: they type nothing themselves
    but put an accent on the next character (a space gives the accent alone).
    """

    name: str
    keys: dict[int, tuple[str, str, str]]
    dead: frozenset[tuple[int, int]] = frozenset()


def _build(
    rows: Iterable[tuple[Iterable[int], str, str]],
    singles: dict[int, tuple[str, str]],
    altgr: dict[int, str],
) -> dict[int, tuple[str, str, str]]:
    keys: dict[int, tuple[str, str, str]] = {}
    for codes, plain, shifted in rows:
        for code, low, high in zip(codes, plain, shifted, strict=True):
            keys[code] = (low, high, "")
    for code, (low, high) in singles.items():
        keys[code] = (low, high, "")
    for code, char in altgr.items():
        low, high, _ = keys.get(code, ("", "", ""))
        keys[code] = (low, high, char)
    keys[KEY_SPACE] = (" ", " ", "")
    return keys


US = Layout(
    "us",
    _build(
        [
            (_DIGIT_ROW, "1234567890-=", "!@#$%^&*()_+"),
            (_TOP_ROW, "qwertyuiop[]", "QWERTYUIOP{}"),
            (_HOME_ROW, "asdfghjkl;'", 'ASDFGHJKL:"'),
            (_BOTTOM_ROW, "zxcvbnm,./", "ZXCVBNM<>?"),
        ],
        {KEY_GRAVE: ("`", "~"), KEY_BACKSLASH: ("\\", "|"), KEY_102ND: ("\\", "|")},
        {},
    ),
)

UK = Layout(
    "uk",
    _build(
        [
            (_DIGIT_ROW, "1234567890-=", '!"£$%^&*()_+'),
            (_TOP_ROW, "qwertyuiop[]", "QWERTYUIOP{}"),
            (_HOME_ROW, "asdfghjkl;'", "ASDFGHJKL:@"),
            (_BOTTOM_ROW, "zxcvbnm,./", "ZXCVBNM<>?"),
        ],
        {KEY_GRAVE: ("`", "¬"), KEY_BACKSLASH: ("#", "~"), KEY_102ND: ("\\", "|")},
        {KEY_GRAVE: "¦", 5: "€"},
    ),
)

DE = Layout(
    "de",
    _build(
        [
            (_DIGIT_ROW, "1234567890ß\u00b4", '!"§$%&/()=?`'),
            (_TOP_ROW, "qwertzuiopü+", "QWERTZUIOPÜ*"),
            (_HOME_ROW, "asdfghjklöä", "ASDFGHJKLÖÄ"),
            (_BOTTOM_ROW, "yxcvbnm,.-", "YXCVBNM;:_"),
        ],
        {KEY_GRAVE: ("^", "°"), KEY_BACKSLASH: ("#", "'"), KEY_102ND: ("<", ">")},
        {
            3: "²",
            4: "³",
            8: "{",
            9: "[",
            10: "]",
            11: "}",
            12: "\\",
            16: "@",
            18: "€",
            27: "~",
            50: "µ",
            KEY_102ND: "|",
        },
    ),
    dead=frozenset({(KEY_GRAVE, 0), (13, 0), (13, 1)}),
)

FR = Layout(
    "fr",
    _build(
        [
            (_DIGIT_ROW, "&é\"'(-è_çà)=", "1234567890°+"),
            (_TOP_ROW, "azertyuiop^$", "AZERTYUIOP¨£"),
            (_HOME_ROW, "qsdfghjklmù", "QSDFGHJKLM%"),
            (_BOTTOM_ROW, "wxcvbn,;:!", "WXCVBN?./§"),
        ],
        {KEY_GRAVE: ("²", "~"), KEY_BACKSLASH: ("*", "µ"), KEY_102ND: ("<", ">")},
        {
            3: "~",
            4: "#",
            5: "{",
            6: "[",
            7: "|",
            8: "`",
            9: "\\",
            10: "^",
            11: "@",
            12: "]",
            13: "}",
            18: "€",
            27: "¤",
        },
    ),
    dead=frozenset({(26, 0), (26, 1), (3, 2), (8, 2)}),
)

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (US, UK, DE, FR)}

# The combining mark each dead key puts on the next letter.
COMBINING: dict[str, str] = {
    "^": "\u0302",
    "\u00b4": "\u0301",  # acute accent
    "`": "\u0300",
    "~": "\u0303",
    "¨": "\u0308",
}
