"""The SIP2 messages answered: each request translated to a call of the server's one
decision path (``kiosk.central.circulation``), and its answer to the response.

``answer`` is called by the server, in a worker thread, for every request but 93 Login,
99 SC Status and 97 Request ACS Resend (the connection's own). A handler opens its own
session, finds the patron by the card the device read (AA), checks the PIN when the
device sent one (AD, with the kiosks' verifier and lockout), calls the circulation
module, and builds the response. It decides no lending question: what may be lent,
renewed, fined, held or paid is the circulation module's; what a handler chooses is only
how the protocol says it (a status code, a sort bin, a flag).

- A refusal (the rules', a ``CentralError`` raised on the way, a permission the device's
  account lacks) is the message's negative response with the reason in AF, the screen
  message, in the words the patron or staff read. Nothing a device sends raises.
- Every transaction carries an id derived from the account, the kind, the card, the item
  and the device's transaction date, so a device that sends the same checkout, checkin
  or renewal again gets the same answer and no second effect.
- Transactions are the account's: ``sip2:NAME`` in the transactions table, the change log
  and the audit log; a "no block" fact that the rules would refuse becomes a staff
  exception with the account as its source.
- No patron's name, card, PIN or contact is logged here.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, exists, select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.central.circulation import desk, holds, ledger, lookup, patrons
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.authentication import PinAnswer, PinCheck, check_card_pin
from kiosk.central.circulation.catalogue import item_view
from kiosk.central.circulation.patron_status import Charge, PatronStanding, patron_standing
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.errors import CentralError
from kiosk.central.models import Branch, Item, Patron
from kiosk.central.sip2 import codec
from kiosk.central.sip2.codec import ItemList, PatronFlag, Sip2Error
from kiosk.central.sip2.device import BLOCK, CHECKIN, CHECKOUT, HOLD, PAY, RENEW, Device
from kiosk.rules import Due

log = logging.getLogger(__name__)

# The request commands ``answer`` answers; the server adds its own (93, 97, 99) to the
# supported-messages field (BX) of its 98 ACS Status. 19 Item Status Update and 25
# Patron Enable are answered too, with a refusal: they are not supported.
SUPPORTED: frozenset[str] = frozenset(
    {"23", "11", "09", "01", "63", "35", "37", "17", "15", "29", "65"}
)

MAX_COUNT = 9999  # four digits
END_OF_DAY = time(23, 59)  # a day loan is due by the end of its day (kiosk.rules)
OVERDUE_FEE = "04"  # fee type: overdue (a renewal charges the fine accrued so far)
# Circulation status codes of the 18 Item Information Response.
OTHER, AVAILABLE, CHARGED, ON_HOLD_SHELF, LOST, MISSING = "01", "03", "04", "08", "12", "13"
SECURITY_OTHER = "00"
FEE_OTHER = "01"
# The 3M extension's alert types (CV) of the 10 Checkin Response.
ALERT_HOLD, ALERT_TRANSFER, ALERT_OTHER = "01", "04", "99"
# SIP2's language codes for the languages a patron's record may name (the kiosks').
LANGUAGES = {
    "en": "001",
    "fr": "002",
    "de": "003",
    "it": "004",
    "nl": "005",
    "sv": "006",
    "fi": "007",
    "es": "008",
    "da": "009",
    "pt": "010",
}
UNKNOWN_LANGUAGE = "000"
PAYMENT_TYPES = {"00": "cash", "01": "VISA", "02": "credit card"}

# What the account must allow for each request; None: any logged-in account (patron
# authentication: an EZproxy-style authenticator may send these and nothing else).
ANY_PERMISSION = "any"
NEEDS: dict[type[codec.Request], str | None] = {
    codec.PatronStatusRequest: None,
    codec.PatronInformation: None,
    codec.EndPatronSession: None,
    codec.Checkout: CHECKOUT,
    codec.Checkin: CHECKIN,
    codec.Renew: RENEW,
    codec.RenewAll: RENEW,
    codec.Hold: HOLD,
    codec.FeePaid: PAY,
    codec.BlockPatron: None,  # answered with the patron's status all the same
    codec.ItemInformation: ANY_PERMISSION,
    codec.ItemStatusUpdate: ANY_PERMISSION,
    codec.PatronEnable: None,
}
_NOT_ALLOWED = {
    CHECKOUT: "This machine can't lend items.",
    CHECKIN: "This machine can't take items back.",
    RENEW: "This machine can't renew loans.",
    HOLD: "This machine can't place or cancel holds.",
    PAY: "This machine can't take payments.",
    BLOCK: "This machine can't block cards.",
    ANY_PERMISSION: "This machine is for signing in only.",
}
SEE_STAFF = "Please ask a member of staff."
UNKNOWN_CARD = f"This card is not known here. {SEE_STAFF}"


class _OneConnection:
    """The sessions of one request, each on the same pooled connection, taken when the
    first is opened. A handler ends a transaction before the decision path starts its
    own (so that SQLite never upgrades a read to a write): with a session of the pool's,
    each would hand the connection back and take one again, pinged, three times in a
    checkout."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None

    def __call__(self) -> Session:
        if self.connection is None:
            self.connection = self.engine.connect()
        return Session(bind=self.connection, expire_on_commit=False)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


