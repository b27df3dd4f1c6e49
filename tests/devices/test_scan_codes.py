"""Normalisation, check digits, classification and debounce, as tables of cases."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from kiosk.common.check_digits import gs1_valid, isbn10_valid, luhn_valid
from kiosk.devices import BarcodeSettings, Scan, ScanBus, ScanPipeline
from kiosk.devices.codes import check_digit, normalise
from kiosk.devices.scan import mask

PATRON = "21234000012344"
ITEM = "31234000567899"
MORNING = datetime(2025, 3, 4, 9, 30)


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        (PATRON, True),
        (ITEM, True),
        ("20000000000006", True),
        ("39999999999996", True),
        ("25001123456781", True),
        ("21234000012345", False),  # last digit off by one
        ("12234000012344", False),  # two digits swapped: the check catches transpositions
        ("2123400001234a", False),
        ("", False),
    ],
)
def test_library_barcodes_use_the_luhn_mod_10_check(code: str, valid: bool) -> None:
    assert luhn_valid(code) is valid


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("9780306406157", True),  # ISBN-13
        ("4006381333931", True),  # EAN-13
        ("036000291452", True),  # UPC-A
        ("96385074", True),  # EAN-8
        ("9780306406158", False),
        ("4006381333932", False),
        ("0", False),  # a check digit alone checks nothing
        ("x", False),
    ],
)
def test_gs1_check_digit(code: str, valid: bool) -> None:
    assert gs1_valid(code) is valid


@pytest.mark.parametrize(
    ("code", "valid"),
    [("0306406152", True), ("080442957X", True), ("0306406153", False), ("03064061X2", False)],
)
def test_isbn10_check(code: str, valid: bool) -> None:
    assert isbn10_valid(code) is valid


@pytest.mark.parametrize(
    ("code", "symbology", "expected"),
    [
        (PATRON, "codabar", True),
        ("21234000012345", "unknown", False),
        ("9780306406157", "ean-upc", True),
        ("9780306406150", "unknown", False),
        ("036000291452", "ean-upc", True),
        ("036000291452", "code39", None),  # 12 digits is only UPC-A from an EAN/UPC symbol
        ("96385074", "ean-upc", True),
        ("0306406152", "unknown", True),
        ("ABC-123", "code128", None),
        ("12345", "unknown", None),
    ],
)
def test_check_digit_scheme_follows_the_shape_of_the_code(
    code: str, symbology: str, expected: bool | None
) -> None:
    assert check_digit(code, symbology, "luhn") is expected  # type: ignore[arg-type]


def test_library_check_can_be_switched_off_for_other_numbering_schemes() -> None:
    assert check_digit("21234000012345", "unknown", "none") is None


@pytest.mark.parametrize(
    ("raw", "settings", "code", "symbology", "valid"),
    [
        (PATRON, BarcodeSettings(), PATRON, "unknown", True),
        (f"  {PATRON} ", BarcodeSettings(), PATRON, "unknown", True),
        (f"]F0A{PATRON}B", BarcodeSettings(), PATRON, "codabar", True),
        (f"A{ITEM}D", BarcodeSettings(), ITEM, "codabar", True),
        (f"a{ITEM}d", BarcodeSettings(), ITEM, "codabar", True),
        (f"A{ITEM}D", BarcodeSettings(strip_codabar=False), f"A{ITEM}D", "unknown", None),
        ("]E09780306406157", BarcodeSettings(), "9780306406157", "ean-upc", True),
        ("]C0LIB-0042", BarcodeSettings(), "LIB-0042", "code128", None),
        ("]A0ABC123", BarcodeSettings(), "ABC123", "code39", None),
        ("]X0hello", BarcodeSettings(), "hello", "other", None),
        ("]d2010123", BarcodeSettings(), "010123", "other", None),  # Data Matrix: other
        # A Code 39 "A...B" is not Codabar: the identifier says so, nothing is stripped.
        ("]A0A123B", BarcodeSettings(), "A123B", "code39", None),
        (f"PRE{ITEM}SUF", BarcodeSettings(prefix="PRE", suffix="SUF"), ITEM, "unknown", True),
        (f"PRE]F0A{ITEM}A", BarcodeSettings(prefix="PRE"), ITEM, "codabar", True),
        (ITEM, BarcodeSettings(prefix="PRE", suffix="SUF"), ITEM, "unknown", True),
        ("080442957x", BarcodeSettings(), "080442957X", "unknown", True),
    ],
)
def test_normalise(
    raw: str, settings: BarcodeSettings, code: str, symbology: str, valid: bool | None
) -> None:
    result = normalise(raw, settings)
    assert result is not None
    assert (result.code, result.symbology, result.valid_check_digit) == (code, symbology, valid)


@pytest.mark.parametrize("raw", ["", "   ", "]F0", "PRESUF", "]C0  "])
def test_nothing_left_after_stripping_is_no_scan(raw: str) -> None:
    assert normalise(raw, BarcodeSettings(prefix="PRE", suffix="SUF")) is None


@pytest.mark.parametrize(
    ("code", "settings", "kind"),
    [
        (PATRON, BarcodeSettings(), "patron"),
        (ITEM, BarcodeSettings(), "item"),
        ("21234000012345", BarcodeSettings(), "patron"),  # kind by pattern; validity apart
        ("9780306406157", BarcodeSettings(), "unknown"),
        ("2123", BarcodeSettings(), "unknown"),
        ("P12345", BarcodeSettings(patron_patterns=(r"P\d{5}",)), "patron"),
        ("B-0042", BarcodeSettings(item_patterns=(r"B-\d{4}", r"3\d{13}")), "item"),
        (PATRON, BarcodeSettings(patron_patterns=()), "unknown"),
        # A code both patterns take is a patron: see Classifier for why.
        ("777", BarcodeSettings(patron_patterns=(r"7+",), item_patterns=(r"\d+",)), "patron"),
    ],
)
def test_classification_by_configurable_patterns(
    code: str, settings: BarcodeSettings, kind: str
) -> None:
    scan = ScanPipeline(settings, lambda: MORNING).process(code, "test")
    assert scan is not None
    assert scan.kind == kind


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_debounce_per_code_and_source_with_a_sliding_window() -> None:
    ticks = FakeMonotonic()
    pipeline = ScanPipeline(BarcodeSettings(debounce_seconds=1.0), lambda: MORNING, ticks)
    assert pipeline.process(PATRON, "front") is not None
    ticks.now += 0.5
    assert pipeline.process(PATRON, "front") is None  # the same card again, too soon
    assert pipeline.process(PATRON, "side") is not None  # another scanner: a new scan
    assert pipeline.process(ITEM, "front") is not None  # another code: a new scan
    ticks.now += 0.9
    assert pipeline.process(PATRON, "front") is None  # still held under the scanner
    ticks.now += 1.01
    assert pipeline.process(PATRON, "front") is not None


def test_debounce_of_zero_passes_every_scan() -> None:
    pipeline = ScanPipeline(BarcodeSettings(debounce_seconds=0), lambda: MORNING, lambda: 5.0)
    assert pipeline.process(ITEM, "a") is not None
    assert pipeline.process(ITEM, "a") is not None


def test_scan_takes_its_time_from_the_injected_clock() -> None:
    scan = ScanPipeline(BarcodeSettings(), lambda: MORNING).process(f"]F0A{PATRON}A", "front")
    assert scan == Scan(PATRON, "patron", "codabar", "front", True, MORNING)


def test_a_scan_never_shows_its_code_in_repr_or_masked_form() -> None:
    scan = Scan(PATRON, "patron", "codabar", "front", True, MORNING)
    assert PATRON not in repr(scan)
    assert PATRON not in scan.masked()
    assert scan.masked() == "patron …2344"
    assert mask("123456") == "code (6 chars)"


def test_bus_hands_over_every_scan_in_order_across_threads() -> None:
    bus = ScanBus()
    scans = [Scan(str(n), "unknown", "unknown", f"s{n % 3}", None, MORNING) for n in range(3000)]

    def write(part: list[Scan]) -> None:
        for scan in part:
            bus.put(scan)

    writers = [
        threading.Thread(target=write, args=(part,))
        for part in (scans[0::3], scans[1::3], scans[2::3])
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(10)
    received = bus.drain()
    assert sorted(received, key=lambda s: int(s.code)) == scans
    for source in ("s0", "s1", "s2"):  # each writer's scans keep their order
        codes = [int(s.code) for s in received if s.source == source]
        assert codes == sorted(codes)
    assert bus.get(timeout=0.01) is None
    assert len(bus) == 0
