"""Layered settings files: shipped defaults under a site's file, every mistake located.

Both ``kiosk.toml`` and ``central.toml`` are read this way. A program ships a defaults
file listing every setting; the site's file holds only what differs, and replaces the
defaults key by key (an array, such as the kiosk's scanners, is replaced whole).
:func:`read_layers` merges the two and remembers which file set each value;
:func:`key_lines` finds the line of each key, which a TOML parser does not give.

A :class:`LayeredReader` is the :class:`~kiosk.common.settings.SettingsReader` of a
merged file: it reads its tables, resolves relative paths from the folder of the file
that names them, checks secret files, and turns each mistake into a
:class:`ConfigProblem` at its file, line and key. Each program keeps its own tables,
types and wording; what is the same for both is here.

For the commands: :func:`report` prints every problem and a summary line (``check-config``),
:func:`show_layers` the settings in force as TOML with secrets masked and a comment
where the site's file set a value (``config show``).
"""

from __future__ import annotations

import copy
import json
import os
import re
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TextIO

from kiosk.common.secrets import MASK, SecretFile, SecretFileError, read_secret
from kiosk.common.settings import SettingsReader, as_text
from kiosk.common.suggest import closest, did_you_mean

# key path, value -> the value as ``config show`` prints it
Mask = Callable[[str, Any], Any]


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One mistake in a settings file, said for the person who has to fix it."""

    file: Path | None
    line: int | None
    key: str
    message: str
    # False: the program works without the part the mistake is in (the kiosk lends
    # without its printer); it is kept as a fault rather than refusing the file.
    vital: bool = True

    def __str__(self) -> str:
        where = (
            "" if self.file is None else f"{self.file}:{self.line}" if self.line else str(self.file)
        )
        return ": ".join(part for part in (where, self.key, self.message) if part)


def named_file(path: Path | None, environ: Mapping[str, str] | None, variable: str) -> Path | None:
    """The site's file a person named: ``path`` if given, else the one in ``$variable``."""
    if path is not None:
        return path
    named = (os.environ if environ is None else environ).get(variable, "")
    return Path(named) if named else None


# --- the files and their layers -----------------------------------------------------------


@dataclass
class Source:
    """One settings file as read: its text, its values and the line of each key."""

    path: Path
    text: str
    data: dict[str, Any]
    lines: dict[str, int]

    def line_of(self, key: str) -> int | None:
        for prefix in key_prefixes(key):
            if prefix in self.lines:
                return self.lines[prefix]
        return None


@dataclass
class Layers:
    """The defaults and the site's file, merged, with where each value came from."""

    merged: dict[str, Any]
    defaults: Source
    site: Source | None
    origins: dict[str, Source] = field(default_factory=dict)  # key path -> site's file

    def where(self, key: str) -> tuple[Source, int | None]:
        """The file a key's value came from and its line there. A mistake in a default
        (a required key left empty) is the site's to fix: it is placed there."""
        source = self.defaults
        for prefix in key_prefixes(key):
            if prefix in self.origins:
                source = self.origins[prefix]
                break
        if source is self.defaults and self.site is not None:
            source = self.site
        return source, source.line_of(key)

    def set_by_site(self, key: str) -> bool:
        return any(prefix in self.origins for prefix in key_prefixes(key))


def read_layers(defaults: Path, site: Path | None) -> Layers | ConfigProblem:
    """The defaults with the site's file (if any) over them, or why a file cannot be read."""
    shipped = read_source(defaults)
    if isinstance(shipped, ConfigProblem):  # the package itself is broken
        return shipped
    source = None if site is None else read_source(site)
    if isinstance(source, ConfigProblem):
        return source
    layers = Layers(copy.deepcopy(shipped.data), shipped, source)
    if source is not None:
        layers.merged = merge(layers.merged, source.data, source, layers.origins)
    return layers


def read_source(path: Path) -> Source | ConfigProblem:
    """A TOML file with the line of each key, or why it cannot be read (its line and
    column when it is not valid TOML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        return ConfigProblem(path, None, "", f"cannot read the config file: {error.strerror}")
    except UnicodeDecodeError:
        return ConfigProblem(path, None, "", "is not UTF-8 text; save it as UTF-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        line = int(found.group(1)) if found else None
        if found:
            message = f"{message[: found.start()]} (column {found.group(2)})"
        return ConfigProblem(path, line, "", f"not valid TOML: {message}")
    return Source(path, text, data, key_lines(text))


def merge(
    base: dict[str, Any],
    over: Mapping[str, Any],
    source: Source,
    origins: dict[str, Source],
    path: str = "",
) -> dict[str, Any]:
    """``over`` laid on ``base`` key by key (tables merged, anything else replaced); each
    key ``over`` set is recorded in ``origins`` as coming from ``source``."""
    result = dict(base)
    for key, value in over.items():
        full = f"{path}.{key}" if path else key
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            result[key] = merge(base[key], value, source, origins, full)
        else:
            result[key] = value
            origins[full] = source
    return result


def key_prefixes(key: str) -> list[str]:
    """``a.b[0].c`` -> ``a.b[0].c``, ``a.b[0]``, ``a.b``, ``a``."""
    found = [key]
    while key:
        key = key[: key.rindex("[")] if key.endswith("]") else key.rpartition(".")[0]
        if key:
            found.append(key)
    return found


# --- where each key stands in a file ----------------------------------------------------

_BARE_OR_QUOTED = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_DOTTED = rf"{_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*"
_HEADER = re.compile(rf"^\s*\[(\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=(.*)$")
_STRINGS = re.compile(r""""(?:[^"\\]|\\.)*"|'[^']*'""")


