"""The kiosk's use cases against a real data directory (real SQLite files)."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

import pytest

from kiosk.circulation.service import Circulation
from kiosk.circulation.views import (
    CheckoutStatus,
    IdentifyStatus,
    PatronSession,
    RenewStatus,
    ReturnStatus,
    Unavailable,
)
from kiosk.common.clock import FixedClock
from kiosk.rules import Due
from kiosk.session import wording
from kiosk.session.i18n import load_translators
from kiosk.store.store import Store

from .library import (
    ADA,
    BEN,
    BEN_OVERDUE,
    CARDS,
    DOT,
    DVD,
    EVE,
    FICTION,
    HELD_FOR_BEN,
    LOST_ITEM,
    NONFICTION,
    PIN,
    WANTED_BY_ADA,
)

Served = TypeVar("Served")

# The service answers with facts; these are the words kiosk circ gives them (the
# catalogs', in English). The screens' words are tested in tests/session.
EN = load_translators(("en",))["en"]


def served(result: Served | Unavailable) -> Served:
    """The answer of a kiosk that is in service."""
    assert not isinstance(result, Unavailable), result
    return result


def sign_in(circulation: Circulation, patron_id: str) -> PatronSession:
    identified = served(circulation.identify(CARDS[patron_id], PIN))
    assert identified.status is IdentifyStatus.IDENTIFIED, identified
    assert identified.session is not None
    return identified.session


def journal_rows(store: Store) -> list[tuple[str, str, str | None, str]]:
    """The journal as a fresh connection sees it: what survived, not what is cached."""
    with sqlite3.connect(store.directory / "journal.db") as connection:
        return connection.execute(
            "SELECT id, kind, patron_id, payload FROM entries ORDER BY seq"
        ).fetchall()


# --- identify -----------------------------------------------------------------------


def test_a_known_card_and_pin_open_a_session_greeting_by_first_name(
    circulation: Circulation,
) -> None:
    identified = served(circulation.identify(CARDS[ADA], PIN))
    assert identified.status is IdentifyStatus.IDENTIFIED
    assert wording.identification(EN, identified).text == "Hello Ada"
    assert identified.session == PatronSession(ADA, "Ada", "STUDENT")


def test_an_unknown_card_is_answered_plainly(circulation: Circulation) -> None:
    identified = served(circulation.identify("21999999999999", PIN))
    assert identified.status is IdentifyStatus.UNKNOWN_CARD
    assert identified.session is None
    assert "see a member of staff" in wording.identification(EN, identified).text


def test_a_card_asks_for_its_pin_before_anything_else(circulation: Circulation) -> None:
    identified = served(circulation.identify(CARDS[ADA], None))
    assert (identified.status, identified.session) == (IdentifyStatus.PIN_NEEDED, None)


def test_five_wrong_pins_lock_the_card_here_for_fifteen_minutes(
    circulation: Circulation, clock: FixedClock
) -> None:
    answers = [served(circulation.identify(CARDS[ADA], "0000")) for _ in range(5)]
    assert [a.attempts_left for a in answers[:4]] == [4, 3, 2, 1]
    assert all(a.status is IdentifyStatus.WRONG_PIN for a in answers[:4])
    assert answers[4].status is IdentifyStatus.LOCKED
    assert "until 10:15" in wording.identification(EN, answers[4]).text
    # Even the right PIN is refused while the card is locked ...
    assert served(circulation.identify(CARDS[ADA], PIN)).status is IdentifyStatus.LOCKED
    clock.advance(minutes=14, seconds=59)
    assert served(circulation.identify(CARDS[ADA], PIN)).status is IdentifyStatus.LOCKED
    # ... and accepted once the lock has run out, which also clears the count.
    clock.advance(seconds=1)
    assert served(circulation.identify(CARDS[ADA], PIN)).status is IdentifyStatus.IDENTIFIED
    assert served(circulation.identify(CARDS[ADA], "0000")).attempts_left == 4


def test_a_right_pin_clears_earlier_mistakes(circulation: Circulation) -> None:
    served(circulation.identify(CARDS[ADA], "0000"))
    served(circulation.identify(CARDS[ADA], "1111"))
    sign_in(circulation, ADA)
    assert served(circulation.identify(CARDS[ADA], "0000")).attempts_left == 4


def test_no_pin_is_stored_or_logged_in_clear(
    circulation: Circulation, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(5):
        served(circulation.identify(CARDS[ADA], "7777"))
    for name in ("mirror.db", "journal.db"):
        data = b"".join(path.read_bytes() for path in store.directory.glob(f"{name}*"))
        assert PIN.encode() not in data
        assert b"7777" not in data
    assert "7777" not in caplog.text
    assert CARDS[ADA] not in caplog.text


def test_a_card_without_a_pin_is_sent_to_the_desk(circulation: Circulation) -> None:
    identified = served(circulation.identify(CARDS[EVE], "1234"))
    assert identified.status is IdentifyStatus.NO_PIN_SET


def test_without_required_pins_a_card_alone_signs_in(store: Store, clock: FixedClock) -> None:
    circulation = Circulation(store, clock, pin_required=False)
    assert served(circulation.identify(CARDS[EVE], None)).status is IdentifyStatus.IDENTIFIED


def test_an_expired_member_is_told_at_once_and_cannot_borrow(circulation: Circulation) -> None:
    session = sign_in(circulation, DOT)
    assert (session.expired_on, session.barred) == (date(2026, 10, 31), False)
    assert wording.notice_sentences(EN, session) == (
        "Your membership ended on 31 October 2026. You can see your account and return "
        "items; please renew at the desk to borrow.",
    )
    view = served(circulation.checkout(session, FICTION[0]))
    assert view.status is CheckoutStatus.REFUSED
    assert [r.reason.value for r in view.refusals] == ["membership_expired"]


def test_a_barred_member_is_told_at_once(circulation: Circulation) -> None:
    session = sign_in(circulation, "P-CAL")
    assert session.barred
    assert "can't be used to borrow" in wording.notice_sentences(EN, session)[0]
    view = served(circulation.checkout(session, FICTION[0]))
    assert [r.reason.value for r in view.refusals] == ["patron_barred"]


# --- checkout -----------------------------------------------------------------------


def test_a_checkout_is_in_the_journal_before_it_is_shown(
    circulation: Circulation, store: Store
) -> None:
    view = served(circulation.checkout(sign_in(circulation, ADA), FICTION[0]))
    assert (view.status, view.title, wording.checkout_sentence(EN, view)) == (
        CheckoutStatus.LENT,
        "The Hobbit",
        "Due back by 7 December 2026.",
    )
    [(entry_id, kind, patron_id, payload)] = journal_rows(store)
    assert (entry_id, kind, patron_id) == (view.entry_id, "checkout", ADA)
    assert json.loads(payload)["due"] == "2026-12-07"
    assert CARDS[ADA] not in payload


def test_a_second_scan_of_the_same_item_lends_nothing_twice(
    circulation: Circulation, store: Store
) -> None:
    session = sign_in(circulation, ADA)
    served(circulation.checkout(session, FICTION[0]))
    again = served(circulation.checkout(session, FICTION[0]))
    assert again.status is CheckoutStatus.ALREADY_YOURS
    assert wording.checkout_sentence(EN, again) == (
        "This item is already on your card, due back by 7 December 2026."
    )
    assert len(journal_rows(store)) == 1


def test_an_item_just_lent_here_is_on_loan_before_the_server_knows(
    circulation: Circulation,
) -> None:
    served(circulation.checkout(sign_in(circulation, ADA), FICTION[0]))
    view = served(circulation.checkout(sign_in(circulation, BEN), FICTION[0]))
    assert [r.reason.value for r in view.refusals] == ["item_unavailable"]


def test_the_seed_student_quota_counts_loans_made_on_this_kiosk(circulation: Circulation) -> None:
    session = sign_in(circulation, ADA)
    for barcode in (NONFICTION[0], NONFICTION[1], FICTION[0], FICTION[1]):
        assert served(circulation.checkout(session, barcode)).status is CheckoutStatus.LENT
    view = served(circulation.checkout(session, FICTION[2]))
    assert view.status is CheckoutStatus.REFUSED
    assert wording.checkout_sentence(EN, view) == (
        "You already have 4 items, the most a Student may borrow."
    )


def test_an_unknown_item_is_sent_to_the_desk(circulation: Circulation, store: Store) -> None:
    view = served(circulation.checkout(sign_in(circulation, ADA), "31234567890123"))
    assert view.status is CheckoutStatus.UNKNOWN_ITEM
    assert journal_rows(store) == []


def test_a_lost_item_cannot_be_lent(circulation: Circulation) -> None:
    view = served(circulation.checkout(sign_in(circulation, BEN), LOST_ITEM))
    assert [r.reason.value for r in view.refusals] == ["item_unavailable"]
    assert "recorded as lost" in wording.checkout_sentence(EN, view)


def test_a_held_item_goes_only_to_its_patron_and_fulfils_the_hold(circulation: Circulation) -> None:
    refused = served(circulation.checkout(sign_in(circulation, ADA), HELD_FOR_BEN))
    assert [r.reason.value for r in refused.refusals] == ["on_hold_for_other"]
    ben = sign_in(circulation, BEN)
    assert served(circulation.account(ben)).holds_ready[0].title == "The Hobbit"
    lent = served(circulation.checkout(ben, HELD_FOR_BEN))
    assert (lent.status, lent.hold_fulfilled) == (CheckoutStatus.LENT, True)
    assert served(circulation.account(ben)).holds_ready == ()


# --- return -------------------------------------------------------------------------


def test_an_overdue_return_charges_the_borrower_and_names_the_bin(
    circulation: Circulation, store: Store
) -> None:
    view = served(circulation.return_item(BEN_OVERDUE))
    assert view.status is ReturnStatus.RETURNED
    assert (view.overdue_days, view.fine, view.bin.number) == (10, Decimal("4.00"), 2)
    assert "a fine of 4.00" in wording.return_sentence(EN, view)
    account = served(circulation.account(sign_in(circulation, BEN)))
    assert account.owed == Decimal("5.50")
    assert [line.barcode for line in account.loans] == [WANTED_BY_ADA]
    [(_, kind, patron_id, payload)] = journal_rows(store)
    assert (kind, patron_id, json.loads(payload)["fine"]) == ("return", BEN, "4.00")


def test_a_returned_item_with_a_hold_goes_to_the_hold_shelf_bin(circulation: Circulation) -> None:
    assert [
        h.title for h in served(circulation.account(sign_in(circulation, ADA))).holds_waiting
    ] == ["The Hobbit"]
    held = served(circulation.return_item(WANTED_BY_ADA))
    assert (held.bin.name, held.bin.number, held.bin.colour, held.fine) == (
        "Hold shelf",
        1,
        "yellow",
        Decimal("0.00"),
    )
    assert wording.return_sentence(EN, held) == "Thank you. Please put it in bin 1."
    served(circulation.checkout(sign_in(circulation, ADA), FICTION[0]))
    on_time = served(circulation.return_item(FICTION[0]))
    assert (on_time.bin.name, on_time.bin.number) == ("Shelf", 2)


def test_scanning_a_returned_item_again_records_nothing_more(
    circulation: Circulation, store: Store
) -> None:
    first = served(circulation.return_item(BEN_OVERDUE))
    again = served(circulation.return_item(BEN_OVERDUE))
    assert again.status is ReturnStatus.ALREADY_RETURNED
    assert again.bin == first.bin
    assert len(journal_rows(store)) == 1


@pytest.mark.parametrize(
    ("barcode", "status"),
    [(FICTION[0], ReturnStatus.NOT_ON_LOAN), ("39999999999999", ReturnStatus.UNKNOWN_ITEM)],
)
def test_an_item_not_on_loan_here_is_still_recorded_and_goes_to_staff(
    circulation: Circulation, store: Store, barcode: str, status: ReturnStatus
) -> None:
    view = served(circulation.return_item(barcode))
    assert (view.status, view.bin.name) == (status, "Staff")
    assert [row[1] for row in journal_rows(store)] == ["return"]


# --- renew and account -------------------------------------------------------------


def test_renewing_an_overdue_loan_charges_the_fine_so_far(circulation: Circulation) -> None:
    ben = sign_in(circulation, BEN)
    view = served(circulation.renew(ben, BEN_OVERDUE))
    assert view.status is RenewStatus.RENEWED
    assert view.due == Due.end_of(date(2026, 12, 14))
    assert view.fine == Decimal("4.00")
    account = served(circulation.account(ben))
    assert account.owed == Decimal("5.50")
    assert [(line.due.isoformat(), line.overdue, line.renewals) for line in account.loans] == [
        ("2026-12-01", False, 0),
        ("2026-12-14", False, 1),
    ]


def test_only_your_own_loans_can_be_renewed(circulation: Circulation) -> None:
    view = served(circulation.renew(sign_in(circulation, ADA), BEN_OVERDUE))
    assert view.status is RenewStatus.NOT_YOUR_LOAN


def test_renew_all_answers_for_every_loan(circulation: Circulation) -> None:
    ben = sign_in(circulation, BEN)
    served(circulation.checkout(ben, HELD_FOR_BEN))
    served(circulation.checkout(ben, DVD))
    views = served(circulation.renew_all(ben))
    assert {view.barcode: view.status for view in views} == {
        BEN_OVERDUE: RenewStatus.RENEWED,
        HELD_FOR_BEN: RenewStatus.RENEWED,
        DVD: RenewStatus.RENEWED,
        WANTED_BY_ADA: RenewStatus.REFUSED,  # Ada is waiting for it
    }
    again = {view.barcode: view for view in served(circulation.renew_all(ben))}
    assert again[DVD].status is RenewStatus.REFUSED  # the DVD privilege allows one renewal
    assert [r.reason.value for r in again[DVD].refusals] == ["renewal_limit"]


def test_the_account_lists_loans_with_overdue_marks_and_money_owed(
    circulation: Circulation,
) -> None:
    account = served(circulation.account(sign_in(circulation, BEN)))
    assert account.first_name == "Ben"
    assert [(line.title, line.overdue) for line in account.loans] == [
        ("A Brief History of Time", True),
        ("The Hobbit", False),
    ]
    assert account.owed == Decimal("1.50")
    assert [hold.title for hold in account.holds_ready] == ["The Hobbit"]
    assert account.holds_waiting == ()


# --- fault --------------------------------------------------------------------------


def test_a_fault_charge_is_capped_by_price_and_charged_to_the_borrower(
    circulation: Circulation,
) -> None:
    view = served(circulation.fault(BEN_OVERDUE, "DAMAGED"))
    assert (view.charge, view.item_status, view.charged_to_borrower) == (
        Decimal("12.99"),
        "damaged",
        True,
    )
    assert served(circulation.account(sign_in(circulation, BEN))).owed == Decimal("14.49")
    unlent = served(circulation.fault(DVD, "LOST"))
    assert (unlent.charge, unlent.charged_to_borrower) == (Decimal("40.00"), False)
    with pytest.raises(LookupError, match="unknown fault charge 'BROKEN'"):
        served(circulation.fault(DVD, "BROKEN"))


def test_decisions_use_the_library_s_clock_not_the_system_s(
    circulation: Circulation, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 12, 11, 10, 0))
    view = served(circulation.checkout(sign_in(circulation, BEN), FICTION[0]))
    assert view.due == Due.end_of(date(2027, 1, 2))  # 21 days, past the holidays
