"""The notices' test rig: a real SMTP server on loopback (aiosmtpd), a loopback HTTP
receiver standing for an SMS gateway, and a small library on SQLite and PostgreSQL
with patrons who chose each kind of notice, and some who chose none."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.policy import put_policy
from kiosk.central.config import CentralConfig, EmailSection, NoticesSection, SmsSection
from kiosk.central.config.model import LibrarySection, WebSection
from kiosk.central.models import AppliedTransaction, Hold, Item, Loan, Patron, Record
from kiosk.central.process import free_port
from kiosk.common.clock import FixedClock
from kiosk.demo.central_command import load_library
from kiosk.demo.library import GeneratedLibrary, Scale, generate_library

# A Monday, at ten: the new arrivals go today.
NOW = datetime(2026, 11, 23, 10, 0)
TODAY = NOW.date()
POLICY: dict[str, Any] = {
    "member_types": {"ADULT": {"name": "Adult"}},
    "publication_types": {"FICTION": {"name": "Fiction"}, "DVD": {"name": "DVD"}},
    "privileges": [
        {"member_type": "ADULT", "publication_type": "FICTION", "days": 21, "fine": "0.20"},
        {"member_type": "ADULT", "publication_type": "DVD", "days": 7, "fine": "1.00"},
    ],
    "notices": {"overdue_days": [1, 7, 14]},
}
EVERY_KIND = "due_soon,overdue,hold_ready,hold_expiring,membership_expiring,receipt,new_arrivals"


@dataclass
class Mail:
    """What the SMTP server took: each message, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    # A recipient's refusal ("450 ..." or "550 ..."), for the next messages to them.
    refuse: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [message for message in self.messages if message["To"] == address]

    def kinds(self, address: str) -> list[str]:
        return sorted(str(message["X-Library-Notice"]) for message in self.to(address))


def body(message: EmailMessage, kind: str = "plain") -> str:
    """A message's plain text or HTML part."""
    part = message.get_body((kind,))
    assert part is not None, f"no {kind} part"
    content: str = part.get_content()
    return content


class _Handler:
    def __init__(self, mail: Mail) -> None:
        self.mail = mail

    async def handle_RCPT(
        self,
        _server: SMTP,
        _session: SmtpSession,
        envelope: Envelope,
        address: str,
        _options: list[str],
    ) -> str:
        refusal = self.mail.refuse.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: SmtpSession, envelope: Envelope) -> str:
        if self.mail.delay:
            await asyncio.sleep(self.mail.delay)
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.mail.lock:
            self.mail.messages.append(parsed)
        return "250 Message accepted"


