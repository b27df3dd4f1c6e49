"""The SIP2 2.00 codec: every message of the 3M Standard Interchange Protocol 2.00 as a
frozen dataclass, ``parse`` for what a device sends, ``encode`` for what we answer.

A message class is its own layout: each field is annotated with its place in the
message, ``Fixed`` (no identifier, in order after the command, of an exact length) or
``Var`` (an identifier, any order, ``|`` after it), and the kind of value it holds
(``fields``). ``docs/sip2.md`` is the same table for people.

- ``parse(line)`` reads one request (the line without its carriage return) into a
  ``Request`` subclass: ``Checkout``, ``Checkin``... Fields may come in any order, a
  field this message does not define is kept in ``unknown_fields`` and otherwise ignored,
  the last ``|`` may be missing, a y or n may be lower case. Anything else that is wrong
  raises ``Sip2Error`` naming the message and the field; no input raises anything else.
- ``encode(response, sequence=request.sequence)`` writes an answer: every fixed field
  checked for its exact length and kind, a ``|`` or control character in a value
  replaced (it would end the field or the message), then ``AY<seq>AZ<checksum>`` when
  the request had error detection. The checksum is over the bytes in the character set
  the device was configured with (UTF-8 by default; the specification's own is IBM850,
  "cp850"), so the text returned is already what that character set can carry: a
  character it cannot is sent as ``?``.
- ``verify_checksum(raw)`` checks an incoming message's ``AZ`` checksum.

Only the standard library: no I/O, no clock (times are passed in).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, fields, replace
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Annotated, Any, ClassVar, TypeVar, get_args, get_origin, get_type_hints

from kiosk.central.sip2.fields import (
    DATE,
    DELIMITER,
    FIELD_NAMES,
    MONEY,
    NUMBER,
    OPTIONAL_DATE,
    PATRON_STATUS,
    SUMMARY,
    SUPPORTED,
    SUPPORTED_ORDER,
    YES_NO,
    YES_NO_UNKNOWN,
    ZERO_ONE,
    Code,
    Date,
    Digits,
    Fixed,
    ItemList,
    Kind,
    PatronFlag,
    Sip2Error,
    Var,
    format_date,
    parse_date,
)

__all__ = [
    "FIELD_NAMES",
    "REQUESTS",
    "RESPONSES",
    "RESPONSE_TO",
    "SUPPORTED_ORDER",
    "ACSStatus",
    "BlockPatron",
    "Checkin",
    "CheckinResponse",
    "Checkout",
    "CheckoutResponse",
    "EndPatronSession",
    "EndSessionResponse",
    "FeePaid",
    "FeePaidResponse",
    "Hold",
    "HoldResponse",
    "ItemInformation",
    "ItemInformationResponse",
    "ItemList",
    "ItemStatusUpdate",
    "ItemStatusUpdateResponse",
    "Layout",
    "Login",
    "LoginResponse",
    "Message",
    "PatronEnable",
    "PatronEnableResponse",
    "PatronFlag",
    "PatronInformation",
    "PatronInformationResponse",
    "PatronStatusRequest",
    "PatronStatusResponse",
    "Renew",
    "RenewAll",
    "RenewAllResponse",
    "RenewResponse",
    "Request",
    "RequestACSResend",
    "RequestSCResend",
    "Response",
    "SCStatus",
    "Sip2Error",
    "checksum",
    "encode",
    "format_date",
    "frame",
    "layout",
    "parse",
    "parse_date",
    "parse_response",
    "verify_checksum",
]

TERMINATOR = "\r"
DEFAULT_CHARSET = "utf-8"
RESEND_COMMANDS = frozenset({"96", "97"})  # never a sequence number, a checksum all the same

# The label and kind of the fixed fields several messages share.
_TRANSACTION_DATE = Fixed("transaction date", 18, DATE)
_LANGUAGE = Fixed("language", 3, Code(3))
_PATRON_STATUS = Fixed("patron status", 14, PATRON_STATUS)
_NO_BLOCK = Fixed("no block", 1, YES_NO)
_NB_DUE_DATE = Fixed("nb due date", 18, OPTIONAL_DATE)
_OK = Fixed("ok", 1, ZERO_ONE)
_MAGNETIC_MEDIA = Fixed("magnetic media", 1, YES_NO_UNKNOWN)


@dataclass(frozen=True, kw_only=True)
class Message:
    """A SIP2 message. Subclasses declare ``COMMAND`` and ``NAME`` and their fields.

    The three fields here are not the message's own: they say how it arrived, when
    ``parse`` read it. ``encode`` ignores them and takes its sequence as an argument.
    """

    COMMAND: ClassVar[str]
    NAME: ClassVar[str]

    sequence: int | None = None  # AY, as received
    error_detection: bool = False  # the message ended with an AZ checksum
    unknown_fields: tuple[tuple[str, str], ...] = ()  # (identifier, value), ignored


@dataclass(frozen=True, kw_only=True)
class Request(Message):
    """A message a device (the SC: self-check, sorter, authenticator) sends us."""


@dataclass(frozen=True, kw_only=True)
class Response(Message):
    """A message we (the ACS) send a device."""


# ------------------------------------------------------------------- requests


@dataclass(frozen=True, kw_only=True)
class PatronStatusRequest(Request):
    COMMAND: ClassVar[str] = "23"
    NAME: ClassVar[str] = "Patron Status Request"

    language: Annotated[str, _LANGUAGE]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    terminal_password: Annotated[str, Var("AC")] = ""
    patron_password: Annotated[str, Var("AD")] = ""


@dataclass(frozen=True, kw_only=True)
class Checkout(Request):
    COMMAND: ClassVar[str] = "11"
    NAME: ClassVar[str] = "Checkout"

    sc_renewal_policy: Annotated[bool, Fixed("SC renewal policy", 1, YES_NO)]
    no_block: Annotated[bool, _NO_BLOCK]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    nb_due_date: Annotated[datetime | None, _NB_DUE_DATE]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    item_id: Annotated[str, Var("AB")]
    terminal_password: Annotated[str, Var("AC")] = ""
    item_properties: Annotated[str | None, Var("CH")] = None
    patron_password: Annotated[str | None, Var("AD")] = None
    fee_acknowledged: Annotated[bool | None, Var("BO", YES_NO)] = None
    cancel: Annotated[bool | None, Var("BI", YES_NO)] = None


@dataclass(frozen=True, kw_only=True)
class Checkin(Request):
    COMMAND: ClassVar[str] = "09"
    NAME: ClassVar[str] = "Checkin"

    no_block: Annotated[bool, _NO_BLOCK]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    return_date: Annotated[datetime | None, Fixed("return date", 18, OPTIONAL_DATE)]
    current_location: Annotated[str, Var("AP")] = ""
    institution_id: Annotated[str, Var("AO")]
    item_id: Annotated[str, Var("AB")]
    terminal_password: Annotated[str, Var("AC")] = ""
    item_properties: Annotated[str | None, Var("CH")] = None
    cancel: Annotated[bool | None, Var("BI", YES_NO)] = None


@dataclass(frozen=True, kw_only=True)
class BlockPatron(Request):
    COMMAND: ClassVar[str] = "01"
    NAME: ClassVar[str] = "Block Patron"

    card_retained: Annotated[bool, Fixed("card retained", 1, YES_NO)]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    blocked_card_msg: Annotated[str, Var("AL")] = ""
    patron_id: Annotated[str, Var("AA")]
    terminal_password: Annotated[str, Var("AC")] = ""


@dataclass(frozen=True, kw_only=True)
class SCStatus(Request):
    COMMAND: ClassVar[str] = "99"
    NAME: ClassVar[str] = "SC Status"

    status_code: Annotated[str, Fixed("status code", 1, Code(1))]  # 0 ok, 1 no paper, 2 closing
    max_print_width: Annotated[int | None, Fixed("max print width", 3, Digits(3, optional=True))]
    protocol_version: Annotated[str, Fixed("protocol version", 4, Code(4))]  # "2.00"


@dataclass(frozen=True, kw_only=True)
class RequestACSResend(Request):
    COMMAND: ClassVar[str] = "97"
    NAME: ClassVar[str] = "Request ACS Resend"


@dataclass(frozen=True, kw_only=True)
class Login(Request):
    COMMAND: ClassVar[str] = "93"
    NAME: ClassVar[str] = "Login"

    uid_algorithm: Annotated[str, Fixed("UID algorithm", 1, Code(1))]  # 0: not encrypted
    pwd_algorithm: Annotated[str, Fixed("PWD algorithm", 1, Code(1))]
    login_user_id: Annotated[str, Var("CN")]
    login_password: Annotated[str, Var("CO")]
    location_code: Annotated[str | None, Var("CP")] = None


@dataclass(frozen=True, kw_only=True)
class PatronInformation(Request):
    COMMAND: ClassVar[str] = "63"
    NAME: ClassVar[str] = "Patron Information"

    language: Annotated[str, _LANGUAGE]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    summary: Annotated[ItemList | None, Fixed("summary", 10, SUMMARY)]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    terminal_password: Annotated[str | None, Var("AC")] = None
    patron_password: Annotated[str | None, Var("AD")] = None
    start_item: Annotated[int | None, Var("BP", NUMBER)] = None
    end_item: Annotated[int | None, Var("BQ", NUMBER)] = None


@dataclass(frozen=True, kw_only=True)
class EndPatronSession(Request):
    COMMAND: ClassVar[str] = "35"
    NAME: ClassVar[str] = "End Patron Session"

    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    terminal_password: Annotated[str | None, Var("AC")] = None
    patron_password: Annotated[str | None, Var("AD")] = None


@dataclass(frozen=True, kw_only=True)
class FeePaid(Request):
    COMMAND: ClassVar[str] = "37"
    NAME: ClassVar[str] = "Fee Paid"

    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    fee_type: Annotated[str, Fixed("fee type", 2, Code(2))]  # 01 other/unknown ... 09 hold fee
    payment_type: Annotated[str, Fixed("payment type", 2, Code(2))]  # 00 cash, 01 VISA, 02 card
    currency_type: Annotated[str, Fixed("currency type", 3, Code(3))]  # ISO 4217: GBP
    fee_amount: Annotated[Decimal, Var("BV", MONEY)]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    terminal_password: Annotated[str | None, Var("AC")] = None
    patron_password: Annotated[str | None, Var("AD")] = None
    fee_id: Annotated[str | None, Var("CG")] = None
    transaction_id: Annotated[str | None, Var("BK")] = None


@dataclass(frozen=True, kw_only=True)
class ItemInformation(Request):
    COMMAND: ClassVar[str] = "17"
    NAME: ClassVar[str] = "Item Information"

    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    item_id: Annotated[str, Var("AB")]
    terminal_password: Annotated[str | None, Var("AC")] = None


@dataclass(frozen=True, kw_only=True)
class ItemStatusUpdate(Request):
    COMMAND: ClassVar[str] = "19"
    NAME: ClassVar[str] = "Item Status Update"

    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    item_id: Annotated[str, Var("AB")]
    terminal_password: Annotated[str | None, Var("AC")] = None
    item_properties: Annotated[str, Var("CH")]


@dataclass(frozen=True, kw_only=True)
class PatronEnable(Request):
    COMMAND: ClassVar[str] = "25"
    NAME: ClassVar[str] = "Patron Enable"

    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    terminal_password: Annotated[str | None, Var("AC")] = None
    patron_password: Annotated[str | None, Var("AD")] = None


@dataclass(frozen=True, kw_only=True)
class Hold(Request):
    COMMAND: ClassVar[str] = "15"
    NAME: ClassVar[str] = "Hold"

    hold_mode: Annotated[str, Fixed("hold mode", 1, Code(1, choices="+-*"))]  # add, delete, change
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    expiration_date: Annotated[datetime | None, Var("BW", OPTIONAL_DATE)] = None
    pickup_location: Annotated[str | None, Var("BS")] = None
    hold_type: Annotated[str | None, Var("BY", Code(1))] = None  # 1 other ... 4 at one branch
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    patron_password: Annotated[str | None, Var("AD")] = None
    item_id: Annotated[str | None, Var("AB")] = None
    title_id: Annotated[str | None, Var("AJ")] = None
    terminal_password: Annotated[str | None, Var("AC")] = None
    fee_acknowledged: Annotated[bool | None, Var("BO", YES_NO)] = None


@dataclass(frozen=True, kw_only=True)
class Renew(Request):
    COMMAND: ClassVar[str] = "29"
    NAME: ClassVar[str] = "Renew"

    third_party_allowed: Annotated[bool, Fixed("third party allowed", 1, YES_NO)]
    no_block: Annotated[bool, _NO_BLOCK]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    nb_due_date: Annotated[datetime | None, _NB_DUE_DATE]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    patron_password: Annotated[str | None, Var("AD")] = None
    item_id: Annotated[str | None, Var("AB")] = None
    title_id: Annotated[str | None, Var("AJ")] = None
    terminal_password: Annotated[str | None, Var("AC")] = None
    item_properties: Annotated[str | None, Var("CH")] = None
    fee_acknowledged: Annotated[bool | None, Var("BO", YES_NO)] = None


@dataclass(frozen=True, kw_only=True)
class RenewAll(Request):
    COMMAND: ClassVar[str] = "65"
    NAME: ClassVar[str] = "Renew All"

    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    patron_password: Annotated[str | None, Var("AD")] = None
    terminal_password: Annotated[str | None, Var("AC")] = None
    fee_acknowledged: Annotated[bool | None, Var("BO", YES_NO)] = None


# ------------------------------------------------------------------ responses


@dataclass(frozen=True, kw_only=True)
class PatronStatusResponse(Response):
    COMMAND: ClassVar[str] = "24"
    NAME: ClassVar[str] = "Patron Status Response"

    patron_status: Annotated[frozenset[PatronFlag], _PATRON_STATUS]
    language: Annotated[str, _LANGUAGE]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    personal_name: Annotated[str, Var("AE")]
    valid_patron: Annotated[bool | None, Var("BL", YES_NO)] = None
    valid_patron_password: Annotated[bool | None, Var("CQ", YES_NO)] = None
    currency_type: Annotated[str | None, Var("BH", Code(3))] = None
    fee_amount: Annotated[Decimal | None, Var("BV", MONEY)] = None
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


@dataclass(frozen=True, kw_only=True)
class CheckoutResponse(Response):
    COMMAND: ClassVar[str] = "12"
    NAME: ClassVar[str] = "Checkout Response"

    ok: Annotated[bool, _OK]
    renewal_ok: Annotated[bool, Fixed("renewal ok", 1, YES_NO)]
    magnetic_media: Annotated[bool | None, _MAGNETIC_MEDIA]
    desensitize: Annotated[bool | None, Fixed("desensitize", 1, YES_NO_UNKNOWN)]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    item_id: Annotated[str, Var("AB")]
    title_id: Annotated[str, Var("AJ")]
    due_date: Annotated[datetime | None, Var("AH", OPTIONAL_DATE)]  # None: sent empty
    fee_type: Annotated[str | None, Var("BT", Code(2))] = None
    security_inhibit: Annotated[bool | None, Var("CI", YES_NO)] = None
    currency_type: Annotated[str | None, Var("BH", Code(3))] = None
    fee_amount: Annotated[Decimal | None, Var("BV", MONEY)] = None
    media_type: Annotated[str | None, Var("CK", Code(3))] = None
    item_properties: Annotated[str | None, Var("CH")] = None
    transaction_id: Annotated[str | None, Var("BK")] = None
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


@dataclass(frozen=True, kw_only=True)
class CheckinResponse(Response):
    COMMAND: ClassVar[str] = "10"
    NAME: ClassVar[str] = "Checkin Response"

    ok: Annotated[bool, _OK]
    resensitize: Annotated[bool, Fixed("resensitize", 1, YES_NO)]
    magnetic_media: Annotated[bool | None, _MAGNETIC_MEDIA]
    alert: Annotated[bool, Fixed("alert", 1, YES_NO)]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    item_id: Annotated[str, Var("AB")]
    permanent_location: Annotated[str, Var("AQ")]
    title_id: Annotated[str | None, Var("AJ")] = None
    sort_bin: Annotated[str | None, Var("CL")] = None
    patron_id: Annotated[str | None, Var("AA")] = None
    media_type: Annotated[str | None, Var("CK", Code(3))] = None
    item_properties: Annotated[str | None, Var("CH")] = None
    # 3M's extensions, which sorters read: where the item goes, and for whom.
    collection_code: Annotated[str | None, Var("CR")] = None
    call_number: Annotated[str | None, Var("CS")] = None
    destination_location: Annotated[str | None, Var("CT")] = None
    alert_type: Annotated[str | None, Var("CV", Code(2))] = None  # 01 hold here, 02 elsewhere...
    hold_patron_id: Annotated[str | None, Var("CY")] = None
    hold_patron_name: Annotated[str | None, Var("DA")] = None
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


@dataclass(frozen=True, kw_only=True)
class ACSStatus(Response):
    COMMAND: ClassVar[str] = "98"
    NAME: ClassVar[str] = "ACS Status"

    online_status: Annotated[bool, Fixed("on-line status", 1, YES_NO)]
    checkin_ok: Annotated[bool, Fixed("checkin ok", 1, YES_NO)]
    checkout_ok: Annotated[bool, Fixed("checkout ok", 1, YES_NO)]
    acs_renewal_policy: Annotated[bool, Fixed("ACS renewal policy", 1, YES_NO)]
    status_update_ok: Annotated[bool, Fixed("status update ok", 1, YES_NO)]
    offline_ok: Annotated[bool, Fixed("off-line ok", 1, YES_NO)]
    timeout_period: Annotated[int, Fixed("timeout period", 3, Digits(3))]  # tenths of a second
    retries_allowed: Annotated[int, Fixed("retries allowed", 3, Digits(3))]  # 999: unknown
    date_time_sync: Annotated[datetime, Fixed("date / time sync", 18, DATE)]
    protocol_version: Annotated[str, Fixed("protocol version", 4, Code(4))]
    institution_id: Annotated[str, Var("AO")]
    library_name: Annotated[str | None, Var("AM")] = None
    supported_messages: Annotated[frozenset[str], Var("BX", SUPPORTED)]
    terminal_location: Annotated[str | None, Var("AN")] = None
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


@dataclass(frozen=True, kw_only=True)
class RequestSCResend(Response):
    COMMAND: ClassVar[str] = "96"
    NAME: ClassVar[str] = "Request SC Resend"


@dataclass(frozen=True, kw_only=True)
class LoginResponse(Response):
    COMMAND: ClassVar[str] = "94"
    NAME: ClassVar[str] = "Login Response"

    ok: Annotated[bool, _OK]


_COUNT = Digits(4, optional=True)  # four blanks: not available


@dataclass(frozen=True, kw_only=True)
class PatronInformationResponse(Response):
    COMMAND: ClassVar[str] = "64"
    NAME: ClassVar[str] = "Patron Information Response"

    patron_status: Annotated[frozenset[PatronFlag], _PATRON_STATUS]
    language: Annotated[str, _LANGUAGE]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    hold_items_count: Annotated[int | None, Fixed("hold items count", 4, _COUNT)]
    overdue_items_count: Annotated[int | None, Fixed("overdue items count", 4, _COUNT)]
    charged_items_count: Annotated[int | None, Fixed("charged items count", 4, _COUNT)]
    fine_items_count: Annotated[int | None, Fixed("fine items count", 4, _COUNT)]
    recall_items_count: Annotated[int | None, Fixed("recall items count", 4, _COUNT)]
    unavailable_holds_count: Annotated[int | None, Fixed("unavailable holds count", 4, _COUNT)]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    personal_name: Annotated[str, Var("AE")]
    hold_items_limit: Annotated[int | None, Var("BZ", Digits(4))] = None
    overdue_items_limit: Annotated[int | None, Var("CA", Digits(4))] = None
    charged_items_limit: Annotated[int | None, Var("CB", Digits(4))] = None
    valid_patron: Annotated[bool | None, Var("BL", YES_NO)] = None
    valid_patron_password: Annotated[bool | None, Var("CQ", YES_NO)] = None
    currency_type: Annotated[str | None, Var("BH", Code(3))] = None
    fee_amount: Annotated[Decimal | None, Var("BV", MONEY)] = None
    fee_limit: Annotated[Decimal | None, Var("CC", MONEY)] = None
    hold_items: Annotated[tuple[str, ...], Var("AS", repeat=True)] = ()
    overdue_items: Annotated[tuple[str, ...], Var("AT", repeat=True)] = ()
    charged_items: Annotated[tuple[str, ...], Var("AU", repeat=True)] = ()
    fine_items: Annotated[tuple[str, ...], Var("AV", repeat=True)] = ()
    recall_items: Annotated[tuple[str, ...], Var("BU", repeat=True)] = ()
    unavailable_hold_items: Annotated[tuple[str, ...], Var("CD", repeat=True)] = ()
    home_address: Annotated[str | None, Var("BD")] = None
    email_address: Annotated[str | None, Var("BE")] = None
    home_phone_number: Annotated[str | None, Var("BF")] = None
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


@dataclass(frozen=True, kw_only=True)
class EndSessionResponse(Response):
    COMMAND: ClassVar[str] = "36"
    NAME: ClassVar[str] = "End Session Response"

    end_session: Annotated[bool, Fixed("end session", 1, YES_NO)]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


@dataclass(frozen=True, kw_only=True)
class FeePaidResponse(Response):
    COMMAND: ClassVar[str] = "38"
    NAME: ClassVar[str] = "Fee Paid Response"

    payment_accepted: Annotated[bool, Fixed("payment accepted", 1, YES_NO)]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    transaction_id: Annotated[str | None, Var("BK")] = None
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


@dataclass(frozen=True, kw_only=True)
class ItemInformationResponse(Response):
    COMMAND: ClassVar[str] = "18"
    NAME: ClassVar[str] = "Item Information Response"

    circulation_status: Annotated[str, Fixed("circulation status", 2, Code(2))]  # 03 available
    security_marker: Annotated[str, Fixed("security marker", 2, Code(2))]  # 00 other, 01 none
    fee_type: Annotated[str, Fixed("fee type", 2, Code(2))]  # 01 other/unknown
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    hold_queue_length: Annotated[int | None, Var("CF", NUMBER)] = None
    due_date: Annotated[datetime | None, Var("AH", OPTIONAL_DATE)] = None
    recall_date: Annotated[datetime | None, Var("CJ", OPTIONAL_DATE)] = None
    hold_pickup_date: Annotated[datetime | None, Var("CM", OPTIONAL_DATE)] = None
    item_id: Annotated[str, Var("AB")]
    title_id: Annotated[str, Var("AJ")]
    owner: Annotated[str | None, Var("BG")] = None
    currency_type: Annotated[str | None, Var("BH", Code(3))] = None
    fee_amount: Annotated[Decimal | None, Var("BV", MONEY)] = None
    media_type: Annotated[str | None, Var("CK", Code(3))] = None
    permanent_location: Annotated[str | None, Var("AQ")] = None
    current_location: Annotated[str | None, Var("AP")] = None
    item_properties: Annotated[str | None, Var("CH")] = None
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


@dataclass(frozen=True, kw_only=True)
class ItemStatusUpdateResponse(Response):
    COMMAND: ClassVar[str] = "20"
    NAME: ClassVar[str] = "Item Status Update Response"

    item_properties_ok: Annotated[bool, Fixed("item properties ok", 1, ZERO_ONE)]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    item_id: Annotated[str, Var("AB")]
    title_id: Annotated[str | None, Var("AJ")] = None
    item_properties: Annotated[str | None, Var("CH")] = None
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


@dataclass(frozen=True, kw_only=True)
class PatronEnableResponse(Response):
    COMMAND: ClassVar[str] = "26"
    NAME: ClassVar[str] = "Patron Enable Response"

    patron_status: Annotated[frozenset[PatronFlag], _PATRON_STATUS]
    language: Annotated[str, _LANGUAGE]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    personal_name: Annotated[str, Var("AE")]
    valid_patron: Annotated[bool | None, Var("BL", YES_NO)] = None
    valid_patron_password: Annotated[bool | None, Var("CQ", YES_NO)] = None
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


@dataclass(frozen=True, kw_only=True)
class HoldResponse(Response):
    COMMAND: ClassVar[str] = "16"
    NAME: ClassVar[str] = "Hold Response"

    ok: Annotated[bool, _OK]
    available: Annotated[bool, Fixed("available", 1, YES_NO)]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    expiration_date: Annotated[datetime | None, Var("BW", OPTIONAL_DATE)] = None
    queue_position: Annotated[int | None, Var("BR", NUMBER)] = None
    pickup_location: Annotated[str | None, Var("BS")] = None
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    item_id: Annotated[str | None, Var("AB")] = None
    title_id: Annotated[str | None, Var("AJ")] = None
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


@dataclass(frozen=True, kw_only=True)
class RenewResponse(Response):
    COMMAND: ClassVar[str] = "30"
    NAME: ClassVar[str] = "Renew Response"

    ok: Annotated[bool, _OK]
    renewal_ok: Annotated[bool, Fixed("renewal ok", 1, YES_NO)]
    magnetic_media: Annotated[bool | None, _MAGNETIC_MEDIA]
    desensitize: Annotated[bool | None, Fixed("desensitize", 1, YES_NO_UNKNOWN)]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    patron_id: Annotated[str, Var("AA")]
    item_id: Annotated[str, Var("AB")]
    title_id: Annotated[str, Var("AJ")]
    due_date: Annotated[datetime | None, Var("AH", OPTIONAL_DATE)]  # None: sent empty
    fee_type: Annotated[str | None, Var("BT", Code(2))] = None
    security_inhibit: Annotated[bool | None, Var("CI", YES_NO)] = None
    currency_type: Annotated[str | None, Var("BH", Code(3))] = None
    fee_amount: Annotated[Decimal | None, Var("BV", MONEY)] = None
    media_type: Annotated[str | None, Var("CK", Code(3))] = None
    item_properties: Annotated[str | None, Var("CH")] = None
    transaction_id: Annotated[str | None, Var("BK")] = None
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


@dataclass(frozen=True, kw_only=True)
class RenewAllResponse(Response):
    COMMAND: ClassVar[str] = "66"
    NAME: ClassVar[str] = "Renew All Response"

    ok: Annotated[bool, _OK]
    renewed_count: Annotated[int, Fixed("renewed count", 4, Digits(4))]
    unrenewed_count: Annotated[int, Fixed("unrenewed count", 4, Digits(4))]
    transaction_date: Annotated[datetime, _TRANSACTION_DATE]
    institution_id: Annotated[str, Var("AO")]
    renewed_items: Annotated[tuple[str, ...], Var("BM", repeat=True)] = ()
    unrenewed_items: Annotated[tuple[str, ...], Var("BN", repeat=True)] = ()
    screen_message: Annotated[tuple[str, ...], Var("AF", repeat=True)] = ()
    print_line: Annotated[tuple[str, ...], Var("AG", repeat=True)] = ()


# --------------------------------------------------------------------- tables

_M = TypeVar("_M", bound=Message)


def _table(classes: Iterable[type[_M]]) -> dict[str, type[_M]]:
    return {cls.COMMAND: cls for cls in classes}


REQUESTS: Mapping[str, type[Request]] = _table(
    [
        PatronStatusRequest,
        Checkout,
        Checkin,
        BlockPatron,
        SCStatus,
        RequestACSResend,
        Login,
        PatronInformation,
        EndPatronSession,
        FeePaid,
        ItemInformation,
        ItemStatusUpdate,
        PatronEnable,
        Hold,
        Renew,
        RenewAll,
    ]
)
RESPONSES: Mapping[str, type[Response]] = _table(
    [
        PatronStatusResponse,
        CheckoutResponse,
        CheckinResponse,
        ACSStatus,
        RequestSCResend,
        LoginResponse,
        PatronInformationResponse,
        EndSessionResponse,
        FeePaidResponse,
        ItemInformationResponse,
        ItemStatusUpdateResponse,
        PatronEnableResponse,
        HoldResponse,
        RenewResponse,
        RenewAllResponse,
    ]
)
# What answers each request (a Block Patron is answered with a Patron Status Response).
RESPONSE_TO: Mapping[type[Request], type[Response]] = {
    PatronStatusRequest: PatronStatusResponse,
    Checkout: CheckoutResponse,
    Checkin: CheckinResponse,
    BlockPatron: PatronStatusResponse,
    SCStatus: ACSStatus,
    RequestACSResend: Response,  # our last response again, whatever it was
    Login: LoginResponse,
    PatronInformation: PatronInformationResponse,
    EndPatronSession: EndSessionResponse,
    FeePaid: FeePaidResponse,
    ItemInformation: ItemInformationResponse,
    ItemStatusUpdate: ItemStatusUpdateResponse,
    PatronEnable: PatronEnableResponse,
    Hold: HoldResponse,
    Renew: RenewResponse,
    RenewAll: RenewAllResponse,
}


@dataclass(frozen=True)
class FixedField:
    name: str  # the dataclass field
    spec: Fixed


@dataclass(frozen=True)
class VarField:
    name: str
    spec: Var
    required: bool  # no default: always sent; missing from a request, an error
    default: object  # what a request that lacks it is read with
    nullable: bool  # None allowed: left out, or sent empty if required


@dataclass(frozen=True)
class Layout:
    """One message's fields in the order they are sent."""

    message: type[Message]
    fixed: tuple[FixedField, ...]
    variable: tuple[VarField, ...]

    @property
    def fixed_length(self) -> int:
        return sum(f.spec.length for f in self.fixed)


