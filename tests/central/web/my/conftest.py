"""The patron portal as patrons meet it: a library of readers, each with a PIN, loans
that renew, loans that are refused (on hold for someone else, at the renewal limit),
an overdue loan, a hold waiting in a queue and one ready on the hold shelf.

``seed(database_url)`` lays it on a migrated database, relative to ``now`` (the server
keeps the real clock unless a test gives it one). Each reader ``n`` has the same shape,
so a test that changes a reader's account takes a reader of its own.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.policy import put_policy
from kiosk.central.config.model import RegistrationSection
from kiosk.central.models import Hold, Item, LedgerEntry, Loan, Patron, Record
from kiosk.common.pins import pin_verifier
from kiosk.demo.library import EXAMPLE_POLICY

from ..conftest import PASSWORDS, Console, serve
from ..conftest import in_process as console_in_process

READERS = 12  # readers 1..12, each a card of their own
RENEWING = (9, 10)  # readers whose membership ends within the renewal window
OTHER = "P9000000"  # barred, membership ended: the one others wait behind
OTHER_CARD = "29000000000000"
OTHER_PIN = "9090"
NO_PIN_CARD = "29000000000001"
CLOSED = "NONFICTION"


def closed_on(today: date) -> date:
    """The day by which ``CLOSED`` loans had to be back."""
    return today - timedelta(days=1)


STAFF = ("ada", PASSWORDS["ada"])  # the console's admin
# The browser tests' screens: a phone, the main case, and a desktop.
VIEWPORTS = {"phone": (360, 640), "desktop": (1280, 800)}


@dataclass(frozen=True)
class Reader:
    number: int

    @property
    def patron_id(self) -> str:
        return f"P{self.number:07d}"

    @property
    def card(self) -> str:
        return f"2100000000{self.number:04d}"

    @property
    def pin(self) -> str:
        return f"{self.number}{self.number}{self.number}{self.number}"[-4:]

    @property
    def first_name(self) -> str:
        return f"Reader{self.number}"

    @property
    def surname(self) -> str:
        return f"Featherstonehaugh{self.number}"

    @property
    def email(self) -> str:
        return f"reader{self.number}@example.org"

    def barcode(self, kind: int) -> str:
        """kind 1 renewable, 2 wanted by another, 3 renewed the most times, 4 overdue, 5
        held (on loan to OTHER), 6 ready on the hold shelf, 7 of a publication type
        whose lending has closed (``CLOSED``)."""
        return f"3900{self.number:04d}00000{kind}"

    def title(self, kind: int) -> str:
        return {
            1: "Quiet Shore",
            2: "Wanted Elsewhere",
            3: "Worn Thin",
            4: "Late Again",
            5: "Far Horizon",
            6: "Fresh Arrival",
            7: "Closed Book",
        }[kind] + f" {self.number}"


def reader(number: int) -> Reader:
    return Reader(number)


def seed(database_url: str, now: datetime | None = None) -> None:
    now = (now or datetime.now()).replace(microsecond=0)
    today = now.date()
    engine = database.connect(database_url)
    database.upgrade(engine)
    document = tomllib.loads(EXAMPLE_POLICY.read_text(encoding="utf-8"), parse_float=Decimal)
    # Non fiction had to be back by yesterday: renewing it is refused (no_issue_after).
    document["publication_types"][CLOSED]["no_issue_after"] = closed_on(today)
    verifiers: dict[str, str] = {}
    with Session(engine) as db:
        put_policy(db, json.loads(json.dumps(document, default=str)), now)
        db.add(
            Patron(
                patron_id=OTHER,
                card=OTHER_CARD,
                first_name="Barnaby",
                surname="Quillfeather",
                member_type="ADULT",
                expires=today - timedelta(days=30),
                barred=True,
                barred_reason="Card reported stolen",
                owed=Decimal("0.00"),
                pin_verifier=pin_verifier(OTHER_PIN),
            )
        )
        db.add(
            Patron(
                patron_id="P9000001",
                card=NO_PIN_CARD,
                first_name="Nopin",
                surname="Nevermade",
                member_type="ADULT",
                expires=today + timedelta(days=300),
                barred=False,
                owed=Decimal("0.00"),
                pin_verifier=None,
            )
        )
        brn = 0
        for number in range(1, READERS + 1):
            person = reader(number)
            pin = person.pin
            verifiers.setdefault(pin, pin_verifier(pin))
            db.add(
                Patron(
                    patron_id=person.patron_id,
                    card=person.card,
                    first_name=person.first_name,
                    surname=person.surname,
                    email=person.email,
                    member_type="ADULT",
                    expires=today + timedelta(days=10 if number in RENEWING else 200),
                    barred=False,
                    owed=Decimal("1.50"),
                    pin_verifier=verifiers[pin],
                )
            )
            db.add(
                LedgerEntry(
                    patron_id=person.patron_id,
                    amount=Decimal("1.50"),
                    kind="fine",
                    entry_id=None,
                    at=now - timedelta(days=3),
                    note=f"item {person.barcode(4)}",
                )
            )
            for kind in range(1, 8):
                brn += 1
                db.add(
                    Record(
                        brn=brn,
                        title=person.title(kind),
                        author="A. Writer",
                        publication_type=CLOSED if kind == 7 else "FICTION",
                    )
                )
                db.flush()
                db.add(
                    Item(
                        barcode=person.barcode(kind),
                        brn=brn,
                        price=Decimal("12.00"),
                        status="available",
                        home_location="Main",
                    )
                )
            loans = [
                (1, person.patron_id, today + timedelta(days=10), 0),
                (2, person.patron_id, today + timedelta(days=10), 0),
                (3, person.patron_id, today + timedelta(days=10), 3),
                (4, person.patron_id, today - timedelta(days=5), 0),
                (7, person.patron_id, today + timedelta(days=3), 0),
                (5, OTHER, today + timedelta(days=10), 0),
            ]
            for kind, patron_id, due, renewals in loans:
                db.add(
                    Loan(
                        item_barcode=person.barcode(kind),
                        patron_id=patron_id,
                        member_type="ADULT",
                        due=due.isoformat(),
                        renewals=renewals,
                        lent_at=now - timedelta(days=11),
                        kiosk_id=None,
                    )
                )
            holds = [
                (2, OTHER, 1, None),
                (5, OTHER, 1, None),
                (5, person.patron_id, 2, None),
                (6, person.patron_id, 1, now - timedelta(days=1)),
            ]
            for kind, patron_id, position, ready_at in holds:
                db.add(
                    Hold(
                        item_barcode=person.barcode(kind),
                        patron_id=patron_id,
                        position=position,
                        ready=ready_at is not None,
                        title=person.title(kind),
                        placed_at=now - timedelta(days=20),
                        ready_at=ready_at,
                    )
                )
        db.commit()
    engine.dispose()


class Clock:
    """The server's clock, moved by the test."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment


