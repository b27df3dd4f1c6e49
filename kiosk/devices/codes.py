"""From raw scanner text to a classified ``Scan``: strip, identify, check, classify, debounce."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.common.check_digits import gs1_valid, isbn10_valid, luhn_valid
from kiosk.devices.scan import Kind, Now, Scan, Symbology
from kiosk.devices.settings import BarcodeSettings

log = logging.getLogger(__name__)

# AIM symbology identifiers: "]" + code character + modifier character.
AIM_CODES: dict[str, Symbology] = {
    "F": "codabar",
    "E": "ean-upc",
    "C": "code128",
    "A": "code39",
    "X": "other",
}
_AIM = re.compile(r"\](?P<code>[A-Za-z])(?P<modifier>[0-9A-Za-z])")
_CODABAR = re.compile(r"[A-Da-d](?P<body>[0-9\-$:/.+]+)[A-Da-d]")
_DIGITS = re.compile(r"\d+")
_ISBN10 = re.compile(r"\d{9}[\dX]")


def parse_aim(text: str) -> tuple[Symbology, str]:
    """Split off a leading AIM identifier; codes without one have symbology ``unknown``."""
    match = _AIM.match(text)
    if match is None:
        return "unknown", text
    return AIM_CODES.get(match["code"], "other"), text[match.end() :]


def check_digit(code: str, symbology: Symbology, library_check: str = "luhn") -> bool | None:
    """Whether the code's check digit is right, or ``None`` if it has none we know.

    The scheme is chosen by shape: 14 digits is a library barcode, 13 an EAN-13 or
    ISBN-13, ten characters of ISBN-10 form an ISBN-10; 12 and 8 digits are UPC-A and
    EAN-8 only when the scanner said it read an EAN/UPC symbol, since plenty of Code 39
    and Codabar numbers have those lengths and no check digit at all.
    """
    if _DIGITS.fullmatch(code):
        if len(code) == 14:
            return luhn_valid(code) if library_check == "luhn" else None
        if len(code) == 13:
            return gs1_valid(code)
        if len(code) in (8, 12) and symbology == "ean-upc":
            return gs1_valid(code)
    if len(code) == 10 and _ISBN10.fullmatch(code) and symbology in ("ean-upc", "unknown"):
        return isbn10_valid(code)
    return None


@dataclass(frozen=True, slots=True)
class Normalised:
    code: str
    symbology: Symbology
    valid_check_digit: bool | None


def normalise(raw: str, settings: BarcodeSettings) -> Normalised | None:
    """Strip what scanners add around a code; ``None`` when nothing is left."""
    text = raw.strip()
    if settings.prefix and text.startswith(settings.prefix):
        text = text[len(settings.prefix) :]
    if settings.suffix and text.endswith(settings.suffix):
        text = text[: -len(settings.suffix)]
    symbology, text = parse_aim(text.strip())
    text = text.strip()
    if settings.strip_codabar and symbology in ("codabar", "unknown"):
        codabar = _CODABAR.fullmatch(text)
        if codabar is not None:
            text = codabar["body"]
            symbology = "codabar"
    if len(text) == 10 and text[-1] == "x" and text[:9].isdigit():
        text = text[:9] + "X"  # ISBN-10 check character, whatever the caps lock said
    if not text:
        return None
    return Normalised(text, symbology, check_digit(text, symbology, settings.library_check_digit))


class Classifier:
    def __init__(self, settings: BarcodeSettings) -> None:
        self._patron = [re.compile(pattern) for pattern in settings.patron_patterns]
        self._item = [re.compile(pattern) for pattern in settings.item_patterns]

    def __call__(self, code: str) -> Kind:
        # Patron first: a card wrongly taken for an item could lend a book to nobody,
        # while an item taken for a card only fails to identify anyone.
        if any(pattern.fullmatch(code) for pattern in self._patron):
            return "patron"
        if any(pattern.fullmatch(code) for pattern in self._item):
            return "item"
        return "unknown"


class ScanPipeline:
    """Turns raw lines from any source into ``Scan`` values; shared by all sources.

    Thread-safe: every reader thread calls :meth:`process`. The debounce window runs on a
    monotonic clock, because the wall clock may jump (NTP at boot, a flat RTC battery)
    and a jump must neither swallow nor double a scan.
    """

    def __init__(
        self,
        settings: BarcodeSettings,
        clock: Now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._classify = Classifier(settings)
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last_seen: dict[tuple[str, str], float] = {}

    def process(self, raw: str, source: str) -> Scan | None:
        normalised = normalise(raw, self.settings)
        if normalised is None:
            log.info("%s: empty scan ignored", source)
            return None
        kind = self._classify(normalised.code)
        if self._repeated(normalised.code, source):
            log.debug("%s: %s repeated within the debounce window, ignored", source, kind)
            return None
        return Scan(
            code=normalised.code,
            kind=kind,
            symbology=normalised.symbology,
            source=source,
            valid_check_digit=normalised.valid_check_digit,
            at=self._clock(),
        )

    def _repeated(self, code: str, source: str) -> bool:
        now = self._monotonic()
        window = self.settings.debounce_seconds
        with self._lock:
            last = self._last_seen.get((code, source))
            # Forget codes past their window: the kiosk keeps no list of cards scanned today.
            self._last_seen = {
                key: seen for key, seen in self._last_seen.items() if now - seen < window
            }
            # Sliding: a card held under a scanner in continuous mode reads again every few
            # hundred milliseconds, and must count once until it is taken away.
            self._last_seen[(code, source)] = now
        return last is not None and now - last < window