def _dotted(text: str) -> str:
    parts = re.findall(_BARE_OR_QUOTED, text)
    return ".".join(part.strip("\"'") for part in parts)


def _brackets(text: str) -> int:
    """Open minus closed brackets outside strings and comments."""
    bare = _STRINGS.sub("", text).split("#", 1)[0]
    return bare.count("[") - bare.count("]")


def key_lines(text: str) -> dict[str, int]:
    """Each key path (``scanners.hid[1].layout``) and table of a TOML text -> its line.

    A TOML parser gives values without places; this finds the places, skipping the
    inside of multi-line strings and arrays.
    """
    lines: dict[str, int] = {}
    prefix = ""
    counts: dict[str, int] = {}
    depth = 0
    closing: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if closing is not None:
            if line.count(closing) % 2 == 1:
                closing = None
            continue
        if depth > 0:
            depth += _brackets(line)
            continue
        header = _HEADER.match(line)
        if header:
            name = _dotted(header.group(2))
            if header.group(1):
                index = counts.get(name, 0)
                counts[name] = index + 1
                lines.setdefault(name, number)
                prefix = f"{name}[{index}]"
            else:
                prefix = name
            for parent in key_prefixes(prefix):
                lines.setdefault(parent, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            key = _dotted(assign.group(1))
            lines.setdefault(f"{prefix}.{key}" if prefix else key, number)
            rest = assign.group(2)
            closing = next((q for q in ('"""', "'''") if rest.count(q) % 2 == 1), None)
            if closing is None:
                depth = max(0, _brackets(rest))
    return lines


# --- reading the merged tables ------------------------------------------------------------


class LayeredReader(SettingsReader):
    """Reads the merged tables of a file whose top-level tables are ``tables``; every
    mistake is kept and :meth:`located` gives them at their file and line."""

    def __init__(self, layers: Layers, tables: Sequence[str]) -> None:
        super().__init__()
        self.layers = layers
        self.tables = tuple(tables)

    def unknown_tables(self) -> None:
        """A problem for each top-level table or key that is none of ``tables``."""
        for key in self.layers.merged:
            if key not in self.tables:
                self.problem(
                    key,
                    f"unknown table{did_you_mean(key, self.tables, bracketed=True)}; "
                    f"known tables: {', '.join(self.tables)}",
                )

    def section(self, name: str, known: Sequence[str]) -> Mapping[str, Any]:
        """The top-level table ``name``, whose keys must all be ``known``."""
        return self.table(self.layers.merged.get(name, {}), name, known)

    def part(self, key: str) -> str:
        """The table a key belongs to; for an unknown table, the one probably meant."""
        part = key.split(".", 1)[0].split("[", 1)[0]
        return part if part in self.tables else closest(part, self.tables) or part

    def path(self, table: Mapping[str, Any], section: str, key: str) -> Path | None:
        """A path value; ``""`` is None. Relative paths start at the naming file's folder."""
        text = self.get(table, section, key, "", as_text, "a path in quotes")
        if not text.strip():
            return None
        path = Path(text.strip())
        if not path.is_absolute():
            source, _ = self.layers.where(f"{section}.{key}")
            path = source.path.absolute().parent / path
        return path

    def existing(self, path: Path | None, key: str, *, folder: bool = False) -> None:
        """A problem at ``key`` unless ``path`` (when given) is a file, or a folder."""
        if path is None:
            return
        if not path.exists():
            self.problem(key, f"{path} does not exist")
        elif folder and not path.is_dir():
            self.problem(key, f"{path} is not a folder")
        elif not folder and path.is_dir():
            self.problem(key, f"{path} is a folder, not a file")

    def secret_file(
        self, table: Mapping[str, Any], section: str, key: str, kind: SecretFile
    ) -> tuple[Path | None, str | None]:
        """A secret file's path (None for ``""``) and its secret, read as
        :func:`~kiosk.common.secrets.read_secret` reads it; None and a problem at ``key``
        when it cannot be used (missing, empty, or readable by others)."""
        path = self.path(table, section, key)
        if path is None:
            return None, None
        try:
            return path, read_secret(path, kind)
        except SecretFileError as error:
            self.problem(f"{section}.{key}", str(error))
            return path, None

    def located(self, optional: Callable[[str], bool] = lambda _key: False) -> list[ConfigProblem]:
        """Every problem at its file and line, in file order; those at a key for which
        ``optional`` is true are not vital."""
        located = []
        for text in self.problems:
            key, _, message = text.partition(": ")
            source, line = self.layers.where(key)
            located.append(ConfigProblem(source.path, line, key, message, not optional(key)))
        return sorted(located, key=lambda p: (str(p.file), p.line or 0, p.key))


# --- for the commands: check-config and config show -----------------------------------------


def counted(number: int, noun: str) -> str:
    """``1 error``, ``2 errors``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def report(
    problems: Sequence[ConfigProblem],
    err: TextIO,
    summary: Callable[[int, int], str],
    *,
    optional_mark: str = "",
) -> None:
    """Each problem on a line (a problem that is not vital followed by ``optional_mark``),
    then ``summary(vital, not_vital)``."""
    for problem in problems:
        print(f"{problem}{'' if problem.vital else optional_mark}", file=err)
    vital = sum(problem.vital for problem in problems)
    print(summary(vital, len(problems) - vital), file=err)


def masking(keys: Collection[str]) -> Mask:
    """A :data:`Mask` showing the value of each of ``keys`` (when set) as ``********``."""

    def mask(key: str, value: Any) -> Any:
        return MASK if key in keys and value else value

    return mask


def toml_value(value: Any) -> str:
    """A value as TOML writes it."""
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


def render_toml(
    data: Mapping[str, Any],
    comment: Callable[[str], str] = lambda _: "",
    mask: Mask = lambda _key, value: value,
) -> str:
    """A TOML document of ``data`` (tables of plain values): each value passed through
    ``mask`` and followed by ``comment`` of its key path."""
    lines: list[str] = []

    def table(path: str, name: str, values: Mapping[str, Any], *, array: bool = False) -> None:
        """``path`` names the table in key paths (``a.b[0]``), ``name`` in its header."""
        plain = {
            k: v for k, v in values.items() if not isinstance(v, Mapping) and not _is_table_array(v)
        }
        nested = {k: v for k, v in values.items() if k not in plain}
        if plain or not nested or array:
            lines.extend(["", f"[[{name}]]" if array else f"[{name}]"])
        for key, value in plain.items():
            full = f"{path}.{key}"
            lines.append(f"{_key(key)} = {toml_value(mask(full, value))}{comment(full)}")
        for key, value in nested.items():
            full, header = f"{path}.{key}", f"{name}.{_key(key)}"
            if isinstance(value, Mapping):
                table(full, header, value)
            else:
                for index, item in enumerate(value):
                    table(f"{full}[{index}]", header, item, array=True)

    for name, values in data.items():
        if isinstance(values, Mapping):
            table(name, _key(name), values)
        else:
            lines.extend(["", f"{_key(name)} = {toml_value(mask(name, values))}{comment(name)}"])
    return "\n".join(lines[1:]) + "\n"


def show_layers(
    layers: Layers,
    mask: Mask = lambda _key, value: value,
    overrides: Mapping[str, tuple[Any, str]] | None = None,
) -> str:
    """The settings in force as TOML, headed by the files read: each value the site's
    file set is followed by ``# FILE:LINE``. ``overrides`` are values set elsewhere
    (key path -> value and where, e.g. ``("sqlite:///x.db", "--db")``), shown in force
    with that origin."""
    overrides = overrides or {}
    merged = copy.deepcopy(layers.merged)
    for key, (value, _) in overrides.items():
        *tables, last = key.split(".")
        place = merged
        for name in tables:
            place = place.setdefault(name, {})
        place[last] = value
    site = layers.site

    def origin(key: str) -> str:
        if key in overrides:
            return f"  # {overrides[key][1]}"
        if site is None or not layers.set_by_site(key):
            return ""
        line = site.line_of(key)
        return f"  # {site.path}:{line}" if line else f"  # {site.path}"

    head = f"# defaults: {layers.defaults.path}\n"
    if site is not None:
        head += f"# site: {site.path}\n"
    return head + render_toml(merged, origin, mask)


__all__ = [
    "ConfigProblem",
    "LayeredReader",
    "Layers",
    "Mask",
    "Source",
    "counted",
    "key_lines",
    "key_prefixes",
    "masking",
    "merge",
    "named_file",
    "read_layers",
    "read_source",
    "render_toml",
    "report",
    "show_layers",
    "toml_value",
]
