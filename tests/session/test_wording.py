"""Every answer circulation gives, worded once through the catalogs: as kiosk circ says
it in one sentence, in each language, sharing the screens' message where they agree."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from kiosk.circulation.views import (
    CheckoutAnswer,
    CheckoutStatus,
    Identification,
    IdentifyStatus,
    PatronSession,
    RenewAnswer,
    RenewStatus,
    ReturnAnswer,
    ReturnStatus,
    SortingBins,
)
from kiosk.rules import Due
from kiosk.rules import reasons as made
from kiosk.session import wording
from kiosk.session.i18n import Translator, load_translators

TRANSLATORS = load_translators(("en", "es", "fr"))
DUE = Due.end_of(date(2026, 12, 7))
SHORT_LOAN = Due.at_time(datetime(2026, 12, 7, 16, 30))
BINS = SortingBins()
ADA = PatronSession("P-ADA", "Ada", "STUDENT")


def _identify(answer: Identification) -> Callable[[Translator], str]:
    return lambda tr: wording.identification(tr, answer).text


def _checkout(answer: CheckoutAnswer) -> Callable[[Translator], str]:
    return lambda tr: wording.checkout_sentence(tr, answer)


def _renew(answer: RenewAnswer) -> Callable[[Translator], str]:
    return lambda tr: wording.renew_sentence(tr, answer)


def _return(answer: ReturnAnswer) -> Callable[[Translator], str]:
    return lambda tr: wording.return_sentence(tr, answer)


# (what kiosk circ says, in English)
SENTENCES: list[tuple[Callable[[Translator], str], str]] = [
    (_identify(Identification(IdentifyStatus.IDENTIFIED, ADA)), "Hello Ada"),
    (
        _identify(Identification(IdentifyStatus.UNKNOWN_CARD)),
        "We don't recognise this card. Please see a member of staff.",
    ),
    (_identify(Identification(IdentifyStatus.PIN_NEEDED)), "Please enter your PIN."),
    (
        _identify(Identification(IdentifyStatus.WRONG_PIN, attempts_left=1)),
        "That PIN is not right. Please try again (1 try left).",
    ),
    (
        _identify(Identification(IdentifyStatus.WRONG_PIN, attempts_left=3)),
        "That PIN is not right. Please try again (3 tries left).",
    ),
    (
        _identify(
            Identification(IdentifyStatus.LOCKED, locked_until=datetime(2026, 11, 20, 10, 15))
        ),
        "Too many wrong PINs: this card is locked on this kiosk until 10:15. "
        "Please see a member of staff.",
    ),
    (
        _identify(Identification(IdentifyStatus.NO_PIN_SET)),
        "Your card has no PIN yet. Please ask at the desk to set one.",
    ),
    (
        lambda tr: " ".join(
            wording.notice_sentences(
                tr, PatronSession("P-DOT", "Dot", "ADULT", date(2026, 10, 31), barred=True)
            )
        ),
        "Your membership ended on 31 October 2026. You can see your account and return "
        "items; please renew at the desk to borrow. Your card can't be used to borrow at "
        "the moment. Please see a member of staff.",
    ),
    (
        _checkout(CheckoutAnswer(CheckoutStatus.LENT, "3001", "The Hobbit", due=DUE)),
        "Due back by 7 December 2026.",
    ),
    (
        _checkout(CheckoutAnswer(CheckoutStatus.LENT, "3001", "The Hobbit", due=SHORT_LOAN)),
        "Due back by 16:30 on 7 December 2026.",
    ),
    (
        _checkout(CheckoutAnswer(CheckoutStatus.ALREADY_YOURS, "3001", "The Hobbit", due=DUE)),
        "This item is already on your card, due back by 7 December 2026.",
    ),
    (
        _checkout(
            CheckoutAnswer(
                CheckoutStatus.REFUSED,
                "3001",
                "The Hobbit",
                refusals=(made.member_type_quota(4, "Student"), made.fines_owed("12.50", "10.00")),
            )
        ),
        "You already have 4 items, the most a Student may borrow. You owe 12.50, which is "
        "more than the 10.00 you may owe and still borrow. Please pay at the desk.",
    ),
    (
        _checkout(CheckoutAnswer(CheckoutStatus.UNKNOWN_ITEM, "3999", "")),
        "We don't know this item. Please take it to the desk.",
    ),
    (
        _renew(RenewAnswer(RenewStatus.RENEWED, "3001", "The Hobbit", due=DUE)),
        "Renewed: now due back by 7 December 2026.",
    ),
    (
        _renew(
            RenewAnswer(RenewStatus.RENEWED, "3001", "The Hobbit", due=DUE, fine=Decimal("4.00"))
        ),
        "Renewed: now due back by 7 December 2026. "
        "A fine of 4.00 for the days it was late has been added.",
    ),
    (
        _renew(
            RenewAnswer(
                RenewStatus.REFUSED, "3001", "The Hobbit", refusals=(made.renewal_limit(2),)
            )
        ),
        "This item can't be renewed again: it has been renewed the most times allowed (2).",
    ),
    (
        _renew(RenewAnswer(RenewStatus.NOT_YOUR_LOAN, "3001", "The Hobbit")),
        "This item is not on your card.",
    ),
    (
        _return(ReturnAnswer(ReturnStatus.RETURNED, "3001", "The Hobbit", BINS.shelf)),
        "Thank you. Please put it in bin 2.",
    ),
    (
        _return(
            ReturnAnswer(
                ReturnStatus.RETURNED,
                "3001",
                "The Hobbit",
                BINS.hold_shelf,
                fine=Decimal("0.40"),
                overdue_days=1,
            )
        ),
        "Thank you. This item was 1 day late: a fine of 0.40 has been added to your "
        "account. Please put it in bin 1.",
    ),
    (
        _return(
            ReturnAnswer(
                ReturnStatus.RETURNED,
                "3001",
                "The Hobbit",
                BINS.shelf,
                fine=Decimal("4.00"),
                overdue_days=10,
            )
        ),
        "Thank you. This item was 10 days late: a fine of 4.00 has been added to your "
        "account. Please put it in bin 2.",
    ),
    (
        _return(ReturnAnswer(ReturnStatus.ALREADY_RETURNED, "3001", "The Hobbit", BINS.shelf)),
        "Thank you, this item is already returned. Please put it in bin 2.",
    ),
    (
        _return(ReturnAnswer(ReturnStatus.NOT_ON_LOAN, "3001", "The Hobbit", BINS.staff)),
        "Thank you. Please put this item in the staff bin.",
    ),
    (
        _return(ReturnAnswer(ReturnStatus.UNKNOWN_ITEM, "3999", "", BINS.staff)),
        "Thank you. Please put this item in the staff bin.",
    ),
    (
        wording.out_of_service_sentence,
        "This kiosk is out of service. Please see a member of staff.",
    ),
]


@pytest.mark.parametrize(
    ("say", "english"),
    SENTENCES,
    # Names, not reprs: a function's repr holds its address, which differs between
    # processes, and pytest-xdist's workers must collect the same test ids.
    ids=lambda v: v[:50] if isinstance(v, str) else v.__qualname__,
)
@pytest.mark.parametrize("code", ["en", "es", "fr"])
def test_each_answer_is_one_whole_sentence_in_each_language(
    say: Callable[[Translator], str], english: str, code: str
) -> None:
    assert say(TRANSLATORS["en"]) == english
    said = say(TRANSLATORS[code])
    assert not re.search(r"[{}]", said), said  # every placeholder filled
    if code != "en":
        assert said != english  # translated, not left in English
        for number in re.findall(r"\d+", english):  # figures, dates and times kept
            assert number in said, (number, said)


SHARED: list[tuple[Callable[[Translator, Any], str], Callable[[Translator, Any], str], Any]] = [
    (
        wording.checkout_sentence,
        lambda tr, a: wording.checkout_line(tr, a).detail,
        CheckoutAnswer(CheckoutStatus.LENT, "3001", "The Hobbit", due=DUE),
    ),
    (
        wording.checkout_sentence,
        lambda tr, a: wording.checkout_line(tr, a).detail,
        CheckoutAnswer(CheckoutStatus.ALREADY_YOURS, "3001", "The Hobbit", due=DUE),
    ),
    (
        wording.checkout_sentence,
        lambda tr, a: wording.checkout_line(tr, a).detail,
        CheckoutAnswer(
            CheckoutStatus.REFUSED, "3001", "", refusals=(made.item_unavailable("lost"),)
        ),
    ),
    (
        wording.renew_sentence,
        lambda tr, a: wording.renew_line(tr, a).detail,
        RenewAnswer(RenewStatus.RENEWED, "3001", "The Hobbit", due=DUE),
    ),
    (
        wording.renew_sentence,
        lambda tr, a: wording.renew_line(tr, a).detail,
        RenewAnswer(RenewStatus.NOT_YOUR_LOAN, "3001", "The Hobbit"),
    ),
]


@pytest.mark.parametrize(("terminal", "screen", "answer"), SHARED)
@pytest.mark.parametrize("code", ["en", "es", "fr"])
def test_kiosk_circ_and_the_screens_say_the_same_answer_in_the_same_words(
    terminal: Callable[[Translator, Any], str],
    screen: Callable[[Translator, Any], str],
    answer: Any,
    code: str,
) -> None:
    tr = TRANSLATORS[code]
    assert terminal(tr, answer) == screen(tr, answer)
