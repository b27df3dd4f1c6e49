"""The greeting's words for a hold ready at another branch (issue 21), in English,
Spanish and French: the branch's name when it waits elsewhere, the plain sentence when
it waits here (or the kiosk knows no name)."""

from __future__ import annotations

import pytest

from kiosk.circulation.views import Greeting
from kiosk.session import wording
from kiosk.session.i18n import load_translators

TRANSLATORS = load_translators(("en", "es", "fr"))
GREETING = Greeting(holds_ready=("Far From Home", "Near To Hand"), ready_where=("Northside", ""))


@pytest.mark.parametrize(
    ("language", "elsewhere", "here"),
    [
        (
            "en",
            "Ready for you at the hold shelf at Northside.",
            "Ready for you at the hold shelf.",
        ),
        (
            "es",
            "Le espera en la estantería de reservas de Northside.",
            "Le espera en la estantería de reservas.",
        ),
        (
            "fr",
            "Vous attend sur l'étagère des réservations de Northside.",
            "Vous attend sur l'étagère des réservations.",
        ),
    ],
)
def test_a_ready_hold_names_the_branch_it_waits_at(
    language: str, elsewhere: str, here: str
) -> None:
    lines = wording.waiting_lines(TRANSLATORS[language], GREETING, None, ended=False)
    assert [(line.title, line.detail) for line in lines] == [
        ("Far From Home", elsewhere),
        ("Near To Hand", here),
    ]


def test_a_greeting_from_before_the_names_says_the_shelf() -> None:
    old = Greeting(holds_ready=("Far From Home",))
    [line] = wording.waiting_lines(TRANSLATORS["en"], old, None, ended=False)
    assert line.detail == "Ready for you at the hold shelf."