@dataclass(frozen=True)
class _Call:
    """One request being answered: where it came from and what answers it."""

    sessions: Callable[[], Session]
    policies: PolicyCache
    device: Device
    request: codec.Request
    now: datetime

    @property
    def actor(self) -> Actor:
        return Actor(
            self.device.source, self.device.peer, "sip2", branch=self.device.location or None
        )

    @property
    def institution(self) -> str:
        """AO in what we send: the library's, else the device's own echoed."""
        return self.device.settings.institution_id or getattr(self.request, "institution_id", "")

    @property
    def currency(self) -> str | None:
        currency = self.device.settings.currency
        return currency if len(currency) == 3 else None

    def transaction_id(self, kind: str, card: str, item: str, at: datetime) -> str:
        """The id of one transaction the device sends: the same message sent again names
        the same transaction, so it is applied once and answered as the first was."""
        key = "\x1f".join((self.device.account, kind, card, item, codec.format_date(at)))
        return f"sip2-{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def answer(
    sessions: sessionmaker[Session],
    policies: PolicyCache,
    device: Device,
    request: codec.Request,
    now: datetime,
) -> codec.Response:
    """The response to one request from a logged-in device, at ``now`` (the library's
    local time, naive). Raises only for a request the server answers itself (93, 97,
    99): a bug in the server, not the device's doing."""
    handler = _HANDLERS.get(type(request))
    if handler is None:
        raise Sip2Error(f"message {request.COMMAND} ({request.NAME}) is the server's to answer")
    one_connection = _OneConnection(sessions.kw["bind"])
    call = _Call(one_connection, policies, device, request, now)
    needed = NEEDS[type(request)]
    if needed is not None and not _allowed(device, needed):
        log.debug("sip2 %s from %s: not allowed", request.COMMAND, device.account)
        return _negative(call, _NOT_ALLOWED[needed])
    try:
        return handler(call)
    except CentralError as error:
        # Not the message: a barcode scanned where a card was wanted would be in it.
        log.debug("sip2 %s from %s: %s", request.COMMAND, device.account, type(error).__name__)
        return _negative(call, str(error))
    finally:
        one_connection.close()


def _allowed(device: Device, needed: str) -> bool:
    if needed == ANY_PERMISSION:
        return bool(device.may)
    return needed in device.may


# --- reading what a device names ---------------------------------------------------------


def _patron(db: Session, card: str) -> Patron | None:
    """The patron whose card the device read; None for a card no one has."""
    if not lookup.could_be_card(card):
        return None
    found: Patron | None = db.scalar(select(Patron).where(Patron.card == card.strip()))
    return found


class _Refused(CentralError):
    """A request answered no, for the reason given (the device's screen message)."""


def _known_patron(
    call: _Call, db: Session, card: str, pin: str | None, patron: Patron | None = None
) -> str:
    """The patron id of the card (``patron``, when the caller read it already), whose
    PIN, if the device sent one, is right; else the request is refused (an unknown card,
    a wrong PIN, a card locked by wrong PINs)."""
    patron = patron or _patron(db, card)
    if patron is None:
        raise _Refused(UNKNOWN_CARD)
    refusal = _pin_refusal(_pin(call, db, patron, pin))
    if refusal is not None:
        raise _Refused(refusal)
    patron_id = patron.patron_id
    _reads_done(db)
    return patron_id


def _reads_done(db: Session) -> None:
    """End what a handler read before the decision path writes. On SQLite its transaction
    ends: one that read and then writes must upgrade its lock, and fails when another
    wrote meanwhile. PostgreSQL reads each statement afresh (READ COMMITTED) and the
    decision path takes its locks before it reads again, so there the transaction goes
    on: a ROLLBACK and a BEGIN fewer, two of a checkout's round trips."""
    if db.get_bind().dialect.name == "sqlite":
        db.rollback()
    else:
        db.expire_all()  # as a rollback would: what the path reads is read again


def _pin(call: _Call, db: Session, patron: Patron, pin: str | None) -> PinCheck | None:
    """The PIN checked, when the device sent one (an empty AD asks for no check)."""
    if not pin:
        return None
    db.rollback()  # the check reads and writes in transactions of its own
    upstream = call.device.settings.patron_check
    return check_card_pin(db, patron, patron.card, pin, call.now, upstream)


def _pin_refusal(check: PinCheck | None) -> str | None:
    """Why a PIN the device sent does not let the patron in; None when it does."""
    if check is None or check.right:
        return None
    if check.answer is PinAnswer.LOCKED and check.locked_until is not None:
        return (
            "Too many wrong PINs: this card can't be used with a PIN until "
            f"{check.locked_until:%H:%M}. {SEE_STAFF}"
        )
    if check.answer is PinAnswer.NO_PIN:
        return f"This card has no PIN. {SEE_STAFF}"
    if check.answer is PinAnswer.BLOCKED:
        return f"This card is blocked by the library. {SEE_STAFF}"
    return "That PIN is not right. Please try again."


def _due(due: str | None) -> datetime | None:
    """A loan's due date as SIP2 sends it: a day loan by the end of its day."""
    if not due:
        return None
    try:
        parsed = Due.fromisoformat(due)
    except ValueError:
        return None
    return datetime.combine(parsed.day, parsed.at or END_OF_DAY)


def _device_due(moment: datetime | None) -> str | None:
    """The device's own due date (a no-block loan's) as a loan's: a day loan when it
    names no time of day (midnight, or the day's last minute), else a short loan."""
    if moment is None:
        return None
    if moment.time() == time(0, 0) or moment.time() >= END_OF_DAY:
        return moment.date().isoformat()
    return Due.at_time(moment).isoformat()


def _language(patron_language: str | None, asked: str) -> str:
    """The patron's language as SIP2 codes it; else the language the device asked in."""
    if patron_language in LANGUAGES:
        return LANGUAGES[patron_language]
    if len(asked) == 3 and asked.isascii() and asked.isdigit():
        return asked
    return UNKNOWN_LANGUAGE


def _count(n: int) -> int:
    return min(n, MAX_COUNT)


def _text(value: str | None) -> str:
    return value or ""


# --- negative answers ----------------------------------------------------------------------

