"""SIP2 2.00's fields: the names of the field identifiers, SIP2 dates, and the kinds of
value a field holds (Y or N, 0 or 1, a date, a count, an amount, a code, free text) with
how each is read from and written to the wire.

``codec`` puts these together into messages. A kind's ``read`` takes what a device sent
and is lenient where that is harmless (a lower-case y, blanks for an unknown count);
its ``write`` takes what a handler gave and refuses anything that is not exactly what
the protocol allows (a field one character short, a float for money), so a bug in a
handler fails in its tests instead of sending a message a device misreads.

Only the standard library: no I/O, no clock (times are passed in).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from enum import Enum, IntEnum

from kiosk.central.errors import CentralError


class Sip2Error(CentralError):
    """A SIP2 message that cannot be read (it names the message and the field, for the
    server's log and the device's vendor), or a message of ours that must not be sent
    (a bug in the handler that built it)."""


MAX_TEXT = 255  # "0 to 255 characters" in a variable-length field
DELIMITER = "|"
DELIMITER_STANDIN = "/"  # what a | in a value is sent as

# Every field identifier of the 2.00 specification, the 3M extensions to the Checkin
# Response (CR CS CT CV CY DA) and the error-detection trailer (AY AZ), named as the
# specification names them.
FIELD_NAMES: dict[str, str] = {
    "AA": "patron identifier",
    "AB": "item identifier",
    "AC": "terminal password",
    "AD": "patron password",
    "AE": "personal name",
    "AF": "screen message",
    "AG": "print line",
    "AH": "due date",
    "AJ": "title identifier",
    "AL": "blocked card msg",
    "AM": "library name",
    "AN": "terminal location",
    "AO": "institution id",
    "AP": "current location",
    "AQ": "permanent location",
    "AS": "hold items",
    "AT": "overdue items",
    "AU": "charged items",
    "AV": "fine items",
    "AY": "sequence number",
    "AZ": "checksum",
    "BD": "home address",
    "BE": "e-mail address",
    "BF": "home phone number",
    "BG": "owner",
    "BH": "currency type",
    "BI": "cancel",
    "BK": "transaction id",
    "BL": "valid patron",
    "BM": "renewed items",
    "BN": "unrenewed items",
    "BO": "fee acknowledged",
    "BP": "start item",
    "BQ": "end item",
    "BR": "queue position",
    "BS": "pickup location",
    "BT": "fee type",
    "BU": "recall items",
    "BV": "fee amount",
    "BW": "expiration date",
    "BX": "supported messages",
    "BY": "hold type",
    "BZ": "hold items limit",
    "CA": "overdue items limit",
    "CB": "charged items limit",
    "CC": "fee limit",
    "CD": "unavailable hold items",
    "CF": "hold queue length",
    "CG": "fee identifier",
    "CH": "item properties",
    "CI": "security inhibit",
    "CJ": "recall date",
    "CK": "media type",
    "CL": "sort bin",
    "CM": "hold pickup date",
    "CN": "login user id",
    "CO": "login password",
    "CP": "location code",
    "CQ": "valid patron password",
    "CR": "collection code",
    "CS": "call number",
    "CT": "destination location",
    "CV": "alert type",
    "CY": "hold patron id",
    "DA": "hold patron name",
}


def _is_digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes '²' and other scripts' digits."""
    return text != "" and all("0" <= c <= "9" for c in text)


# ---------------------------------------------------------------------------- dates

DATE_LENGTH = 18
DATE_SHAPE = "YYYYMMDDZZZZHHMMSS"
LOCAL_ZONE_FIELD = "    "

# The ZZZZ field: blanks for local time, else a zone in its right-hand position. The
# military letters (Z universal time, Q Atlantic Standard Time as the specification's
# example) give an offset; a name such as "EST" gives none that can be trusted.
_MILITARY = {
    **{letter: hours for hours, letter in enumerate("ABCDEFGHIKLM", start=1)},
    **{letter: -hours for hours, letter in enumerate("NOPQRSTUVWXY", start=1)},
    "Z": 0,
}
_UNIVERSAL = {"Z", "UT", "UTC", "GMT"}


def format_date(moment: datetime) -> str:
    """A SIP2 date, ``YYYYMMDDZZZZHHMMSS``: a naive datetime (the library's local time,
    as everywhere in kiosk-central) gets four blanks for its zone, a UTC one ``   Z``."""
    if not isinstance(moment, datetime):
        raise Sip2Error(f"a SIP2 date is written from a datetime, not {type(moment).__name__}")
    offset = moment.utcoffset()
    if offset is None:
        zone = LOCAL_ZONE_FIELD
    elif offset == timedelta(0):
        zone = "   Z"
    else:
        raise Sip2Error(
            f"a SIP2 date is local time (a naive datetime) or UTC, not UTC{offset}: {moment}"
        )
    return (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}{zone}"
        f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"
    )


