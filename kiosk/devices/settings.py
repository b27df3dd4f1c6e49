"""Scanner settings: plain frozen values, and the reader that builds them from a config dict.

The dict is the ``[scanners]`` and ``[barcodes]`` tables of ``kiosk.toml``. The reader
reports every problem at once, each with its key path, so staff fix a file in one go.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast, get_args

Layout = Literal["us", "uk", "de", "fr"]
Terminator = Literal["cr", "lf", "crlf", "none"]
Parity = Literal["none", "even", "odd", "mark", "space"]
CheckDigit = Literal["luhn", "none"]

LAYOUTS: tuple[str, ...] = get_args(Layout)
TERMINATORS: tuple[str, ...] = get_args(Terminator)
PARITIES: tuple[str, ...] = get_args(Parity)
CHECK_DIGITS: tuple[str, ...] = get_args(CheckDigit)

# A scanner configured for "no terminator" ends a code when the line goes quiet; even at
# 9600 baud characters arrive about 1 ms apart, so 50 ms is silence, not a slow scanner.
NONE_TERMINATOR_TIMEOUT = 0.05
# With a terminator, a line still unfinished after this long lost its end (unplug,
# power-up noise) and is discarded.
PARTIAL_LINE_TIMEOUT = 0.5


@dataclass(frozen=True, slots=True)
class BarcodeSettings:
    prefix: str = ""
    suffix: str = ""
    # Regular expressions matched against the whole normalised code.
    patron_patterns: tuple[str, ...] = (r"2\d{13}",)
    item_patterns: tuple[str, ...] = (r"3\d{13}",)
    library_check_digit: CheckDigit = "luhn"
    strip_codabar: bool = True
    debounce_seconds: float = 1.0


@dataclass(frozen=True, slots=True)
class HidScannerSettings:
    # A /dev/input path (prefer /dev/input/by-id/...), "vendor:product" in hex, or the
    # device's exact name.
    device: str
    layout: Layout = "us"
    name: str = ""
    grab: bool = True
    max_length: int = 64

    @property
    def source(self) -> str:
        return self.name or f"hid:{self.device}"


@dataclass(frozen=True, slots=True)
class SerialScannerSettings:
    port: str
    baud: int = 9600
    parity: Parity = "none"
    bytesize: int = 8
    stopbits: int = 1
    terminator: Terminator = "cr"
    timeout: float | None = None
    max_length: int = 64
    name: str = ""

    @property
    def source(self) -> str:
        return self.name or f"serial:{self.port}"

    @property
    def line_timeout(self) -> float:
        if self.timeout is not None:
            return self.timeout
        return NONE_TERMINATOR_TIMEOUT if self.terminator == "none" else PARTIAL_LINE_TIMEOUT


@dataclass(frozen=True, slots=True)
class ScannerSettings:
    hid: tuple[HidScannerSettings, ...] = ()
    serial: tuple[SerialScannerSettings, ...] = ()
    keyboard: bool = False
    # How often an absent HID scanner is looked for again; a scanner replugged by a
    # cleaner works again within this time, and an idle kiosk wakes this often.
    poll_seconds: float = 1.0
    # Serial ports are reopened with backoff doubling up to this.
    reopen_max_seconds: float = 5.0
    barcodes: BarcodeSettings = field(default_factory=BarcodeSettings)


class InvalidScannerSettings(ValueError):
    """Settings that cannot be used; ``problems`` holds one message per error found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


T = TypeVar("T")

_SCANNERS_KEYS = ("hid", "serial", "keyboard", "poll_seconds", "reopen_max_seconds")
_BARCODES_KEYS = (
    "prefix",
    "suffix",
    "patron",
    "item",
    "library_check_digit",
    "strip_codabar",
    "debounce_seconds",
)
_HID_KEYS = ("device", "layout", "name", "grab", "max_length")
_SERIAL_KEYS = (
    "port",
    "baud",
    "parity",
    "bytesize",
    "stopbits",
    "terminator",
    "timeout",
    "max_length",
    "name",
)


