"""The SIP2 2.00 codec against messages written by hand from the specification's layouts,
published checksums, three character sets, and hypothesis: arbitrary input only ever
raises Sip2Error, and every message type survives encode then parse."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.central.errors import CentralError
from kiosk.central.sip2 import codec
from kiosk.central.sip2.codec import (
    REQUESTS,
    RESPONSES,
    ACSStatus,
    Checkin,
    CheckinResponse,
    Checkout,
    CheckoutResponse,
    FeePaid,
    ItemList,
    Login,
    Message,
    PatronFlag,
    PatronInformation,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    Request,
    RequestACSResend,
    RequestSCResend,
    SCStatus,
    Sip2Error,
    checksum,
    encode,
    format_date,
    frame,
    layout,
    parse,
    parse_date,
    parse_response,
    verify_checksum,
)
from kiosk.central.sip2.fields import (
    SUPPORTED_ORDER,
    Code,
    Date,
    Digits,
    Money,
    Number,
    PatronStatus,
    Summary,
    Supported,
    Text,
    YesNo,
    YesNoUnknown,
    ZeroOne,
)
from tests.central.sip2.layouts import (
    CHECKSUM_VECTORS,
    WHEN,
    T,
    sip_checksum,
    trailer,
)
from tests.central.sip2.layouts import (
    REQUESTS as REQUEST_EXAMPLES,
)
from tests.central.sip2.layouts import (
    RESPONSES as RESPONSE_EXAMPLES,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "sip2.md"
CHARSETS = ["utf-8", "cp850", "latin-1"]


def as_received(message: Message, sequence: int | None) -> Message:
    """What parse gives back for a message encoded with this sequence number."""
    resend = message.COMMAND in ("96", "97")
    return dataclasses.replace(
        message,
        sequence=None if resend else sequence,
        error_detection=sequence is not None,
    )


# ---------------------------------------------------------------- the table


def test_the_table_has_every_message_of_the_issue_and_the_rest_of_2_00() -> None:
    assert sorted(REQUESTS) == sorted("23 11 09 01 99 97 93 63 35 37 17 19 25 15 29 65".split())
    assert sorted(RESPONSES) == sorted("24 12 10 98 96 94 64 36 38 18 20 26 16 30 66".split())
    for command, cls in {**REQUESTS, **RESPONSES}.items():
        assert command == cls.COMMAND
    assert set(SUPPORTED_ORDER) == set(REQUESTS)


@pytest.mark.parametrize(
    ("cls", "layout_text"),
    [
        # (message, its fixed fields and lengths, its identified fields), from the
        # specification's message definitions.
        (
            Checkout,
            "SC renewal policy 1, no block 1, transaction date 18, nb due date 18 | AO AA AB AC CH AD BO BI",
        ),
        (Checkin, "no block 1, transaction date 18, return date 18 | AP AO AB AC CH BI"),
        (PatronInformation, "language 3, transaction date 18, summary 10 | AO AA AC AD BP BQ"),
        (SCStatus, "status code 1, max print width 3, protocol version 4 | "),
        (
            FeePaid,
            "transaction date 18, fee type 2, payment type 2, currency type 3 | BV AO AA AC AD CG BK",
        ),
        (Login, "UID algorithm 1, PWD algorithm 1 | CN CO CP"),
        (
            PatronInformationResponse,
            "patron status 14, language 3, transaction date 18, hold items count 4, "
            "overdue items count 4, charged items count 4, fine items count 4, "
            "recall items count 4, unavailable holds count 4 | AO AA AE BZ CA CB BL CQ BH BV CC "
            "AS AT AU AV BU CD BD BE BF AF AG",
        ),
        (
            CheckinResponse,
            "ok 1, resensitize 1, magnetic media 1, alert 1, transaction date 18 | "
            "AO AB AQ AJ CL AA CK CH CR CS CT CV CY DA AF AG",
        ),
        (
            ACSStatus,
            "on-line status 1, checkin ok 1, checkout ok 1, ACS renewal policy 1, "
            "status update ok 1, off-line ok 1, timeout period 3, retries allowed 3, "
            "date / time sync 18, protocol version 4 | AO AM BX AN AF AG",
        ),
    ],
)
def test_layouts_are_the_specifications(cls: type[Message], layout_text: str) -> None:
    shape = layout(cls)
    fixed = ", ".join(f"{f.spec.label} {f.spec.length}" for f in shape.fixed)
    variable = " ".join(v.spec.code for v in shape.variable)
    assert f"{fixed} | {variable}" == layout_text


def test_fixed_parts_add_up_to_the_specifications_lengths() -> None:
    expected = {"23": 21, "11": 38, "09": 37, "01": 19, "99": 8, "97": 0, "93": 2, "63": 31}
    expected |= {"35": 18, "37": 25, "17": 18, "19": 18, "25": 18, "15": 19, "29": 38, "65": 18}
    expected |= {"24": 35, "12": 22, "10": 22, "98": 34, "96": 0, "94": 1, "64": 59, "36": 19}
    expected |= {"38": 19, "18": 24, "20": 19, "26": 35, "16": 20, "30": 22, "66": 27}
    assert {c: layout(cls).fixed_length for c, cls in {**REQUESTS, **RESPONSES}.items()} == expected


# ------------------------------------------------------- hand-written messages


def test_every_message_type_has_a_hand_written_example() -> None:
    assert {type(m) for _, m in REQUEST_EXAMPLES} == set(REQUESTS.values())
    assert {type(m) for m, _, _ in RESPONSE_EXAMPLES} == set(RESPONSES.values())


@pytest.mark.parametrize(("line", "expected"), REQUEST_EXAMPLES)
def test_requests_as_a_device_writes_them(line: str, expected: Request) -> None:
    assert parse(line) == expected


@pytest.mark.parametrize(("line", "expected"), REQUEST_EXAMPLES)
def test_requests_written_back_are_the_same_line(line: str, expected: Request) -> None:
    assert encode(expected, sequence=expected.sequence) == line


@pytest.mark.parametrize(("response", "sequence", "line"), RESPONSE_EXAMPLES)
def test_responses_are_sent_as_the_specification_lays_them_out(
    response: Message, sequence: int | None, line: str
) -> None:
    assert encode(response, sequence=sequence) == line
    assert frame(response, sequence=sequence) == line.encode() + b"\r"


@pytest.mark.parametrize(("response", "sequence", "line"), RESPONSE_EXAMPLES)
def test_responses_read_back(response: Message, sequence: int | None, line: str) -> None:
    assert parse_response(line) == as_received(response, sequence)


# ----------------------------------------------------------------- checksums


@pytest.mark.parametrize(("message", "source"), CHECKSUM_VECTORS)
def test_published_checksums(message: str, source: str) -> None:
    head, published = message[:-4], message[-4:]
    assert checksum(head.encode()) == published, source
    assert sip_checksum(head) == published, source
    assert verify_checksum(message.encode())
    assert verify_checksum(message.encode() + b"\r")
    damaged = message[:3] + chr(ord(message[3]) + 1) + message[4:]
    assert not verify_checksum(damaged.encode())


@pytest.mark.parametrize(("message", "source"), CHECKSUM_VECTORS)
def test_published_messages_are_read(message: str, source: str) -> None:
    if message.startswith("37"):
        # Ceridwen's default Fee Paid leaves the amount empty: a payment of nothing known.
        with pytest.raises(Sip2Error, match=r"field BV \(fee amount\) must be an amount"):
            parse(message)
        return
    read = parse(message) if message[:2] in REQUESTS else parse_response(message)
    assert read.error_detection, source


@pytest.mark.parametrize(
    "message",
    [
        "9300CNuser_id|COpassw0rd|AY1AZF594",
        "97AZFEF5",
        "15-20210814    083455BW20140914    185459|AO|AApatronId|AY0AZF108",
        "09N20160419    12200820160419    122008APReading Room 1|AO830|AB830$28170815|AC|AY2AZEB80",
    ],
)
def test_published_requests_are_written_back_exactly(message: str) -> None:
    request = parse(message)
    assert encode(request, sequence=request.sequence if message[:2] != "97" else 0) == message


def test_our_resend_request_is_the_published_one() -> None:
    assert encode(RequestSCResend(), sequence=0) == "96AZFEF6"
    assert encode(RequestSCResend(), sequence=7) == "96AZFEF6"  # never a sequence number
    assert encode(RequestSCResend(), sequence=None) == "96"
    assert parse("97AZFEF5") == RequestACSResend(error_detection=True)


def test_a_checksum_that_does_not_match_and_messages_without_one() -> None:
    good = trailer("23001" + T + "AOMain|AA1|AC|AD|", 3)
    assert verify_checksum(good.encode())
    assert verify_checksum(b"\n" + good.encode() + b"\r\n")  # CR LF framing around it
    assert not verify_checksum(good.replace("AA1", "AA2").encode())
    assert not verify_checksum(good.replace("AY3", "AY4").encode())
    assert not verify_checksum(b"23001" + T.encode() + b"AOMain|AA1|AC|AD|")
    assert not verify_checksum(b"")
    assert not verify_checksum(b"AZ")
    assert not verify_checksum(b"97AZFEFG")
    assert not verify_checksum(b"97AZ+EF5")
    assert not verify_checksum(b"97AZ FEF5")
    assert verify_checksum(b"97AZfef5")  # lower-case hex is still the same number


def test_parse_reads_the_sequence_number_but_leaves_the_checksum_to_verify_checksum() -> None:
    """The server checks the bytes it received with verify_checksum before parsing; parse
    works on text, after decoding, and does not judge the checksum."""
    request = parse("23001" + T + "AOMain|AA1|AC|AD|AY5AZ0000")
    assert (request.sequence, request.error_detection) == (5, True)


# ------------------------------------------------------------------ charsets

TITLE = "Müller \u2013 Ærø ½ €: 漢字 «Œuvres»"  # an en dash after Müller


@pytest.mark.parametrize(
    ("charset", "expected_bytes"),
    [
        # The title as each character set carries it; ? for what it cannot.
        ("utf-8", TITLE.encode("utf-8")),
        ("cp850", b"M\x81ller ? \x92r\x9b \xab ?: ?? \xae?uvres\xaf"),
        ("latin-1", b"M\xfcller ? \xc6r\xf8 \xbd ?: ?? \xab?uvres\xbb"),
    ],
)
def test_charsets_carry_what_they_can_and_checksum_their_own_bytes(
    charset: str, expected_bytes: bytes
) -> None:
    response = CheckoutResponse(
        ok=True,
        renewal_ok=False,
        magnetic_media=False,
        desensitize=True,
        transaction_date=WHEN,
        institution_id="Main",
        patron_id="1",
        item_id="2",
        title_id=TITLE,
        due_date=None,
    )
    line = encode(response, sequence=4, charset=charset)
    raw = frame(response, sequence=4, charset=charset)
    head = b"121NNY" + T.encode() + b"AOMain|AA1|AB2|AJ" + expected_bytes + b"|AH|AY4AZ"
    total = sum(head)
    assert raw == head + b"%04X" % ((0x10000 - total % 0x10000) % 0x10000) + b"\r"
    assert raw == line.encode(charset) + b"\r"
    assert verify_checksum(raw)
    read = parse_response(raw.rstrip(b"\r").decode(charset))
    assert isinstance(read, CheckoutResponse)
    assert read.title_id == expected_bytes.decode(charset)


def test_the_checksum_is_over_bytes_not_characters() -> None:
    response = PatronStatusResponse(
        patron_status=frozenset(),
        language="001",
        transaction_date=WHEN,
        institution_id="Main",
        patron_id="1",
        personal_name="Zoë Brontë",
    )
    trailers = {cs: encode(response, sequence=1, charset=cs)[-4:] for cs in CHARSETS}
    assert trailers["utf-8"] != trailers["latin-1"]  # ë is two bytes in UTF-8, one in Latin-1
    assert trailers["cp850"] != trailers["latin-1"]  # ë is 0x89 in IBM850, 0xEB in Latin-1


@pytest.mark.parametrize("charset", CHARSETS)
def test_a_device_in_each_charset(charset: str) -> None:
    line = trailer("23001" + T + "AOMain|AA23000000001234|AC|ADÄpfel|", 6, charset)
    raw = line.encode(charset) + b"\r"
    assert verify_checksum(raw)
    request = parse(raw.decode(charset).rstrip("\r"))
    assert isinstance(request, PatronStatusRequest)
    assert request.patron_password == "Äpfel"


def test_charsets_that_cannot_carry_sip2_are_refused() -> None:
    response = RequestSCResend()
    with pytest.raises(Sip2Error, match="unknown character set"):
        encode(response, sequence=None, charset="klingon")
    with pytest.raises(Sip2Error, match="keeps ASCII"):
        encode(response, sequence=None, charset="utf-16")
    assert encode(response, sequence=None, charset="IBM850") == "96"
    assert encode(response, sequence=None, charset="ISO-8859-1") == "96"


# ----------------------------------------------------------- framing in values


def test_a_delimiter_or_a_carriage_return_in_a_value_cannot_break_the_framing() -> None:
    response = CheckinResponse(
        ok=True,
        resensitize=True,
        magnetic_media=None,
        alert=False,
        transaction_date=WHEN,
        institution_id="Main",
        item_id="2",
        permanent_location="Stack|A",
        title_id="Cats | Dogs\rAY1AZ0000\nand\x00more\x85",
        screen_message=("line one|line two", "\r"),
    )
    line = encode(response, sequence=None)
    assert "\r" not in line
    assert "\n" not in line
    assert "\x00" not in line
    assert line.count("|") == 6  # AO AB AQ AJ AF AF, each ended by its own delimiter
    read = parse_response(line)
    assert isinstance(read, CheckinResponse)
    assert read.permanent_location == "Stack/A"
    assert read.title_id == "Cats / Dogs AY1AZ0000 and more "
    assert read.screen_message == ("line one/line two", " ")


def test_a_value_is_cut_at_255_characters() -> None:
    response = PatronStatusResponse(
        patron_status=frozenset(),
        language="001",
        transaction_date=WHEN,
        institution_id="Main",
        patron_id="1",
        personal_name="x" * 300,
    )
    read = parse_response(encode(response, sequence=None))
    assert isinstance(read, PatronStatusResponse)
    assert read.personal_name == "x" * 255


# -------------------------------------------------------- what devices send


def test_fields_in_any_order_unknown_fields_and_no_last_delimiter() -> None:
    line = "11YN" + T + " " * 18 + "ZZextension|BIN|AB39990000000001|XYz|AA23000000001234|AOMain|AC"
    request = parse(line)
    assert request == Checkout(
        sc_renewal_policy=True,
        no_block=False,
        transaction_date=WHEN,
        nb_due_date=None,
        institution_id="Main",
        patron_id="23000000001234",
        item_id="39990000000001",
        terminal_password="",
        cancel=False,
        unknown_fields=(("ZZ", "extension"), ("XY", "z")),
    )


def test_lower_case_y_and_n_and_a_cr_lf_around_the_message() -> None:
    request = parse("\n11yn" + T + " " * 18 + "AOMain|AA1|AB2|AC|BOy|BIn|\r\n")
    assert isinstance(request, Checkout)
    assert (request.sc_renewal_policy, request.no_block) == (True, False)
    assert (request.fee_acknowledged, request.cancel) == (True, False)


def test_a_terminal_password_the_specification_requires_may_be_left_out() -> None:
    request = parse("11YN" + T + " " * 18 + "AOMain|AA1|AB2|")
    assert isinstance(request, Checkout)
    assert request.terminal_password == ""
    assert request.patron_password is None  # absent, where AD| would be ""


def test_a_field_sent_twice_counts_once_unless_it_repeats() -> None:
    request = parse("17" + T + "AOMain|ABfirst|ABsecond|")
    assert getattr(request, "item_id") == "first"  # noqa: B009
    read = parse_response("36Y" + T + "AOMain|AA1|AFone|AFtwo|")
    assert getattr(read, "screen_message") == ("one", "two")  # noqa: B009


def test_the_summary_asks_for_one_list() -> None:
    def summary(marks: str) -> ItemList | None:
        request = parse("63001" + T + marks + "AOMain|AA1|")
        assert isinstance(request, PatronInformation)
        return request.summary

    assert [summary(" " * i + "Y" + " " * (9 - i)) for i in range(6)] == list(ItemList)
    assert summary(" " * 10) is None
    assert summary("NNNNNNNNNN") is None
    assert summary("   y      ") is ItemList.FINE
    assert summary(" YY       ") is ItemList.OVERDUE  # two asked for: the first


def test_blank_counts_and_zero_dates() -> None:
    request = parse("992   2.00")
    assert request == SCStatus(status_code="2", max_print_width=None, protocol_version="2.00")
    checkin = parse("09N" + T + "0" * 18 + "AOMain|AB1|")
    assert isinstance(checkin, Checkin)
    assert checkin.return_date is None


def test_money_is_decimal_and_a_decimal_comma_is_read() -> None:
    line = "37" + T + "0100GBP" + "BV3,50|AOMain|AA1|"
    request = parse(line)
    assert isinstance(request, FeePaid)
    assert request.fee_amount == Decimal("3.50")
    assert isinstance(request.fee_amount, Decimal)
    assert parse("37" + T + "0100GBP" + "BV 12|AOMain|AA1|") == dataclasses.replace(
        request, fee_amount=Decimal(12)
    )


# ------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("", "a SIP2 message starts with a 2-digit command; got ''"),
        ("4", "a SIP2 message starts with a 2-digit command; got '4'"),
        ("42AOMain|", "unknown command '42'"),
        ("24", "command '24' (Patron Status Response) is not a request"),
        (
            "11YN2026120210",
            "message 11 (Checkout): the transaction date must be 18 characters "
            "YYYYMMDDZZZZHHMMSS; the message ends with '2026120210'",
        ),
        (
            "11YN20261202    1015AOMain|AA1|AB2|",
            "message 11 (Checkout): the transaction date must be 18 characters "
            "YYYYMMDDZZZZHHMMSS, not '20261202    1015AO'",
        ),
        (
            "11YN20261302    101500" + " " * 18 + "AOMain|AA1|AB2|",
            "message 11 (Checkout): the transaction date is no such date or time: "
            "'20261302    101500'",
        ),
        (
            "11YN" + T + "20261202    2515xx" + "AOMain|AA1|AB2|",
            "message 11 (Checkout): the nb due date must be 18 characters",
        ),
        (
            "11YN" + T + " " * 18 + "AA1|AB2|",
            "message 11 (Checkout): field AO (institution id) is missing",
        ),
        (
            "11YN" + T + " " * 18 + "AOMain|AB2|",
            "message 11 (Checkout): field AA (patron identifier) is missing",
        ),
        (
            "11XN" + T + " " * 18 + "AOMain|AA1|AB2|",
            "message 11 (Checkout): the SC renewal policy must be Y or N, not 'X'",
        ),
        (
            "11Y " + T + " " * 18 + "AOMain|AA1|AB2|",
            "message 11 (Checkout): the no block must be Y or N, not ' '",
        ),
        (
            "11YN" + T + " " * 18 + "AOMain|AA1|AB2|BOX|",
            "message 11 (Checkout): field BO (fee acknowledged) must be Y or N, not 'X'",
        ),
        (
            "11YN" + T + " " * 18 + "AOMain|AA1|AB2|AYxAZ1234",
            "message 11 (Checkout): the sequence number (AY) must be 0 to 9, not 'x'",
        ),
        (
            "37" + T + "0100GBP" + "BVabc|AOMain|AA1|",
            "message 37 (Fee Paid): field BV (fee amount) must be an amount such as 3.50, not 'abc'",
        ),
        (
            "37" + T + "0100GBP" + "BV|AOMain|AA1|",
            "message 37 (Fee Paid): field BV (fee amount) must be an amount",
        ),
        (
            "37" + T + "0100GBP" + "AOMain|AA1|",
            "message 37 (Fee Paid): field BV (fee amount) is missing",
        ),
        (
            "15?" + T + "AOMain|AA1|",
            "message 15 (Hold): the hold mode must be one of + - *, not '?'",
        ),
        (
            "63001" + T + "Y         AOMain|AA1|BPone|",
            "message 63 (Patron Information): field BP (start item) must be a whole number, not 'one'",
        ),
        ("9904x02.00", "message 99 (SC Status): the max print width must be 3 digits, not '4x0'"),
        ("9300CNuser|", "message 93 (Login): field CO (login password) is missing"),
        (
            "15+" + T + "BW2027|AOMain|AA1|",
            "message 15 (Hold): field BW (expiration date) must be 18 characters",
        ),
    ],
)
def test_errors_name_the_message_and_the_field(line: str, error: str) -> None:
    with pytest.raises(Sip2Error) as raised:
        parse(line)
    assert str(raised.value).startswith(error)
    assert isinstance(raised.value, CentralError)


# ----------------------------------------------------- encode refuses mistakes


_M = TypeVar("_M", bound=Message)


def _example(cls: type[_M]) -> _M:
    """The hand-written example of a response."""
    (found,) = (m for m, _, _ in RESPONSE_EXAMPLES if isinstance(m, cls))
    return found


def _checkout_response(**changes: Any) -> CheckoutResponse:
    response = CheckoutResponse(
        ok=True,
        renewal_ok=False,
        magnetic_media=None,
        desensitize=True,
        transaction_date=WHEN,
        institution_id="Main",
        patron_id="1",
        item_id="2",
        title_id="T",
        due_date=None,
    )
    return dataclasses.replace(response, **changes)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"ok": 1}, "the ok must be True or False (1 or 0), not int 1"),
        ({"renewal_ok": "Y"}, "the renewal ok must be True or False (Y or N), not str 'Y'"),
        ({"transaction_date": "20261202    101500"}, "the transaction date must be a datetime"),
        ({"fee_amount": 2.5}, "field BV (fee amount) must be a Decimal, not float 2.5"),
        ({"fee_amount": Decimal("NaN")}, "field BV (fee amount) must be a finite amount"),
        ({"currency_type": "£"}, "field BH (currency type) must be 3 printable ASCII characters"),
        ({"currency_type": "GB"}, "field BH (currency type) must be 3 printable ASCII characters"),
        (
            {"media_type": "1"},
            "field CK (media type) must be 3 printable ASCII characters, not '1'",
        ),
        (
            {"screen_message": "Hello"},
            "field AF (screen message) must be a tuple of values, not str",
        ),
        ({"screen_message": (1,)}, "field AF (screen message) must be a str, not int 1"),
        ({"title_id": None}, "field AJ (title identifier) must be a str, not NoneType"),
        (
            {"transaction_date": datetime(2026, 12, 2, tzinfo=timezone(timedelta(hours=-5)))},
            "a SIP2 date is local time (a naive datetime) or UTC",
        ),
    ],
)
def test_encode_refuses_a_handler_bug(changes: dict[str, object], error: str) -> None:
    with pytest.raises(Sip2Error) as raised:
        encode(_checkout_response(**changes), sequence=None)
    assert str(raised.value).startswith("message 12 (Checkout Response): " + error)


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (
            PatronStatusResponse(
                patron_status=frozenset(),
                language="en",
                transaction_date=WHEN,
                institution_id="Main",
                patron_id="1",
                personal_name="A",
            ),
            "the language must be 3 printable ASCII characters, not 'en'",
        ),
        (
            PatronStatusResponse(
                patron_status={"Y"},  # type: ignore[arg-type]
                language="001",
                transaction_date=WHEN,
                institution_id="Main",
                patron_id="1",
                personal_name="A",
            ),
            "the patron status must be a frozenset of PatronFlag",
        ),
        (
            dataclasses.replace(_example(PatronInformationResponse), hold_items_count=10000),
            "the hold items count must be 0 to 9999, not 10000",
        ),
        (
            dataclasses.replace(_example(PatronInformationResponse), hold_items_limit=-1),
            "field BZ (hold items limit) must be 0 to 9999, not -1",
        ),
        (
            dataclasses.replace(_example(ACSStatus), supported_messages=frozenset({"24"})),
            "field BX (supported messages) must be a frozenset of 23 11 09",
        ),
        (
            dataclasses.replace(_example(ACSStatus), timeout_period=1000),
            "the timeout period must be 0 to 999, not 1000",
        ),
        (
            dataclasses.replace(_example(ACSStatus), protocol_version="2.0"),
            "the protocol version must be 4 printable ASCII characters, not '2.0'",
        ),
    ],
)
def test_fixed_fields_must_be_exactly_their_length(response: Message, error: str) -> None:
    with pytest.raises(Sip2Error) as raised:
        encode(response, sequence=None)
    assert error in str(raised.value)


@pytest.mark.parametrize("sequence", [10, -1, True])
def test_the_sequence_number_is_one_digit(sequence: int) -> None:
    with pytest.raises(Sip2Error, match="the sequence number must be 0 to 9"):
        encode(_checkout_response(), sequence=sequence)


def test_only_messages_of_the_table_are_encoded() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Invented(codec.Response):
        COMMAND = "42"
        NAME = "Invented"

    with pytest.raises(Sip2Error, match="Invented is no SIP2 message of the table"):
        encode(Invented(), sequence=None)


# -------------------------------------------------------------------- dates


def test_format_date() -> None:
    assert format_date(datetime(2026, 12, 2, 9, 5, 7)) == "20261202    090507"
    assert format_date(datetime(2026, 12, 2, 9, 5, tzinfo=UTC)) == "20261202   Z090500"
    assert format_date(datetime(999, 1, 2)) == "09990102    000000"
    assert len(format_date(datetime(2026, 1, 1, 23, 59, 59, 999999))) == 18


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20261202    101500", datetime(2026, 12, 2, 10, 15)),
        ("20261202   Z101500", datetime(2026, 12, 2, 10, 15)),  # as written, without a zone
        ("20261202EST 101500", datetime(2026, 12, 2, 10, 15)),
        ("20261202   Q101500", datetime(2026, 12, 2, 10, 15)),
        ("20240229    235959", datetime(2024, 2, 29, 23, 59, 59)),
    ],
)
def test_parse_date_tolerates_the_zone(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected


def test_parse_date_turns_a_zone_into_the_librarys_time_when_it_knows_it() -> None:
    london_winter, paris_winter = timezone(timedelta(0)), timezone(timedelta(hours=1))
    assert parse_date("20261202   Z101500", local_zone=paris_winter) == datetime(
        2026, 12, 2, 11, 15
    )
    assert parse_date("20261202 UTC101500", local_zone=paris_winter) == datetime(
        2026, 12, 2, 11, 15
    )
    assert parse_date("20261202   Q101500", local_zone=london_winter) == datetime(
        2026, 12, 2, 14, 15
    )
    assert parse_date("20261202   z101500", local_zone=london_winter) == datetime(
        2026, 12, 2, 10, 15
    )
    # Local time and a zone name that says no one offset stay as written.
    assert parse_date("20261202    101500", local_zone=paris_winter) == datetime(
        2026, 12, 2, 10, 15
    )
    assert parse_date("20261202EST 101500", local_zone=paris_winter) == datetime(
        2026, 12, 2, 10, 15
    )
    request = parse("17" + "20261202   Z101500" + "AOMain|AB1|", local_zone=paris_winter)
    assert getattr(request, "transaction_date") == datetime(2026, 12, 2, 11, 15)  # noqa: B009


@pytest.mark.parametrize(
    "text",
    [
        "",
        "20261202101500",
        "2026120    1015000",
        "20261202    25000 ",
        "20260230    101500",
        "\uff12\uff10\uff12\uff161202    101500",
        "2026¹202    101500",
    ],
)
def test_parse_date_refuses_what_is_no_date(text: str) -> None:
    with pytest.raises(Sip2Error):
        parse_date(text)


def test_a_date_at_the_ends_of_the_calendar_in_another_zone() -> None:
    with pytest.raises(Sip2Error, match="out of range"):
        parse_date("99991231   Z235959", local_zone=timezone(timedelta(hours=14)))


# -------------------------------------------------------------- the field table


def test_docs_list_every_field_of_every_message() -> None:
    """docs/sip2.md has a section per message whose table lists its fixed fields (with
    their lengths, in order) and its fields with identifiers, as the codec has them."""
    text = DOCS.read_text(encoding="utf-8")
    for cls in [*REQUESTS.values(), *RESPONSES.values()]:
        heading = re.search(rf"^### {cls.COMMAND} {re.escape(cls.NAME)}\b.*$", text, re.MULTILINE)
        assert heading, f"docs/sip2.md has no section '### {cls.COMMAND} {cls.NAME}'"
        section = text[heading.end() :].split("\n### ", 1)[0]
        rows = [
            [cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in section.splitlines()
            if line.startswith("|") and not line.startswith("|--") and not line.startswith("| Id")
        ]
        shape = layout(cls)
        fixed = [(row[1], int(row[2])) for row in rows if row[0] == "fixed"]
        assert fixed == [(f.spec.label, f.spec.length) for f in shape.fixed], cls.NAME
        codes = [row[0] for row in rows if row[0] != "fixed"]
        assert codes == [v.spec.code for v in shape.variable], cls.NAME


def test_the_docs_example_is_a_good_message() -> None:
    example = DOCS.read_text(encoding="utf-8").split("```\n11YN", 1)[1].split("\n", 1)[0]
    line = "11YN" + example
    assert verify_checksum(line.encode())
    assert sip_checksum(line[:-4]) == line[-4:]
    assert parse(line) == REQUEST_EXAMPLES[1][1]


# --------------------------------------------------------------- hypothesis

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text())
def test_parse_raises_only_sip2_error_on_any_text(line: str) -> None:
    for read in (parse, parse_response):
        with contextlib.suppress(Sip2Error):
            read(line)


_NEAR_MESSAGES = st.builds(
    lambda command, fixed, rest: command + fixed + rest,
    st.sampled_from(sorted({*REQUESTS, *RESPONSES})),
    st.one_of(
        st.text(alphabet="0123456789 YNyUZQ+-*", max_size=70),
        st.sampled_from([T, "YN" + T + " " * 18, "001" + T, "N" + T + T]),
    ),
    st.lists(
        st.builds(
            lambda code, value: code + value,
            st.sampled_from([*codec.FIELD_NAMES, "A", "", "\r", "AY", "AZ"]),
            st.text(max_size=20),
        ),
        max_size=8,
    ).map("|".join),
)


@FUZZ
@given(
    _NEAR_MESSAGES,
    st.one_of(st.none(), st.sampled_from([UTC, timezone(timedelta(hours=-12))])),
)
def test_parse_raises_only_sip2_error_on_near_messages(line: str, zone: timezone | None) -> None:
    """Text that gets past the command and into the fields, where the kinds are read."""
    for read in (parse, parse_response):
        with contextlib.suppress(Sip2Error):
            read(line, local_zone=zone)


@FUZZ
@given(st.binary())
def test_verify_checksum_never_raises(raw: bytes) -> None:
    assert verify_checksum(raw) in (True, False)


def _text_alphabet(charset: str) -> st.SearchStrategy[str]:
    """Characters the charset carries, without a delimiter or a control character (those
    are replaced on sending: another test)."""
    if charset == "utf-8":
        return st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="|")
    carried = [bytes([b]).decode(charset) for b in range(256)]
    return st.sampled_from(
        [c for c in carried if c != "|" and not (c < " " or "\x7f" <= c <= "\x9f")]
    )


_DATES = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
).map(lambda moment: moment.replace(microsecond=0))
_CODE_CHARACTERS = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "|")


def _value_strategy(kind: object, charset: str, variable: bool) -> st.SearchStrategy[object]:
    simple: dict[type, st.SearchStrategy[object]] = {
        YesNo: st.booleans(),
        ZeroOne: st.booleans(),
        YesNoUnknown: st.one_of(st.none(), st.booleans()),
        Number: st.integers(0, 10**9 - 1),
        Money: st.decimals(
            min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False
        ),
        PatronStatus: st.frozensets(st.sampled_from(list(PatronFlag))),
        Summary: st.one_of(st.none(), st.sampled_from(list(ItemList))),
        Supported: st.frozensets(st.sampled_from(SUPPORTED_ORDER)),
        Text: st.text(_text_alphabet(charset), max_size=40),
    }
    if type(kind) in simple:
        return simple[type(kind)]
    if isinstance(kind, Date):
        return st.one_of(st.none(), _DATES) if kind.optional else _DATES
    if isinstance(kind, Digits):
        numbers = st.integers(0, 10**kind.width - 1)
        return st.one_of(st.none(), numbers) if kind.optional else numbers
    assert isinstance(kind, Code), f"no strategy for {kind!r}"
    if kind.choices:
        return st.sampled_from(list(kind.choices))
    codes = st.text(_CODE_CHARACTERS, min_size=kind.length, max_size=kind.length)
    # An identified code of blanks is read as no value at all, as it should be.
    return codes.filter(lambda c: c.strip() != "") if variable else codes


def _message_strategy(cls: type[Message], charset: str) -> st.SearchStrategy[Message]:
    shape = layout(cls)
    arguments: dict[str, st.SearchStrategy[object]] = {}
    for fixed in shape.fixed:
        arguments[fixed.name] = _value_strategy(fixed.spec.kind, charset, variable=False)
    for var in shape.variable:
        value = _value_strategy(var.spec.kind, charset, variable=True)
        if var.spec.repeat:
            arguments[var.name] = st.lists(value, max_size=3).map(tuple)
        elif var.default is None and not var.required:
            arguments[var.name] = st.one_of(st.none(), value)  # optional: left out when None
        else:
            arguments[var.name] = value

    def build(values: dict[str, Any]) -> Message:
        return cls(**values)

    return st.fixed_dictionaries(arguments).map(build)


_ANY_MESSAGE = st.sampled_from(CHARSETS).flatmap(
    lambda charset: st.tuples(
        st.just(charset),
        st.sampled_from([*REQUESTS.values(), *RESPONSES.values()]).flatmap(
            lambda cls: _message_strategy(cls, charset)
        ),
        st.one_of(st.none(), st.integers(0, 9)),
    )
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ANY_MESSAGE)
def test_every_message_type_survives_encode_then_parse(
    case: tuple[str, Message, int | None],
) -> None:
    charset, message, sequence = case
    raw = frame(message, sequence=sequence, charset=charset)
    assert raw.endswith(b"\r")
    assert raw.count(b"\r") == 1
    if sequence is not None:
        assert verify_checksum(raw)
    line = raw[:-1].decode(charset)
    read = parse(line) if isinstance(message, Request) else parse_response(line)
    assert read == as_received(message, sequence)


def _sent_as(value: str) -> str:
    """What a value becomes on the wire, said again independently of the codec: the
    delimiter a slash, a control character a blank, at most 255 characters."""
    out = []
    for character in value:
        if character == "|":
            out.append("/")
        elif ord(character) < 0x20 or 0x7F <= ord(character) <= 0x9F:
            out.append(" ")
        else:
            out.append(character)
    return "".join(out)[:255]


@FUZZ
@given(st.text(max_size=300), st.lists(st.text(max_size=30), max_size=4), st.sampled_from(CHARSETS))
def test_any_text_in_a_response_keeps_its_framing(
    title: str, messages: list[str], charset: str
) -> None:
    response = _checkout_response(title_id=title, screen_message=tuple(messages))
    raw = frame(response, sequence=3, charset=charset)
    assert raw.count(b"\r") == 1
    assert verify_checksum(raw)
    read = parse_response(raw[:-1].decode(charset))
    assert isinstance(read, CheckoutResponse)

    def carried(text: str) -> str:
        return text.encode(charset, errors="replace").decode(charset)

    assert read.title_id == carried(_sent_as(title))
    assert read.screen_message == tuple(carried(_sent_as(m)) for m in messages)
    assert (read.item_id, read.patron_id, read.due_date) == ("2", "1", None)
