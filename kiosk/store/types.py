"""Column types: money as whole cents, so that SQLite never sees a binary float."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Dialect, Integer
from sqlalchemy.types import TypeDecorator

from kiosk.common.money import from_cents, to_cents


class Money(TypeDecorator[Decimal]):
    """A ``Decimal`` amount stored as an integer number of cents."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, _dialect: Dialect) -> int | None:
        if value is None:
            return None
        return to_cents(value)

    def process_result_value(self, value: Any, _dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return from_cents(int(value))
