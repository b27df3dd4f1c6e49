"""What the portal says, in the patron's language: the kiosk's gettext catalogs
(``kiosk.common.catalogs``), so a sentence the kiosk and the portal share (a refusal of
the rules above all) has one translation; dates and money written as the language
writes them."""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from kiosk.common.catalogs import BABEL_LOCALES, LANGUAGE_NAMES, compiled
from kiosk.rules import Due, Refusal
from kiosk.rules.reasons import Reason

LANGUAGES = tuple(LANGUAGE_NAMES)
# Dates already written out in English inside a refusal's fields
# (kiosk.rules.decisions.human_date): "7 December 2026".
_ENGLISH_DATE = re.compile(r"^\d{1,2} [A-Z][a-z]+ \d{4}$")


def N_(message: str) -> str:
    """Marks a message for the catalog where it is defined; translated when shown."""
    return message


# A renewal refused in the portal, where the kiosk's words ("leave it at the desk")
# would not fit: the patron is at home with the book.
RENEWAL_WORDS = {
    Reason.ON_HOLD_FOR_OTHER: N_(
        "Another member is waiting for this item, so it can't be renewed. "
        "Please bring it back by its due date."
    ),
}


@cache
def _catalog(code: str) -> gettext.NullTranslations:
    found = compiled(code)
    return found if found is not None else gettext.NullTranslations()


def language(code: str | None) -> str | None:
    """``code`` if the portal speaks it, else None."""
    return code if code in LANGUAGE_NAMES else None


@dataclass(frozen=True, slots=True)
class Words:
    code: str

    @property
    def catalog(self) -> gettext.NullTranslations:
        return _catalog(self.code)

    @property
    def locale(self) -> str:
        return BABEL_LOCALES.get(self.code, self.code)

    def __call__(self, message: str, /, **fields: object) -> str:
        text = self.catalog.gettext(message)
        return text.format(**fields) if fields else text

    def plural(self, singular: str, plural: str, count: int, /, **fields: object) -> str:
        return self.catalog.ngettext(singular, plural, count).format(count=count, **fields)

    def date(self, day: date | datetime) -> str:
        return format_date(day, format="full", locale=self.locale)

    def due(self, due: str) -> str:
        """A loan's due date as stored ("2026-12-07", or "2026-12-07T14:00")."""
        try:
            parsed = Due.fromisoformat(due)
        except ValueError:
            return due
        if parsed.at is None:
            return self.date(parsed.day)
        return self(
            "{time} on {date}",
            time=format_time(parsed.at, format="short", locale=self.locale),
            date=self.date(parsed.day),
        )

    def money(self, amount: Decimal) -> str:
        return format_decimal(amount, format="#,##0.00", locale=self.locale)

    def _field(self, value: str) -> str:
        if _ENGLISH_DATE.match(value):
            try:
                return format_date(
                    datetime.strptime(value, "%d %B %Y").date(),  # noqa: DTZ007 - a date
                    format="long",
                    locale=self.locale,
                )
            except ValueError:
                return value
        return self.catalog.gettext(value) if value else value

    def refusal(self, refusal: Refusal, *, renewal: bool = False) -> str:
        """A refusal of the rules in this language (the rules' own sentence, which the
        kiosks show, but where the portal has words of its own)."""
        if renewal and refusal.reason in RENEWAL_WORDS:
            return self(RENEWAL_WORDS[refusal.reason])
        fields = {name: self._field(value) for name, value in refusal.fields.items()}
        return self(refusal.template, **fields)


def words(code: str | None) -> Words:
    return Words(language(code) or "en")
