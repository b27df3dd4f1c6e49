"""Every flow of the patron's kiosk, through the view data, on a real data directory."""

from __future__ import annotations

import pytest

from kiosk.common.clock import FixedClock
from kiosk.devices.codes import ScanPipeline
from kiosk.devices.settings import BarcodeSettings
from kiosk.session.flow import UnknownButton
from kiosk.session.ports import Health
from kiosk.session.viewdata import (
    AccountView,
    CheckoutView,
    DropView,
    FinishView,
    PinView,
    Screen,
    Sound,
    StaffView,
    Tone,
)
from kiosk.store.store import Store
from tests.circulation.library import (
    ADA,
    BEN,
    BEN_OVERDUE,
    CAL,
    CARDS,
    DOT,
    EVE,
    FICTION,
    HELD_FOR_BEN,
    LOST_ITEM,
    NONFICTION,
    WANTED_BY_ADA,
)

from .conftest import STAFF_CARD, STAFF_PIN, Kiosk


def checkout_lines(kiosk: Kiosk) -> list[tuple[str, str, Tone]]:
    view = kiosk.frame.view
    assert isinstance(view, CheckoutView)
    return [(line.title, line.detail, line.tone) for line in view.lines]


def assert_refused(kiosk: Kiosk, barcode: str, message: str) -> None:
    kiosk.scan(barcode)
    title, detail, tone = checkout_lines(kiosk)[0]
    assert (detail, tone) == (message, Tone.ERROR), title
    assert kiosk.frame.sound is Sound.ERROR


# --- signing in -----------------------------------------------------------------------


def test_a_card_then_the_pin_greets_the_patron_by_first_name_only(kiosk: Kiosk) -> None:
    assert kiosk.screen() == Screen.WELCOME
    assert kiosk.says("Scan your library card to borrow")
    assert kiosk.says("Returning? Just scan the book.")
    kiosk.scan(CARDS[ADA])
    assert kiosk.screen() == Screen.PIN
    kiosk.press("digit_2", "digit_4")
    view = kiosk.frame.view
    assert isinstance(view, PinView)
    assert view.masked == "● ●"  # digits never shown
    kiosk.press("pin_clear")
    kiosk.pin("2468")
    assert kiosk.screen() == Screen.CHECKOUT
    assert kiosk.frame.sound is Sound.SUCCESS
    assert kiosk.says("Hello Ada")
    assert not any(CARDS[ADA] in text or "2468" in text for text in kiosk.texts())


def test_a_pin_typed_on_the_keyboard_and_entered_signs_in(kiosk: Kiosk) -> None:
    kiosk.scan(CARDS[ADA]).scan("2468")
    assert kiosk.screen() == Screen.CHECKOUT


def test_wrong_pins_count_down_then_lock_the_card(kiosk: Kiosk) -> None:
    kiosk.scan(CARDS[ADA])
    for left in (4, 3, 2):
        kiosk.pin("1111")
        assert kiosk.screen() == Screen.PIN
        assert kiosk.says(f"That PIN is not right. Please try again ({left} tries left).")
    kiosk.pin("1111")
    assert kiosk.says("That PIN is not right. Please try again (1 try left).")
    kiosk.pin("1111")
    assert kiosk.screen() == Screen.WELCOME
    assert kiosk.says("this card is locked on this kiosk until 10:15")
    kiosk.scan(CARDS[ADA])
    assert kiosk.says("locked on this kiosk until 10:15")  # the right PIN is not even asked


def test_cards_need_no_pin_where_the_config_says_so(store: Store, clock: FixedClock) -> None:
    kiosk = Kiosk(store, clock, pin_required=False)
    kiosk.scan(CARDS[EVE])  # no PIN set, and none needed
    assert kiosk.screen() == Screen.CHECKOUT
    assert kiosk.says("Hello Eve")


