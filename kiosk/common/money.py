"""Money as whole cents: the one place an amount becomes an integer and back.

Amounts are ``Decimal`` everywhere; the databases and the wire keep whole cents so that
no binary float ever touches a fine.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> int:
    """An amount in whole cents, rounded half up as a cashier would."""
    return int(amount.quantize(CENT, rounding=ROUND_HALF_UP) / CENT)


def from_cents(cents: int | None) -> Decimal:
    """Whole cents as an amount with two decimals (``None`` is nothing owed)."""
    return Decimal(cents or 0) * CENT


def wire_cents(amount: str) -> int:
    """A wire amount ("12.34", "-0.05") in cents. The server writes two decimals; those are
    read without making a Decimal (2.5 million of them in a large library's snapshot)."""
    if len(amount) > 3 and amount[-3] == ".":
        return int(amount[:-3] + amount[-2:])
    return to_cents(Decimal(amount))
