"""The real ``kiosk-central sip2 serve`` over real TCP, in raw bytes, on both databases:
what a connection answers itself (99, 93, 97), what it refuses, and that garbage, a
device that vanishes or never reads, a flood of connections and a fuzzer hurt nothing
but the connection they arrive on. Messages are written as the SIP2 2.00 specification
lays them out and the checksums computed here, not by the codec."""

from __future__ import annotations

import asyncio
import random
import re
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.central.models import AppliedTransaction, AuditEntry, Item, Loan, Patron, Record
from kiosk.central.sip2 import accounts, handlers
from kiosk.demo.library import GeneratedLibrary
from tests.central.sip2.conftest import (
    ACCOUNT,
    AUTHENTICATOR,
    PASSWORD,
    RETIRED,
    RunningSip2,
    Sip2Client,
    start_sip2,
)

# The order of the 16 positions of BX, supported messages, in the specification.
BX_ORDER = ["23", "11", "09", "01", "99", "97", "93", "63", "35", "37", "17", "19", "25", "15"]
BX_ORDER += ["29", "65"]
SC_STATUS = b"9900302.00"
RESEND_REQUEST = b"96\r"
RESEND_REQUEST_CHECKED = b"96AZFEF6\r"  # the specification's own example


def checksum(data: bytes) -> bytes:
    """The two's complement of the sum of the bytes, as 4 hex digits (the spec's)."""
    return f"{-sum(data) & 0xFFFF:04X}".encode()


def checked(message: bytes, sequence: int | None = 1) -> bytes:
    """``message`` with AY<sequence>AZ<checksum>."""
    head = message + (b"AZ" if sequence is None else b"AY%dAZ" % sequence)
    return head + checksum(head)


def checksum_holds(answer: bytes) -> bool:
    body = answer.rstrip(b"\r")
    return body[-6:-4] == b"AZ" and (sum(body[:-4]) + int(body[-4:], 16)) & 0xFFFF == 0


@dataclass(frozen=True)
class AcsStatus:
    flags: str
    timeout: int
    retries: int
    date: datetime
    fields: dict[bytes, bytes]


def acs_status(answer: bytes) -> AcsStatus:
    """A 98 read by its layout: six Y/N, the timeout, the retries, the date, the version,
    then the fields with identifiers."""
    match = re.fullmatch(
        rb"98([YN]{6})(\d{3})(\d{3})(\d{8} {4}\d{6})(2\.00)(.*?)(AY\dAZ[0-9A-F]{4})?\r",
        answer,
        re.DOTALL,
    )
    assert match, answer
    flags, timeout, retries, date, _version, rest, _ = match.groups()
    variable: dict[bytes, bytes] = {}
    for piece in rest.split(b"|")[:-1]:
        variable[piece[:2]] = piece[2:]
    return AcsStatus(
        flags.decode(),
        int(timeout),
        int(retries),
        datetime.strptime(date.decode(), "%Y%m%d    %H%M%S"),
        variable,
    )


def supported(answer: bytes) -> set[str]:
    bx = acs_status(answer).fields[b"BX"].decode()
    return {command for command, flag in zip(BX_ORDER, bx, strict=True) if flag == "Y"}


