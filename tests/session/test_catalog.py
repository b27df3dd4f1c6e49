"""Spanish and French are complete, and every translation keeps its placeholders."""

from __future__ import annotations

import re

import pytest

from kiosk.session import catalog
from kiosk.session.i18n import load_catalog, read_translations

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_every_patron_message_is_translated() -> None:
    assert catalog.missing() == {}


@pytest.mark.parametrize("code", catalog.TRANSLATED)
def test_translations_keep_every_placeholder(code: str) -> None:
    messages = [message for message in read_translations(code) if message.id]
    assert len(messages) > 100
    for message in messages:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(str(ids[-1])))
        for string in strings:
            assert set(PLACEHOLDER.findall(str(string))) == wanted, (code, message.id)


@pytest.mark.parametrize(
    ("code", "count", "expected"),
    [
        ("fr", 0, "{count} document emprunté"),
        ("fr", 1, "{count} document emprunté"),
        ("fr", 2, "{count} documents empruntés"),
        ("fr", 1_000_000, "{count} documents empruntés"),
        ("es", 0, "{count} documentos en préstamo"),
        ("es", 1, "{count} documento en préstamo"),
        ("es", 2, "{count} documentos en préstamo"),
        ("es", 1_000_000, "{count} documentos en préstamo"),
    ],
)
def test_plurals_follow_each_language_never_english(code: str, count: int, expected: str) -> None:
    # Babel 2.19's CLDR gives both languages a third form for round millions; the
    # catalogs have two, and a missing form would silently show the English text.
    translations = load_catalog(code)
    assert translations.ngettext("{count} item on loan", "{count} items on loan", count) == (
        expected
    )


def test_the_catalog_template_holds_the_rules_refusals() -> None:
    ids = {message.id for message in catalog.extract()}
    assert "You already have {quota} items, the most a {member_type} may borrow." in ids
    assert "This item is reserved for another member. Please leave it at the desk." in ids