_DENIED = frozenset(
    {
        PatronFlag.CHARGE_PRIVILEGES_DENIED,
        PatronFlag.RENEWAL_PRIVILEGES_DENIED,
        PatronFlag.RECALL_PRIVILEGES_DENIED,
        PatronFlag.HOLD_PRIVILEGES_DENIED,
    }
)


def _negative(call: _Call, message: str) -> codec.Response:  # noqa: PLR0911 - one per message
    """The request's response saying no, with ``message`` on the device's screen."""
    request, now, institution = call.request, call.now, call.institution
    screen = (message,)
    match request:
        case codec.Checkout():
            return codec.CheckoutResponse(
                ok=False,
                renewal_ok=False,
                magnetic_media=None,
                desensitize=False,
                transaction_date=now,
                institution_id=institution,
                patron_id=request.patron_id,
                item_id=request.item_id,
                title_id="",
                due_date=None,
                screen_message=screen,
            )
        case codec.Checkin():
            return codec.CheckinResponse(
                ok=False,
                resensitize=False,
                magnetic_media=None,
                alert=False,
                transaction_date=now,
                institution_id=institution,
                item_id=request.item_id,
                permanent_location="",
                screen_message=screen,
            )
        case codec.Renew():
            return codec.RenewResponse(
                ok=False,
                renewal_ok=False,
                magnetic_media=None,
                desensitize=False,
                transaction_date=now,
                institution_id=institution,
                patron_id=request.patron_id,
                item_id=_text(request.item_id),
                title_id=_text(request.title_id),
                due_date=None,
                screen_message=screen,
            )
        case codec.RenewAll():
            return codec.RenewAllResponse(
                ok=False,
                renewed_count=0,
                unrenewed_count=0,
                transaction_date=now,
                institution_id=institution,
                screen_message=screen,
            )
        case codec.Hold():
            return codec.HoldResponse(
                ok=False,
                available=False,
                transaction_date=now,
                institution_id=institution,
                patron_id=request.patron_id,
                item_id=request.item_id,
                title_id=request.title_id,
                screen_message=screen,
            )
        case codec.FeePaid():
            return codec.FeePaidResponse(
                payment_accepted=False,
                transaction_date=now,
                institution_id=institution,
                patron_id=request.patron_id,
                transaction_id=request.transaction_id,
                screen_message=screen,
            )
        case codec.ItemInformation() | codec.ItemStatusUpdate():
            return _unknown_item(call, request.item_id, message)
        case codec.EndPatronSession():
            return codec.EndSessionResponse(
                end_session=True,
                transaction_date=now,
                institution_id=institution,
                patron_id=request.patron_id,
                screen_message=screen,
            )
        case codec.PatronInformation():
            return _information_refused(call, request, None, screen)
        case codec.PatronEnable():
            return codec.PatronEnableResponse(
                patron_status=_DENIED,
                language=_language(None, ""),
                transaction_date=now,
                institution_id=institution,
                patron_id=request.patron_id,
                personal_name="",
                screen_message=screen,
            )
        case codec.PatronStatusRequest() | codec.BlockPatron():
            return codec.PatronStatusResponse(
                patron_status=_DENIED,
                language=_language(None, getattr(request, "language", "")),
                transaction_date=now,
                institution_id=institution,
                patron_id=request.patron_id,
                personal_name="",
                screen_message=screen,
            )
    raise Sip2Error(f"message {request.COMMAND} ({request.NAME}) has no negative answer")


def _unknown_item(call: _Call, item_id: str, message: str) -> codec.Response:
    if isinstance(call.request, codec.ItemStatusUpdate):
        return codec.ItemStatusUpdateResponse(
            item_properties_ok=False,
            transaction_date=call.now,
            item_id=item_id,
            screen_message=(message,),
        )
    return codec.ItemInformationResponse(
        circulation_status=OTHER,
        security_marker=SECURITY_OTHER,
        fee_type=FEE_OTHER,
        transaction_date=call.now,
        item_id=item_id,
        title_id="",
        screen_message=(message,),
    )


# --- 23/24, 63/64, 01, 25: the patron's status ----------------------------------------------


@dataclass(frozen=True)
class _Status:
    """What a 24 or 64 says of a patron: the flags, BL and CQ, the standing (None when
    the card is unknown or the PIN sent was not right: nothing more is told), and the
    screen messages."""

    flags: frozenset[PatronFlag]
    valid: bool | None
    pin_valid: bool | None
    standing: PatronStanding | None
    screen: tuple[str, ...]


def _flags(standing: PatronStanding) -> frozenset[PatronFlag]:
    """The 14 positions as the circulation module's standing says them. Holds and recalls
    are refused to no one (the decision path places a hold for any patron; there are no
    recalls); a barred card is a card not to be used, which a device reads in 'card
    reported lost'; the limit on what one may owe covers fines and fees alike."""
    flags = set()
    if not standing.may_borrow:
        flags.add(PatronFlag.CHARGE_PRIVILEGES_DENIED)
    if not standing.may_renew:
        flags.add(PatronFlag.RENEWAL_PRIVILEGES_DENIED)
    if standing.barred:
        flags.add(PatronFlag.CARD_REPORTED_LOST)
    if standing.at_loan_limit:
        flags.add(PatronFlag.TOO_MANY_ITEMS_CHARGED)
    if standing.over_fine_limit:
        flags.add(PatronFlag.EXCESSIVE_OUTSTANDING_FINES)
        flags.add(PatronFlag.EXCESSIVE_OUTSTANDING_FEES)
    return frozenset(flags)