def wait_for_log(running: RunningSip2, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = running.log_text()
        if text in log:
            return log
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in the log:\n{running.log_text()}")


def expected_supported() -> set[str]:
    """What the server answers: 93, 97 and 99 itself, the rest the handlers' SUPPORTED."""
    return {"93", "97", "99"} | set(handlers.SUPPORTED)


# --- 99, 93, 97 -------------------------------------------------------------------------


def test_99_before_login_is_answered_with_98(sip2_server: RunningSip2) -> None:
    with sip2_server.connect() as device:
        answer = device.ask(SC_STATUS)
        status = acs_status(answer)
        assert status.flags[0] == "Y"  # on line
        assert status.flags[5] == "Y"  # off-line (no block) transactions accepted
        assert (status.timeout, status.retries) == (100, 3)
        assert abs(status.date - datetime.now()) < timedelta(minutes=1)
        fields = status.fields
        assert fields[b"AO"] == b""  # no institution id set: none
        assert fields[b"AM"] == b"The Library"
        assert b"AN" not in fields  # no location before a login
        assert supported(answer) == expected_supported()
        # With error detection, the answer carries the sequence number and a checksum.
        answer = device.ask(checked(SC_STATUS, 7))
        assert re.search(rb"\|AY7AZ[0-9A-F]{4}\r\Z", answer), answer
        assert checksum_holds(answer)


def test_what_98_says_depends_on_the_account(sip2_server: RunningSip2) -> None:
    with sip2_server.logged_in() as device:
        status = acs_status(device.ask(SC_STATUS))
        fields = status.fields
        assert fields[b"AN"] == b"Main"  # the account's location
        assert status.flags[1:4] == "".join(
            "Y" if command in expected_supported() else "N" for command in ("09", "11", "29")
        )
    with sip2_server.logged_in(AUTHENTICATOR) as device:
        # Patron authentication only: no checkin, no checkout, no renewal.
        assert acs_status(device.ask(SC_STATUS)).flags[1:4] == "NNN"


@pytest.mark.parametrize(
    "message",
    [
        b"2300120261202    101500AOMain|AA23000000001234|AC|AD|",
        b"11YN20261202    101500                  AOMain|AA23000000001234|AB39990000000001|AC|",
        b"09N20261202    10150020261202    101500APMain|AOMain|AB39990000000001|AC|",
        b"6300120261202    101500          AOMain|AA23000000001234|",
        b"3520261202    101500AOMain|AA23000000001234|",
    ],
    ids=["23", "11", "09", "63", "35"],
)
def test_anything_but_99_and_93_before_login_closes_the_connection(
    sip2_server: RunningSip2, message: bytes
) -> None:
    with sip2_server.connect() as device:
        assert device.ask(SC_STATUS).startswith(b"98")
        device.send(message + b"\r")
        assert device.receive() == b""  # no answer: closed
        assert device.is_closed()
    wait_for_log(sip2_server, f"refused a {message[:2].decode()} before a login")
    with sip2_server.connect() as device:
        assert device.ask(SC_STATUS).startswith(b"98")


def test_login_right_wrong_unknown_disabled(sip2_server: RunningSip2) -> None:
    with sip2_server.connect() as device:
        assert device.login(ACCOUNT, "not the password") == b"940\r"
        assert device.login(ACCOUNT, PASSWORD) == b"941\r"
        # With error detection, on the same connection, as another account.
        message = f"9300CN{AUTHENTICATOR}|CO{PASSWORD}|".encode()
        answer = device.ask(checked(message, 2))
        assert re.fullmatch(rb"941AY2AZ[0-9A-F]{4}\r", answer), answer
        assert checksum_holds(answer)
    with sip2_server.connect() as device:
        assert device.login("nobody", PASSWORD) == b"940\r"
        assert device.login(RETIRED, PASSWORD) == b"940\r"  # the right password, disabled
        # The third refusal on one connection closes it.
        assert device.login(ACCOUNT, "guess") == b"940\r"
        assert device.is_closed()
    with sip2_server.connect() as device:
        assert device.login() == b"941\r"
    wait_for_log(sip2_server, "3 logins refused")
    with sip2_server.session() as session:
        refusals = session.execute(
            select(AuditEntry.target, AuditEntry.detail).where(
                AuditEntry.action == "sip2.login.refused"
            )
        ).all()
    assert sorted(refusals) == sorted(
        [
            (f"sip2 {ACCOUNT}", "wrong password"),
            ("unknown account", ""),
            (f"sip2 {RETIRED}", "disabled"),
            (f"sip2 {ACCOUNT}", "wrong password"),
        ]
    )


def test_a_failed_login_logs_the_connection_out(sip2_server: RunningSip2) -> None:
    with sip2_server.logged_in() as device:
        assert device.login(ACCOUNT, "wrong") == b"940\r"
        device.send(b"3520261202    101500AOMain|AA23000000001234|\r")
        assert device.receive() == b""


def test_97_resends_the_last_answer_byte_for_byte(sip2_server: RunningSip2) -> None:
    with sip2_server.connect() as device:
        assert device.ask(b"97") == RESEND_REQUEST  # nothing sent yet: send yours again
        first = device.ask(checked(SC_STATUS, 4))
        time.sleep(1.1)  # a new 98 would have another time
        assert device.ask(checked(b"97", None)) == first
        assert device.ask(b"97") == first
        assert device.login() == b"941\r"
        assert device.ask(b"97") == b"941\r"
        assert device.ask(b"97") == b"941\r"


# --- garbage ------------------------------------------------------------------------------


def test_a_wrong_checksum_is_answered_96(sip2_server: RunningSip2) -> None:
    with sip2_server.connect() as device:
        right = checked(SC_STATUS, 1)
        wrong = right[:-4] + (b"0000" if right[-4:] != b"0000" else b"0001")
        assert device.ask(wrong) == RESEND_REQUEST_CHECKED
        assert device.ask(right).startswith(b"98")  # sent again, right: answered
        login = checked(f"9300CN{ACCOUNT}|CO{PASSWORD}|".encode(), 3)
        assert device.ask(login[:-1] + b"X") == RESEND_REQUEST_CHECKED  # not even hex
        assert device.ask(login).startswith(b"941AY3AZ")


def test_an_unreadable_message_is_answered_96(sip2_server: RunningSip2) -> None:
    with sip2_server.connect() as device:
        assert device.ask(b"9") == RESEND_REQUEST
        assert device.ask(b"42garbage") == RESEND_REQUEST  # no such command
        assert device.ask(b"941") == RESEND_REQUEST  # a response, not a request
        assert device.ask(b"9300CNselfcheck|") == RESEND_REQUEST  # CO missing
        assert device.ask(b"99003") == RESEND_REQUEST  # fixed fields cut short
        assert device.ask(SC_STATUS).startswith(b"98")


@pytest.mark.parametrize("ending", [b"\r", b"\n", b"\r\n"], ids=["CR", "LF", "CRLF"])
def test_a_message_ends_with_cr_lf_or_crlf(sip2_server: RunningSip2, ending: bytes) -> None:
    with sip2_server.connect() as device:
        device.send(SC_STATUS + ending + SC_STATUS + ending)
        assert device.receive().startswith(b"98")
        assert device.receive().startswith(b"98")
        assert device.ask(SC_STATUS).startswith(b"98")  # nothing left over


def test_several_messages_in_one_packet_and_one_message_in_many(
    sip2_server: RunningSip2,
) -> None:
    with sip2_server.connect() as device:
        login = f"9300CN{ACCOUNT}|CO{PASSWORD}|\r".encode()
        for byte in login:
            device.send(bytes([byte]))
        assert device.receive() == b"941\r"
        device.send(SC_STATUS + b"\r" + b"97\r" + SC_STATUS + b"\r")
        answers = [device.receive() for _ in range(3)]
        assert answers[0] == answers[1]
        assert all(answer.startswith(b"98") for answer in answers)


def test_a_message_too_long_is_answered_96_and_closed(sip2_server: RunningSip2) -> None:
    with sip2_server.connect() as device:
        assert device.ask(b"99" + b"0" * 5000) == RESEND_REQUEST
        assert device.is_closed()
    with sip2_server.connect() as device:
        device.send(b"x" * 10_000)  # and no CR at all
        assert device.receive() == RESEND_REQUEST
        assert device.is_closed()
    with sip2_server.connect() as device:
        # 4096 bytes exactly: read (vendors' fields of their own, ignored).
        message = SC_STATUS + b"XX" + b"y" * 200 + b"|"
        while len(message) < 4096 - 203:
            message += b"XX" + b"y" * 200 + b"|"
        message += b"XX" + b"y" * (4096 - len(message) - 3) + b"|"
        assert len(message) == 4096
        assert device.ask(message).startswith(b"98")
        assert device.ask(SC_STATUS).startswith(b"98")
    wait_for_log(sip2_server, "a message over 4096 bytes")


def test_binary_noise_is_answered_96_and_the_connection_kept(sip2_server: RunningSip2) -> None:
    noise = random.Random(18).randbytes(3000)
    with sip2_server.connect() as device:
        device.send(noise + b"\r" + SC_STATUS + b"\r")
        while (answer := device.receive()) != b"":
            if answer.startswith(b"98"):
                break
            assert answer in (RESEND_REQUEST, RESEND_REQUEST_CHECKED), answer
        assert answer.startswith(b"98")
        assert device.login() == b"941\r"
        device.send(noise[:1000] + b"\r")  # logged in: the same
        device.send(b"\x00\x00\r\xff\xfe\r")
        assert device.ask(SC_STATUS).endswith(b"\r")
    with sip2_server.connect() as device:
        assert device.ask(SC_STATUS).startswith(b"98")


def test_a_connection_closed_in_the_middle_of_a_message(sip2_server: RunningSip2) -> None:
    with sip2_server.logged_in() as device:
        device.send(b"2300120261202    1015")
    wait_for_log(sip2_server, "closed by the device in the middle of a message")
    with sip2_server.connect() as device:
        device.send(b"9300CN" + ACCOUNT.encode())
        device.sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
        )
    # Reset rather than closed (linger 0): the same to the server.
    with sip2_server.connect() as device:
        assert device.ask(SC_STATUS).startswith(b"98")
    assert sip2_server.alive()


