"""The SIP2 handlers in-process, on SQLite and PostgreSQL: each message written by hand
from the 2.00 layouts, read by the codec, answered by ``handlers.answer`` against the desk
tests' small library, and the answer sent and read back as a device would read it.

Every message with good and bad input: the patron status flags, the counts and each
summary list, the PIN (right, wrong, locked, none), checkouts with renewal by checkout
and no block (an exception from the device), the same message sent again (one effect,
the same answer), checkins sorted to the hold shelf, the shelf and staff with their
alerts, renewals, item information, holds, payments into the ledger, blocking a card,
and what a device's account may not do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from kiosk.central import database
from kiosk.central.circulation import holds
from kiosk.central.circulation.branches import add_branch
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.models import (
    AppliedTransaction,
    AuditEntry,
    Change,
    Hold,
    Item,
    LedgerEntry,
    Loan,
    Patron,
    StaffException,
)
from kiosk.central.sip2 import codec, handlers
from kiosk.central.sip2.codec import ItemList, PatronFlag, Sip2Error
from kiosk.central.sip2.device import PERMISSIONS, Device, Sip2Settings
from kiosk.common.pins import pin_verifier
from tests.central.circulation.desk_library import CYRIL, NOW, PATRONS, build, lend

T = "20261123    100000"  # the device's transaction date: NOW
NO_DATE = " " * 18
SUMMARY_NONE = " " * 10
CARDS = {patron_id: f"2000{n:06d}" for n, patron_id in enumerate(PATRONS)}
ADA, BEN = CARDS["ada"], CARDS["ben"]
UNKNOWN = "2999999999"
SETTINGS = Sip2Settings(
    institution_id="Main", currency="GBP", hold_shelf_bin="H", shelf_bin="S", staff_bin="X"
)
SELFCHECK = Device("selfcheck", "Main", frozenset(PERMISSIONS), "192.0.2.7:5000", SETTINGS)
AUTHENTICATOR = Device("ezproxy", "", frozenset(), "192.0.2.8:5000", SETTINGS)
SOURCE = "sip2:selfcheck"


# --- the messages, as a device writes them -----------------------------------------------


def patron_status(card: str, pin: str = "") -> str:
    return f"23001{T}AOMain|AA{card}|AC|AD{pin}|"


def patron_info(
    card: str,
    summary: str = SUMMARY_NONE,
    *,
    pin: str | None = None,
    start: int | None = None,
    end: int | None = None,
) -> str:
    line = f"63001{T}{summary}AOMain|AA{card}|AC|"
    if pin is not None:
        line += f"AD{pin}|"
    if start is not None:
        line += f"BP{start}|"
    if end is not None:
        line += f"BQ{end}|"
    return line


def summary(which: ItemList) -> str:
    marks = [" "] * 10
    marks[list(ItemList).index(which)] = "Y"
    return "".join(marks)


def checkout(
    card: str,
    item: str,
    *,
    renewal: str = "N",
    no_block: str = "N",
    date: str = T,
    nb_due: str = NO_DATE,
    pin: str | None = None,
    cancel: str | None = None,
) -> str:
    line = f"11{renewal}{no_block}{date}{nb_due}AOMain|AA{card}|AB{item}|AC|"
    if pin is not None:
        line += f"AD{pin}|"
    if cancel is not None:
        line += f"BI{cancel}|"
    return line


def checkin(
    item: str, *, no_block: str = "N", date: str = T, returned: str = NO_DATE, at: str = "Main"
) -> str:
    return f"09{no_block}{date}{returned}AP{at}|AOMain|AB{item}|AC|"


def renew(
    card: str, item: str | None = None, *, title: str | None = None, no_block: str = "N"
) -> str:
    line = f"29N{no_block}{T}{NO_DATE}AOMain|AA{card}|AC|"
    if item is not None:
        line += f"AB{item}|"
    if title is not None:
        line += f"AJ{title}|"
    return line


def renew_all(card: str) -> str:
    return f"65{T}AOMain|AA{card}|AC|"


def item_info(item: str) -> str:
    return f"17{T}AOMain|AB{item}|AC|"


def hold(
    mode: str, card: str, item: str | None = None, *, title: str | None = None, kind: str = ""
) -> str:
    line = f"15{mode}{T}AOMain|AA{card}|AC|" + (f"BY{kind}|" if kind else "")
    if item is not None:
        line += f"AB{item}|"
    if title is not None:
        line += f"AJ{title}|"
    return line


def fee_paid(
    card: str, amount: str, *, currency: str = "GBP", payment: str = "00", extra: str = ""
) -> str:
    return f"37{T}04{payment}{currency}BV{amount}|AOMain|AA{card}|AC|{extra}"


def block(card: str, message: str = "card kept", *, retained: str = "Y") -> str:
    return f"01{retained}{T}AOMain|AL{message}|AA{card}|AC|"


def end_session(card: str) -> str:
    return f"35{T}AOMain|AA{card}|AC|"


# --- the library ----------------------------------------------------------------------------


@dataclass
class Library:
    engine: Engine
    sessions: sessionmaker[Session]
    policies: PolicyCache

    def send(self, line: str, device: Device = SELFCHECK, now: datetime = NOW) -> Any:
        """The answer to ``line`` as the device reads it: encoded as we send it, then
        read back, so a response the codec would refuse to send fails here."""
        request = codec.parse(line)
        response = handlers.answer(self.sessions, self.policies, device, request, now)
        assert type(response) is codec.RESPONSE_TO[type(request)]
        sent = codec.encode(response, sequence=None, charset=device.settings.charset)
        back = codec.parse_response(sent)
        assert back == response, "the response reads back as it was sent"
        return response

    def db(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def count(self, model: Any, *where: Any) -> int:
        with self.db() as db:
            return db.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def lend(self, barcode: str, patron_id: str, due: str, renewals: int = 0) -> None:
        with self.db() as db:
            lend(db, barcode, patron_id, due, renewals)

    def set(self, model: Any, key: Any, **values: Any) -> None:
        with self.db() as db:
            row = db.get(model, key)
            assert row is not None
            for name, value in values.items():
                setattr(row, name, value)
            db.commit()

    def get(self, model: Any, key: Any) -> Any:
        with self.db() as db:
            return db.get(model, key)


@pytest.fixture
def library(database_url: str) -> Iterator[Library]:
    engine, policies = build(database_url)
    with Session(engine) as db:
        db.execute(
            update(Patron)
            .where(Patron.patron_id == "ada")
            .values(pin_verifier=pin_verifier("4321"))
        )
        db.execute(update(Patron).where(Patron.patron_id == "ada").values(email="ada@example.org"))
        db.commit()
    yield Library(engine, database.sessions(engine), policies)
    engine.dispose()


def test_supported_is_what_answer_answers_and_the_acs_status_can_say() -> None:
    assert frozenset(codec.SUPPORTED_ORDER) >= handlers.SUPPORTED
    answered = {cls.COMMAND for cls in handlers._HANDLERS}
    assert answered >= handlers.SUPPORTED
    assert answered - handlers.SUPPORTED == {"19", "25"}  # answered with a refusal
    assert not handlers.SUPPORTED & {"93", "97", "99"}  # the server's own


def test_the_servers_own_messages_are_not_a_handlers(library: Library) -> None:
    for line in ("9300CNa|COb|", "9900302.00", "97"):
        with pytest.raises(Sip2Error, match="the server's to answer"):
            library.send(line)


# --- 23/24 patron status ----------------------------------------------------------------------

CHARGE, RENEWAL, RECALL, HOLD = (
    PatronFlag.CHARGE_PRIVILEGES_DENIED,
    PatronFlag.RENEWAL_PRIVILEGES_DENIED,
    PatronFlag.RECALL_PRIVILEGES_DENIED,
    PatronFlag.HOLD_PRIVILEGES_DENIED,
)
LOST_CARD = PatronFlag.CARD_REPORTED_LOST
TOO_MANY = PatronFlag.TOO_MANY_ITEMS_CHARGED
FINES, FEES = PatronFlag.EXCESSIVE_OUTSTANDING_FINES, PatronFlag.EXCESSIVE_OUTSTANDING_FEES

STATUSES = [
    ("in good standing", "ada", set(), "0.00", []),
    ("barred", "barred", {CHARGE, RENEWAL, LOST_CARD}, "0.00", ["can't be used to borrow"]),
    ("membership over", "lapsed", {CHARGE, RENEWAL}, "0.00", ["membership ended on 31 October 2026"]),
    ("owes over the limit", "owing", {CHARGE, RENEWAL, FINES, FEES}, "6.00", ["You owe 6.00"]),
    ("everything at once", "everything", {CHARGE, RENEWAL, LOST_CARD, FINES, FEES}, "9.00",
     ["can't be used to borrow", "membership ended", "You owe 9.00"]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "patron_id", "flags", "owed", "screen"), STATUSES)
def test_a_patrons_status_is_the_rules_standing_in_the_14_flags(
    library: Library,
    case: str,
    patron_id: str,
    flags: set[PatronFlag],
    owed: str,
    screen: list[str],
) -> None:
    response = library.send(patron_status(CARDS[patron_id]))
    assert response.patron_status == flags, case
    assert response.valid_patron is True
    assert response.valid_patron_password is None  # no PIN sent: none checked
    assert response.personal_name == f"{patron_id.title()} Tester"
    assert (response.currency_type, response.fee_amount) == ("GBP", Decimal(owed))
    assert (response.institution_id, response.patron_id) == ("Main", CARDS[patron_id])
    assert response.transaction_date == NOW
    assert len(response.screen_message) == len(screen)
    for said, expected in zip(response.screen_message, screen, strict=True):
        assert expected in said


def test_a_patron_with_as_many_loans_as_the_member_type_allows_has_too_many_items(
    library: Library,
) -> None:
    library.lend("F1", "student", "2026-11-30")
    assert library.send(patron_status(CARDS["student"])).patron_status == set()
    library.lend("F2", "student", "2026-11-30")
    assert library.send(patron_status(CARDS["student"])).patron_status == {TOO_MANY}


def test_a_patron_of_a_member_type_the_policy_lacks_may_not_borrow(library: Library) -> None:
    library.set(Patron, "ben", member_type="GHOST")
    response = library.send(patron_status(BEN))
    assert response.patron_status == {CHARGE, RENEWAL}
    assert "can't be used to borrow here" in response.screen_message[0]


def test_an_unknown_card_is_no_valid_patron_and_may_do_nothing(library: Library) -> None:
    response = library.send(patron_status(UNKNOWN))
    assert response.valid_patron is False
    assert response.patron_status == {CHARGE, RENEWAL, RECALL, HOLD}
    assert response.personal_name == ""
    assert response.fee_amount is None
    assert response.screen_message == (handlers.UNKNOWN_CARD,)


def test_the_patrons_language_is_sent_else_the_devices(library: Library) -> None:
    assert library.send(patron_status(ADA)).language == "001"  # asked in English, no language
    library.set(Patron, "ada", language="fr")
    assert library.send(patron_status(ADA)).language == "002"
    assert library.send(f"23008{T}AOMain|AA{BEN}|AC|AD|").language == "008"  # asked in Spanish


# --- the PIN -------------------------------------------------------------------------------------


def test_the_right_pin_is_valid_and_the_patron_told(library: Library) -> None:
    response = library.send(patron_status(ADA, "4321"))
    assert (response.valid_patron, response.valid_patron_password) == (True, True)
    assert response.personal_name == "Ada Tester"
    info = library.send(patron_info(ADA, pin="4321"))
    assert info.valid_patron_password is True


def test_a_wrong_pin_learns_it_was_wrong_and_nothing_of_the_patron(library: Library) -> None:
    response = library.send(patron_status(ADA, "1111"))
    assert (response.valid_patron, response.valid_patron_password) == (True, False)
    assert response.patron_status == {CHARGE, RENEWAL, RECALL, HOLD}
    assert (response.personal_name, response.fee_amount) == ("", None)
    assert response.screen_message == ("That PIN is not right. Please try again.",)
    info = library.send(patron_info(ADA, summary(ItemList.CHARGED), pin="1111"))
    assert (info.valid_patron_password, info.personal_name, info.charged_items) == (False, "", ())
    assert info.charged_items_count is None  # four blanks: not told
    assert info.email_address is None


def test_five_wrong_pins_lock_the_card_at_every_device_even_to_the_right_one(
    library: Library,
) -> None:
    for n in range(4):
        assert library.send(patron_status(ADA, f"000{n}")).valid_patron_password is False
    locked = library.send(checkout(ADA, "F1", pin="0004"))  # the fifth, at a checkout
    assert not locked.ok
    assert "Too many wrong PINs" in locked.screen_message[0]
    assert "10:15" in locked.screen_message[0]
    right = library.send(patron_status(ADA, "4321"), device=AUTHENTICATOR)
    assert right.valid_patron_password is False
    assert "Too many wrong PINs" in right.screen_message[0]
    later = library.send(patron_status(ADA, "4321"), now=NOW + timedelta(minutes=15))
    assert later.valid_patron_password is True
    patron = library.get(Patron, "ada")
    assert patron is not None
    assert (patron.pin_failures, patron.pin_locked_until) == (0, None)


def test_a_pin_for_a_patron_who_has_none_lets_no_one_in(library: Library) -> None:
    response = library.send(patron_status(BEN, "1234"))
    assert response.valid_patron_password is False
    assert "has no PIN" in response.screen_message[0]
    assert not library.send(checkout(BEN, "F1", pin="1234")).ok
    assert library.send(checkout(BEN, "F1", pin="")).ok  # an empty AD asks for no check


# --- 63/64 patron information ------------------------------------------------------------------


@pytest.fixture
def busy(library: Library) -> Library:
    """Ada with three loans (F3 overdue), a hold ready (F5, on the shelf), two waiting
    (F1 and F2, lent to Ben), and 2.00 owed of a 1.50 fine and a 3.00 fault charge."""
    library.lend("F3", "ada", "2026-11-20")
    library.lend("F4", "ada", "2026-11-30")
    library.lend("D1", "ada", "2026-11-27")
    library.lend("F1", "ben", "2026-12-01")
    library.lend("F2", "ben", "2026-12-01")
    with library.db() as db:
        for barcode in ("F5", "F1", "F2"):
            holds.place_hold(db, "ada", barcode, NOW, CYRIL)
        db.add_all(
            [
                LedgerEntry(patron_id="ada", amount=Decimal("1.50"), kind="fine",
                            entry_id="e1", at=NOW - timedelta(days=3), note="item F9"),
                LedgerEntry(patron_id="ada", amount=Decimal("3.00"), kind="fault",
                            entry_id="e2", at=NOW - timedelta(days=2), note="item F8"),
                LedgerEntry(patron_id="ada", amount=Decimal("-2.50"), kind="payment",
                            entry_id="e3", at=NOW - timedelta(days=1), note="cash"),
            ]
        )  # fmt: skip
        db.execute(update(Patron).where(Patron.patron_id == "ada").values(owed=Decimal("2.00")))
        db.commit()
    return library


def test_the_six_counts_count_holds_as_the_specification_does(busy: Library) -> None:
    response = busy.send(patron_info(ADA))
    assert response.hold_items_count == 1  # ready to collect: F5
    assert response.unavailable_holds_count == 2  # not yet: F1, F2
    assert response.overdue_items_count == 1
    assert response.charged_items_count == 3
    assert response.fine_items_count == 1  # 2.00 owed: part of the newest charge
    assert response.recall_items_count == 0
    assert response.charged_items_limit == 3
    assert (response.hold_items_limit, response.overdue_items_limit) == (None, None)
    assert response.fee_amount == Decimal("2.00")
    assert response.fee_limit == Decimal("5.00")
    assert (response.valid_patron, response.valid_patron_password) == (True, None)
    assert response.personal_name == "Ada Tester"
    assert response.email_address == "ada@example.org"
    assert (response.home_phone_number, response.home_address) == (None, None)
    # No summary asked: no list sent.
    lists = ("hold_items", "overdue_items", "charged_items", "fine_items", "recall_items",
             "unavailable_hold_items")  # fmt: skip
    assert all(getattr(response, name) == () for name in lists)


SUMMARIES = [
    (ItemList.HOLD, "hold_items", ("F5",)),
    (ItemList.OVERDUE, "overdue_items", ("F3",)),
    (ItemList.CHARGED, "charged_items", ("F3", "D1", "F4")),  # soonest due first
    (ItemList.FINE, "fine_items", ("2.00 fault F8",)),
    (ItemList.RECALL, "recall_items", ()),
    (ItemList.UNAVAILABLE_HOLD, "unavailable_hold_items", ("F1", "F2")),
]


@pytest.mark.parametrize(("which", "field", "items"), SUMMARIES)
def test_the_summarys_one_y_chooses_the_one_list_sent(
    busy: Library, which: ItemList, field: str, items: tuple[str, ...]
) -> None:
    response = busy.send(patron_info(ADA, summary(which)))
    assert getattr(response, field) == items
    others = {name for _, name, _ in SUMMARIES} - {field}
    assert all(getattr(response, name) == () for name in others)


@pytest.mark.parametrize(
    ("start", "end", "items"),
    [
        (1, 1, ("F3",)),
        (2, 3, ("D1", "F4")),
        (2, None, ("D1", "F4")),
        (None, 2, ("F3", "D1")),
        (3, 9, ("F4",)),
        (4, 5, ()),
        (3, 2, ()),
        (0, 1, ("F3",)),
    ],
)
def test_start_and_end_item_choose_part_of_the_list(
    busy: Library, start: int | None, end: int | None, items: tuple[str, ...]
) -> None:
    response = busy.send(patron_info(ADA, summary(ItemList.CHARGED), start=start, end=end))
    assert response.charged_items == items
    assert response.charged_items_count == 3  # the count is all of them


def test_a_balance_no_charge_explains_is_a_fine_item_of_its_own(library: Library) -> None:
    response = library.send(patron_info(CARDS["owing"], summary(ItemList.FINE)))
    assert response.fine_items == ("6.00 balance",)
    assert response.patron_status == {CHARGE, RENEWAL, FINES, FEES}


def test_patron_information_for_an_unknown_card(library: Library) -> None:
    response = library.send(patron_info(UNKNOWN, summary(ItemList.CHARGED)))
    assert response.valid_patron is False
    assert response.charged_items_count is None
    assert response.screen_message == (handlers.UNKNOWN_CARD,)


# --- 11/12 checkout ---------------------------------------------------------------------------


def test_a_checkout_is_the_decision_paths_once_and_a_resend_is_answered_the_same(
    library: Library,
) -> None:
    first = library.send(checkout(ADA, "F1"))
    assert (first.ok, first.renewal_ok, first.desensitize, first.magnetic_media) == (
        True, False, True, None,
    )  # fmt: skip
    assert first.title_id == "Middlemarch"
    assert first.due_date == datetime(2026, 12, 7, 23, 59)
    assert first.transaction_id.startswith("sip2-")
    assert first.screen_message == ()
    again = library.send(checkout(ADA, "F1"), now=NOW + timedelta(seconds=30))
    assert replace(again, transaction_date=NOW) == first
    assert library.count(AppliedTransaction) == 1
    assert library.count(Loan) == 1
    with library.db() as db:
        recorded = db.get(AppliedTransaction, first.transaction_id)
        assert recorded is not None
        assert (recorded.kind, recorded.actor, recorded.kiosk_id, recorded.patron_id) == (
            "checkout", SOURCE, None, "ada",
        )  # fmt: skip
        assert recorded.details["via"] == "sip2"
        [audited] = db.scalars(select(AuditEntry).where(AuditEntry.action == "loan.checkout"))
        assert (audited.actor, audited.origin) == (SOURCE, "192.0.2.7:5000")
        [change] = db.scalars(select(Change).where(Change.entity == "loan", Change.key == "F1"))
        assert recorded.change_seq == change.seq  # the kiosks' mirrors follow


def test_the_same_checkout_at_another_time_is_another_transaction(library: Library) -> None:
    assert library.send(checkout(ADA, "F1")).ok
    later = library.send(checkout(ADA, "F1", date="20261123    100500"))
    assert not later.ok  # the patron has it, and this device did not ask to renew
    assert later.screen_message == ("You have this item on loan already.",)


CHECKOUT_REFUSALS = [
    ("barred", CARDS["barred"], "F1", ["can't be used to borrow"]),
    ("membership over", CARDS["lapsed"], "F1", ["membership ended"]),
    ("reserved for another", ADA, "HELD", ["reserved for another member"]),
    ("lost item", ADA, "LOST1", ["recorded as lost"]),
    ("no privilege", CARDS["student"], "D1", ["Student members can't borrow DVD items."]),
    ("every reason", CARDS["everything"], "HELD",
     ["can't be used", "membership ended", "You owe 9.00", "reserved for another"]),
    ("unknown card", UNKNOWN, "F1", [handlers.UNKNOWN_CARD]),
    ("unknown item", ADA, "NOPE", ["no item has barcode NOPE"]),
    ("not a barcode", ADA, "   ", ["not a barcode"]),
    ("wrong PIN", None, "F1", ["That PIN is not right"]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "card", "item", "screen"), CHECKOUT_REFUSALS)
def test_a_refused_checkout_says_why_in_the_patrons_words_and_changes_nothing(
    library: Library, case: str, card: str | None, item: str, screen: list[str]
) -> None:
    line = checkout(ADA, item, pin="9999") if card is None else checkout(card, item)
    response = library.send(line)
    assert (response.ok, response.desensitize, response.due_date) == (False, False, None), case
    assert len(response.screen_message) == len(screen)
    for said, expected in zip(response.screen_message, screen, strict=True):
        assert expected in said
    assert library.count(Loan) == 0
    assert library.count(AppliedTransaction) == 0


def test_a_checkout_with_the_right_pin_lends(library: Library) -> None:
    assert library.send(checkout(ADA, "F1", pin="4321")).ok


def test_renewal_by_checkout_of_an_item_the_patron_has(library: Library) -> None:
    library.lend("F1", "ada", "2026-11-30")
    response = library.send(checkout(ADA, "F1", renewal="Y"))
    assert (response.ok, response.renewal_ok, response.desensitize) == (True, True, True)
    assert response.due_date == datetime(2026, 12, 7, 23, 59)
    again = library.send(checkout(ADA, "F1", renewal="Y"))
    assert again == response
    with library.db() as db:
        loan = db.get(Loan, "F1")
        assert loan is not None
        assert loan.renewals == 1
        [recorded] = db.scalars(select(AppliedTransaction))
        assert (recorded.kind, recorded.actor) == ("renew", SOURCE)
    # The limit (one renewal) holds, said in the patron's words.
    limit = library.send(checkout(ADA, "F1", renewal="Y", date="20261123    110000"))
    assert (limit.ok, limit.renewal_ok) == (False, False)
    assert "renewed the most times allowed" in limit.screen_message[0]


def test_an_overdue_renewal_by_checkout_sends_the_fine(library: Library) -> None:
    library.lend("F1", "ada", "2026-11-20")
    response = library.send(checkout(ADA, "F1", renewal="Y"))
    assert response.renewal_ok
    assert (response.fee_type, response.currency_type, response.fee_amount) == (
        "04", "GBP", Decimal("1.50"),
    )  # fmt: skip


def test_renewal_by_checkout_needs_the_renewal_policy_and_the_permission(
    library: Library,
) -> None:
    library.lend("F1", "ada", "2026-11-30")
    refused = library.send(checkout(ADA, "F1", renewal="N"))
    assert (refused.ok, refused.screen_message) == (False, ("You have this item on loan already.",))
    lender = replace(SELFCHECK, may=frozenset({"checkout"}))
    refused = library.send(checkout(ADA, "F1", renewal="Y"), device=lender)
    assert not refused.ok
    assert "can't renew loans" in refused.screen_message[0]
    with library.db() as db:
        loan = db.get(Loan, "F1")
        assert loan is not None
        assert loan.renewals == 0


def test_an_item_on_loan_to_another_is_refused_whatever_the_renewal_policy(
    library: Library,
) -> None:
    library.lend("F1", "ben", "2026-11-30")
    response = library.send(checkout(ADA, "F1", renewal="Y"))
    assert not response.ok
    assert "recorded as on loan" in response.screen_message[0]


def test_a_no_block_checkout_is_a_fact_even_refused_and_staff_are_told(
    library: Library,
) -> None:
    lent_at = "20261123    080000"
    response = library.send(
        checkout(CARDS["barred"], "F1", no_block="Y", date=lent_at, nb_due="20261130    235900")
    )
    assert (response.ok, response.desensitize) == (True, True)
    assert response.due_date == datetime(2026, 11, 30, 23, 59)
    assert response.screen_message == ()  # the exception is for staff, not the patron
    again = library.send(checkout(CARDS["barred"], "F1", no_block="Y", date=lent_at))
    assert again == response
    with library.db() as db:
        loan = db.get(Loan, "F1")
        assert loan is not None
        assert (loan.patron_id, loan.due, loan.lent_at) == (
            "barred", "2026-11-30", datetime(2026, 11, 23, 8, 0),
        )  # fmt: skip
        [exception] = db.scalars(select(StaffException))
        assert (exception.source, exception.kiosk_id, exception.reason) == (
            SOURCE, None, "refused_now",
        )  # fmt: skip
        [recorded] = db.scalars(select(AppliedTransaction))
        assert (recorded.outcome, recorded.actor) == ("exception", SOURCE)


@pytest.mark.parametrize(
    ("nb_due", "due"),
    [
        (NO_DATE, "2026-12-07"),  # none: the rules' own
        ("20261201    000000", "2026-12-01"),  # a day
        ("20261123    140000", "2026-11-23T14:00"),  # a time: a short loan
    ],
)
def test_a_no_block_loan_is_due_when_the_device_said(
    library: Library, nb_due: str, due: str
) -> None:
    assert library.send(checkout(ADA, "F1", no_block="Y", nb_due=nb_due)).ok
    loan = library.get(Loan, "F1")
    assert loan.due == due
    assert library.count(StaffException) == 0


def test_a_no_block_checkout_dated_after_now_is_taken_as_now(library: Library) -> None:
    assert library.send(checkout(ADA, "F1", no_block="Y", date="20300101    000000")).ok
    assert library.get(Loan, "F1").lent_at == NOW


def test_a_no_block_checkout_for_an_unknown_card_is_recorded_for_staff(library: Library) -> None:
    assert library.send(checkout(UNKNOWN, "F1", no_block="Y")).ok
    with library.db() as db:
        found = {row.reason: row.detail for row in db.scalars(select(StaffException))}
    # The card the device read, so staff can find who has the book.
    assert found["unknown_patron"] == f"card {UNKNOWN} is no patron's; lent offline"


def test_a_no_block_checkout_resent_after_it_was_lent_online_is_the_same_loan(
    library: Library,
) -> None:
    online = library.send(checkout(ADA, "F1"))
    offline = library.send(checkout(ADA, "F1", no_block="Y"))
    assert (offline.ok, offline.transaction_id, offline.due_date) == (
        True, online.transaction_id, online.due_date,
    )  # fmt: skip
    assert library.count(AppliedTransaction) == 1


def test_cancelling_a_checkout_is_refused_plainly(library: Library) -> None:
    response = library.send(checkout(ADA, "F1", cancel="Y"))
    assert not response.ok
    assert "not supported" in response.screen_message[0]
    assert library.count(Loan) == 0


# --- 09/10 checkin ------------------------------------------------------------------------------


def test_a_checkin_goes_back_to_the_shelf_and_a_resend_is_answered_the_same(
    library: Library,
) -> None:
    library.lend("F1", "ada", "2026-11-30")
    response = library.send(checkin("F1"))
    assert (response.ok, response.resensitize, response.alert) == (True, True, False)
    assert (response.sort_bin, response.permanent_location, response.title_id) == (
        "S", "Main", "Middlemarch",
    )  # fmt: skip
    assert response.alert_type is None
    again = library.send(checkin("F1"))
    assert again == response
    assert library.count(AppliedTransaction) == 1
    with library.db() as db:
        [recorded] = db.scalars(select(AppliedTransaction))
        assert (recorded.kind, recorded.actor, recorded.patron_id) == ("return", SOURCE, "ada")


def test_a_checkin_someone_waits_for_goes_to_the_hold_shelf_with_an_alert(
    library: Library,
) -> None:
    library.lend("F1", "ada", "2026-11-30")
    with library.db() as db:
        holds.place_hold(db, "ben", "F1", NOW, CYRIL)
    response = library.send(checkin("F1"))
    assert (response.ok, response.alert, response.sort_bin, response.alert_type) == (
        True, True, "H", "01",
    )  # fmt: skip
    assert (response.hold_patron_id, response.hold_patron_name) == (BEN, "Tester, Ben")
    assert library.send(checkin("F1")) == response  # sent again: the same slip


def test_a_late_checkin_is_fined_and_the_screen_says_so(library: Library) -> None:
    library.lend("F1", "ada", "2026-11-20")
    response = library.send(checkin("F1"))
    assert response.ok
    assert response.screen_message == ("A fine of 1.50 was charged for this item.",)
    assert library.get(Patron, "ada").owed == Decimal("1.50")


def test_a_checkin_of_an_item_not_on_loan_goes_to_staff(library: Library) -> None:
    response = library.send(checkin("F1"))
    assert (response.ok, response.resensitize, response.alert) == (False, True, True)
    assert (response.sort_bin, response.alert_type) == ("X", "99")
    assert "not on loan" in response.screen_message[0]
    assert library.count(AppliedTransaction) == 0


def test_a_checkin_of_an_unknown_item_goes_to_staff(library: Library) -> None:
    response = library.send(checkin("NOPE"))
    assert (response.ok, response.resensitize, response.alert) == (False, False, True)
    assert (response.sort_bin, response.alert_type, response.permanent_location) == ("X", "99", "")
    assert "No item has barcode NOPE" in response.screen_message[0]


def test_an_item_of_another_branch_is_sent_there(library: Library) -> None:
    library.lend("F1", "ada", "2026-11-30")
    branch = replace(SELFCHECK, location="Branch")
    response = library.send(checkin("F1", at="Branch"), device=branch)
    assert (response.ok, response.alert, response.alert_type) == (True, True, "04")
    assert (response.sort_bin, response.destination_location) == ("X", "Main")


def test_a_no_block_checkin_is_applied_at_its_return_date(library: Library) -> None:
    library.lend("F1", "ada", "2026-11-20")
    returned = "20261121    090000"  # one day late, not three
    response = library.send(checkin("F1", no_block="Y", returned=returned))
    assert (response.ok, response.sort_bin, response.alert) == (True, "S", False)
    assert response.screen_message == ("A fine of 0.50 was charged for this item.",)
    assert library.send(checkin("F1", no_block="Y", returned=returned)).ok
    assert library.count(AppliedTransaction) == 1
    assert library.get(Patron, "ada").owed == Decimal("0.50")
    with library.db() as db:
        [recorded] = db.scalars(select(AppliedTransaction))
        assert recorded.decided_at == datetime(2026, 11, 21, 9, 0)


def test_a_book_drops_earlier_return_date_is_the_return(library: Library) -> None:
    library.lend("F1", "ada", "2026-11-20")
    response = library.send(checkin("F1", returned="20261120    180000"))
    assert response.ok
    assert library.get(Patron, "ada").owed == Decimal("0.00")  # back on its due day


def test_a_no_block_checkin_of_an_item_not_on_loan_is_an_exception_for_staff(
    library: Library,
) -> None:
    response = library.send(checkin("F1", no_block="Y"))
    assert (response.ok, response.sort_bin, response.alert, response.alert_type) == (
        True, "X", True, "99",
    )  # fmt: skip
    assert library.send(checkin("F1", no_block="Y")) == response
    with library.db() as db:
        [exception] = db.scalars(select(StaffException))
    assert (exception.source, exception.reason) == (SOURCE, "not_on_loan")


def test_a_no_block_checkin_someone_waits_for_goes_to_the_hold_shelf_resent_too(
    library: Library,
) -> None:
    library.lend("F1", "ada", "2026-11-30")
    with library.db() as db:
        holds.place_hold(db, "ben", "F1", NOW, CYRIL)
    response = library.send(checkin("F1", no_block="Y"))
    assert (response.sort_bin, response.alert_type, response.hold_patron_id) == ("H", "01", BEN)
    assert library.send(checkin("F1", no_block="Y")) == response


def test_a_lost_item_checked_in_is_available_again(library: Library) -> None:
    response = library.send(checkin("LOST1"))
    assert (response.ok, response.sort_bin) == (True, "S")
    assert library.get(Item, "LOST1").status == "available"


# --- 29/30 renew, 65/66 renew all -------------------------------------------------------------


def test_a_renewal_and_its_resend(library: Library) -> None:
    library.lend("F1", "ada", "2026-11-20")
    response = library.send(renew(ADA, "F1"))
    assert (response.ok, response.renewal_ok, response.desensitize) == (True, True, True)
    assert response.due_date == datetime(2026, 12, 7, 23, 59)
    assert (response.fee_type, response.fee_amount, response.currency_type) == (
        "04", Decimal("1.50"), "GBP",
    )  # fmt: skip
    assert library.send(renew(ADA, "F1")) == response
    assert library.get(Patron, "ada").owed == Decimal("1.50")
    assert library.get(Loan, "F1").renewals == 1


RENEW_REFUSALS = [
    ("the limit", "ada", "D1", ["renewed the most times allowed (0)"]),
    ("not the patron's", "ben", "F1", ["not on loan to this patron"]),
    ("unknown card", None, "F1", [handlers.UNKNOWN_CARD]),
    ("someone waits", "ada", "F2", ["reserved for another member"]),
]


@pytest.mark.parametrize(("case", "patron_id", "item", "screen"), RENEW_REFUSALS)
def test_a_refused_renewal_says_why(
    library: Library, case: str, patron_id: str | None, item: str, screen: list[str]
) -> None:
    library.lend("D1", "ada", "2026-11-30")
    library.lend("F1", "ada", "2026-11-30")
    library.lend("F2", "ada", "2026-11-30")
    with library.db() as db:
        holds.place_hold(db, "ben", "F2", NOW, CYRIL)
    card = CARDS[patron_id] if patron_id else UNKNOWN
    response = library.send(renew(card, item))
    assert (response.ok, response.renewal_ok) == (False, False), case
    for said, expected in zip(response.screen_message, screen, strict=True):
        assert expected in said
    assert library.count(AppliedTransaction) == 0


def test_a_refused_renewal_tells_the_due_date_that_stands(library: Library) -> None:
    library.lend("D1", "ada", "2026-11-30")
    assert library.send(renew(ADA, "D1")).due_date == datetime(2026, 11, 30, 23, 59)


def test_a_renewal_by_title_alone_is_not_supported(library: Library) -> None:
    response = library.send(renew(ADA, title="Middlemarch"))
    assert not response.ok
    assert "by title is not supported" in response.screen_message[0]


def test_renew_all_renews_what_it_may_and_names_the_rest(library: Library) -> None:
    library.lend("F1", "ada", "2026-11-30")
    library.lend("D1", "ada", "2026-11-25")
    library.lend("F3", "ada", "2026-11-21")
    response = library.send(renew_all(ADA))
    assert response.ok
    assert (response.renewed_count, response.unrenewed_count) == (2, 1)
    assert response.renewed_items == ("F1", "F3")
    assert response.unrenewed_items == ("D1",)
    assert response.screen_message[0].startswith("D1: This item can't be renewed again")
    assert response.screen_message[-1] == "Fines charged for renewing: 1.00"
    again = library.send(renew_all(ADA))
    assert again == response
    assert library.count(AppliedTransaction) == 2


def test_renew_all_for_a_barred_patron_renews_nothing(library: Library) -> None:
    library.lend("F1", "barred", "2026-11-30")
    response = library.send(renew_all(CARDS["barred"]))
    assert (response.renewed_count, response.unrenewed_count) == (0, 1)
    assert "can't be used to borrow" in response.screen_message[0]


def test_renew_all_for_an_unknown_card(library: Library) -> None:
    response = library.send(renew_all(UNKNOWN))
    assert (response.ok, response.screen_message) == (False, (handlers.UNKNOWN_CARD,))


# --- 17/18 item information -------------------------------------------------------------------


def test_item_information_says_the_items_state_in_sip2s_codes(library: Library) -> None:
    library.lend("F1", "ada", "2026-11-30")
    with library.db() as db:
        holds.place_hold(db, "ben", "F1", NOW, CYRIL)
    library.set(Item, "F4", status="missing")
    library.set(Item, "F5", status="withdrawn")
    cases = {"F2": "03", "F1": "04", "HELD": "08", "LOST1": "12", "F4": "13", "F5": "01"}
    for barcode, code in cases.items():
        response = library.send(item_info(barcode))
        assert response.circulation_status == code, barcode
        assert response.permanent_location == "Main"
        assert response.security_marker == "00"
        assert response.fee_type == "01"
    lent = library.send(item_info("F1"))
    assert (lent.title_id, lent.due_date, lent.hold_queue_length) == (
        "Middlemarch", datetime(2026, 11, 30, 23, 59), 1,
    )  # fmt: skip
    assert library.send(item_info("F2")).due_date is None


def test_item_information_for_an_unknown_item(library: Library) -> None:
    response = library.send(item_info("NOPE"))
    assert (response.circulation_status, response.title_id) == ("01", "")
    assert response.screen_message == ("No item has barcode NOPE.",)


# --- 15/16 hold ---------------------------------------------------------------------------------


def test_a_hold_placed_found_again_and_cancelled(library: Library) -> None:
    library.lend("F1", "ben", "2026-11-30")
    placed = library.send(hold("+", ADA, "F1"))
    assert (placed.ok, placed.available, placed.queue_position) == (True, False, 1)
    assert (placed.title_id, placed.item_id) == ("Middlemarch", "F1")
    again = library.send(hold("+", ADA, "F1"))
    assert (again.ok, again.queue_position) == (True, 1)
    assert again.screen_message == ("You are in this item's queue already.",)
    assert library.count(Hold, Hold.item_barcode == "F1") == 1
    changed = library.send(hold("*", ADA, "F1"))
    assert not changed.ok
    assert "can't be changed" in changed.screen_message[0]
    cancelled = library.send(hold("-", ADA, "F1"))
    assert (cancelled.ok, cancelled.screen_message) == (True, ("Your hold is cancelled.",))
    assert library.count(Hold, Hold.item_barcode == "F1") == 0
    gone = library.send(hold("-", ADA, "F1"))
    assert (gone.ok, gone.screen_message) == (False, ("You have no hold on this item.",))
    with library.db() as db:
        actions = list(db.scalars(select(AuditEntry.action).where(AuditEntry.actor == SOURCE)))
    assert actions == ["hold.place", "hold.cancel"]


def test_a_hold_on_an_item_on_the_shelf_is_ready_at_once(library: Library) -> None:
    placed = library.send(hold("+", ADA, "F2"))
    assert (placed.ok, placed.available, placed.queue_position) == (True, True, 1)


HOLD_REFUSALS = [
    ("no such title", hold("+", ADA, title="Nope"), "No title matches"),
    ("a copy, no barcode", hold("+", ADA, title="Middlemarch", kind="3"), "needs the item's"),
    ("a title they have a copy of", hold("+", BEN, "F2", kind="2"), "copy of Middlemarch on loan"),
    ("a lost item", hold("+", ADA, "LOST1"), "recorded as lost: it cannot be held"),
    ("no such item", hold("+", ADA, "NOPE"), "no item has barcode NOPE"),
    ("unknown card", hold("+", UNKNOWN, "F1"), handlers.UNKNOWN_CARD),
    ("one's own loan", hold("+", BEN, "F1"), "has item F1 on loan already"),
    ("change without a hold", hold("*", ADA, "F1"), "You have no hold on this item."),
]


@pytest.mark.parametrize(("case", "line", "screen"), HOLD_REFUSALS)
def test_a_refused_hold_says_why(library: Library, case: str, line: str, screen: str) -> None:
    library.lend("F1", "ben", "2026-11-30")
    response = library.send(line)
    assert not response.ok, case
    assert screen in response.screen_message[0]
    assert library.count(Hold) == 1  # HELD's, as built


@pytest.mark.parametrize(
    ("how", "line"),
    [
        ("any copy, by a copy", hold("+", ADA, "F2", kind="2")),
        ("any copy at one branch", hold("+", ADA, "F2", kind="4")),
        ("no copy named, by title", hold("+", ADA, title="middlemarch")),
        ("no copy named, by record number", hold("+", ADA, title="1")),
    ],
)
def test_a_hold_on_a_title_waits_for_the_next_copy_back(
    library: Library, how: str, line: str
) -> None:
    library.lend("F1", "ben", "2026-11-30")
    placed = library.send(line)
    assert (placed.ok, placed.available, placed.queue_position) == (True, False, 1), how
    assert placed.title_id == "Middlemarch"
    assert library.count(Hold, Hold.brn == 1) == 1
    again = library.send(line)
    assert again.screen_message == ("You are in this title's queue already.",)
    # A copy checked in at a device goes to the hold shelf for her, with the alert.
    response = library.send(checkin("F1"))
    assert (response.sort_bin, response.alert_type, response.hold_patron_id) == ("H", "01", ADA)
    # A specific copy (type 3) is an item hold: not beside her title hold (two copies
    # would wait for her), but once that is cancelled.
    refused = library.send(hold("+", ADA, "F2", kind="3"))
    assert not refused.ok
    assert "waiting for any copy of Middlemarch already" in refused.screen_message[0]
    cancelled = library.send(hold("-", ADA, "F1", kind="2"))
    assert (cancelled.ok, cancelled.screen_message) == (True, ("Your hold is cancelled.",))
    assert library.count(Hold, Hold.brn == 1) == 0
    gone = library.send(hold("-", ADA, "F1", kind="2"))
    assert gone.screen_message == ("You have no hold on this title.",)
    item_hold = library.send(hold("+", ADA, "F2", kind="3"))
    assert (item_hold.ok, item_hold.available) == (True, True)
    assert library.count(Hold, Hold.brn.is_(None), Hold.patron_id == "ada") == 1


def test_a_hold_is_collected_at_the_pickup_location_the_device_names(library: Library) -> None:
    library.lend("F1", "ben", "2026-11-30")
    with library.db() as db:
        for code, name in (("East", "East End Library"), ("Main", "Main Library")):
            add_branch(db, code, name, NOW, actor="test", origin="test")
    refused = library.send(hold("+", ADA, "F1", kind="2") + "BSNowhere|")
    assert not refused.ok
    assert "can't be collected there: no branch 'Nowhere'" in refused.screen_message[0]
    assert library.count(Hold, Hold.patron_id == "ada") == 0
    placed = library.send(hold("+", ADA, "F1", kind="2") + "BSMain|")
    assert (placed.ok, placed.queue_position) == (True, 1)
    defaulted = library.send(hold("+", CARDS["student"], "F1", kind="2"))
    assert defaulted.ok
    with library.db() as db:
        pickups = dict(db.execute(select(Hold.patron_id, Hold.pickup).where(Hold.brn == 1)).all())
    assert pickups == {"ada": "Main", "student": "East"}  # none named: the first by code


def test_a_checkin_is_routed_from_the_branch_the_device_stands_in(library: Library) -> None:
    """The decision path routes a return from where it happens: the device's AP when it
    names a branch, else its account's location. A copy kept for a patron who collects
    at another branch goes there in transit, and onto the hold shelf when it arrives."""
    library.lend("F1", "ben", "2026-11-30")
    with library.db() as db:
        for code, name in (("East", "East End Library"), ("Main", "Main Library")):
            add_branch(db, code, name, NOW, actor="test", origin="test")
    assert library.send(hold("+", ADA, "F1", kind="2") + "BSEast|").ok
    # At Main (the account's location; the AP names no branch): sent on to East.
    sent = library.send(checkin("F1", at="Returns trolley"))
    assert (sent.ok, sent.alert, sent.alert_type) == (True, True, "04")
    assert (sent.sort_bin, sent.destination_location) == ("X", "East")
    assert library.get(Item, "F1").status == "in_transit"
    assert library.count(Hold, Hold.patron_id == "ada", Hold.ready.is_(True)) == 0
    # At East (the AP says so, whatever the account's location): the hold shelf.
    arrived = library.send(checkin("F1", at="East", date="20261124    100000"))
    assert (arrived.ok, arrived.alert, arrived.alert_type) == (True, True, "01")
    assert (arrived.sort_bin, arrived.hold_patron_id) == ("H", ADA)
    assert library.count(Hold, Hold.patron_id == "ada", Hold.ready.is_(True)) == 1
    # Each recorded where it happened, for the reports by branch.
    with library.db() as db:
        recorded = db.scalars(
            select(AppliedTransaction.branch)
            .where(AppliedTransaction.item_barcode == "F1", AppliedTransaction.kind == "return")
            .order_by(AppliedTransaction.decided_at)
        ).all()
    assert recorded == ["Main", "East"]


# --- 37/38 fee paid -------------------------------------------------------------------------------


def test_a_payment_enters_the_ledger_once(library: Library) -> None:
    line = fee_paid(CARDS["owing"], "2.50", payment="02", extra="CGfine-7|BKpay-123|")
    response = library.send(line)
    assert response.payment_accepted
    assert response.screen_message == ("Thank you: 2.50 paid. You owe 3.50 now.",)
    assert library.send(line) == response  # sent again: entered once
    with library.db() as db:
        [entry] = db.scalars(select(LedgerEntry).where(LedgerEntry.kind == "payment"))
        assert (entry.amount, entry.entry_id) == (Decimal("-2.50"), response.transaction_id)
        assert (
            entry.note
            == "SIP2 device selfcheck: credit card, fee fine-7, device transaction pay-123"
        )
        [audited] = db.scalars(select(AuditEntry).where(AuditEntry.action == "patron.payment"))
        assert audited.actor == SOURCE
    assert library.get(Patron, "owing").owed == Decimal("3.50")


FEE_REFUSALS = [
    ("more than owed", fee_paid(CARDS["owing"], "6.01"), "more than the patron owes (6.00)"),
    ("nothing", fee_paid(CARDS["owing"], "0.00"), "must be more than 0"),
    ("less than nothing", fee_paid(CARDS["owing"], "-1.00"), "must be more than 0"),
    ("a part of a cent", fee_paid(CARDS["owing"], "1.005"), "no more than two decimals"),
    ("another currency", fee_paid(CARDS["owing"], "1.00", currency="USD"), "payments in GBP"),
    ("unknown card", fee_paid(UNKNOWN, "1.00"), handlers.UNKNOWN_CARD),
]


@pytest.mark.parametrize(("case", "line", "screen"), FEE_REFUSALS)
def test_a_refused_payment_says_why_and_enters_nothing(
    library: Library, case: str, line: str, screen: str
) -> None:
    response = library.send(line)
    assert not response.payment_accepted, case
    assert screen in response.screen_message[0]
    assert library.count(LedgerEntry) == 0


def test_a_decimal_comma_is_a_payment_too(library: Library) -> None:
    assert library.send(fee_paid(CARDS["owing"], "1,25")).payment_accepted
    assert library.get(Patron, "owing").owed == Decimal("4.75")


# --- 01 block patron, 35 end session, 19 and 25 ----------------------------------------------------


def test_block_patron_bars_the_card_and_answers_with_its_status(library: Library) -> None:
    response = library.send(block(ADA, "tampering seen"))
    assert type(response) is codec.PatronStatusResponse
    assert response.patron_status == {CHARGE, RENEWAL, LOST_CARD}
    patron = library.get(Patron, "ada")
    assert patron.barred
    assert (
        patron.barred_reason == "blocked by SIP2 device selfcheck: tampering seen (card retained)"
    )
    again = library.send(block(ADA, "again", retained="N"))
    assert again.patron_status == response.patron_status  # barred already: as asked
    with library.db() as db:
        [audited] = db.scalars(select(AuditEntry).where(AuditEntry.action == "patron.bar"))
        assert (audited.actor, audited.origin) == (SOURCE, "192.0.2.7:5000")
    assert not library.send(checkout(ADA, "F1")).ok


def test_block_patron_of_an_unknown_card(library: Library) -> None:
    response = library.send(block(UNKNOWN))
    assert response.valid_patron is False


def test_end_session_ends_it(library: Library) -> None:
    response = library.send(end_session(ADA))
    assert (response.end_session, response.patron_id) == (True, ADA)


def test_item_status_update_and_patron_enable_are_refused_plainly(library: Library) -> None:
    update_ = library.send(f"19{T}AOMain|ABF1|AC|CHx|")
    assert not update_.item_properties_ok
    library.set(Patron, "ada", barred=True)
    enable = library.send(f"25{T}AOMain|AA{ADA}|AC|")
    assert LOST_CARD in enable.patron_status
    assert "unblocked by staff" in enable.screen_message[0]
    assert library.get(Patron, "ada").barred


# --- what an account may do -------------------------------------------------------------------------

EVERY_REQUEST = {
    "23": patron_status(ADA),
    "63": patron_info(ADA),
    "35": end_session(ADA),
    "11": checkout(ADA, "F1"),
    "09": checkin("F1"),
    "29": renew(ADA, "F1"),
    "65": renew_all(ADA),
    "17": item_info("F1"),
    "15": hold("+", ADA, "F1"),
    "37": fee_paid(CARDS["owing"], "1.00"),
    "01": block(ADA),
}


@pytest.mark.parametrize("command", sorted(EVERY_REQUEST))
def test_a_patron_authentication_account_may_only_ask_about_patrons(
    library: Library, command: str
) -> None:
    library.lend("F1", "ada", "2026-11-30")
    response = library.send(EVERY_REQUEST[command], device=AUTHENTICATOR)
    said = " ".join(getattr(response, "screen_message", ()))
    if command in ("23", "63", "35"):
        assert "This machine" not in said
        return
    assert "This machine can't" in said or "for signing in only" in said
    for flag in ("ok", "payment_accepted", "renewed_count"):
        assert not getattr(response, flag, False)
    assert library.count(AppliedTransaction) == 0
    assert library.count(LedgerEntry) == 0
    assert not library.get(Patron, "ada").barred
    assert library.count(Hold) == 1
    assert library.get(Loan, "F1") is not None


@pytest.mark.parametrize(
    ("permission", "command", "words"),
    [
        ("checkout", "11", "can't lend items"),
        ("checkin", "09", "can't take items back"),
        ("renew", "29", "can't renew loans"),
        ("renew", "65", "can't renew loans"),
        ("hold", "15", "can't place or cancel holds"),
        ("pay", "37", "can't take payments"),
        ("block", "01", "can't block cards"),
    ],
)
def test_each_permission_is_the_accounts_own(
    library: Library, permission: str, command: str, words: str
) -> None:
    others = replace(SELFCHECK, may=frozenset(PERMISSIONS) - {permission})
    response = library.send(EVERY_REQUEST[command], device=others)
    assert any(words in said for said in response.screen_message)
    assert library.count(AppliedTransaction) == 0
    assert not library.get(Patron, "ada").barred


def test_the_institution_id_is_the_librarys_else_the_devices_own(library: Library) -> None:
    assert library.send(end_session(ADA)).institution_id == "Main"
    echo = replace(SELFCHECK, settings=Sip2Settings())
    response = library.send(f"35{T}AOBranch 2|AA{ADA}|AC|", device=echo)
    assert response.institution_id == "Branch 2"
    assert library.send(patron_status(ADA), device=echo).currency_type is None


# --- the rest ---------------------------------------------------------------------------------------


def test_two_devices_racing_for_one_item_one_wins_and_the_other_is_told_why(
    library: Library,
) -> None:
    other = replace(SELFCHECK, account="selfcheck-2", peer="192.0.2.9:5000")
    answers: dict[str, Any] = {}
    start = threading.Barrier(2)

    def lend_to(name: str, card: str, device: Device) -> Callable[[], None]:
        def run() -> None:
            start.wait()
            answers[name] = library.send(checkout(card, "F1"), device=device)

        return run

    threads = [
        threading.Thread(target=lend_to("ada", ADA, SELFCHECK)),
        threading.Thread(target=lend_to("ben", BEN, other)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answer.ok for answer in answers.values()) == [False, True]
    [loser] = [answer for answer in answers.values() if not answer.ok]
    assert "recorded as on loan" in loser.screen_message[0]
    assert library.count(Loan) == 1
    assert library.count(AppliedTransaction) == 1


def test_no_patrons_name_card_or_pin_is_logged(
    library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    library.lend("F1", "ada", "2026-11-20")
    with caplog.at_level(logging.DEBUG):
        for line in [
            *EVERY_REQUEST.values(),
            patron_status(ADA, "1111"),
            checkout(ADA, "F2", pin="4321"),
        ]:
            library.send(line)
            library.send(line, device=AUTHENTICATOR)
    logged = caplog.text
    for secret in ("Ada", "Tester", ADA, "4321", "1111", "ada@example.org"):
        assert secret not in logged


def test_the_standing_follows_the_clock(library: Library) -> None:
    """Ben's membership ends on 30 June 2027: a day later he may not borrow."""
    assert library.send(patron_status(BEN), now=datetime(2027, 6, 30, 12)).patron_status == set()
    after = library.send(patron_status(BEN), now=datetime(2027, 7, 1, 9))
    assert after.patron_status == {CHARGE, RENEWAL}
    assert PATRONS["ben"][1] == date(2027, 6, 30)


def test_a_no_block_renewal_stands_even_refused_and_staff_see_why(library: Library) -> None:
    """The device renewed D1 offline although the policy allows no renewal of it: the
    loan carries the renewal all the same, and staff get the exception."""
    library.lend("D1", "ada", "2026-11-30")
    response = library.send(renew(ADA, "D1", no_block="Y"))
    assert (response.ok, response.renewal_ok) == (True, True)
    assert library.get(Loan, "D1").renewals == 1
    assert library.send(renew(ADA, "D1", no_block="Y")) == response  # a resend: once
    assert library.get(Loan, "D1").renewals == 1
    with library.db() as db:
        found = {(row.reason, row.source) for row in db.scalars(select(StaffException))}
    assert found == {("refused_now", "sip2:selfcheck")}