def _status(call: _Call, db: Session, card: str, pin: str | None) -> _Status:
    patron = _patron(db, card)
    if patron is None:
        return _Status(_DENIED, False, None, None, (UNKNOWN_CARD,))
    check = _pin(call, db, patron, pin)
    refusal = _pin_refusal(check)
    if refusal is not None:
        # A wrong PIN learns that it was wrong, and nothing of the patron.
        return _Status(_DENIED, True, False, None, (refusal,))
    standing = patron_standing(db, patron.patron_id, call.now, call.policies.get(db))
    if standing is None:  # gone meanwhile
        return _Status(_DENIED, False, None, None, (UNKNOWN_CARD,))
    screen = tuple(refusal.message for refusal in standing.refusals)
    if not standing.known_type:
        screen += (f"Your membership can't be used to borrow here. {SEE_STAFF}",)
    return _Status(_flags(standing), True, None if check is None else True, standing, screen)


def _patron_status(call: _Call) -> codec.Response:
    request = call.request
    assert isinstance(request, codec.PatronStatusRequest)
    with call.sessions() as db:
        status = _status(call, db, request.patron_id, request.patron_password)
    return _status_response(call, request.patron_id, request.language, status)


def _status_response(
    call: _Call, card: str, asked_language: str, status: _Status, more: tuple[str, ...] = ()
) -> codec.PatronStatusResponse:
    standing = status.standing
    return codec.PatronStatusResponse(
        patron_status=status.flags,
        language=_language(standing.language if standing else None, asked_language),
        transaction_date=call.now,
        institution_id=call.institution,
        patron_id=card,
        personal_name=standing.name if standing else "",
        valid_patron=status.valid,
        valid_patron_password=status.pin_valid,
        currency_type=call.currency if standing else None,
        fee_amount=standing.owed if standing else None,
        screen_message=status.screen + more,
    )


def _information_refused(
    call: _Call,
    request: codec.PatronInformation,
    status: _Status | None,
    screen: tuple[str, ...],
) -> codec.PatronInformationResponse:
    return codec.PatronInformationResponse(
        patron_status=status.flags if status else _DENIED,
        language=_language(None, request.language),
        transaction_date=call.now,
        hold_items_count=None,
        overdue_items_count=None,
        charged_items_count=None,
        fine_items_count=None,
        recall_items_count=None,
        unavailable_holds_count=None,
        institution_id=call.institution,
        patron_id=request.patron_id,
        personal_name="",
        valid_patron=status.valid if status else None,
        valid_patron_password=status.pin_valid if status else None,
        screen_message=screen,
    )


_T = TypeVar("_T")


def _page(items: Sequence[_T], start: int | None, end: int | None) -> tuple[_T, ...]:
    """Items ``start`` to ``end`` of a list, numbered from 1 (BP, BQ); all without them."""
    first = max(start or 1, 1)
    last = len(items) if end is None else end
    return tuple(items[first - 1 : last]) if last >= first else ()


def _fine_line(charge: Charge) -> str:
    """One fine item (AV): the amount still owed, the kind, the item (or the note)."""
    if charge.kind == "balance":
        return f"{charge.amount} balance"
    return f"{charge.amount} {charge.kind} {charge.item_barcode or charge.note}".strip()


def _patron_information(call: _Call) -> codec.Response:
    request = call.request
    assert isinstance(request, codec.PatronInformation)
    with call.sessions() as db:
        status = _status(call, db, request.patron_id, request.patron_password)
    standing = status.standing
    if standing is None:
        return _information_refused(call, request, status, status.screen)
    lists: dict[ItemList, Sequence[str]] = {
        ItemList.HOLD: [hold.item_barcode or hold.title for hold in standing.holds_ready],
        ItemList.OVERDUE: [loan.barcode for loan in standing.overdue],
        ItemList.CHARGED: [loan.barcode for loan in standing.loans],
        ItemList.FINE: [_fine_line(charge) for charge in standing.charges],
        ItemList.RECALL: [],
        # A title hold waits for no one copy: the device is sent its title.
        ItemList.UNAVAILABLE_HOLD: [
            hold.item_barcode or hold.title for hold in standing.holds_waiting
        ],
    }
    chosen = request.summary
    shown = {
        which.value: _page(items, request.start_item, request.end_item) if which is chosen else ()
        for which, items in lists.items()
    }
    return codec.PatronInformationResponse(
        patron_status=status.flags,
        language=_language(standing.language, request.language),
        transaction_date=call.now,
        hold_items_count=_count(len(standing.holds_ready)),
        overdue_items_count=_count(len(standing.overdue)),
        charged_items_count=_count(len(standing.loans)),
        fine_items_count=_count(len(standing.charges)),
        recall_items_count=0,
        unavailable_holds_count=_count(len(standing.holds_waiting)),
        institution_id=call.institution,
        patron_id=request.patron_id,
        personal_name=standing.name,
        charged_items_limit=(
            standing.loan_limit
            if standing.loan_limit is not None and standing.loan_limit <= MAX_COUNT
            else None
        ),
        valid_patron=True,
        valid_patron_password=status.pin_valid,
        currency_type=call.currency,
        fee_amount=standing.owed,
        fee_limit=standing.fine_limit,
        hold_items=shown["AS"],
        overdue_items=shown["AT"],
        charged_items=shown["AU"],
        fine_items=shown["AV"],
        recall_items=shown["BU"],
        unavailable_hold_items=shown["CD"],
        email_address=standing.email or None,
        home_phone_number=standing.phone or None,
        screen_message=status.screen,
    )