def zone_offset(zone: str) -> timedelta | None:
    """The offset a ZZZZ field names, or None for local time and for names that do not
    say one offset ("EST " could be several places' or a device's guess)."""
    name = zone.strip().upper()
    if name in _UNIVERSAL:
        return timedelta(0)
    if len(name) == 1 and name in _MILITARY:
        return timedelta(hours=_MILITARY[name])
    return None


def parse_date(text: str, *, local_zone: tzinfo | None = None, label: str = "the date") -> datetime:
    """A naive datetime from an 18-character SIP2 date.

    The zone field is tolerated whatever it holds. The time is taken as written (the
    wall clock the device showed) unless ``local_zone`` is given and the zone field
    names an offset (``   Z``, a military letter such as ``   Q``): then it is converted
    to the library's local time.
    """
    if len(text) != DATE_LENGTH:
        raise Sip2Error(f"{label} must be {DATE_LENGTH} characters {DATE_SHAPE}, not {text!r}")
    day, zone, clock = text[:8], text[8:12], text[12:]
    if not (_is_digits(day) and _is_digits(clock)):
        raise Sip2Error(f"{label} must be {DATE_LENGTH} characters {DATE_SHAPE}, not {text!r}")
    try:
        moment = datetime(
            int(day[:4]),
            int(day[4:6]),
            int(day[6:]),
            int(clock[:2]),
            int(clock[2:4]),
            int(clock[4:]),
        )
    except ValueError:
        raise Sip2Error(f"{label} is no such date or time: {text!r}") from None
    offset = zone_offset(zone)
    if offset is None or local_zone is None:
        return moment
    try:
        local = moment.replace(tzinfo=timezone(offset)).astimezone(local_zone)
    except (OverflowError, ValueError):
        raise Sip2Error(f"{label} is out of range in the library's time zone: {text!r}") from None
    return local.replace(tzinfo=None)


def _blank_date(text: str) -> bool:
    """Eighteen blanks or zeros: no date (the specification's "unsupported")."""
    return text.strip(" 0") == ""


# ----------------------------------------------------------------- enumerations


class PatronFlag(IntEnum):
    """The 14 positions of the patron status field: a 'Y' where the condition is true."""

    CHARGE_PRIVILEGES_DENIED = 0
    RENEWAL_PRIVILEGES_DENIED = 1
    RECALL_PRIVILEGES_DENIED = 2
    HOLD_PRIVILEGES_DENIED = 3
    CARD_REPORTED_LOST = 4
    TOO_MANY_ITEMS_CHARGED = 5
    TOO_MANY_ITEMS_OVERDUE = 6
    TOO_MANY_RENEWALS = 7
    TOO_MANY_CLAIMS_OF_ITEMS_RETURNED = 8
    TOO_MANY_ITEMS_LOST = 9
    EXCESSIVE_OUTSTANDING_FINES = 10
    EXCESSIVE_OUTSTANDING_FEES = 11
    RECALL_OVERDUE = 12
    TOO_MANY_ITEMS_BILLED = 13


class ItemList(Enum):
    """The lists a Patron Information message's summary can ask for, in the summary's
    order (positions 0 to 5); each value is the field the response sends the list in."""

    HOLD = "AS"
    OVERDUE = "AT"
    CHARGED = "AU"
    FINE = "AV"
    RECALL = "BU"
    UNAVAILABLE_HOLD = "CD"


# The supported messages field (BX) of the ACS Status: one Y or N for each
# command/response pair, named here by the device's command identifier.
SUPPORTED_ORDER = (
    "23",  # Patron Status Request
    "11",  # Checkout
    "09",  # Checkin
    "01",  # Block Patron
    "99",  # SC/ACS Status
    "97",  # Request SC/ACS Resend
    "93",  # Login
    "63",  # Patron Information
    "35",  # End Patron Session
    "37",  # Fee Paid
    "17",  # Item Information
    "19",  # Item Status Update
    "25",  # Patron Enable
    "15",  # Hold
    "29",  # Renew
    "65",  # Renew All
)


# -------------------------------------------------------------------------- kinds


class Kind:
    """How one field's value is read and written. ``label`` names the field in errors:
    "the transaction date", "field BO (fee acknowledged)"."""

    keeps_empty = False  # an empty variable field is "" (text), not None (no value)

    def read(self, text: str, label: str) -> object:
        raise NotImplementedError

    def write(self, value: object, label: str) -> str:
        raise NotImplementedError


def _wrong_type(label: str, expected: str, value: object) -> Sip2Error:
    return Sip2Error(f"{label} must be {expected}, not {type(value).__name__} {value!r}")