# --- timeouts: a server of its own with a 2-second idle timeout -------------------------------


@pytest.fixture
def impatient(
    database_url: str, tmp_path: Path, sip2_library: GeneratedLibrary
) -> Iterator[RunningSip2]:
    with start_sip2(
        database_url, tmp_path / "impatient", sip2_library, config="idle_timeout_seconds = 2"
    ) as running:
        yield running


def test_an_idle_connection_is_closed(impatient: RunningSip2) -> None:
    with impatient.logged_in() as device:
        started = time.monotonic()
        assert device.is_closed(timeout=20)
        assert 1.5 < time.monotonic() - started < 15
    wait_for_log(impatient, "idle for 2 s: closed")
    with impatient.connect() as device:  # talking keeps it open
        for _ in range(4):
            time.sleep(0.8)
            assert device.ask(SC_STATUS).startswith(b"98")


def test_a_device_that_never_reads_is_dropped_and_others_served(impatient: RunningSip2) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills sooner
    sock.connect((impatient.host, impatient.port))
    sock.setblocking(False)
    burst = (SC_STATUS + b"\r") * 1000
    sent = 0
    deadline = time.monotonic() + 60
    blocked_since: float | None = None
    try:
        # Send 99s and never read a 98, until the server stops taking them.
        while time.monotonic() < deadline:
            try:
                sent += sock.send(burst)
                blocked_since = None
            except BlockingIOError:
                blocked_since = blocked_since or time.monotonic()
                if time.monotonic() - blocked_since > 0.5:
                    break
                time.sleep(0.01)
            except OSError:
                break  # dropped already
        assert sent > 0
        # Meanwhile another device is served at once.
        with impatient.logged_in() as other:
            assert other.ask(SC_STATUS).startswith(b"98")
        wait_for_log(impatient, "has not read its answers for 2 s: dropped")
    finally:
        sock.close()
    with impatient.connect() as device:
        assert device.ask(SC_STATUS).startswith(b"98")


