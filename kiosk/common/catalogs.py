"""The gettext catalogs every patron-facing part reads: the kiosk's screens and the
patron portal of kiosk-central share ``kiosk/locale``, so a message both say has one
translation.

Catalogs are the ``.po`` files themselves, compiled in memory when loaded: a translator
edits one text file and nothing binary is committed. English is the message ids.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileParser

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


def compiled(code: str) -> gettext.NullTranslations | None:
    """The language's catalog ready to translate (English: the ids themselves); None
    when no catalog has the language."""
    if code == "en":
        return gettext.NullTranslations()
    if not po_path(code).exists():
        return None
    buffer = io.BytesIO()
    write_mo(buffer, read_translations(code), use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