def _layout_of(cls: type[Message]) -> Layout:
    hints = get_type_hints(cls, include_extras=True)
    fixed: list[FixedField] = []
    variable: list[VarField] = []
    for field in fields(cls):
        hint = hints[field.name]
        if get_origin(hint) is not Annotated:
            continue  # sequence, error_detection, unknown_fields
        (spec,) = (m for m in get_args(hint)[1:] if isinstance(m, Fixed | Var))
        if isinstance(spec, Fixed):
            fixed.append(FixedField(field.name, spec))
            continue
        if field.default_factory is not MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: no default factories")
        required = field.default is MISSING
        nullable = type(None) in get_args(get_args(hint)[0])
        default = None if required else field.default
        variable.append(VarField(field.name, spec, required, default, nullable))
    return Layout(cls, tuple(fixed), tuple(variable))


_LAYOUTS: dict[type[Message], Layout] = {
    cls: _layout_of(cls) for cls in (*REQUESTS.values(), *RESPONSES.values())
}


def layout(message: type[Message]) -> Layout:
    """The fields of a message class, in the order they are sent."""
    try:
        return _LAYOUTS[message]
    except KeyError:
        raise Sip2Error(f"{message.__name__} is no SIP2 message of the table") from None


# ---------------------------------------------------------------------- parse

