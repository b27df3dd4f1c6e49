"""``kiosk check-config``: every mistake in kiosk.toml at once, with file, line and key."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TextIO

from kiosk.appliance.sections import KIOSK_SECTIONS
from kiosk.config import (
    MASK,
    SECRET_KEYS,
    ConfigProblem,
    check_config,
    site_file,
)

EXIT_OK = 0
EXIT_NOT_DONE = 1
EXIT_INVALID = 2


def report(problems: list[ConfigProblem], err: TextIO) -> None:
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
    problems = check_config(file, sections=KIOSK_SECTIONS)
    if problems:
        report(problems, err)
        return EXIT_INVALID
    print(f"{file}: valid", file=out)
    return EXIT_OK


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
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
            lines.append(f"{_key(key)} = {toml_value(shown)}{comment(full)}")
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
            lines.extend(["", f"{_key(name)} = {toml_value(values)}{comment(name)}"])
    return "\n".join(lines[1:]) + "\n"


DEFAULT_FILE = "$KIOSK_CONFIG, else /etc/kiosk/kiosk.toml"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check-config",
        help="check kiosk.toml and report every mistake in it",
        description="Reads the shipped defaults and FILE over them and reports every mistake "
        "with its file, line and key. Exit 0 when valid, 2 when there is any mistake.",
    )
    check.add_argument("file", nargs="?", type=Path, help=f"the site's kiosk.toml ({DEFAULT_FILE})")
    check.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return check_config_command(args.file, sys.stdout, sys.stderr)