def test_an_empty_pin_asks_for_one(kiosk: Kiosk) -> None:
    kiosk.scan(CARDS[ADA]).press("pin_ok")
    assert (kiosk.screen(), kiosk.says("Please enter your PIN.")) == (Screen.PIN, True)


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ("21111111111111", "We don't recognise this card. Please see a member of staff."),
        (CARDS[EVE], "Your card has no PIN yet. Please ask at the desk to set one."),
    ],
)
def test_cards_that_cannot_sign_in_are_answered_on_the_welcome_screen(
    kiosk: Kiosk, card: str, message: str
) -> None:
    kiosk.scan(card)
    assert (kiosk.screen(), kiosk.says(message), kiosk.frame.sound) == (
        Screen.WELCOME,
        True,
        Sound.ERROR,
    )


def test_barred_and_expired_patrons_are_told_at_once(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[CAL])
    assert kiosk.says("Your card can't be used to borrow at the moment.")
    assert_refused(
        kiosk,
        FICTION[0],
        "Your card can't be used to borrow at the moment. Please see a member of staff.",
    )
    kiosk.sign_in(CARDS[DOT])  # a new card: Cal's session ends
    assert not kiosk.says("Cal")
    assert kiosk.says("Your membership ended on 31 October 2026.")


def test_a_check_digit_that_fails_is_answered_and_nothing_happens(
    store: Store, clock: FixedClock
) -> None:
    kiosk = Kiosk(store, clock)
    # The library's own check digit (Luhn), which the other tests' barcodes do not carry.
    kiosk.pipeline = ScanPipeline(BarcodeSettings(debounce_seconds=0), clock.now)
    kiosk.scan("21000000000012")  # the last digit is wrong
    assert kiosk.screen() == Screen.WELCOME
    assert kiosk.says("That barcode didn't scan properly. Please try again.")


# --- checkout -------------------------------------------------------------------------


def test_each_item_shows_its_title_and_due_date_newest_first(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA]).scan(FICTION[0]).scan(NONFICTION[0])
    assert checkout_lines(kiosk) == [
        ("A Brief History of Time", "Due back by 7 December 2026.", Tone.SUCCESS),
        ("The Hobbit", "Due back by 7 December 2026.", Tone.SUCCESS),
    ]
    assert kiosk.says("You have borrowed 2 items. Scan the next one, or press Done.")
    kiosk.scan(FICTION[0])
    assert checkout_lines(kiosk)[0][1:] == (
        "This item is already on your card, due back by 7 December 2026.",
        Tone.NOTICE,
    )


def test_the_student_quota_refusal_is_said_in_plain_words(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA])
    for barcode in (NONFICTION[0], NONFICTION[1], FICTION[0], FICTION[1]):
        kiosk.scan(barcode)
    assert_refused(kiosk, FICTION[2], "You already have 4 items, the most a Student may borrow.")


def test_unknown_lost_and_held_items_are_refused_with_their_reasons(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA])
    kiosk.scan("31234567890123")
    assert checkout_lines(kiosk)[0] == (
        "We don't know this item",
        "Please take it to the desk.",
        Tone.ERROR,
    )
    kiosk.scan(LOST_ITEM)
    assert "recorded as lost" in checkout_lines(kiosk)[0][1]
    kiosk.scan(HELD_FOR_BEN)
    assert checkout_lines(kiosk)[0][2] is Tone.ERROR


def test_a_patron_collects_the_hold_waiting_for_them(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[BEN]).scan(HELD_FOR_BEN)
    assert checkout_lines(kiosk)[0][1] == (
        "Due back by 14 December 2026. You had reserved this item."
    )


# --- account and renewals -----------------------------------------------------------


def test_the_account_shows_loans_overdue_marks_money_and_holds(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[BEN]).press("account")
    view = kiosk.frame.view
    assert isinstance(view, AccountView)
    assert view.owed == "You owe £1.50."
    sections = dict(view.sections)
    loans = sections["2 items on loan"]
    overdue = [line for line in loans if line.tone is Tone.ERROR]
    assert [line.detail for line in overdue] == ["Overdue: it was due by 13 November 2026."]
    assert [line.title for line in sections["Ready to collect"]] == ["The Hobbit"]
    assert all(line.action is not None for line in loans)
    kiosk.press("back")
    assert kiosk.screen() == Screen.CHECKOUT