def _block_patron(call: _Call) -> codec.Response:
    """01 Block Patron: the card barred for the device's reason (AL), answered, as the
    specification asks, with a 24 Patron Status Response saying how the patron stands
    then. A card barred before stays barred: that is what the device asked for."""
    request = call.request
    assert isinstance(request, codec.BlockPatron)
    more: tuple[str, ...] = ()
    with call.sessions() as db:
        patron = _patron(db, request.patron_id)
        if patron is not None and BLOCK not in call.device.may:
            more = (_NOT_ALLOWED[BLOCK],)
        elif patron is not None:
            said = " ".join(request.blocked_card_msg.split())
            reason = f"blocked by SIP2 device {call.device.account}" + (f": {said}" if said else "")
            if request.card_retained:
                reason += " (card retained)"
            patron_id = patron.patron_id
            db.rollback()
            try:
                patrons.bar(db, patron_id, reason[: patrons.MAX_REASON], call.now, call.actor)
            except patrons.PatronRefused:
                db.rollback()  # barred already
        status = _status(call, db, request.patron_id, None)
    return _status_response(call, request.patron_id, "", status, more)


def _patron_enable(call: _Call) -> codec.Response:
    """25 Patron Enable: not supported (staff lift a bar, with a reason, at the console);
    answered with the patron's status as it is."""
    request = call.request
    assert isinstance(request, codec.PatronEnable)
    with call.sessions() as db:
        status = _status(call, db, request.patron_id, request.patron_password)
    standing = status.standing
    return codec.PatronEnableResponse(
        patron_status=status.flags,
        language=_language(standing.language if standing else None, ""),
        transaction_date=call.now,
        institution_id=call.institution,
        patron_id=request.patron_id,
        personal_name=standing.name if standing else "",
        valid_patron=status.valid,
        valid_patron_password=status.pin_valid,
        screen_message=(f"A blocked card is unblocked by staff. {SEE_STAFF}",),
    )


def _end_session(call: _Call) -> codec.Response:
    """35 End Patron Session: every message stands on its own, so there is nothing to
    end; the device is told the session is over."""
    request = call.request
    assert isinstance(request, codec.EndPatronSession)
    return codec.EndSessionResponse(
        end_session=True,
        transaction_date=call.now,
        institution_id=call.institution,
        patron_id=request.patron_id,
    )


# --- 11/12 checkout, 29/30 renew, 65/66 renew all -------------------------------------------

CANCEL_UNSUPPORTED = f"Cancelling a transaction is not supported here. {SEE_STAFF}"


def _refusals(found: desk.LoanAnswer, otherwise: str) -> tuple[str, ...]:
    if found.done:
        return ()
    return tuple(refusal.message for refusal in found.refusals) or (found.note or otherwise,)


def _fee(call: _Call, found: desk.LoanAnswer) -> dict[str, Any]:
    """BT, BH and BV for the fine a renewal charged."""
    if found.fine <= 0:
        return {}
    return {"fee_type": OVERDUE_FEE, "currency_type": call.currency, "fee_amount": found.fine}


def _checkout(call: _Call) -> codec.Response:
    """11 Checkout: lent by the decision path; the patron's own loan renewed when the
    device may renew (SC renewal policy Y); a no-block loan recorded as the fact it is."""
    request = call.request
    assert isinstance(request, codec.Checkout)
    if request.cancel:
        raise _Refused(CANCEL_UNSUPPORTED)
    card, barcode = request.patron_id, request.item_id.strip()
    lent_id = call.transaction_id("checkout", card, barcode, request.transaction_date)
    renewal_id = call.transaction_id("renew", card, barcode, request.transaction_date)
    with call.sessions() as db:
        patron, renewing = _patron_renewing(db, card, barcode, lent_id, renewal_id)
        if request.no_block:
            patron_id = patron.patron_id if patron is not None else None
            _reads_done(db)
            found = desk.record_offline(
                db,
                call.policies,
                kind="checkout",
                barcode=barcode,
                patron_id=patron_id,
                # The device's clock, but never later than ours: it lent it already.
                decided_at=min(request.transaction_date, call.now),
                due=_device_due(request.nb_due_date),
                now=call.now,
                actor=call.actor,
                source=call.device.source,
                transaction_id=lent_id,
                card=card if patron_id is None else None,
            )
            if found.due is None:  # sent again: record_offline keeps no due date to say
                lent = lookup.item_summary(db, barcode)
                found = replace(found, due=lent.due if lent is not None else None)
            return _checkout_response(call, request, found)
        if patron is None:
            raise _Refused(UNKNOWN_CARD)
        patron_id = _known_patron(call, db, card, request.patron_password, patron)
        if renewing and not request.sc_renewal_policy:
            raise _Refused("You have this item on loan already.")
        if renewing and RENEW not in call.device.may:
            raise _Refused(f"You have this item on loan already. {_NOT_ALLOWED[RENEW]}")
        lend = desk.renew if renewing else desk.checkout
        found = lend(
            db,
            call.policies,
            patron_id=patron_id,
            barcode=barcode,
            now=call.now,
            actor=call.actor,
            transaction_id=renewal_id if renewing else lent_id,
        )
    return _checkout_response(call, request, found)


# Built once: a device waits on each checkout and checkin.
_PATRON_RENEWING = select(Patron, *desk.OWN_LOAN_FACTS).where(Patron.card == bindparam("card"))


def _patron_renewing(
    db: Session, card: str, barcode: str, lent_id: str, renewal_id: str
) -> tuple[Patron | None, bool]:
    """The patron whose card the device read (None: no one's), and whether their checkout
    of ``barcode`` renews their own loan (``desk.renews_own_loan``). One statement: the
    device waits on each."""
    if not lookup.could_be_card(card):
        return None, False
    found = db.execute(
        _PATRON_RENEWING,
        {
            "card": card.strip(),
            "barcode": barcode,
            "checkout_id": lent_id,
            "renewal_id": renewal_id,
        },
    ).one_or_none()
    if found is None:
        return None, False
    patron, *facts = found
    return patron, desk.renews_own_loan(patron.patron_id, *facts)


