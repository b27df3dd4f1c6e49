"""Place a hold at the kiosk (issue 17, item 6): a copy refused because it waits for
someone else, or cannot be lent now, offers a hold on its title (``place_hold``); one
tap journals it for the server. Its refusals, without a window."""

from __future__ import annotations

import pytest

from kiosk.circulation.service import Circulation
from kiosk.circulation.views import HoldStatus, PatronSession, Unavailable
from kiosk.common.clock import FixedClock
from kiosk.session import wording
from kiosk.session.viewdata import AccountView, CheckoutView, Line, Sound, Tone
from kiosk.store import loading, outbox
from kiosk.store.store import Store
from tests.circulation.library import (
    ADA,
    BEN,
    CAL,
    CARDS,
    DOT,
    FAY,
    FICTION,
    HELD_FOR_BEN,
    LOST_ITEM,
    TEXTBOOK,
    WANTED_BY_ADA,
)

from .conftest import Kiosk


def lines(kiosk: Kiosk) -> list[Line]:
    view = kiosk.frame.view
    assert isinstance(view, CheckoutView)
    return list(view.lines)


def holds_journaled(store: Store) -> list[dict[str, object]]:
    return [
        {"patron": entry.patron_id, "barcode": entry.item_barcode, **entry.details}
        for entry in outbox.entries(store)
        if entry.kind == "hold"
    ]


def test_a_copy_kept_for_someone_else_offers_a_hold_on_its_title(
    kiosk: Kiosk, store: Store
) -> None:
    kiosk.sign_in(CARDS[FAY]).scan(HELD_FOR_BEN)
    refused = lines(kiosk)[0]
    assert refused.tone is Tone.ERROR
    assert refused.detail.startswith("This item is reserved for another member.")
    assert refused.action is not None
    assert (refused.action.id, refused.action.label) == ("place_hold", "Place a hold on this title")
    kiosk.press("place_hold")
    placed = lines(kiosk)[0]
    assert (placed.title, placed.tone) == ("The Hobbit", Tone.SUCCESS)
    assert placed.detail == "Your hold is placed. We will tell you when a copy is ready for you."
    assert kiosk.frame.sound is Sound.SUCCESS
    assert "place_hold" not in kiosk.flow.buttons()
    # Journaled once, naming the patron and no item: the record, the copy, no pickup
    # (this kiosk stands in no branch: the server's default).
    assert holds_journaled(store) == [
        {"patron": FAY, "barcode": "", "brn": 1, "item": HELD_FOR_BEN, "pickup": None}
    ]
    # The account shows it waiting before the server has it.
    kiosk.press("account")
    view = kiosk.frame.view
    assert isinstance(view, AccountView)
    assert any(
        line.title == "The Hobbit" and line.detail.startswith("Your hold is placed")
        for _, section in view.sections
        for line in section
    )
    # Scanned again: refused, and no second hold is offered.
    kiosk.press("back").scan(HELD_FOR_BEN)
    assert "place_hold" not in kiosk.flow.buttons()


def test_a_copy_on_loan_to_someone_else_offers_a_hold_too(kiosk: Kiosk, store: Store) -> None:
    # The copy Ben has (and Ada waits for), in Fay's hands: refused, its title held.
    kiosk.sign_in(CARDS[FAY]).scan(WANTED_BY_ADA).press("place_hold")
    assert lines(kiosk)[0].tone is Tone.SUCCESS
    assert len(holds_journaled(store)) == 1


@pytest.mark.parametrize(
    ("who", "barcode"),
    [
        (ADA, HELD_FOR_BEN),  # waiting for a copy of the title already
        (CAL, HELD_FOR_BEN),  # barred
        (DOT, HELD_FOR_BEN),  # membership ended
        (FAY, TEXTBOOK),  # refused for a privilege, not for someone else
        (FAY, LOST_ITEM),  # lost: no hold through a copy that is not coming back
    ],
)
def test_no_hold_is_offered_where_it_would_be_refused(kiosk: Kiosk, who: str, barcode: str) -> None:
    kiosk.sign_in(CARDS[who]).scan(barcode)
    assert lines(kiosk)[0].tone is Tone.ERROR
    assert lines(kiosk)[0].action is None
    assert "place_hold" not in kiosk.flow.buttons()


def keep_textbook_for_ada(store: Store, how: str) -> None:
    """The textbook waits for Ada on the hold shelf, or is lent to her: an adult (who may
    borrow no textbook) is refused it for that and for the privilege alike."""
    with store.mirror.begin() as connection:
        if how == "kept":
            loading.put_holds(
                connection,
                [
                    {
                        "item_barcode": TEXTBOOK,
                        "patron_id": ADA,
                        "position": 1,
                        "ready": True,
                        "title": "Algebra 1",
                    }
                ],
            )
        else:
            loading.put_loans(
                connection,
                [
                    {
                        "item_barcode": TEXTBOOK,
                        "patron_id": ADA,
                        "member_type": "STUDENT",
                        "due": "2026-12-01",
                        "renewals": 0,
                    }
                ],
            )