def test_holds_waiting_show_the_place_in_the_queue(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA]).press("account")
    view = kiosk.frame.view
    assert isinstance(view, AccountView)
    sections = dict(view.sections)
    assert [(line.title, line.detail) for line in sections["Reserved for you"]] == [
        ("The Hobbit", "You are number 1 in the queue.")
    ]
    assert kiosk.says("You owe nothing.")
    assert "renew_all" not in kiosk.flow.buttons()  # nothing on loan to renew


def test_renewing_one_item_and_all_items(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA]).scan(FICTION[0]).scan(NONFICTION[0]).press("account")
    kiosk.press("renew_1")
    view = kiosk.frame.view
    assert isinstance(view, AccountView)
    details = [line.detail for _, lines in view.sections for line in lines]
    assert any(detail.startswith("Renewed: now due back by") for detail in details)
    kiosk.press("renew_all")
    details = [line.detail for _, lines in kiosk.frame.view.sections for line in lines]  # type: ignore[union-attr]
    assert len([d for d in details if d.startswith("Renewed")]) == 2


def test_a_refused_renewal_says_why(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[BEN]).press("account")
    loans = dict(kiosk.frame.view.sections)["2 items on loan"]  # type: ignore[union-attr]
    wanted = next(n for n, line in enumerate(loans, 1) if line.title == "The Hobbit")
    kiosk.press(f"renew_{wanted}")
    line = dict(kiosk.frame.view.sections)["2 items on loan"][wanted - 1]  # type: ignore[union-attr]
    assert line.tone is Tone.ERROR
    assert kiosk.frame.sound is Sound.ERROR
    assert line.detail  # the rules' reason, in words


# --- finishing ----------------------------------------------------------------------


def test_done_sums_up_and_prints_a_receipt_without_the_card_number(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA]).scan(FICTION[0]).press("done")
    view = kiosk.frame.view
    assert isinstance(view, FinishView)
    assert view.summary == "You borrowed 1 item today."
    kiosk.press("print_receipt")
    [receipt] = kiosk.receipts.printed
    heading, lines = receipt.heading, receipt.lines
    assert heading == "Papyrus Library"
    assert "The Hobbit" in lines
    assert "  Due back by 7 December 2026." in lines
    assert not any(CARDS[ADA] in line for line in lines)
    assert kiosk.screen() == Screen.WELCOME
    assert kiosk.says("Your receipt is printing. Goodbye!")
    assert not kiosk.says("Ada")


def test_a_broken_printer_is_explained_and_no_printer_means_no_print_button(
    kiosk: Kiosk,
) -> None:
    kiosk.receipts.works = False
    kiosk.sign_in(CARDS[ADA]).scan(FICTION[0]).press("done", "print_receipt")
    assert kiosk.says("Sorry, the receipt printer is not working.")
    kiosk.receipts.available = False
    kiosk.sign_in(CARDS[ADA]).press("done")
    assert "print_receipt" not in kiosk.flow.buttons()
    assert kiosk.says("You didn't borrow anything this time.")
    kiosk.press("no_receipt")
    assert kiosk.says("Thank you. Goodbye!")


# --- the drop station -----------------------------------------------------------------


def test_an_overdue_return_shows_the_fine_and_the_bin(kiosk: Kiosk) -> None:
    kiosk.scan(BEN_OVERDUE)
    view = kiosk.frame.view
    assert isinstance(view, DropView)
    assert (view.heading, view.title) == ("Thank you", "A Brief History of Time")
    assert view.fine == (
        "This item was 10 days late. A fine of £4.00 has been added to your account."
    )
    assert (view.bin_number, view.bin_label, view.bin_colour) == ("2", "Shelf", "green")
    assert view.instruction == "Please put it in bin 2, the green one."


