"""Scanner settings: plain frozen values, and their reader (the project's settings reader).

They are read from the ``[scanners]`` and ``[barcodes]`` tables of ``kiosk.toml``:
:func:`read_scanner_settings` for this part alone (every mistake raised at once, each
with its key path, so staff fix a file in one go), :data:`SCANNERS_SECTION` for the
config's loader (every mistake kept; a scanner with a mistake is left out and the
others still work).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast, get_args

from kiosk.common.settings import (
    Section,
    SettingsReader,
    as_flag,
    as_positive_int,
    as_positive_seconds,
    as_seconds,
    as_text,
    one_of,
    read_section,
    shown,
)
from kiosk.devices.errors import InvalidSettings

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


class InvalidScannerSettings(InvalidSettings):
    """The ``[scanners]`` or ``[barcodes]`` table cannot be used."""


E = TypeVar("E", HidScannerSettings, SerialScannerSettings)

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


def read_scanner_settings(config: Mapping[str, Any]) -> ScannerSettings:
    """Build :class:`ScannerSettings` from a whole ``kiosk.toml`` dict.

    Only ``[scanners]`` and ``[barcodes]`` are read; other tables belong to other parts.
    Raises :class:`InvalidScannerSettings` listing every problem found.
    """
    settings, problems = read_section(SCANNERS_SECTION, config)
    if problems:
        raise InvalidScannerSettings(problems)
    return settings


def read_scanners(reader: SettingsReader, config: Mapping[str, Any]) -> ScannerSettings:
    """The scanners and barcode rules ``config``'s tables give, every mistake kept in
    ``reader``: a scanner with a mistake is left out (the others still work), as are all
    of them when two share a name; any other wrong value gives its default."""
    scanners = reader.table(config.get("scanners", {}), "scanners", _SCANNERS_KEYS)
    barcodes = reader.table(config.get("barcodes", {}), "barcodes", _BARCODES_KEYS)

    hid = _each(reader, scanners, "hid", _read_hid)
    serial = _each(reader, scanners, "serial", _read_serial)
    defaults = ScannerSettings()
    settings = ScannerSettings(
        hid=tuple(entry for entry, good in hid if good),
        serial=tuple(entry for entry, good in serial if good),
        keyboard=reader.get(scanners, "scanners", "keyboard", False, as_flag, "true or false"),
        poll_seconds=reader.get(
            scanners,
            "scanners",
            "poll_seconds",
            defaults.poll_seconds,
            as_positive_seconds,
            "a number of seconds above 0",
        ),
        reopen_max_seconds=reader.get(
            scanners,
            "scanners",
            "reopen_max_seconds",
            defaults.reopen_max_seconds,
            as_positive_seconds,
            "a number of seconds above 0",
        ),
        barcodes=_read_barcodes(reader, barcodes),
    )
    sources = [entry.source for entry, _ in hid] + [entry.source for entry, _ in serial]
    for duplicate in sorted({s for s in sources if sources.count(s) > 1}):
        reader.problem("scanners", f"two scanners share the source name {duplicate!r}")
    kept = [entry.source for entry in settings.hid] + [entry.source for entry in settings.serial]
    if len(set(kept)) < len(kept):  # which scan came from where could not be told
        return ScannerSettings(barcodes=settings.barcodes)
    return settings


SCANNERS_SECTION: Section[ScannerSettings] = Section(("scanners", "barcodes"), read_scanners)


def _each(
    reader: SettingsReader,
    scanners: Mapping[str, Any],
    key: str,
    read: Callable[[SettingsReader, object, str], E],
) -> list[tuple[E, bool]]:
    """Each scanner of one kind, and whether it was read without a mistake."""
    found = []
    for index, entry in enumerate(_entries(reader, scanners, key)):
        before = len(reader.problems)
        settings = read(reader, entry, f"scanners.{key}[{index}]")
        found.append((settings, len(reader.problems) == before))
    return found


def _entries(reader: SettingsReader, scanners: Mapping[str, Any], key: str) -> list[object]:
    value = scanners.get(key, [])
    if isinstance(value, Mapping):
        return [value]  # a single [scanners.hid] table instead of [[scanners.hid]]
    if not isinstance(value, list):
        reader.problem(f"scanners.{key}", f"must be a list of tables, not {shown(value)}")
        return []
    return value


def _read_hid(reader: SettingsReader, entry: object, path: str) -> HidScannerSettings:
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
        name=reader.get(table, path, "name", "", as_text, "text"),
        grab=reader.get(table, path, "grab", True, as_flag, "true or false"),
        max_length=reader.get(
            table,
            path,
            "max_length",
            defaults.max_length,
            as_positive_int,
            "a whole number above 0",
        ),
    )


def _read_serial(reader: SettingsReader, entry: object, path: str) -> SerialScannerSettings:
    table = reader.table(entry, path, _SERIAL_KEYS)
    port = table.get("port")
    if not isinstance(port, str) or not port.strip():
        reader.problem(f"{path}.port", "missing: the serial port, preferably /dev/serial/by-id/...")
        port = ""
    defaults = SerialScannerSettings(port="")
    timeout: float | None = reader.get(
        table, path, "timeout", None, as_positive_seconds, "a number of seconds above 0"
    )
    return SerialScannerSettings(
        port=port.strip(),
        baud=reader.get(
            table, path, "baud", defaults.baud, as_positive_int, "a whole number above 0"
        ),
        parity=cast(Parity, reader.choice(table, path, "parity", defaults.parity, PARITIES)),
        bytesize=reader.get(table, path, "bytesize", 8, one_of(7, 8), "7 or 8"),
        stopbits=reader.get(table, path, "stopbits", 1, one_of(1, 2), "1 or 2"),
        terminator=cast(
            Terminator, reader.choice(table, path, "terminator", defaults.terminator, TERMINATORS)
        ),
        timeout=timeout,
        max_length=reader.get(
            table,
            path,
            "max_length",
            defaults.max_length,
            as_positive_int,
            "a whole number above 0",
        ),
        name=reader.get(table, path, "name", "", as_text, "text"),
    )


def _read_barcodes(reader: SettingsReader, table: Mapping[str, Any]) -> BarcodeSettings:
    path = "barcodes"
    defaults = BarcodeSettings()
    return BarcodeSettings(
        prefix=reader.get(table, path, "prefix", "", as_text, "text"),
        suffix=reader.get(table, path, "suffix", "", as_text, "text"),
        patron_patterns=reader.patterns(table, path, "patron", defaults.patron_patterns),
        item_patterns=reader.patterns(table, path, "item", defaults.item_patterns),
        library_check_digit=cast(
            CheckDigit,
            reader.choice(table, path, "library_check_digit", "luhn", CHECK_DIGITS),
        ),
        strip_codabar=reader.get(table, path, "strip_codabar", True, as_flag, "true or false"),
        debounce_seconds=reader.get(
            table,
            path,
            "debounce_seconds",
            defaults.debounce_seconds,
            as_seconds,
            "a number of seconds from 0 to 3600",
        ),
    )


__all__ = [
    "SCANNERS_SECTION",
    "BarcodeSettings",
    "HidScannerSettings",
    "InvalidScannerSettings",
    "ScannerSettings",
    "SerialScannerSettings",
    "read_scanner_settings",
    "read_scanners",
]