_CHECKSUM_TRAILER = re.compile(r"AZ([0-9A-Fa-f]{4})\Z")
_SEQUENCE_TRAILER = re.compile(r"AY(.)\Z", re.DOTALL)


def _describe(cls: type[Message]) -> str:
    return f"message {cls.COMMAND} ({cls.NAME})"


def _read(
    line: str,
    table: Mapping[str, type[_M]],
    other: Mapping[str, type[Message]],
    role: str,
    local_zone: tzinfo | None,
) -> _M:
    text = line.strip("\r\n\x00")
    command = text[:2]
    if len(command) < 2:
        raise Sip2Error(f"a SIP2 message starts with a 2-digit command; got {text!r}")
    cls = table.get(command)
    if cls is None:
        if command in other:
            raise Sip2Error(f"command {command!r} ({other[command].NAME}) is not {role}")
        raise Sip2Error(f"unknown command {command!r}")
    where = _describe(cls)
    text, sequence, error_detection = _split_trailer(text, where)
    shape = _LAYOUTS[cls]
    values, rest = _read_fixed(shape, text, where, local_zone)
    unknown = _read_variable(shape, rest, where, local_zone, values)
    return cls(
        **values,
        sequence=sequence,
        error_detection=error_detection,
        unknown_fields=unknown,
    )


