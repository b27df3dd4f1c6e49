"""The TOML settings reader: typed values out of a settings file's tables, every mistake kept.

A :class:`SettingsReader` takes one value at a time out of a table (a dict from
``tomllib``) and checks it. Each mistake is kept as ``"key.path: message"``, said for
the person who edits the file (the value wanted, the value found, for a misspelt key or
choice what was probably meant), and the default is used instead, so one reading finds
every mistake and staff fix a file in one go.

A :class:`Section` is some tables of a file read into the type of the part that owns
them. A file's loader is handed the sections of the tables it does not own: it checks
the whole file, with each mistake at its line, without knowing those types.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from kiosk.common.suggest import did_you_mean

T = TypeVar("T")


class SettingsReader:
    """Reads values out of tables; ``problems`` holds every mistake met so far."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def table(self, value: object, path: str, known: Sequence[str]) -> Mapping[str, Any]:
        """``value`` as a table whose keys are all ``known``; ``{}`` when it is no table."""
        if not isinstance(value, Mapping):
            self.problem(path, f"must be a table, not {shown(value)}")
            return {}
        for key in value:
            if key not in known:
                self.problem(
                    f"{path}.{key}",
                    f"unknown key{did_you_mean(str(key), known, bracketed=True)}; "
                    f"known keys: {', '.join(known)}",
                )
        return cast(Mapping[str, Any], value)

    def get(  # noqa: PLR0917 - read as one phrase: in table at path, key, else default
        self,
        table: Mapping[str, Any],
        path: str,
        key: str,
        default: T,
        check: Callable[[object], T | None],
        wanted: str,
    ) -> T:
        """``table[key]`` passed through ``check`` (None: not a good value, said as
        "must be ``wanted``"); ``default`` when the key is absent or its value wrong."""
        if key not in table:
            return default
        value = table[key]
        checked = check(value)
        if checked is None:
            self.problem(f"{path}.{key}", f"must be {wanted}, not {shown(value)}")
            return default
        return checked

    def choice(
        self, table: Mapping[str, Any], path: str, key: str, default: str, choices: Sequence[str]
    ) -> str:
        """One of ``choices`` (lower case; the file may use capitals), else ``default``."""
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, str) and value.lower() in choices:
            return value.lower()
        hint = did_you_mean(value, choices, bracketed=True) if isinstance(value, str) else ""
        self.problem(
            f"{path}.{key}", f"must be one of {', '.join(choices)}, not {shown(value)}{hint}"
        )
        return default

    def currency(self, table: Mapping[str, Any], path: str, key: str) -> str:
        """An ISO 4217 code such as ``"USD"`` (in capitals; the file may use small letters),
        or ``""`` for none (amounts as bare numbers), the default."""
        code = self.get(table, path, key, "", as_text, "text").strip()
        if code and not re.fullmatch(r"[A-Za-z]{3}", code):
            self.problem(
                f"{path}.{key}",
                f'must be a three-letter currency code such as "USD", "EUR" or "GBP", '
                f'or "" for none, not {code!r}',
            )
            return ""
        return code.upper()

    def patterns(
        self, table: Mapping[str, Any], path: str, key: str, default: tuple[str, ...]
    ) -> tuple[str, ...]:
        """A list of regular expressions (one alone may be written without the list);
        ``default`` when any of them is wrong."""
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.problem(
                f"{path}.{key}", f"must be a list of regular expressions, not {shown(value)}"
            )
            return default
        valid = True
        for index, pattern in enumerate(value):
            try:
                re.compile(pattern)
            except re.error as error:
                self.problem(f"{path}.{key}[{index}]", f"not a valid regular expression: {error}")
                valid = False
        return tuple(value) if valid else default


@dataclass(frozen=True, eq=False)
class Section(Generic[T]):
    """Some top-level tables of a settings file, read into the type of the part that owns
    them: the part keeps its type and its checks, the file's loader keeps the file.

    ``read`` is given a reader and the file's tables among ``tables`` (those present);
    it keeps every mistake in the reader and gives the best value the tables allow.
    """

    tables: tuple[str, ...]
    read: Callable[[SettingsReader, Mapping[str, Any]], T]

    def __repr__(self) -> str:
        return f"Section({', '.join(self.tables)})"


def read_section(section: Section[T], config: Mapping[str, Any]) -> tuple[T, list[str]]:
    """``section`` read out of a whole file's dict: its value and its mistakes."""
    reader = SettingsReader()
    tables = {name: config[name] for name in section.tables if name in config}
    return section.read(reader, tables), reader.problems


# --- checks for SettingsReader.get: the value when it is good, else None -----------------


def shown(value: object) -> str:
    """A value as a message shows it: a table or a list by its kind, the rest as written."""
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def as_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def as_flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def as_positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def as_seconds(value: object) -> float | None:
    """Seconds from 0 to an hour."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 3600:
        return float(value)
    return None


def as_positive_seconds(value: object) -> float | None:
    """Seconds above 0, up to an hour."""
    seconds = as_seconds(value)
    return seconds if seconds else None


def one_of(*allowed: int) -> Callable[[object], int | None]:
    def check(value: object) -> int | None:
        return value if isinstance(value, int) and value in allowed else None

    return check


__all__ = [
    "Section",
    "SettingsReader",
    "as_flag",
    "as_positive_int",
    "as_positive_seconds",
    "as_seconds",
    "as_text",
    "one_of",
    "read_section",
    "shown",
]
