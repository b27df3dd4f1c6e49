"""Scripts that drive the real app: ``kiosk run --demo --script FILE``.

One step per line; ``#`` starts a comment. Every line is checked before the app starts,
and each mistake is reported with its line number.

    scan CODE        a barcode, through the same pipeline as a scanner
    press BUTTON_ID  a touch on a button (ids: docs/screens.md)
    pin DIGITS       the digits on the keypad, then OK
    lang CODE        the language button for CODE
    wait SECONDS     real time passes (the app keeps running)
    idle SECONDS     time passes with no touch or scan (inactivity timers see it at once)
    shot NAME        a screenshot to DIR/NAME.png (with --screenshots DIR)
    key NAME         a key a patron might try: escape, f1, alt+f4 (the window's close), enter
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kiosk.session.errors import SessionError

COMMANDS = ("scan", "press", "pin", "lang", "wait", "idle", "shot", "key")
KEYS = ("escape", "f1", "alt+f4", "enter")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class ScriptError(SessionError):
    """A script that cannot run; the message lists every bad line."""


@dataclass(frozen=True, slots=True)
class Step:
    line: int
    command: str
    argument: str

    @property
    def seconds(self) -> float:
        return float(self.argument)


def _check(command: str, argument: str) -> str | None:  # noqa: PLR0911 - one per mistake
    if command not in COMMANDS:
        return f"unknown command {command!r} (commands: {', '.join(COMMANDS)})"
    if not argument:
        return f"{command} needs an argument"
    if command in ("wait", "idle"):
        try:
            seconds = float(argument)
        except ValueError:
            return f"{command} takes a number of seconds, not {argument!r}"
        if not 0 <= seconds <= 3600:
            return f"{command} takes 0 to 3600 seconds, not {argument}"
    if command == "key" and argument not in KEYS:
        return f"key takes one of {', '.join(KEYS)}, not {argument!r}"
    if command == "pin" and not argument.isdigit():
        return f"pin takes digits only, not {argument!r}"
    if command in ("press", "lang", "shot") and not _NAME.match(argument):
        return f"{command} takes a name of letters, digits, '_', '-' or '.', not {argument!r}"
    return None


def parse_script(text: str, source: str = "script") -> list[Step]:
    steps: list[Step] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        command, _, argument = line.partition(" ")
        argument = argument.strip()
        problem = _check(command, argument)
        if problem:
            errors.append(f"{source}:{number}: {problem}")
        else:
            steps.append(Step(number, command, argument))
    if errors:
        raise ScriptError("\n".join(errors))
    return steps


def read_script(path: Path) -> list[Step]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScriptError(f"{path}: cannot read the script: {error.strerror}") from None
    return parse_script(text, str(path))
