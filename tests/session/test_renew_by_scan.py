"""Renew by scanning (issue 17): a patron who scans an item they already have is asked
whether to renew it, and one tap does it."""

from __future__ import annotations

from kiosk.session.viewdata import CheckoutView, Line, Sound, Tone
from tests.circulation.library import ADA, BEN, CARDS, FICTION, NONFICTION, WANTED_BY_ADA

from .conftest import Kiosk


def lines(kiosk: Kiosk) -> list[Line]:
    view = kiosk.frame.view
    assert isinstance(view, CheckoutView)
    return list(view.lines)


def test_an_item_scanned_again_is_renewed_with_one_tap(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA]).scan(FICTION[0]).scan(FICTION[0])
    offer = lines(kiosk)[0]
    assert offer.detail.startswith("This item is already on your card, due back by")
    assert offer.action is not None
    assert offer.action.id == "renew_scanned"
    kiosk.press("renew_scanned")
    renewed = lines(kiosk)[0]
    assert renewed.detail.startswith("Renewed: now due back by")
    assert renewed.tone is Tone.SUCCESS
    assert kiosk.frame.sound is Sound.SUCCESS
    assert "renew_scanned" not in kiosk.flow.buttons()
    # The renewal is on the receipt with the loan.
    kiosk.press("done")
    assert kiosk.says("Renewed: now due back by")


def test_the_offer_goes_with_the_next_scan(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA]).scan(FICTION[0]).scan(FICTION[0]).scan(NONFICTION[0])
    assert "renew_scanned" not in kiosk.flow.buttons()
    assert all(line.action is None for line in lines(kiosk))


def test_a_renewal_refused_says_why(kiosk: Kiosk) -> None:
    # Ada waits for the copy Ben has: his renewal is refused.
    kiosk.sign_in(CARDS[BEN]).scan(WANTED_BY_ADA).press("renew_scanned")
    refused = lines(kiosk)[0]
    assert refused.tone is Tone.ERROR
    assert refused.detail
    assert kiosk.frame.sound is Sound.ERROR
    assert "renew_scanned" not in kiosk.flow.buttons()