def test_a_return_wanted_by_another_goes_to_the_hold_shelf_bin(kiosk: Kiosk) -> None:
    kiosk.scan(WANTED_BY_ADA)
    view = kiosk.frame.view
    assert isinstance(view, DropView)
    assert (view.bin_number, view.bin_label, view.fine) == ("1", "Hold shelf", "")
    kiosk.scan(WANTED_BY_ADA)
    assert kiosk.says("Thank you, this item is already returned")


def test_an_unknown_return_goes_to_the_staff_bin(kiosk: Kiosk) -> None:
    kiosk.scan("31234567890123")
    assert kiosk.says("Please put this item in the staff bin, number 3.")


def test_the_drop_answer_clears_itself_for_the_next_person(kiosk: Kiosk) -> None:
    kiosk.scan(BEN_OVERDUE).idle(10)
    assert kiosk.screen() == Screen.WELCOME
    assert not kiosk.says("A Brief History of Time")


def test_a_returns_station_does_not_lend(store: Store, clock: FixedClock) -> None:
    kiosk = Kiosk(store, clock, mode="return")
    assert kiosk.says("Scan a book to return it")
    kiosk.scan(CARDS[ADA])
    assert kiosk.says("This is a returns station. To borrow, please use a checkout kiosk.")
    kiosk.scan(BEN_OVERDUE)
    assert kiosk.screen() == Screen.DROP


def test_a_checkout_only_kiosk_asks_for_the_card_first(store: Store, clock: FixedClock) -> None:
    kiosk = Kiosk(store, clock, mode="checkout")
    assert not kiosk.says("Returning?")
    kiosk.scan(BEN_OVERDUE)
    assert (kiosk.screen(), kiosk.says("Please scan your library card first.")) == (
        Screen.WELCOME,
        True,
    )


# --- inactivity ---------------------------------------------------------------------------


def test_inactivity_warns_then_ends_the_session_leaving_no_patron_text(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[BEN]).scan(FICTION[0]).press("account")
    kiosk.idle(59)
    assert kiosk.frame.warning is None
    kiosk.idle(1)
    warning = kiosk.frame.warning
    assert warning is not None
    assert warning.body == "For your privacy, this session ends in 15 seconds."
    kiosk.press("still_here")
    assert kiosk.frame.warning is None
    kiosk.idle(60).idle(15)
    assert kiosk.screen() == Screen.WELCOME
    texts = " ".join(kiosk.texts())
    for private in ("Ben", "Hobbit", "History", "owe", CARDS[BEN]):
        assert private not in texts


def test_language_choice_lasts_for_the_session_only(kiosk: Kiosk) -> None:
    kiosk.press("lang_es")
    assert kiosk.frame.language == "es"
    assert not kiosk.says("Scan your library card to borrow")
    kiosk.sign_in(CARDS[ADA]).scan(FICTION[0])
    assert checkout_lines(kiosk)[0][1] == "Fecha de devolución: 7 de diciembre de 2026."
    kiosk.press("done", "no_receipt")
    assert kiosk.frame.language == "en"


def test_french_words_the_quota_refusal(kiosk: Kiosk) -> None:
    kiosk.press("lang_fr").sign_in(CARDS[ADA])
    for barcode in (NONFICTION[0], NONFICTION[1], FICTION[0], FICTION[1]):
        kiosk.scan(barcode)
    kiosk.scan(FICTION[2])
    detail = checkout_lines(kiosk)[0][1]
    assert "4" in detail
    assert "Student" in detail
    assert "You already" not in detail


def test_high_contrast_and_larger_text_are_the_patrons_choice(kiosk: Kiosk) -> None:
    kiosk.press("contrast", "larger_text")
    assert (kiosk.frame.look.theme, kiosk.frame.look.large_text) == ("high_contrast", True)
    assert kiosk.says("Standard colours")
    kiosk.sign_in(CARDS[ADA]).press("done", "no_receipt")
    assert (kiosk.frame.look.theme, kiosk.frame.look.large_text) == ("standard", False)