class YesNo(Kind):
    """Y or N as a bool; a lower-case y or n is read too."""

    def read(self, text: str, label: str) -> object:
        letter = text.strip().upper()
        if letter == "Y":
            return True
        if letter == "N":
            return False
        raise Sip2Error(f"{label} must be Y or N, not {text!r}")

    def write(self, value: object, label: str) -> str:
        if not isinstance(value, bool):
            raise _wrong_type(label, "True or False (Y or N)", value)
        return "Y" if value else "N"


class YesNoUnknown(Kind):
    """Y, N or U (unknown, the specification's obsolete third answer) as True, False
    or None."""

    def read(self, text: str, label: str) -> object:
        letter = text.strip().upper()
        if letter in ("Y", "N", "U"):
            return {"Y": True, "N": False, "U": None}[letter]
        raise Sip2Error(f"{label} must be Y, N or U, not {text!r}")

    def write(self, value: object, label: str) -> str:
        if value is None:
            return "U"
        if not isinstance(value, bool):
            raise _wrong_type(label, "True, False or None (Y, N or U)", value)
        return "Y" if value else "N"


class ZeroOne(Kind):
    """The ``ok`` fields' 1 or 0 as a bool."""

    def read(self, text: str, label: str) -> object:
        if text.strip() in ("0", "1"):
            return text.strip() == "1"
        raise Sip2Error(f"{label} must be 0 or 1, not {text!r}")

    def write(self, value: object, label: str) -> str:
        if not isinstance(value, bool):
            raise _wrong_type(label, "True or False (1 or 0)", value)
        return "1" if value else "0"


@dataclass(frozen=True)
class Date(Kind):
    """An 18-character SIP2 date as a naive datetime. ``optional``: blanks (or zeros)
    are read as None and None is written as 18 blanks."""

    optional: bool = False
    local_zone: tzinfo | None = None  # set per parse by the codec

    def read(self, text: str, label: str) -> object:
        if self.optional and _blank_date(text):
            return None
        return parse_date(text, local_zone=self.local_zone, label=label)

    def write(self, value: object, label: str) -> str:
        if value is None and self.optional:
            return " " * DATE_LENGTH
        if not isinstance(value, datetime):
            raise _wrong_type(label, "a datetime", value)
        return format_date(value)


@dataclass(frozen=True)
class Digits(Kind):
    """A count of ``width`` digits as an int (``0007``); ``optional``: blanks are read as
    None ("not available or unsupported") and None is written as blanks."""

    width: int
    optional: bool = False

    def read(self, text: str, label: str) -> object:
        number = text.strip()
        if number == "" and self.optional:
            return None
        if not _is_digits(number) or len(number) > self.width:
            raise Sip2Error(f"{label} must be {self.width} digits, not {text!r}")
        return int(number)

    def write(self, value: object, label: str) -> str:
        if value is None and self.optional:
            return " " * self.width
        if not isinstance(value, int) or isinstance(value, bool):
            raise _wrong_type(label, "an int", value)
        if not 0 <= value < 10**self.width:
            raise Sip2Error(f"{label} must be 0 to {10**self.width - 1}, not {value}")
        return f"{value:0{self.width}d}"


class Number(Kind):
    """A whole number in a variable-length field (queue position, start item)."""

    LIMIT = 9  # digits: more is no queue or list of ours

    def read(self, text: str, label: str) -> object:
        number = text.strip()
        if not _is_digits(number) or len(number) > self.LIMIT:
            raise Sip2Error(f"{label} must be a whole number, not {text!r}")
        return int(number)

    def write(self, value: object, label: str) -> str:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _wrong_type(label, "an int", value)
        if not 0 <= value < 10**self.LIMIT:
            raise Sip2Error(f"{label} must be 0 to {10**self.LIMIT - 1}, not {value}")
        return str(value)


_AMOUNT = re.compile(r"-?[0-9]{1,12}(?:[.,][0-9]{1,6})?")


class Money(Kind):
    """An amount (fee amount BV, fee limit CC) as a Decimal, never a float; the
    currency is the message's currency type. A decimal comma is read as a point."""

    def read(self, text: str, label: str) -> object:
        amount = text.strip()
        if not _AMOUNT.fullmatch(amount):
            raise Sip2Error(f"{label} must be an amount such as 3.50, not {text!r}")
        return Decimal(amount.replace(",", "."))

    def write(self, value: object, label: str) -> str:
        if not isinstance(value, Decimal):
            raise _wrong_type(label, "a Decimal", value)
        if not value.is_finite():
            raise Sip2Error(f"{label} must be a finite amount, not {value}")
        return f"{value:f}"


def _printable_ascii(text: str) -> bool:
    return all(" " <= c <= "~" for c in text) and DELIMITER not in text