def suggestion(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def table(self, value: object, path: str, known: Sequence[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.problem(path, f"must be a table, not {_shown(value)}")
            return {}
        for key in value:
            if key not in known:
                self.problem(
                    f"{path}.{key}",
                    f"unknown key{suggestion(str(key), known)}; known keys: {', '.join(known)}",
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
        if key not in table:
            return default
        value = table[key]
        checked = check(value)
        if checked is None:
            self.problem(f"{path}.{key}", f"must be {wanted}, not {_shown(value)}")
            return default
        return checked

    def choice(
        self, table: Mapping[str, Any], path: str, key: str, default: str, choices: Sequence[str]
    ) -> str:
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, str) and value.lower() in choices:
            return value.lower()
        hint = suggestion(value, choices) if isinstance(value, str) else ""
        self.problem(
            f"{path}.{key}", f"must be one of {', '.join(choices)}, not {_shown(value)}{hint}"
        )
        return default

    def patterns(
        self, table: Mapping[str, Any], path: str, key: str, default: tuple[str, ...]
    ) -> tuple[str, ...]:
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.problem(
                f"{path}.{key}", f"must be a list of regular expressions, not {_shown(value)}"
            )
            return default
        for index, pattern in enumerate(value):
            try:
                re.compile(pattern)
            except re.error as error:
                self.problem(f"{path}.{key}[{index}]", f"not a valid regular expression: {error}")
        return tuple(value)


def _shown(value: object) -> str:
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _seconds(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 3600:
        return float(value)
    return None


def _positive_seconds(value: object) -> float | None:
    seconds = _seconds(value)
    return seconds if seconds else None


def _one_of(*allowed: int) -> Callable[[object], int | None]:
    def check(value: object) -> int | None:
        return value if isinstance(value, int) and value in allowed else None

    return check


def read_scanner_settings(config: Mapping[str, Any]) -> ScannerSettings:
    """Build :class:`ScannerSettings` from a whole ``kiosk.toml`` dict.

    Only ``[scanners]`` and ``[barcodes]`` are read; other tables belong to other parts.
    Raises :class:`InvalidScannerSettings` listing every problem found.
    """
    reader = _Reader()
    scanners = reader.table(config.get("scanners", {}), "scanners", _SCANNERS_KEYS)
    barcodes = reader.table(config.get("barcodes", {}), "barcodes", _BARCODES_KEYS)

    hid_entries = _entries(reader, scanners, "hid")
    hid = tuple(
        _read_hid(reader, entry, f"scanners.hid[{i}]") for i, entry in enumerate(hid_entries)
    )
    serial_entries = _entries(reader, scanners, "serial")
    serial = tuple(
        _read_serial(reader, entry, f"scanners.serial[{i}]")
        for i, entry in enumerate(serial_entries)
    )
    defaults = ScannerSettings()
    settings = ScannerSettings(
        hid=hid,
        serial=serial,
        keyboard=reader.get(scanners, "scanners", "keyboard", False, _flag, "true or false"),
        poll_seconds=reader.get(
            scanners,
            "scanners",
            "poll_seconds",
            defaults.poll_seconds,
            _positive_seconds,
            "a number of seconds above 0",
        ),
        reopen_max_seconds=reader.get(
            scanners,
            "scanners",
            "reopen_max_seconds",
            defaults.reopen_max_seconds,
            _positive_seconds,
            "a number of seconds above 0",
        ),
        barcodes=_read_barcodes(reader, barcodes),
    )
    sources = [entry.source for entry in settings.hid] + [entry.source for entry in settings.serial]
    for duplicate in sorted({s for s in sources if sources.count(s) > 1}):
        reader.problem("scanners", f"two scanners share the source name {duplicate!r}")
    if reader.problems:
        raise InvalidScannerSettings(reader.problems)
    return settings


def _entries(reader: _Reader, scanners: Mapping[str, Any], key: str) -> list[object]:
    value = scanners.get(key, [])
    if isinstance(value, Mapping):
        return [value]  # a single [scanners.hid] table instead of [[scanners.hid]]
    if not isinstance(value, list):
        reader.problem(f"scanners.{key}", f"must be a list of tables, not {_shown(value)}")
        return []
    return value


def _read_hid(reader: _Reader, entry: object, path: str) -> HidScannerSettings:
    table = reader.table(entry, path, _HID_KEYS)
    device = table.get("device")
    if not isinstance(device, str) or not device.strip():
        reader.problem(
            f"{path}.device",
            "missing: a /dev/input/by-id/... path, vendor:product (e.g. 0c2e:0b61) or the "
            "device's exact name",
        )
        device = ""
    defaults = HidScannerSettings(device="")
    return HidScannerSettings(
        device=device.strip(),
        layout=cast(Layout, reader.choice(table, path, "layout", defaults.layout, LAYOUTS)),
        name=reader.get(table, path, "name", "", _text, "text"),
        grab=reader.get(table, path, "grab", True, _flag, "true or false"),
        max_length=reader.get(
            table, path, "max_length", defaults.max_length, _positive_int, "a whole number above 0"
        ),
    )


def _read_serial(reader: _Reader, entry: object, path: str) -> SerialScannerSettings:
    table = reader.table(entry, path, _SERIAL_KEYS)
    port = table.get("port")
    if not isinstance(port, str) or not port.strip():
        reader.problem(f"{path}.port", "missing: the serial port, preferably /dev/serial/by-id/...")
        port = ""
    defaults = SerialScannerSettings(port="")
    timeout: float | None = reader.get(
        table, path, "timeout", None, _positive_seconds, "a number of seconds above 0"
    )
    return SerialScannerSettings(
        port=port.strip(),
        baud=reader.get(
            table, path, "baud", defaults.baud, _positive_int, "a whole number above 0"
        ),
        parity=cast(Parity, reader.choice(table, path, "parity", defaults.parity, PARITIES)),
        bytesize=reader.get(table, path, "bytesize", 8, _one_of(7, 8), "7 or 8"),
        stopbits=reader.get(table, path, "stopbits", 1, _one_of(1, 2), "1 or 2"),
        terminator=cast(
            Terminator, reader.choice(table, path, "terminator", defaults.terminator, TERMINATORS)
        ),
        timeout=timeout,
        max_length=reader.get(
            table, path, "max_length", defaults.max_length, _positive_int, "a whole number above 0"
        ),
        name=reader.get(table, path, "name", "", _text, "text"),
    )


def _read_barcodes(reader: _Reader, table: Mapping[str, Any]) -> BarcodeSettings:
    path = "barcodes"
    defaults = BarcodeSettings()
    return BarcodeSettings(
        prefix=reader.get(table, path, "prefix", "", _text, "text"),
        suffix=reader.get(table, path, "suffix", "", _text, "text"),
        patron_patterns=reader.patterns(table, path, "patron", defaults.patron_patterns),
        item_patterns=reader.patterns(table, path, "item", defaults.item_patterns),
        library_check_digit=cast(
            CheckDigit,
            reader.choice(table, path, "library_check_digit", "luhn", CHECK_DIGITS),
        ),
        strip_codabar=reader.get(table, path, "strip_codabar", True, _flag, "true or false"),
        debounce_seconds=reader.get(
            table,
            path,
            "debounce_seconds",
            defaults.debounce_seconds,
            _seconds,
            "a number of seconds from 0 to 3600",
        ),
    )


__all__ = [
    "BarcodeSettings",
    "HidScannerSettings",
    "InvalidScannerSettings",
    "ScannerSettings",
    "SerialScannerSettings",
    "read_scanner_settings",
]