def _split_trailer(text: str, where: str) -> tuple[str, int | None, bool]:
    """The message without its error-detection trailer, the sequence number and whether
    it had a checksum."""
    found = _CHECKSUM_TRAILER.search(text, 2)
    if not found:
        return text, None, False
    text = text[: found.start()]
    numbered = _SEQUENCE_TRAILER.search(text, 2)
    if not numbered:
        return text, None, True
    digit = numbered.group(1)
    if not "0" <= digit <= "9":
        raise Sip2Error(f"{where}: the sequence number (AY) must be 0 to 9, not {digit!r}")
    return text[: numbered.start()], int(digit), True


def _read_fixed(
    shape: Layout, text: str, where: str, local_zone: tzinfo | None
) -> tuple[dict[str, Any], str]:
    """The fixed fields' values, and what follows them."""
    values: dict[str, Any] = {}
    at = 2
    for fixed in shape.fixed:
        spec = fixed.spec
        chunk = text[at : at + spec.length]
        label = f"the {spec.label}"
        if len(chunk) < spec.length:
            form = " YYYYMMDDZZZZHHMMSS" if isinstance(spec.kind, Date) else ""
            raise Sip2Error(
                f"{where}: {label} must be {spec.length} characters{form}; the message "
                f"ends with {chunk!r}"
            )
        values[fixed.name] = _read_value(spec.kind, chunk, label, where, local_zone)
        at += spec.length
    return values, text[at:]