# --- TLS and character sets ---------------------------------------------------------------


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (chmod 600), by openssl."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "sip2.pem", folder / "sip2.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt"),
            *("ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    return cert, key


def test_tls(database_url: str, tmp_path: Path, sip2_library: GeneratedLibrary) -> None:
    cert, key = make_certificate(tmp_path / "tls")
    client = ssl.create_default_context(cafile=str(cert))
    config = f'tls_certificate_file = "{cert}"\ntls_key_file = "{key}"\n'
    with start_sip2(
        database_url, tmp_path / "sip2", sip2_library, config=config, tls=client
    ) as running:
        with running.connect() as device:
            assert isinstance(device.sock, ssl.SSLSocket)
            assert device.sock.version() in ("TLSv1.2", "TLSv1.3")
            assert device.ask(SC_STATUS).startswith(b"98")
            assert device.login() == b"941\r"
        # Plain TCP to the TLS port: no answer, the connection closed, nothing else hurt.
        with socket.create_connection((running.host, running.port), timeout=10) as plain:
            plain.sendall(SC_STATUS + b"\r")
            assert Sip2Client(plain, 10).is_closed()
        # A client that does not trust the certificate is refused by its own side.
        with pytest.raises(ssl.SSLCertVerificationError):
            ssl.create_default_context().wrap_socket(
                socket.create_connection((running.host, running.port), timeout=10),
                server_hostname="127.0.0.1",
            )
        with running.connect() as device:
            assert device.ask(SC_STATUS).startswith(b"98")
        wait_for_log(running, "over TLS")


# A location, a password and the library's name a device has in its own character set;
# the euro sign is not in IBM850 or Latin-1.
LOCATION = "Bibliothèque Süd"
DEVICE_PASSWORD = "pässwörd-çafé"
LIBRARY = "Bücherei Zürich €"


@pytest.mark.parametrize(
    ("charset", "codec"), [("utf-8", "utf-8"), ("cp850", "cp850"), ("latin-1", "latin-1")]
)
def test_each_charset_in_bytes_and_checksum(
    database_url: str, tmp_path: Path, sip2_library: GeneratedLibrary, charset: str, codec: str
) -> None:
    with start_sip2(
        database_url,
        tmp_path / "sip2",
        sip2_library,
        config=f'charset = "{charset}"\ninstitution_id = "Zürich"\n',
        site=f'[library]\nname = "{LIBRARY}"\n',
    ) as running:
        with running.session() as session:
            accounts.add_account(
                session,
                "sud",
                DEVICE_PASSWORD,
                datetime.now(),
                location=LOCATION,
                actor="test",
                origin="test",
            )
        with running.connect() as device:
            login = checked(f"9300CNsud|CO{DEVICE_PASSWORD}|".encode(codec), 5)
            assert device.ask(login).startswith(b"941AY5AZ")
            answer = device.ask(checked(SC_STATUS, 6))
            assert checksum_holds(answer)  # over the bytes as sent
            fields = acs_status(answer).fields
            assert fields[b"AN"] == LOCATION.encode(codec)
            assert fields[b"AO"] == "Zürich".encode(codec)
            euro = "€" if codec == "utf-8" else "?"
            assert fields[b"AM"] == LIBRARY.replace("€", euro).encode(codec)
        if codec != "utf-8":
            # The same password sent in UTF-8 is another password to this server.
            with running.connect() as device:
                assert device.ask(f"9300CNsud|CO{DEVICE_PASSWORD}|".encode()) == b"940\r"


# --- many at once ---------------------------------------------------------------------------


async def _log_in_and_ask(host: str, port: int, count: int) -> list[tuple[bytes, bytes]]:
    async def one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(host, port)

    connections = await asyncio.gather(*(one() for _ in range(count)))
    login = f"9300CN{ACCOUNT}|CO{PASSWORD}|\r".encode()
    for _, writer in connections:
        writer.write(login)  # all 200 logins sent before any answer is read

    async def answers(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[bytes, bytes]:
        logged_in = await reader.readuntil(b"\r")
        writer.write(SC_STATUS + b"\r")
        status = await reader.readuntil(b"\r")
        writer.close()
        await writer.wait_closed()
        return logged_in, status

    return await asyncio.wait_for(
        asyncio.gather(*(answers(reader, writer) for reader, writer in connections)), 120
    )


def test_200_devices_log_in_at_once(sip2_server: RunningSip2) -> None:
    results = asyncio.run(_log_in_and_ask(sip2_server.host, sip2_server.port, 200))
    assert len(results) == 200
    assert {logged_in for logged_in, _ in results} == {b"941\r"}
    assert all(status.startswith(b"98") for _, status in results)
    assert sip2_server.alive()
    with sip2_server.logged_in() as device:
        assert device.ask(SC_STATUS).startswith(b"98")


def _two_hundred_patrons_and_items(running: RunningSip2) -> list[tuple[str, str]]:
    """200 adults, each with nothing on loan, and 200 fiction items on the shelf: a
    (card, barcode) for each device."""
    today = datetime.now().date()
    pairs = [(f"2999000000{n:04d}", f"3999000000{n:04d}") for n in range(200)]
    with running.session() as session:
        fiction = session.scalar(
            select(Record.brn).where(Record.publication_type == "FICTION").limit(1)
        )
        for n, (card, barcode) in enumerate(pairs):
            session.add(
                Patron(
                    patron_id=f"PSIP2{n:04d}",
                    card=card,
                    first_name="Device",
                    surname=f"Tester{n}",
                    member_type="ADULT",
                    expires=today + timedelta(days=365),
                    barred=False,
                    owed=Decimal("0.00"),
                    pin_verifier=None,
                )
            )
            session.add(
                Item(
                    barcode=barcode,
                    brn=fiction,
                    price=Decimal("5.00"),
                    status="available",
                    home_location="Main",
                )
            )
        session.commit()
    return pairs


async def _check_out_and_in(
    host: str, port: int, pairs: list[tuple[str, str]]
) -> list[tuple[bytes, bytes, bytes]]:
    connections = await asyncio.gather(*(asyncio.open_connection(host, port) for _ in pairs))
    login = f"9300CN{ACCOUNT}|CO{PASSWORD}|\r".encode()
    for _, writer in connections:
        writer.write(login)
    logins = [await reader.readuntil(b"\r") for reader, _ in connections]
    when = datetime.now().strftime("%Y%m%d    %H%M%S").encode()
    # All 200 checkouts sent before any answer is read; then all 200 checkins.
    for (_, writer), (card, barcode) in zip(connections, pairs, strict=True):
        writer.write(
            b"11NN"
            + when
            + b" " * 18
            + b"AOMain|AA"
            + card.encode()
            + b"|AB"
            + barcode.encode()
            + b"|AC|\r"
        )
    checkouts = [await reader.readuntil(b"\r") for reader, _ in connections]
    for (_, writer), (_, barcode) in zip(connections, pairs, strict=True):
        writer.write(b"09N" + when + b" " * 18 + b"APMain|AOMain|AB" + barcode.encode() + b"|AC|\r")
    checkins = [await reader.readuntil(b"\r") for reader, _ in connections]
    for _, writer in connections:
        writer.close()
        await writer.wait_closed()
    return list(zip(logins, checkouts, checkins, strict=True))


def test_200_devices_check_out_and_in_different_items_at_once(sip2_server: RunningSip2) -> None:
    pairs = _two_hundred_patrons_and_items(sip2_server)
    with sip2_server.session() as session:
        before = session.scalar(select(func.count()).select_from(AppliedTransaction))
    results = asyncio.run(
        asyncio.wait_for(_check_out_and_in(sip2_server.host, sip2_server.port, pairs), 300)
    )
    for (card, barcode), (logged_in, checkout, checkin) in zip(pairs, results, strict=True):
        assert logged_in == b"941\r"
        # 12: ok 1, renewal ok N, magnetic media, desensitize Y; our card and item
        assert checkout[:3] == b"121", checkout
        assert f"|AA{card}|AB{barcode}|".encode() in checkout
        # 10: ok 1, resensitize Y
        assert checkin[:4] == b"101Y", checkin
        assert f"AB{barcode}|".encode() in checkin
    with sip2_server.session() as session:
        barcodes = [barcode for _, barcode in pairs]
        assert (
            session.scalar(
                select(func.count()).select_from(Loan).where(Loan.item_barcode.in_(barcodes))
            )
            == 0
        )
        after = session.scalar(select(func.count()).select_from(AppliedTransaction))
    assert before is not None
    assert after == before + 400  # each checkout and each checkin once
    assert sip2_server.alive()


# --- fuzz -----------------------------------------------------------------------------------

COMMANDS = ["23", "11", "09", "01", "99", "97", "93", "63", "35", "37", "17", "19", "25", "15"]
COMMANDS += ["29", "65", "96", "98", "94", "12"]
SIP2_TEXT = st.text(
    st.sampled_from(list("0123456789YNyn |AOAABACADAEAFAHAYAZCNCOBXüé€\x00\t\r\n")), max_size=120
)
# Well-formed messages with random values where the patron, item and amounts go.
TEMPLATES = [
    "2300120261202    101500AO{0}|AA{1}|AC|AD{2}|",
    "11YN20261202    101500                  AO{0}|AA{1}|AB{2}|AC|",
    "11NY20261202    10150020261209    235900AO{0}|AA{1}|AB{2}|AC|",
    "09N20261202    10150020261201    080000AP{0}|AO{0}|AB{1}|AC|",
    "6300120261202    101500 Y        AO{0}|AA{1}|BP1|BQ{2}|",
    "3520261202    101500AO{0}|AA{1}|",
    "3720261202    1015000100GBPBV{2}|AO{0}|AA{1}|",
    "1720261202    101500AO{0}|AB{1}|",
    "15+20261202    101500AO{0}|AA{1}|AB{2}|",
    "29NN20261202    101500                  AO{0}|AA{1}|AB{2}|",
    "6520261202    101500AO{0}|AA{1}|",
    "01N20261202    101500AO{0}|AL{2}|AA{1}|",
    "9300CN{0}|CO{1}|",
]
VALUE = st.text(st.characters(codec="utf-8", exclude_characters="|\r\n"), max_size=40)
FUZZ = st.one_of(
    st.binary(max_size=600),
    st.lists(st.builds(lambda c, t: c + t, st.sampled_from(COMMANDS), SIP2_TEXT), max_size=6).map(
        lambda lines: "\r".join(lines).encode("utf-8", "replace")
    ),
    st.lists(
        st.builds(
            lambda t, a, b, c: t.format(a, b, c), st.sampled_from(TEMPLATES), VALUE, VALUE, VALUE
        ),
        min_size=1,
        max_size=4,
    ).map(lambda lines: "\r".join(lines).encode("utf-8", "replace")),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=FUZZ, log_in=st.booleans(), checksum_it=st.booleans())
def test_fuzz_a_live_connection(
    sip2_server: RunningSip2, data: bytes, log_in: bool, checksum_it: bool
) -> None:
    """Whatever a device sends, the server answers or closes that connection, and a
    fresh connection still gets its 98."""
    with sip2_server.connect(timeout=30) as device:
        if log_in:
            assert device.login() == b"941\r"
        payload = checked(data) if checksum_it else data
        device.send(payload + b"\r" + SC_STATUS + b"\r")
        while (answer := device.receive()) != b"":
            assert answer.endswith(b"\r")
            if answer.startswith(b"98") and b"\r" not in answer[:-1]:
                break
    with sip2_server.connect() as device:
        assert device.ask(SC_STATUS).startswith(b"98")
    assert sip2_server.alive()


def test_the_database_is_untouched_by_garbage(sip2_server: RunningSip2) -> None:
    """Noise changes nothing: no loan, no transaction appears."""

    def counts(session: Session) -> tuple[int | None, int | None]:
        return (
            session.scalar(select(func.count()).select_from(Loan)),
            session.scalar(select(func.count()).select_from(AppliedTransaction)),
        )

    with sip2_server.session() as session:
        before = counts(session)
    with sip2_server.logged_in() as device:
        device.send(random.Random(5).randbytes(4000) + b"\r")
        assert device.ask(SC_STATUS).endswith(b"\r")
    with sip2_server.session() as session:
        assert counts(session) == before
