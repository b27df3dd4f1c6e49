"""The library's own message on the Welcome screen (issue 17), from kiosk.toml's
[library.message] and the console's, in the patron's language."""

from __future__ import annotations

from sqlalchemy import delete, insert

from kiosk.common.clock import FixedClock
from kiosk.session.viewdata import Tone, WelcomeView
from kiosk.store.mirror import MirrorMessage
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


def console(store: Store, said: dict[str, str]) -> None:
    """The library's message as staff set it in the console, as a sync leaves it in the
    mirror."""
    with store.mirror.begin() as mirror:
        mirror.execute(delete(MirrorMessage))
        if said:
            mirror.execute(
                insert(MirrorMessage), [{"language": k, "text": t} for k, t in said.items()]
            )


def test_the_consoles_message_wins_only_in_the_languages_it_has(
    store: Store, clock: FixedClock
) -> None:
    """Per language: the console's in the patron's language, else the console's in the
    kiosk's default, else kiosk.toml's in the patron's, else kiosk.toml's in the default.
    Staff who set only a French message hide no English kiosk's own message from its
    patrons reading English or Spanish."""
    own = {**MESSAGE, "es": "Cerrado el lunes 25"}
    console(store, {"fr": "Fermé ce samedi"})
    kiosk = Kiosk(store, clock, welcome_message=own).idle(10)
    assert message(kiosk) == ("Closed on Monday 25th", Tone.NOTICE)
    kiosk.press("lang_es")
    assert message(kiosk) == ("Cerrado el lunes 25", Tone.NOTICE)
    kiosk.press("lang_fr")
    assert message(kiosk) == ("Fermé ce samedi", Tone.NOTICE)
    # In the default language too: every language kiosk.toml has not is the console's.
    console(store, {"en": "Closed on Saturday", "fr": "Fermé ce samedi"})
    kiosk.idle(10).press("lang_es")
    assert message(kiosk) == ("Closed on Saturday", Tone.NOTICE)
    kiosk.press("lang_en")
    assert message(kiosk) == ("Closed on Saturday", Tone.NOTICE)
    # A French kiosk: its own French message is not shown while the console has one.
    french = Kiosk(store, clock, welcome_message=own, default_language="fr").idle(10)
    assert message(french) == ("Fermé ce samedi", Tone.NOTICE)
    # None from kiosk.toml in a language, none from the console in it: the default's.
    console(store, {"fr": "Fermé ce samedi"})
    bare = Kiosk(store, clock, welcome_message={"en": "Closed on Monday 25th"}).idle(10)
    bare.press("lang_es")
    assert message(bare) == ("Closed on Monday 25th", Tone.NOTICE)