@dataclass
class Portal:
    url: str
    database_url: str
    clock: Clock | None = None

    def sign_in(self, card: str, pin: str) -> requests.Session:
        browser = requests.Session()
        answer = browser.post(
            f"{self.url}/my/login",
            data={"card": card, "pin": pin, "csrf_token": csrf_token(browser, self.url)},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/my/"
        return browser


def csrf_token(browser: requests.Session, url: str, page: str = "/my/login") -> str:
    text = browser.get(f"{url}{page}", timeout=30).text
    marker = 'name="csrf_token" value="'
    start = text.index(marker) + len(marker)
    return text[start : text.index('"', start)]


@contextmanager
def in_process(
    database_url: str,
    clock: Callable[[], datetime] | None = None,
    *,
    registration: RegistrationSection | None = None,
) -> Iterator[Portal]:
    """``kiosk-central serve``'s app in this process (the console's ``in_process``, with
    its staff and kiosks) over the readers' library, on ``clock``, or else on a clock the
    test moves (``Portal.clock``); ``registration`` as the console's ``in_process``."""
    moving = Clock(datetime.now().replace(microsecond=0)) if clock is None else None
    with console_in_process(
        database_url, clock or (moving.now if moving else datetime.now), registration=registration
    ) as console:
        seed(database_url, (clock or datetime.now)())
        yield Portal(console.url, database_url, moving)


@pytest.fixture
def portal(database_url: str) -> Iterator[Portal]:
    """The portal over a fresh seeded library, on SQLite and on PostgreSQL, with a
    clock the test moves (``portal.clock``)."""
    with in_process(database_url) as running:
        yield running


@pytest.fixture(params=list(VIEWPORTS))
def screen(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def page(browser: Browser, screen: str) -> Iterator[Page]:
    """A fresh context (no cookies) and page at each of the VIEWPORTS in turn."""
    width, height = VIEWPORTS[screen]
    context = browser.new_context(viewport={"width": width, "height": height})
    opened = context.new_page()
    yield opened
    context.close()


def serve_portal(
    directory: Path, secrets: Iterable[str] = (), extra: str = ""
) -> Iterator[Console]:
    """``kiosk-central serve`` over the readers' library; once done, its log is read:
    no card, name, email address or PIN of any patron in it, nor any of ``secrets``
    (what a test typed that is no one's business; read at the end, so a list the tests
    add to counts). ``extra``: more of central.toml, as ``serve``'s."""
    for served in serve(directory, extra=extra):
        seed(served.database_url)
        yield served
        text = served.log.read_text(encoding="utf-8", errors="replace").lower()
        named = [OTHER_CARD, NO_PIN_CARD, *secrets]
        for number in range(1, READERS + 1):
            person = reader(number)
            named += [person.card, person.surname, person.first_name, person.email]
        found = [secret for secret in named if secret.lower() in text]
        assert found == [], f"the server's log names a patron: {found}"
        for number in range(1, READERS + 1):
            assert f"pin={reader(number).pin}" not in text