def _checkout_response(
    call: _Call, request: codec.Checkout, found: desk.LoanAnswer
) -> codec.CheckoutResponse:
    return codec.CheckoutResponse(
        ok=found.done,
        renewal_ok=found.done and found.action == "renew",
        magnetic_media=None,  # not known: the catalogue does not say
        desensitize=found.done,
        transaction_date=call.now,
        institution_id=call.institution,
        patron_id=request.patron_id,
        item_id=request.item_id,
        title_id=found.title,
        due_date=_due(found.due) if found.done else None,
        transaction_id=found.transaction_id,
        screen_message=_refusals(found, f"This item can't be lent here. {SEE_STAFF}"),
        **_fee(call, found),
    )


def _renew(call: _Call) -> codec.Response:
    """29 Renew: the patron's loan of the item renewed by the decision path. A renewal
    names its item (AB): one by title alone (AJ) is not supported."""
    request = call.request
    assert isinstance(request, codec.Renew)
    barcode = (request.item_id or "").strip()
    if not barcode:
        raise _Refused("Renewing by title is not supported: scan the item's barcode.")
    card = request.patron_id
    renewal_id = call.transaction_id("renew", card, barcode, request.transaction_date)
    with call.sessions() as db:
        if request.no_block:
            # The device renewed it already, offline: a fact, as a no-block checkout is.
            patron = _patron(db, card)
            db.rollback()
            found = desk.record_offline(
                db,
                call.policies,
                kind="renew",
                barcode=barcode,
                patron_id=patron.patron_id if patron is not None else None,
                decided_at=min(request.transaction_date, call.now),
                due=_device_due(request.nb_due_date),
                now=call.now,
                actor=call.actor,
                source=call.device.source,
                transaction_id=renewal_id,
            )
        else:
            patron_id = _known_patron(call, db, card, request.patron_password)
            found = desk.renew(
                db,
                call.policies,
                patron_id=patron_id,
                barcode=barcode,
                now=call.now,
                actor=call.actor,
                transaction_id=renewal_id,
            )
    return codec.RenewResponse(
        ok=found.done,
        renewal_ok=found.done,
        magnetic_media=None,
        desensitize=found.done,
        transaction_date=call.now,
        institution_id=call.institution,
        patron_id=card,
        item_id=request.item_id or barcode,
        title_id=found.title,
        due_date=_due(found.due),  # refused: the loan's due date as it stays
        transaction_id=found.transaction_id,
        screen_message=_refusals(found, f"This loan can't be renewed here. {SEE_STAFF}"),
        **_fee(call, found),
    )


def _renew_all(call: _Call) -> codec.Response:
    """65 Renew All: each of the patron's loans renewed by the decision path, the ones
    renewed in BM, the others in BN with the reason in AF."""
    request = call.request
    assert isinstance(request, codec.RenewAll)
    card = request.patron_id
    renewed: list[str] = []
    unrenewed: list[str] = []
    screen: list[str] = []
    fines = Decimal("0.00")
    with call.sessions() as db:
        patron_id = _known_patron(call, db, card, request.patron_password)
        found = lookup.desk_patron(db, patron_id, call.now, call.policies.get(db))
        # In barcode order: the order of due dates changes as they are renewed.
        barcodes = sorted(loan.barcode for loan in found.loans) if found is not None else []
        db.rollback()
        for barcode in barcodes:
            try:
                done = desk.renew(
                    db,
                    call.policies,
                    patron_id=patron_id,
                    barcode=barcode,
                    now=call.now,
                    actor=call.actor,
                    transaction_id=call.transaction_id(
                        "renew", card, barcode, request.transaction_date
                    ),
                )
            except CentralError as error:
                unrenewed.append(barcode)
                screen.append(f"{barcode}: {error}")
                continue
            if done.done:
                renewed.append(barcode)
                fines += done.fine
            else:
                unrenewed.append(barcode)
                screen.append(f"{barcode}: {_refusals(done, 'not renewed')[0]}")
    if fines > 0:
        screen.append(f"Fines charged for renewing: {fines}")
    return codec.RenewAllResponse(
        ok=True,
        renewed_count=_count(len(renewed)),
        unrenewed_count=_count(len(unrenewed)),
        transaction_date=call.now,
        institution_id=call.institution,
        renewed_items=tuple(renewed),
        unrenewed_items=tuple(unrenewed),
        screen_message=tuple(screen),
    )


# --- 09/10 checkin ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sorting:
    """Where a returned item goes, and what a sorter or staff are told."""

    sort_bin: str
    alert: bool
    alert_type: str | None = None
    destination: str | None = None
    hold_patron_id: str | None = None
    hold_patron_name: str | None = None


