"""The staff's config commands: ``kiosk check-config``, ``kiosk config show``,
``kiosk staff-pin``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TextIO

from kiosk.config import (
    MASK,
    SECRET_KEYS,
    ConfigProblem,
    check_config,
    read_layers,
    site_file,
)
from kiosk.config.loading import key_prefixes

EXIT_OK = 0
EXIT_NOT_DONE = 1
EXIT_INVALID = 2
STAFF_PIN_DIGITS = (4, 12)


def _report(problems: list[ConfigProblem], err: TextIO) -> None:
    for problem in problems:
        print(f"{problem}{'' if problem.vital else ' [the kiosk lends without it]'}", file=err)
    vital = sum(problem.vital for problem in problems)
    optional = len(problems) - vital
    parts = []
    if vital:
        parts.append(f"{vital} stop{'s' if vital == 1 else ''} the kiosk")
    if optional:
        parts.append(
            f"{optional} in {'a part' if optional == 1 else 'parts'} it lends without "
            "(shown in staff mode)"
        )
    count = len(problems)
    print(f"{count} error{'s' if count != 1 else ''}: {'; '.join(parts)}", file=err)


def check_config_command(path: Path | None, out: TextIO, err: TextIO) -> int:
    """Every mistake at once; exit 2 when there is any, 0 when the file is valid."""
    file = site_file(path)
    problems = check_config(file)
    if problems:
        _report(problems, err)
        return EXIT_INVALID
    print(f"{file}: valid", file=out)
    return EXIT_OK


def show_command(path: Path | None, out: TextIO, err: TextIO) -> int:
    """The settings in force as TOML, secrets masked; where the site's file set a value,
    a comment says so. Exit 2 (after printing) when the config has mistakes."""
    layers = read_layers(site_file(path))
    if isinstance(layers, ConfigProblem):
        _report([layers], err)
        return EXIT_INVALID
    site = layers.site

    def origin(key: str) -> str:
        if site is None or not any(prefix in layers.origins for prefix in key_prefixes(key)):
            return ""
        line = site.line_of(key)
        return f"  # {site.path}:{line}" if line else f"  # {site.path}"

    print(f"# defaults: {layers.defaults.path}", file=out)
    if site is not None:
        print(f"# site: {site.path}", file=out)
    print(render_toml(layers.merged, origin), end="", file=out)
    problems = check_config(site.path if site else None)
    if problems:
        _report(problems, err)
        return EXIT_INVALID
    return EXIT_OK


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def render_toml(data: Mapping[str, Any], comment: Callable[[str], str] = lambda _: "") -> str:
    """A TOML document of ``data`` (tables of plain values), secrets masked."""
    lines: list[str] = []

    def table(path: str, values: Mapping[str, Any], header: str) -> None:
        plain = {
            k: v for k, v in values.items() if not isinstance(v, Mapping) and not _is_table_array(v)
        }
        nested = {k: v for k, v in values.items() if k not in plain}
        if plain or not nested or header.startswith("[["):
            lines.extend(["", header])
        for key, value in plain.items():
            full = f"{path}.{key}"
            shown = MASK if full in SECRET_KEYS and value else value
            lines.append(f"{_key(key)} = {_value(shown)}{comment(full)}")
        for key, value in nested.items():
            full = f"{path}.{key}"
            if isinstance(value, Mapping):
                table(full, value, f"[{full}]")
            else:
                for index, item in enumerate(value):
                    table(f"{full}[{index}]", item, f"[[{full}]]")

    for name, values in data.items():
        if isinstance(values, Mapping):
            table(name, values, f"[{name}]")
        else:
            lines.extend(["", f"{_key(name)} = {_value(values)}{comment(name)}"])
    return "\n".join(lines[1:]) + "\n"


def staff_pin_command(read_pin: Callable[[str], str], out: TextIO, err: TextIO) -> int:
    """Ask for the staff PIN twice (``read_pin`` does not echo) and print the line to
    paste into ``[staff]``: the PIN's argon2id verifier, never the PIN."""
    from kiosk.common.pins import pin_verifier  # noqa: PLC0415 - argon2 only here

    shortest, longest = STAFF_PIN_DIGITS
    try:
        first = read_pin("New staff PIN: ")
        if not (first.isdigit() and shortest <= len(first) <= longest):
            print(
                f"kiosk staff-pin: a staff PIN is {shortest} to {longest} digits "
                "(the kiosk's keypad has digits only); nothing was made",
                file=err,
            )
            return EXIT_NOT_DONE
        second = read_pin("The same PIN again: ")
    except (EOFError, KeyboardInterrupt):
        print("\nkiosk staff-pin: cancelled; nothing was made", file=err)
        return EXIT_NOT_DONE
    if first != second:
        print("kiosk staff-pin: the two PINs differ; nothing was made", file=err)
        return EXIT_NOT_DONE
    print(f"pin_verifier = {_value(pin_verifier(first))}", file=out)
    print("Put this line in the [staff] table of /etc/kiosk/kiosk.toml.", file=err)
    return EXIT_OK