def _read_variable(
    shape: Layout, rest: str, where: str, local_zone: tzinfo | None, values: dict[str, Any]
) -> tuple[tuple[str, str], ...]:
    """Reads the fields with identifiers into ``values``; returns the unknown ones."""
    by_code = {f.spec.code: f for f in shape.variable}
    sent: dict[str, list[str]] = {}
    unknown: list[tuple[str, str]] = []
    for piece in rest.split(DELIMITER):
        if piece == "":
            continue
        code, value = piece[:2], piece[2:]
        if code not in by_code:
            unknown.append((code, value))
        elif by_code[code].spec.repeat or code not in sent:
            sent.setdefault(code, []).append(value)
        # a second of a field that is not repeated is ignored: the first one counts
    for var in shape.variable:
        spec = var.spec
        texts = sent.get(spec.code)
        if texts is None:
            if var.required:
                raise Sip2Error(f"{where}: {spec.label} is missing")
            values[var.name] = var.default
        elif spec.repeat:
            values[var.name] = tuple(
                _read_value(spec.kind, t, spec.label, where, local_zone) for t in texts
            )
        elif texts[0].strip() == "" and not spec.kind.keeps_empty and not var.required:
            values[var.name] = None
        else:
            values[var.name] = _read_value(spec.kind, texts[0], spec.label, where, local_zone)
    return tuple(unknown)