@dataclass(frozen=True)
class Code(Kind):
    """A code of exactly ``length`` characters (language, currency type, fee type,
    media type, protocol version), kept as the device sent it; written only if it is
    that long, in printable ASCII. ``choices``: the characters a 1-character code may be
    (hold mode's + - *), checked on reading too."""

    length: int
    choices: str = ""

    def read(self, text: str, label: str) -> object:
        if self.choices and (len(text) != 1 or text not in self.choices):
            raise Sip2Error(f"{label} must be one of {' '.join(self.choices)}, not {text!r}")
        return text

    def write(self, value: object, label: str) -> str:
        if not isinstance(value, str):
            raise _wrong_type(label, "a str", value)
        if len(value) != self.length or not _printable_ascii(value):
            raise Sip2Error(
                f"{label} must be {self.length} printable ASCII characters, not {value!r}"
            )
        if self.choices and value not in self.choices:
            raise Sip2Error(f"{label} must be one of {' '.join(self.choices)}, not {value!r}")
        return value


def clean_text(value: str) -> str:
    """A value as it is sent: a | (the delimiter) becomes /, a control character (CR
    ends a message; LF, NUL, tabs...) a blank, and only the first 255 characters go."""
    kept = [
        DELIMITER_STANDIN if c == DELIMITER else " " if unicodedata.category(c) == "Cc" else c
        for c in value
    ]
    return "".join(kept[:MAX_TEXT])


class Text(Kind):
    """Free text in a variable-length field: names, titles, identifiers, messages."""

    keeps_empty = True

    def read(self, text: str, label: str) -> object:
        del label  # any text is text
        return text

    def write(self, value: object, label: str) -> str:
        if not isinstance(value, str):
            raise _wrong_type(label, "a str", value)
        return clean_text(value)


class PatronStatus(Kind):
    """The 14-character patron status as the set of flags that are true ('Y'); any
    other character (a blank, an N some systems send) is read as not true."""

    LENGTH = len(PatronFlag)

    def read(self, text: str, label: str) -> object:
        del label  # a character that is no Y is a condition that is not true
        return frozenset(flag for flag in PatronFlag if text[flag : flag + 1] in ("Y", "y"))

    def write(self, value: object, label: str) -> str:
        if not isinstance(value, frozenset) or not all(isinstance(f, PatronFlag) for f in value):
            raise _wrong_type(label, "a frozenset of PatronFlag", value)
        return "".join("Y" if flag in value else " " for flag in PatronFlag)


class Summary(Kind):
    """The Patron Information message's 10-character summary: the list its 'Y' asks for,
    or None for summary information only. Should a device mark more than one, the
    first is taken (the specification: "only one category ... at a time")."""

    LENGTH = 10

    def read(self, text: str, label: str) -> object:
        del label  # no Y at all: summary information only
        for position, which in enumerate(ItemList):
            if text[position : position + 1] in ("Y", "y"):
                return which
        return None

    def write(self, value: object, label: str) -> str:
        if value is not None and not isinstance(value, ItemList):
            raise _wrong_type(label, "an ItemList or None", value)
        marks = [" "] * self.LENGTH
        if value is not None:
            marks[list(ItemList).index(value)] = "Y"
        return "".join(marks)


class Supported(Kind):
    """The supported messages field (BX) as the set of the device's command identifiers
    whose message/response pair the ACS supports, written as 16 Y or N."""

    def read(self, text: str, label: str) -> object:
        del label  # a position that is no Y is a message not supported
        return frozenset(
            command
            for position, command in enumerate(SUPPORTED_ORDER)
            if text[position : position + 1] in ("Y", "y")
        )

    def write(self, value: object, label: str) -> str:
        if not isinstance(value, frozenset) or not value <= frozenset(SUPPORTED_ORDER):
            raise _wrong_type(label, f"a frozenset of {' '.join(SUPPORTED_ORDER)}", value)
        return "".join("Y" if command in value else "N" for command in SUPPORTED_ORDER)


# The kinds the message table uses (a kind holds no state of a message).
YES_NO = YesNo()
YES_NO_UNKNOWN = YesNoUnknown()
ZERO_ONE = ZeroOne()
DATE = Date()
OPTIONAL_DATE = Date(optional=True)
MONEY = Money()
NUMBER = Number()
TEXT = Text()
PATRON_STATUS = PatronStatus()
SUMMARY = Summary()
SUPPORTED = Supported()


@dataclass(frozen=True)
class Fixed:
    """A fixed-length field without identifier, in its place after the command."""

    label: str  # as the specification names it: "transaction date"
    length: int
    kind: Kind


@dataclass(frozen=True)
class Var:
    """A field with an identifier: ``code`` + value + ``|``, in any order after the
    fixed part. ``repeat``: sent once for each value (screen messages, item lists)."""

    code: str
    kind: Kind = TEXT
    repeat: bool = False

    @property
    def label(self) -> str:
        return f"field {self.code} ({FIELD_NAMES[self.code]})"