def _checkin(call: _Call) -> codec.Response:
    """09 Checkin: taken back by the decision path (a no-block return, or one the device
    dates earlier than the transaction, as a book drop does, recorded as the fact it is at
    its own date); sorted by the kiosks' bin rules: the hold shelf when someone waits for
    it, staff when it needs a person (not on loan, an exception, another branch's), else
    the shelf."""
    request = call.request
    assert isinstance(request, codec.Checkin)
    if request.cancel:
        raise _Refused(CANCEL_UNSUPPORTED)
    barcode = request.item_id.strip()
    settings = call.device.settings
    with call.sessions() as db:
        home, here = _item_and_branch_here(
            db, barcode, request.current_location, call.device.location
        )
        if home is None:
            return codec.CheckinResponse(
                ok=False,
                resensitize=False,
                magnetic_media=None,
                alert=True,
                transaction_date=call.now,
                institution_id=call.institution,
                item_id=request.item_id,
                permanent_location="",
                sort_bin=settings.staff_bin,
                alert_type=ALERT_OTHER,
                screen_message=(f"No item has barcode {barcode}. {SEE_STAFF}",),
            )
        returned_id = call.transaction_id("return", "", barcode, request.transaction_date)
        backdated = (
            request.return_date is not None and request.return_date < request.transaction_date
        )
        _reads_done(db)
        if request.no_block or backdated:
            found = desk.record_offline(
                db,
                call.policies,
                kind="return",
                barcode=barcode,
                patron_id=None,
                decided_at=min(request.return_date or request.transaction_date, call.now),
                due=None,
                now=call.now,
                actor=call.actor,
                source=call.device.source,
                transaction_id=returned_id,
                branch=here,
            )
            recorded = desk.transaction(db, found.transaction_id)
            staff = recorded is not None and recorded.outcome == "exception"
        else:
            found = desk.check_in(
                db,
                call.policies,
                barcode=barcode,
                now=call.now,
                actor=call.actor,
                transaction_id=returned_id,
                branch=here,
            )
            staff = not found.done
        sorting = _sort(call, db, found, staff, home)
    screen = _refusals(found, "")
    if found.fine > 0:
        screen += (f"A fine of {found.fine} was charged for this item.",)
    return codec.CheckinResponse(
        ok=found.done,
        resensitize=True,  # ours, and staying in the library
        magnetic_media=None,
        alert=sorting.alert,
        transaction_date=call.now,
        institution_id=call.institution,
        item_id=request.item_id,
        permanent_location=home,
        title_id=found.title,
        sort_bin=sorting.sort_bin,
        destination_location=sorting.destination,
        alert_type=sorting.alert_type,
        hold_patron_id=sorting.hold_patron_id,
        hold_patron_name=sorting.hold_patron_name,
        screen_message=tuple(message for message in screen if message),
    )


_ITEM_AND_BRANCHES = select(
    Item.home_location,
    exists().where(Branch.code == bindparam("said")),
    exists().where(Branch.code == bindparam("account")),
).where(Item.barcode == bindparam("barcode"))


def _item_and_branch_here(
    db: Session, barcode: str, current_location: str | None, account_location: str
) -> tuple[str | None, str | None]:
    """The item's home location (None: no item has the barcode), and the branch a checkin
    happens at for the decision path's routing: the location the device says it is at
    (AP) when that is a branch's code, else its account's; None when neither is (a
    library without branches, a location that names no branch). One statement, built
    once: a checkin is the devices' busiest request."""
    if not barcode:
        return None, None
    said = (current_location or "").strip()
    found = (
        db.connection()
        .execute(
            _ITEM_AND_BRANCHES, {"barcode": barcode, "said": said, "account": account_location}
        )
        .one_or_none()
    )
    if found is None:
        return None, None
    home, said_is_branch, account_is_branch = found
    here = said if said_is_branch else account_location if account_is_branch else None
    return home, here


def _sort(call: _Call, db: Session, found: desk.LoanAnswer, staff: bool, home: str) -> _Sorting:
    settings = call.device.settings
    if found.route == "transfer" and found.destination and not staff:
        # The decision path sends it on: to its home branch, or to where the patron it is
        # kept for collects it (it is theirs, but not yet on a hold shelf).
        return _Sorting(
            settings.staff_bin,
            alert=True,
            alert_type=ALERT_TRANSFER,
            destination=found.destination,
        )
    ready_for = found.ready_for
    if found.route is None:  # a no-block return sent again says no route: the queue does
        queue = holds.queue(db, found.item_barcode)
        ready_for = queue[0].patron_id if queue and queue[0].ready else None
    if ready_for is not None:
        holder = db.get(Patron, ready_for)
        names = lookup.patron_names(db, [ready_for])
        return _Sorting(
            settings.hold_shelf_bin,
            alert=True,
            alert_type=ALERT_HOLD,
            hold_patron_id=holder.card if holder is not None else None,
            hold_patron_name=names.get(ready_for),
        )
    if staff:
        return _Sorting(settings.staff_bin, alert=True, alert_type=ALERT_OTHER)
    here = call.device.location
    if here and home and home != here:
        return _Sorting(settings.staff_bin, alert=True, alert_type=ALERT_TRANSFER, destination=home)
    return _Sorting(settings.shelf_bin, alert=False)


# --- 17/18 item information ----------------------------------------------------------------


def _circulation_status(status: str, on_loan: bool, on_hold_shelf: bool) -> str:
    """Our item's state as SIP2's circulation status."""
    if on_loan:
        return CHARGED
    if status == "lost":
        return LOST
    if status == "missing":
        return MISSING
    if status == "available":
        return ON_HOLD_SHELF if on_hold_shelf else AVAILABLE
    return OTHER  # withdrawn, in repair, damaged...


def _item_information(call: _Call) -> codec.Response:
    request = call.request
    assert isinstance(request, codec.ItemInformation)
    barcode = request.item_id.strip()
    with call.sessions() as db:
        view = item_view(db, barcode, call.now) if barcode else None
    if view is None:
        return _unknown_item(call, request.item_id, f"No item has barcode {barcode}.")
    on_shelf = bool(view.holds) and view.holds[0].hold.ready
    return codec.ItemInformationResponse(
        circulation_status=_circulation_status(
            view.item.status, view.loan is not None, on_shelf and view.loan is None
        ),
        security_marker=SECURITY_OTHER,
        fee_type=FEE_OTHER,
        transaction_date=call.now,
        hold_queue_length=len(view.holds),
        due_date=_due(view.loan.due) if view.loan is not None else None,
        item_id=request.item_id,
        title_id=view.record.title,
        permanent_location=view.item.home_location,
    )


def _item_status_update(call: _Call) -> codec.Response:
    request = call.request
    assert isinstance(request, codec.ItemStatusUpdate)
    return _unknown_item(call, request.item_id, "Item properties are not kept here.")


# --- 15/16 hold ---------------------------------------------------------------------------


