"""Check digits of library barcodes and ISBNs."""

from __future__ import annotations

import pytest

from kiosk.common.check_digits import (
    gs1_valid,
    isbn13,
    library_barcode,
    library_barcodes,
    luhn_digit,
    valid_library_barcode,
)


@pytest.mark.parametrize(
    ("payload", "digit"),
    [("7992739871", "3"), ("2000000000001", "4"), ("3000000000003", "8"), ("0000000000000", "0")],
)
def test_luhn_check_digit(payload: str, digit: str) -> None:
    assert luhn_digit(payload) == digit


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("20000000000014", True),
        ("20000000000015", False),
        ("2000000000001", False),
        ("2000000000001X", False),
        ("30000000000038", True),
    ],
)
def test_library_barcode_validation(code: str, valid: bool) -> None:
    assert valid_library_barcode(code) is valid


@pytest.mark.parametrize(
    ("first", "count"), [(1, 25_000), (9_990, 30), (123_456_789, 12_345), (0, 1)]
)
def test_bulk_barcodes_equal_one_at_a_time(first: int, count: int) -> None:
    assert list(library_barcodes("3", first, count)) == [
        library_barcode("3", number) for number in range(first, first + count)
    ]


@pytest.mark.parametrize(
    ("code", "valid"), [("9780261103344", True), ("9780553380163", True), ("9780553380164", False)]
)
def test_isbn13(code: str, valid: bool) -> None:
    assert gs1_valid(code) is valid
    if valid:
        assert isbn13(code[:12]) == code