def _read_value(kind: Kind, text: str, label: str, where: str, local_zone: tzinfo | None) -> object:
    if isinstance(kind, Date) and local_zone is not None:
        kind = replace(kind, local_zone=local_zone)
    try:
        return kind.read(text, label)
    except Sip2Error as error:
        raise Sip2Error(f"{where}: {error}") from None


def parse(line: str, *, local_zone: tzinfo | None = None) -> Request:
    """One message from a device, without its carriage return, as its ``Request``.

    ``local_zone``: the library's time zone, to turn a date a device sent in UTC
    (``   Z``) into local time; without it dates are taken as written.
    Raises ``Sip2Error``, and nothing else, for anything it cannot read.
    """
    return _read(line, REQUESTS, RESPONSES, "a request (it is ours to send)", local_zone)


def parse_response(line: str, *, local_zone: tzinfo | None = None) -> Response:
    """One message from an ACS, as its ``Response``: the other side of ``parse``, for
    tests and for checking what we send."""
    return _read(line, RESPONSES, REQUESTS, "a response (a device sends it)", local_zone)


# --------------------------------------------------------------------- encode


def checksum(data: bytes) -> str:
    """The checksum of everything up to and including ``AZ``: the 16-bit two's
    complement of the sum of the bytes, as 4 upper-case hex digits."""
    return f"{-sum(data) & 0xFFFF:04X}"