# BY hold type (SIP2 2.00): 1 other, 2 any copy of a title, 3 a specific copy, 4 any copy
# at a single branch or location (there is one pickup place here: as 2).
SPECIFIC_COPY = "3"
ANY_COPY = ("2", "4")


def _hold(call: _Call) -> codec.Response:
    """15 Hold: + places the patron in a queue (once: a second + finds them in it), to
    collect at the pickup location BS (a branch's code; none: the library's default), -
    takes them out; * (change) is refused: a hold's pickup is changed by staff, and it
    keeps no expiry here. The queue is the copy's (AB) for hold type 3, or with no
    type and a copy named; it is the title's (any copy: the record of AB, or the title AJ
    names by record number, ISBN or exact title) for types 2 and 4, or with no copy
    named."""
    request = call.request
    assert isinstance(request, codec.Hold)
    barcode = (request.item_id or "").strip()
    on_title = request.hold_type in ANY_COPY or (not barcode and request.hold_type != SPECIFIC_COPY)
    if not barcode and not on_title:
        raise _Refused("A hold on a specific copy needs the item's barcode.")
    card = request.patron_id
    pickup = (request.pickup_location or "").strip() or None
    with call.sessions() as db:
        patron_id = _known_patron(call, db, card, request.patron_password)
        brn = _held_title(db, barcode, request.title_id) if on_title else None

        def mine() -> list[holds.QueuedHold]:
            return [
                hold
                for hold in holds.patron_holds(db, patron_id)
                if (hold.brn == brn if on_title else hold.item_barcode == barcode)
            ]

        found = mine()
        db.rollback()
        what = "this title" if on_title else "this item"
        screen: tuple[str, ...] = ()
        if request.hold_mode == "-":
            if not found:
                raise _Refused(f"You have no hold on {what}.")
            reason = f"cancelled at SIP2 device {call.device.account}"
            holds.cancel_hold(db, found[0].hold_id, call.now, call.actor, reason)
            return codec.HoldResponse(
                ok=True,
                available=False,
                transaction_date=call.now,
                institution_id=call.institution,
                patron_id=card,
                item_id=request.item_id,
                title_id=found[0].title,
                screen_message=("Your hold is cancelled.",),
            )
        if request.hold_mode == "*":
            if not found:
                raise _Refused(f"You have no hold on {what}.")
            raise _Refused("A hold can't be changed here: it stays as it was.")
        if found:
            screen = (f"You are in {what}'s queue already.",)
        elif brn is not None:
            holds.place_title_hold(db, patron_id, brn, call.now, call.actor, pickup=pickup)
        else:
            holds.place_hold(db, patron_id, barcode, call.now, call.actor, pickup=pickup)
        placed = mine()
    if not placed:  # taken off the queue at once (collected, cancelled meanwhile)
        raise _Refused("The hold could not be placed.")
    return codec.HoldResponse(
        ok=True,
        available=placed[0].ready,
        transaction_date=call.now,
        queue_position=placed[0].position,
        institution_id=call.institution,
        patron_id=card,
        item_id=request.item_id,
        title_id=placed[0].title,
        screen_message=screen,
    )


def _held_title(db: Session, barcode: str, title_id: str | None) -> int:
    """The record a title hold is for: the copy's, else the one AJ names."""
    if barcode:
        item = lookup.item_record(db, barcode)
        if item is None:
            raise _Refused(f"no item has barcode {barcode}")
        return item
    brn = lookup.record_named(db, (title_id or "").strip())
    if brn is None:
        raise _Refused("No title matches: scan a copy's barcode, or give its ISBN.")
    return brn


# --- 37/38 fee paid ------------------------------------------------------------------------


def _fee_paid(call: _Call) -> codec.Response:
    """37 Fee Paid: the payment entered in the patron's ledger (at most what they owe),
    with a note naming the device, how it was paid and what it paid for; the same payment
    sent again is entered once."""
    request = call.request
    assert isinstance(request, codec.FeePaid)
    currency = call.currency
    if currency is not None and request.currency_type.strip() not in ("", currency):
        raise _Refused(f"This library takes payments in {currency}.")
    card = request.patron_id
    how = PAYMENT_TYPES.get(request.payment_type, f"payment type {request.payment_type}")
    note = f"SIP2 device {call.device.account}: {how}"
    if request.fee_id:
        note += f", fee {request.fee_id}"
    if request.transaction_id:
        note += f", device transaction {request.transaction_id}"
    with call.sessions() as db:
        patron_id = _known_patron(call, db, card, request.patron_password)
        what = f"{request.fee_amount}|{request.fee_id or ''}|{request.transaction_id or ''}"
        paid = ledger.pay(
            db,
            patron_id,
            request.fee_amount,
            " ".join(note.split())[: patrons.MAX_REASON],
            call.now,
            call.actor,
            call.transaction_id("payment", card, what, request.transaction_date),
        )
    return codec.FeePaidResponse(
        payment_accepted=True,
        transaction_date=call.now,
        institution_id=call.institution,
        patron_id=card,
        transaction_id=paid.transaction_id,
        screen_message=(f"Thank you: {-paid.amount} paid. You owe {paid.owed} now.",),
    )


_HANDLERS: dict[type[codec.Request], Callable[[_Call], codec.Response]] = {
    codec.PatronStatusRequest: _patron_status,
    codec.PatronInformation: _patron_information,
    codec.BlockPatron: _block_patron,
    codec.PatronEnable: _patron_enable,
    codec.EndPatronSession: _end_session,
    codec.Checkout: _checkout,
    codec.Checkin: _checkin,
    codec.Renew: _renew,
    codec.RenewAll: _renew_all,
    codec.ItemInformation: _item_information,
    codec.ItemStatusUpdate: _item_status_update,
    codec.Hold: _hold,
    codec.FeePaid: _fee_paid,
}
