"""The patron's language: gettext catalogs, and dates, times and money as they read it.

Catalogs are the ``.po`` files under ``kiosk/locale``; they are compiled in memory at
start, so a translator edits one text file and nothing binary is committed. English is
the message ids themselves.
"""

from __future__ import annotations

import gettext
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileParser
from babel.numbers import format_currency, format_decimal

from kiosk.circulation.views import Due
from kiosk.session.errors import SessionError

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "kiosk"

# Each language names itself, so a patron who reads no English finds their own.
LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français"}
# The region decides the date order: "7 December 2026" reads right in a British or
# Irish library as in most of the world; a US library can set en_US.
BABEL_LOCALES = {"en": "en_GB", "es": "es_ES", "fr": "fr_FR"}

# Each catalog's plural rule is fixed here, not taken from Babel's copy of CLDR: CLDR
# gave Spanish and French a third form (for round millions) in Babel 2.19, and a
# catalog translated for two forms then fell back to English for every plural.
PLURAL_FORMS = {"es": "nplurals=2; plural=(n != 1);", "fr": "nplurals=2; plural=(n > 1);"}

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


def po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_translations(code: str) -> Catalog:
    """A language's ``.po`` file, with the plural rule of PLURAL_FORMS."""
    catalog = Catalog(locale=Locale.parse(BABEL_LOCALES.get(code, code)), domain=DOMAIN)
    if code in PLURAL_FORMS:
        # Before parsing: the parser pads each plural message to the rule's count.
        catalog.mime_headers = [("Plural-Forms", PLURAL_FORMS[code])]
    with po_path(code).open("rb") as source:
        PoFileParser(catalog, ignore_obsolete=False).parse(source)
    return catalog


def load_catalog(code: str) -> gettext.NullTranslations:
    if code == "en":
        return gettext.NullTranslations()
    if not po_path(code).exists():
        raise UnknownLanguage(code)
    catalog = read_translations(code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def load_translators(codes: tuple[str, ...], currency: str = "") -> dict[str, Translator]:
    return {code: Translator(code, load_catalog(code), currency) for code in codes}
