"""The drop station's words for a copy going to another branch (issue 21), in English,
Spanish and French: the bin, its colour, and the branch it goes back to."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kiosk.circulation.views import ReturnAnswer, ReturnStatus, SortingBins
from kiosk.session import wording
from kiosk.session.i18n import load_translators

TRANSLATORS = load_translators(("en", "es", "fr"))
BINS = SortingBins()
TO_MAIN = ReturnAnswer(
    ReturnStatus.RETURNED, "3900", "Far From Home", BINS.transfer, destination="Main"
)


@pytest.mark.parametrize(
    ("language", "label", "instruction", "sentence"),
    [
        (
            "en",
            "Transfer",
            "Please put it in bin 4, the blue one. It goes back to its home branch, Main.",
            "Thank you. Please put it in bin 4. It goes back to its home branch, Main.",
        ),
        (
            "es",
            "Traslado",
            "Vuelve a su biblioteca de origen, Main.",
            "Vuelve a su biblioteca de origen, Main.",
        ),
        (
            "fr",
            "Transfert",
            "Il retourne à sa bibliothèque d'origine, Main.",
            "Il retourne à sa bibliothèque d'origine, Main.",
        ),
    ],
)
def test_a_copy_for_another_branch_is_sent_there_in_words(
    language: str, label: str, instruction: str, sentence: str
) -> None:
    tr = TRANSLATORS[language]
    assert wording.bin_label(tr, TO_MAIN.bin) == label
    assert wording.return_instruction(tr, TO_MAIN).endswith(instruction)
    assert wording.return_sentence(tr, TO_MAIN).endswith(sentence)
    if language != "en":  # the whole answer is in the patron's language, not half English
        assert "Please" not in wording.return_instruction(tr, TO_MAIN)


def test_a_late_copy_going_home_says_its_fine_then_where_it_goes() -> None:
    late = ReturnAnswer(
        ReturnStatus.RETURNED,
        "3900",
        "Far From Home",
        BINS.transfer,
        fine=Decimal("1.50"),
        overdue_days=3,
        destination="East",
    )
    said = wording.return_sentence(TRANSLATORS["en"], late)
    assert said.startswith("Thank you. This item was 3 days late")
    assert said.endswith("Please put it in bin 4. It goes back to its home branch, East.")


def test_a_copy_for_the_shelf_names_no_branch() -> None:
    shelf = ReturnAnswer(ReturnStatus.RETURNED, "3900", "At Home", BINS.shelf)
    for tr in TRANSLATORS.values():
        assert "{branch}" not in wording.return_instruction(tr, shelf)
    assert wording.return_instruction(TRANSLATORS["en"], shelf) == (
        "Please put it in bin 2, the green one."
    )