@pytest.mark.parametrize(
    ("how", "reasons"),
    [
        ("kept", ["on_hold_for_other", "no_privilege"]),
        ("lent", ["item_unavailable", "no_privilege"]),
    ],
)
def test_no_hold_is_offered_on_a_copy_waited_for_by_another_that_the_patron_may_not_borrow(
    kiosk: Kiosk, store: Store, clock: FixedClock, how: str, reasons: list[str]
) -> None:
    keep_textbook_for_ada(store, how)
    circulation = Circulation(store, clock)
    refused = circulation.checkout(session_of(circulation, FAY), TEXTBOOK)
    assert not isinstance(refused, Unavailable)
    assert [refusal.reason.value for refusal in refused.refusals] == reasons
    assert refused.hold_offered is False
    kiosk.sign_in(CARDS[FAY]).scan(TEXTBOOK)
    assert lines(kiosk)[0].tone is Tone.ERROR
    assert lines(kiosk)[0].action is None
    assert "place_hold" not in kiosk.flow.buttons()
    # Asked for all the same (a stale screen, a script): refused, in the rules' words.
    answer = circulation.place_hold(session_of(circulation, FAY), TEXTBOOK)
    assert not isinstance(answer, Unavailable)
    assert answer.status is HoldStatus.NOT_LENDABLE
    assert [refusal.reason.value for refusal in answer.refusals] == ["no_privilege"]
    assert answer.entry_id is None
    assert (
        wording.hold_sentence(kiosk.flow.tr, answer)
        == "Adult members can't borrow Text Book items."
    )
    assert holds_journaled(store) == []


def test_no_hold_is_offered_to_a_patron_with_a_copy_of_the_title(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[FAY]).scan(FICTION[0]).scan(HELD_FOR_BEN)
    assert "place_hold" not in kiosk.flow.buttons()


def test_the_offer_goes_with_the_next_scan(kiosk: Kiosk, store: Store) -> None:
    kiosk.sign_in(CARDS[FAY]).scan(HELD_FOR_BEN).scan(FICTION[1])
    assert "place_hold" not in kiosk.flow.buttons()
    assert all(line.action is None for line in lines(kiosk))
    assert holds_journaled(store) == []


def session_of(circulation: Circulation, patron: str) -> PatronSession:
    answer = circulation.identify(CARDS[patron], "2468")
    assert not isinstance(answer, Unavailable)
    assert answer.session is not None
    return answer.session


@pytest.mark.parametrize(
    ("who", "barcode", "status"),
    [
        (ADA, HELD_FOR_BEN, HoldStatus.WAITING),
        (CAL, HELD_FOR_BEN, HoldStatus.CARD),
        (DOT, HELD_FOR_BEN, HoldStatus.CARD),
        (FAY, LOST_ITEM, HoldStatus.UNHOLDABLE),
        (FAY, "39999999999999", HoldStatus.UNHOLDABLE),
        (BEN, FICTION[0], HoldStatus.ON_LOAN),  # Ben has the copy Ada waits for
        (FAY, TEXTBOOK, HoldStatus.NOT_LENDABLE),  # adults may borrow no textbook
    ],
)
def test_the_service_refuses_what_the_portal_refuses(
    store: Store, clock: FixedClock, who: str, barcode: str, status: HoldStatus
) -> None:
    circulation = Circulation(store, clock)
    answer = circulation.place_hold(session_of(circulation, who), barcode)
    assert not isinstance(answer, Unavailable)
    assert answer.status is status
    assert answer.entry_id is None
    assert holds_journaled(store) == []


def test_a_second_hold_on_the_title_here_is_refused(store: Store, clock: FixedClock) -> None:
    circulation = Circulation(store, clock)
    fay = session_of(circulation, FAY)
    first = circulation.place_hold(fay, HELD_FOR_BEN)
    assert not isinstance(first, Unavailable)
    assert first.status is HoldStatus.PLACED
    assert first.entry_id is not None
    again = circulation.place_hold(fay, FICTION[2])  # another copy of the same title
    assert not isinstance(again, Unavailable)
    assert again.status is HoldStatus.WAITING
    assert len(holds_journaled(store)) == 1


@pytest.mark.parametrize(
    ("language", "offer", "placed"),
    [
        ("es", "Reservar este título", "Su reserva está hecha."),
        ("fr", "Réserver ce titre", "Votre réservation est faite."),
    ],
)
def test_the_offer_and_the_answer_in_spanish_and_french(
    kiosk: Kiosk, language: str, offer: str, placed: str
) -> None:
    kiosk.press(f"lang_{language}").sign_in(CARDS[FAY]).scan(HELD_FOR_BEN)
    action = lines(kiosk)[0].action
    assert action is not None
    assert action.label == offer
    kiosk.press("place_hold")
    assert lines(kiosk)[0].detail.startswith(placed)