def test_help_and_back_return_where_the_patron_was(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA]).press("help")
    assert (kiosk.screen(), kiosk.says("Please ask a member of staff")) == (Screen.HELP, True)
    kiosk.press("back")
    assert kiosk.screen() == Screen.CHECKOUT


def test_a_button_not_on_the_screen_is_refused_by_name(kiosk: Kiosk) -> None:
    with pytest.raises(UnknownButton, match="no button 'renew_all' on the welcome screen"):
        kiosk.press("renew_all")


# --- out of service --------------------------------------------------------------------


def test_out_of_service_ends_the_session_and_recovers_by_itself(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA])
    kiosk.health = Health("clock_untrusted")
    kiosk.idle(5)
    assert kiosk.screen() == Screen.OUT_OF_SERVICE
    assert kiosk.says("cannot work out due dates")
    assert not kiosk.says("Ada")
    kiosk.scan(FICTION[0])
    assert kiosk.screen() == Screen.OUT_OF_SERVICE  # scans wait for recovery
    kiosk.health = Health()
    kiosk.idle(5)
    assert kiosk.screen() == Screen.WELCOME


def test_a_first_load_shows_its_progress(kiosk: Kiosk) -> None:
    kiosk.health = Health("mirror_empty", 45)
    kiosk.idle(5)
    assert kiosk.says("The library's records have not arrived at this kiosk yet. Loading: 45 %")


def test_an_unusable_store_found_by_a_scan_goes_out_of_service(
    kiosk: Kiosk, clock: FixedClock
) -> None:
    kiosk.sign_in(CARDS[ADA])
    clock.set(clock.now().replace(year=2025))  # before anything the journal holds
    kiosk.scan(FICTION[0])
    assert kiosk.screen() == Screen.OUT_OF_SERVICE


# --- staff --------------------------------------------------------------------------------


def test_staff_mode_status_sync_scanner_test_and_full_screen(kiosk: Kiosk) -> None:
    kiosk.scan(STAFF_CARD)
    assert kiosk.says("Staff PIN")
    kiosk.pin(STAFF_PIN)
    view = kiosk.frame.view
    assert isinstance(view, StaffView)
    assert ("Journal waiting to send", "0") in view.rows
    assert view.faults == ("a fault",)
    kiosk.press("sync_now")
    assert kiosk.synced == 1
    kiosk.press("scanner_test").scan(FICTION[0])
    assert kiosk.says("item …0001 from test")
    assert kiosk.screen() == Screen.STAFF  # a test scan lends nothing
    kiosk.press("exit_fullscreen")
    assert kiosk.frame.fullscreen is False
    kiosk.press("quit")
    assert kiosk.quit == 1
    kiosk.press("close_staff")
    assert kiosk.screen() == Screen.WELCOME


def test_wrong_staff_pins_lock_staff_mode(kiosk: Kiosk) -> None:
    kiosk.scan(STAFF_CARD)
    for _ in range(4):
        kiosk.pin("0000")
        assert kiosk.says("That PIN is not right.")
    kiosk.pin("0000")
    assert kiosk.screen() == Screen.WELCOME
    kiosk.scan(STAFF_CARD).pin(STAFF_PIN)
    assert kiosk.says("Staff mode is locked for a while.")


def test_after_an_unexpected_error_the_kiosk_starts_afresh_and_says_so(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA]).scan(FICTION[0])
    kiosk.flow.fail_safe()
    assert kiosk.screen() == Screen.WELCOME
    assert kiosk.says("Sorry, something went wrong. Please try again, or see a member of staff.")
    assert not kiosk.says("Ada")
    assert kiosk.frame.sound is Sound.ERROR


def test_an_items_status_in_a_refusal_is_in_the_patrons_language(kiosk: Kiosk) -> None:
    kiosk.press("lang_es").sign_in(CARDS[BEN]).scan(LOST_ITEM)
    detail = checkout_lines(kiosk)[0][1]
    assert "perdido" in detail
    assert "lost" not in detail
