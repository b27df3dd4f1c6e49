"""Check digits of the codes a library scans, to validate a scan and to make demo data.

Library barcodes (Codabar, 14 digits: a type digit, 2 = patron card and 3 = item,
then the number, then a check digit) use the Luhn mod-10 scheme: from the right,
every second digit left of the check digit is doubled, 9 is subtracted from
doubles above 9, and the total must be a multiple of 10. EAN-13 (and so
ISBN-13) weighs digits 1, 3, 1, ... from the left; ISBN-10 weighs 10 down to 1
modulo 11.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

PATRON_PREFIX = "2"
ITEM_PREFIX = "3"

_DIGITS = re.compile(r"\d+")
_ISBN10 = re.compile(r"\d{9}[\dX]")
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # 2 x digit, less 9 when over 9


def _luhn_sum(digits: str, *, offset: int) -> int:
    """The Luhn sum of ``digits`` when ``offset`` more digits follow them in the payload."""
    total = 0
    for position, char in enumerate(reversed(digits), start=offset):
        digit = ord(char) - 48
        total += _DOUBLED[digit] if position % 2 == 0 else digit
    return total


def luhn_digit(payload: str) -> str:
    """The check digit that makes ``payload`` + digit pass the Luhn check."""
    return str((10 - _luhn_sum(payload, offset=0) % 10) % 10)


def luhn_valid(digits: str) -> bool:
    return (
        len(digits) >= 2
        and bool(_DIGITS.fullmatch(digits))
        and (luhn_digit(digits[:-1]) == digits[-1])
    )


def valid_library_barcode(code: str) -> bool:
    """A 14-digit library barcode whose check digit is right."""
    return len(code) == 14 and luhn_valid(code)


def library_barcode(prefix: str, number: int) -> str:
    """The 14-digit barcode with this type digit and serial number, check digit included."""
    payload = f"{prefix}{number:012d}"
    return payload + luhn_digit(payload)


def library_barcodes(prefix: str, first: int, count: int) -> Iterator[str]:
    """``library_barcode(prefix, n)`` for ``n`` from ``first``, for bulk data.

    The Luhn sum splits into the last four digits and the rest, so the rest is
    summed once per ten thousand numbers and the last four come from a table.
    """
    low_sums = [_luhn_sum(f"{low:04d}", offset=0) for low in range(10_000)]
    number = first
    end = first + count
    while number < end:
        high, low = divmod(number, 10_000)
        head = f"{prefix}{high:08d}"
        head_sum = _luhn_sum(head, offset=4)
        for low_value in range(low, min(10_000, low + end - number)):
            total = head_sum + low_sums[low_value]
            yield f"{head}{low_value:04d}{(10 - total % 10) % 10}"
        number += 10_000 - low


def gs1_digit(payload: str) -> str:
    """EAN-13 / UPC / EAN-8 check digit: weights 3, 1, 3, ... from the right of the payload."""
    total = sum(
        (ord(char) - 48) * (3 if position % 2 == 0 else 1)
        for position, char in enumerate(reversed(payload))
    )
    return str((10 - total % 10) % 10)


def gs1_valid(digits: str) -> bool:
    return (
        len(digits) >= 2
        and bool(_DIGITS.fullmatch(digits))
        and (gs1_digit(digits[:-1]) == digits[-1])
    )


def isbn13(payload: str) -> str:
    """The ISBN-13 of a 12-digit payload (978 or 979 and nine digits)."""
    return payload + gs1_digit(payload)


def isbn10_valid(code: str) -> bool:
    """ISBN-10: weights 10 down to 1, sum divisible by 11; a final X stands for 10."""
    if not _ISBN10.fullmatch(code):
        return False
    values = [10 if char == "X" else int(char) for char in code]
    return (
        sum(weight * value for weight, value in zip(range(10, 0, -1), values, strict=True)) % 11
        == 0
    )
