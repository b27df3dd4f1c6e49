"""Spanish and French are complete, and every translation keeps its placeholders."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from kiosk.screens import catalog
from kiosk.screens.i18n import load_catalog

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_every_patron_message_is_translated() -> None:
    assert catalog.missing() == {}


@pytest.mark.parametrize("code", catalog.TRANSLATED)
def test_translations_keep_every_placeholder(code: str) -> None:
    with catalog.po_path(code).open("rb") as source:
        messages = [message for message in read_po(source, locale=code) if message.id]
    assert len(messages) > 100
    for message in messages:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(str(ids[-1])))
        for string in strings:
            assert set(PLACEHOLDER.findall(str(string))) == wanted, (code, message.id)


def test_french_plurals_treat_one_as_singular() -> None:
    french = load_catalog("fr")
    one = french.ngettext("{count} item on loan", "{count} items on loan", 1)
    two = french.ngettext("{count} item on loan", "{count} items on loan", 2)
    assert one != two


def test_the_catalog_template_holds_the_rules_refusals() -> None:
    ids = {message.id for message in catalog.extract()}
    assert "You already have {quota} items, the most a {member_type} may borrow." in ids
    assert "This item is reserved for another member. Please leave it at the desk." in ids
