"""The library's own message on the Welcome screen (issue 17), from kiosk.toml's
[library.message], in the patron's language."""

from __future__ import annotations

from kiosk.common.clock import FixedClock
from kiosk.session.viewdata import Tone, WelcomeView
from kiosk.store.store import Store
from tests.circulation.library import ADA, CARDS

from .conftest import Kiosk

MESSAGE = {"en": "Closed on Monday 25th", "fr": "Fermé le lundi 25"}


def message(kiosk: Kiosk) -> tuple[str, Tone] | None:
    view = kiosk.frame.view
    assert isinstance(view, WelcomeView)
    return None if view.message is None else (view.message.text, view.message.tone)


def test_the_message_is_in_the_patrons_language_else_the_kiosks(
    store: Store, clock: FixedClock
) -> None:
    kiosk = Kiosk(store, clock, welcome_message=MESSAGE)
    assert message(kiosk) == ("Closed on Monday 25th", Tone.NOTICE)
    kiosk.press("lang_fr")
    assert message(kiosk) == ("Fermé le lundi 25", Tone.NOTICE)
    kiosk.press("lang_es")  # none in Spanish: the kiosk's default language's
    assert message(kiosk) == ("Closed on Monday 25th", Tone.NOTICE)
    # It stays for the next patron: it is the library's, not anyone's.
    kiosk.sign_in(CARDS[ADA]).press("done", "no_receipt")
    assert message(kiosk) == ("Closed on Monday 25th", Tone.NOTICE)


def test_no_message_by_default(kiosk: Kiosk) -> None:
    assert message(kiosk) is None