class SmtpServer:
    """``tls``: a context for TLS from the first byte (port 465's way); ``starttls``: one
    for STARTTLS, then required before any mail (587's)."""

    def __init__(
        self,
        port: int | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
    ) -> None:
        self.mail = Mail()
        self.port = port or free_port()
        self.controller = Controller(
            _Handler(self.mail),
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=tls,
            tls_context=starttls,
            require_starttls=starttls is not None,
        )

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@dataclass
class Gateway:
    """An SMS gateway on loopback: each request's body and headers; answers ``status``."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"

    def texts(self) -> list[dict[str, Any]]:
        return [json.loads(request["body"]) for request in self.requests]


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    received = Gateway(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"] or 0)).decode()
            received.requests.append({"body": body, "headers": dict(self.headers)})
            self.send_response(received.status)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", received.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield received
    server.shutdown()
    server.server_close()


def notices_config(smtp_port: int, gateway_url: str = "", **notices: Any) -> CentralConfig:
    """central.toml's settings for the rig: mail to the loopback server in clear (a relay
    on this machine), texts to the loopback gateway."""
    section = NoticesSection(
        email=EmailSection(
            host="127.0.0.1", port=smtp_port, security="none", from_address="library@example.org"
        ),
        sms=SmsSection(
            url=gateway_url,
            body='{"to": {{ to|tojson }}, "text": {{ message|tojson }}}',
        ),
    )
    return CentralConfig(
        library=LibrarySection(name="Riverside Library", currency="GBP"),
        web=WebSection(base_url="https://library.example"),
        notices=replace(section, **notices),
    )


# patron_id: (card, first name, email, phone, language, notify_by, notices, digest)
PATRONS: dict[str, tuple[str, str, str | None, str | None, str, str, str, bool]] = {
    "p-all": ("21000001", "Ada", "ada@example.org", None, "en", "email", EVERY_KIND, False),
    "p-nothing": ("21000002", "Bo", "bo@example.org", None, "en", "email", "", False),
    "p-text": ("21000003", "Cy", None, "+44 7700 900003", "en", "sms", EVERY_KIND, False),
    "p-post": ("21000004", "Di", None, None, "en", "none", EVERY_KIND, False),
    "p-digest": ("21000005", "Ed", "ed@example.org", None, "en", "email", EVERY_KIND, True),
    "p-es": ("21000006", "Eva", "eva@example.org", None, "es", "email", EVERY_KIND, False),
    "p-fr": ("21000007", "Fleur", "fleur@example.org", None, "fr", "email", EVERY_KIND, False),
}


def seed(engine: Engine, now: datetime = NOW) -> None:
    """Every patron of PATRONS with one of each thing a notice tells of: a loan due in
    two days, one a day overdue, a hold ready a minute ago, one on its last day on the
    shelf tomorrow, a membership ending in 30 days, a checkout this morning, and the
    week's new records."""
    today = now.date()
    with Session(engine) as db:
        put_policy(db, POLICY, now)
        for brn, (title, kind, added) in enumerate(
            [
                ("Middlemarch", "FICTION", None),
                ("Emma", "FICTION", None),
                ("Dune", "FICTION", None),
                ("Persuasion", "FICTION", None),
                ("Brand New Novel", "FICTION", today - timedelta(days=3)),
                ("Brand New Film", "DVD", today - timedelta(days=2)),
            ],
            1,
        ):
            db.add(
                Record(
                    brn=brn,
                    title=title,
                    author="A. Writer",
                    isbn=None,
                    publication_type=kind,
                    added_on=added,
                )
            )
        db.flush()
        for number, (patron_id, row) in enumerate(PATRONS.items()):
            card, first, email, phone, language, notify_by, kinds, digest = row
            db.add(
                Patron(
                    patron_id=patron_id,
                    card=card,
                    first_name=first,
                    surname="Surname" + first,
                    member_type="ADULT",
                    expires=today + timedelta(days=30),
                    barred=False,
                    owed=Decimal("0.00"),
                    pin_verifier=None,
                    email=email,
                    phone=phone,
                    language=language,
                    notify_by=notify_by,
                    notices=kinds,
                    due_soon_days=2,
                    digest=digest,
                    arrivals="FICTION",
                )
            )
            for brn, suffix in ((1, "a"), (2, "b"), (3, "c"), (4, "d")):
                db.add(
                    Item(
                        barcode=f"{number}{suffix}",
                        brn=brn,
                        price=Decimal("9.99"),
                        status="on_loan" if suffix in "ab" else "on_hold_shelf",
                        home_location="MAIN",
                    )
                )
            db.flush()
            db.add(
                Loan(
                    item_barcode=f"{number}a",
                    patron_id=patron_id,
                    member_type="ADULT",
                    due=(today + timedelta(days=2)).isoformat(),
                    renewals=0,
                    lent_at=now - timedelta(days=19),
                    kiosk_id=None,
                )
            )
            db.add(
                Loan(
                    item_barcode=f"{number}b",
                    patron_id=patron_id,
                    member_type="ADULT",
                    due=(today - timedelta(days=1)).isoformat(),
                    renewals=0,
                    lent_at=now - timedelta(days=22),
                    kiosk_id=None,
                )
            )
            db.add(
                Hold(
                    item_barcode=f"{number}c",
                    patron_id=patron_id,
                    position=1,
                    ready=True,
                    title="Dune",
                    placed_at=now - timedelta(days=3),
                    ready_at=now - timedelta(minutes=1),
                    brn=None,
                )
            )
            db.add(
                Hold(
                    item_barcode=f"{number}d",
                    patron_id=patron_id,
                    position=1,
                    ready=True,
                    title="Persuasion",
                    placed_at=now - timedelta(days=9),
                    ready_at=now - timedelta(days=6),
                    brn=None,
                )
            )
            db.add(
                AppliedTransaction(
                    id=f"desk-{number}",
                    kiosk_id=None,
                    kiosk_seq=0,
                    kind="checkout",
                    item_barcode=f"{number}a",
                    patron_id=patron_id,
                    decided_at=now - timedelta(hours=1),
                    applied_at=now - timedelta(hours=1),
                    outcome="applied",
                    change_seq=0,
                    details={},
                    charged=Decimal("0.00"),
                    actor="cyril",
                )
            )
        db.commit()


@pytest.fixture
def library(database_url: str) -> Iterator[Engine]:
    engine = database.connect(database_url)
    database.upgrade(engine)
    seed(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def demo_library(database_url: str, scale: Scale) -> tuple[Engine, GeneratedLibrary]:
    """The demo library at ``scale`` (its policy, records, patrons with their messaging
    preferences, loans), loaded into a new database at ``database_url`` as NOW."""
    engine = database.connect(database_url)
    database.upgrade(engine)
    library = generate_library(scale, NOW)
    with Session(engine) as db:
        put_policy(db, library.document, NOW)
    with engine.begin() as connection:
        load_library(connection, library, NOW)
    return engine, library


def write_site_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


__all__ = ["NOW", "TODAY", "date"]
