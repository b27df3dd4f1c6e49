"""The patron's language: gettext catalogs, and dates, times and money as they read it.

Catalogs are the ``.po`` files under ``kiosk/locale``, read by ``kiosk.common.catalogs``
(the patron portal reads the same ones).
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal

from kiosk.circulation.views import Due
from kiosk.common.catalogs import (
    BABEL_LOCALES,
    DOMAIN,
    LANGUAGE_NAMES,
    LOCALE_DIR,
    compiled,
    po_path,
    read_translations,
)
from kiosk.session.errors import SessionError

# The catalogs' names too, as the session's modules and the translators' tool know them.
__all__ = [
    "DOMAIN",
    "LANGUAGE_NAMES",
    "LOCALE_DIR",
    "N_",
    "Translator",
    "UnknownLanguage",
    "load_catalog",
    "load_translators",
    "po_path",
    "read_translations",
]

# Dates that reach us already written out in English inside a refusal's fields
# (kiosk.rules.decisions.human_date): "7 December 2026".
_ENGLISH_DATE = re.compile(r"^\d{1,2} [A-Z][a-z]+ \d{4}$")


def N_(message: str) -> str:
    """Marks a message for the catalog where it is defined; it is translated when shown."""
    return message


class UnknownLanguage(SessionError):
    def __init__(self, code: str) -> None:
        known = ", ".join(sorted(LANGUAGE_NAMES))
        super().__init__(f"no translation for language {code!r} (known: {known})")


@dataclass(frozen=True)
class Translator:
    """Everything the screens say, in one language."""

    code: str
    catalog: gettext.NullTranslations
    currency: str = ""

    @property
    def locale(self) -> str:
        return BABEL_LOCALES.get(self.code, self.code)

    def __call__(self, message: str, /, **fields: object) -> str:
        text = self.catalog.gettext(message)
        return text.format(**fields) if fields else text

    def plural(self, singular: str, plural: str, count: int, /, **fields: object) -> str:
        return self.catalog.ngettext(singular, plural, count).format(count=count, **fields)

    def date(self, day: date) -> str:
        return format_date(day, format="long", locale=self.locale)

    def time(self, moment: time | datetime) -> str:
        return format_time(moment, format="short", locale=self.locale)

    def due(self, due: Due) -> str:
        if due.at is None:
            return self.date(due.day)
        return self(N_("{time} on {date}"), time=self.time(due.at), date=self.date(due.day))

    def money(self, amount: Decimal) -> str:
        if self.currency:
            return format_currency(amount, self.currency, locale=self.locale)
        return format_decimal(amount, format="#,##0.00", locale=self.locale)

    def field(self, value: str) -> str:
        """A refusal's field in this language: English dates are written out again, and
        words the catalog holds (an item's status) are translated."""
        if _ENGLISH_DATE.match(value):
            try:
                return self.date(datetime.strptime(value, "%d %B %Y").date())  # noqa: DTZ007
            except ValueError:
                return value
        return self.catalog.gettext(value) if value else value


def load_catalog(code: str) -> gettext.NullTranslations:
    catalog = compiled(code)
    if catalog is None:
        raise UnknownLanguage(code)
    return catalog


def load_translators(codes: tuple[str, ...], currency: str = "") -> dict[str, Translator]:
    return {code: Translator(code, load_catalog(code), currency) for code in codes}