def verify_checksum(raw: bytes) -> bool:
    """Whether a message (its bytes as received, a CR or LF around it allowed) ends with
    an ``AZ`` checksum that matches it. False for a message without one."""
    data = raw.strip(b"\r\n\x00")
    if len(data) < 6 or data[-6:-4] != b"AZ":
        return False
    digits = data[-4:]
    if not all(b in b"0123456789ABCDEFabcdef" for b in digits):
        return False
    return (sum(data[:-4]) + int(digits, 16)) & 0xFFFF == 0


def _charset(charset: str) -> str:
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        raise Sip2Error(f"unknown character set {charset!r}") from None
    probe = "09AZ|\r 0123456789"
    try:
        ascii_compatible = probe.encode(name) == probe.encode("ascii")
    except (UnicodeError, LookupError):
        ascii_compatible = False
    if not ascii_compatible:
        raise Sip2Error(f"SIP2 needs a character set that keeps ASCII as it is, not {charset!r}")
    return name


def _write_value(kind: Kind, value: object, label: str, where: str) -> str:
    try:
        return kind.write(value, label)
    except Sip2Error as error:
        raise Sip2Error(f"{where}: {error}") from None


def encode(message: Message, *, sequence: int | None, charset: str = DEFAULT_CHARSET) -> str:
    """The message as one line, without its carriage return.

    ``sequence``: the request's (``request.sequence``), or None when the request had no
    error detection; given, ``AY<sequence>AZ<checksum>`` ends the line (for the resend
    messages 96 and 97, which never carry a sequence number, ``AZ<checksum>`` alone).
    ``charset``: the device's (UTF-8, ``cp850``, ``latin-1``...); a character it cannot
    carry is sent as ``?``, and the checksum is over the bytes it gives. Send
    ``line.encode(charset)`` and a CR, or use ``frame``.

    Raises ``Sip2Error`` for a field that is not exactly what the protocol allows.
    """
    name = _charset(charset)
    cls = type(message)
    shape = layout(cls)
    where = _describe(cls)
    parts = [cls.COMMAND]
    for fixed in shape.fixed:
        label = f"the {fixed.spec.label}"
        text = _write_value(fixed.spec.kind, getattr(message, fixed.name), label, where)
        if len(text) != fixed.spec.length:
            raise Sip2Error(
                f"{where}: {label} must be {fixed.spec.length} characters, not {len(text)}: "
                f"{text!r}"
            )
        parts.append(text)
    for var in shape.variable:
        spec = var.spec
        value = getattr(message, var.name)
        if spec.repeat:
            if not isinstance(value, tuple | list):
                raise Sip2Error(
                    f"{where}: {spec.label} must be a tuple of values, not "
                    f"{type(value).__name__} {value!r}"
                )
            parts.extend(
                spec.code + _write_value(spec.kind, v, spec.label, where) + DELIMITER for v in value
            )
        elif value is None and var.nullable and not var.required:
            continue
        elif value is None and var.nullable:
            parts.append(spec.code + DELIMITER)
        else:
            parts.append(spec.code + _write_value(spec.kind, value, spec.label, where) + DELIMITER)
    line = "".join(parts).encode(name, errors="replace").decode(name)
    if sequence is None:
        return line
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not 0 <= sequence <= 9:
        raise Sip2Error(f"{where}: the sequence number must be 0 to 9, not {sequence!r}")
    head = line + ("AZ" if cls.COMMAND in RESEND_COMMANDS else f"AY{sequence}AZ")
    return head + checksum(head.encode(name))


def frame(message: Message, *, sequence: int | None, charset: str = DEFAULT_CHARSET) -> bytes:
    """The message as the bytes to send: ``encode``'s line in ``charset`` and its CR."""
    return (encode(message, sequence=sequence, charset=charset) + TERMINATOR).encode(
        _charset(charset)
    )
