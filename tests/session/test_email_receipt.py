"""A receipt by email (issue 17, item 3): offered on the Finish screen only to a patron
the library can email (the mirror's yes or no, never an address), journaled as a request
naming the patron and the session's entries, for the server to send."""

from __future__ import annotations

from kiosk.session.viewdata import FinishView, Screen
from kiosk.store import outbox
from kiosk.store.store import Store
from kiosk.sync.protocol import WireEntry, receipt_items
from tests.circulation.library import ADA, BEN, CARDS, FICTION

from .conftest import Kiosk


def finish_buttons(kiosk: Kiosk) -> list[str]:
    view = kiosk.frame.view
    assert isinstance(view, FinishView)
    return [button.id for button in view.actions]


def test_a_patron_with_an_email_asks_for_the_receipt(kiosk: Kiosk, store: Store) -> None:
    kiosk.sign_in(CARDS[BEN]).scan(FICTION[0]).press("done")
    assert finish_buttons(kiosk) == ["print_receipt", "email_receipt", "no_receipt"]
    assert kiosk.says("Email me a receipt")
    kiosk.press("email_receipt")
    assert kiosk.screen() is Screen.WELCOME
    assert kiosk.says("Your receipt will be emailed to you. Goodbye!")
    assert kiosk.receipts.printed == []
    checkout, receipt = outbox.entries(store)
    assert (receipt.kind, receipt.patron_id, receipt.item_barcode) == ("receipt", BEN, "")
    assert receipt.details["entries"] == [checkout.id]
    wire = WireEntry.model_validate(receipt, from_attributes=True)
    [line] = receipt_items(wire)
    assert (line.action, line.title, line.due) == ("checkout", "The Hobbit", "2026-12-14")


def test_no_email_no_offer(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA]).scan(FICTION[0]).press("done")
    assert "email_receipt" not in finish_buttons(kiosk)


def test_nothing_borrowed_nothing_to_send(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[BEN]).press("done")
    assert "email_receipt" not in finish_buttons(kiosk)


def test_in_spanish_and_french(kiosk: Kiosk) -> None:
    for language, book, offer, goodbye in (
        ("es", FICTION[1], "Enviarme el recibo por correo", "Le enviaremos el recibo"),
        ("fr", FICTION[2], "Recevoir le ticket par e-mail", "Votre ticket vous sera envoyé"),
    ):
        kiosk.press(f"lang_{language}").sign_in(CARDS[BEN]).scan(book).press("done")
        assert kiosk.says(offer), kiosk.texts()
        kiosk.press("email_receipt")
        assert kiosk.says(goodbye)
