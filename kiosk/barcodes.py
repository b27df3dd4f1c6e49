"""Check digits of the codes a library scans: its own 14-digit barcodes and ISBNs.

Library barcodes (Codabar, 14 digits) end in a mod-10 check digit computed the
Luhn way: from the right, every second digit of the first 13 is doubled (less 9
when over 9) and the check digit brings the sum to a multiple of 10. A leading
2 marks a patron card and a leading 3 an item.
"""

from __future__ import annotations

from collections.abc import Iterator

PATRON_PREFIX = "2"
ITEM_PREFIX = "3"


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # 2 x digit, less 9 when over 9


def luhn_digit(payload: str) -> str:
    digits = [ord(char) - 48 for char in reversed(payload)]
    total = sum(_DOUBLED[digit] for digit in digits[::2]) + sum(digits[1::2])
    return str((10 - total % 10) % 10)


def library_barcode(prefix: str, number: int) -> str:
    """The 14-digit barcode with this prefix and serial number, check digit included."""
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


def _luhn_sum(digits: str, *, offset: int) -> int:
    """The Luhn sum of ``digits`` when ``offset`` more digits follow them in the payload."""
    total = 0
    for position, char in enumerate(reversed(digits), start=offset):
        digit = ord(char) - 48
        total += _DOUBLED[digit] if position % 2 == 0 else digit
    return total


def valid_library_barcode(code: str) -> bool:
    return len(code) == 14 and code.isdigit() and luhn_digit(code[:-1]) == code[-1]


def isbn13_digit(payload: str) -> str:
    total = sum(int(char) * (1 if index % 2 == 0 else 3) for index, char in enumerate(payload))
    return str((10 - total % 10) % 10)


def isbn13(payload: str) -> str:
    """The ISBN-13 of a 12-digit payload (978 or 979 and nine digits)."""
    return payload + isbn13_digit(payload)


def valid_isbn13(code: str) -> bool:
    return len(code) == 13 and code.isdigit() and isbn13_digit(code[:-1]) == code[-1]
