"""Online registration through the portal and the console, on SQLite and PostgreSQL:
the form makes a pending patron whose temporary card is on the answer alone (in no
address) and signs in; its email and the approval's reach a real SMTP server; staff
approve it with a permanent card, which then signs in while the temporary one does
not; a duplicate, a form without consent and a closed registration are refused with
their own words and keep nothing; CSRF missing or forged is refused; a viewer may look
but not approve (403); one address may send only so many."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.config.model import RegistrationSection
from kiosk.central.models import AuditEntry, Branch, Notice, Patron
from kiosk.central.notices.runner import Runner
from tests.central.notices.conftest import SmtpServer, body, notices_config

from ..conftest import Console
from .conftest import Portal, csrf_token, in_process

OPEN = RegistrationSection(open=True, contact="email_or_phone", date_of_birth=True)
FORM = {
    "first_name": "Imogen",
    "surname": "Quarrington",
    "email": "imogen.q@example.net",
    "phone": "",
    "dob_day": "31",
    "dob_month": "3",
    "dob_year": "1990",
    "pin": "4826",
    "pin_again": "4826",
    "consent": "yes",
}
CARD = re.compile(r'id="temporary-card">(T\d{9})<')


@pytest.fixture
def portal(database_url: str) -> Iterator[Portal]:
    with in_process(database_url, registration=OPEN) as running:
        yield running


def send(portal: Portal, **changed: str) -> requests.Response:
    browser = requests.Session()
    token = csrf_token(browser, portal.url, "/my/register")
    return browser.post(
        f"{portal.url}/my/register",
        data={**FORM, **changed, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )


def count(portal: Portal, *where: object) -> int:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        found = db.scalar(select(func.count()).select_from(Patron).where(*where)) or 0  # type: ignore[arg-type]
    engine.dispose()
    return found


def signs_in(portal: Portal, card: str, pin: str) -> bool:
    browser = requests.Session()
    answer = browser.post(
        f"{portal.url}/my/login",
        data={"card": card, "pin": pin, "csrf_token": csrf_token(browser, portal.url)},
        allow_redirects=False,
        timeout=30,
    )
    return answer.status_code == 303


def console(portal: Portal) -> Console:
    return Console(portal.url, portal.database_url, log=None)  # type: ignore[arg-type]


def test_registered_approved_emailed_and_signed_in_with_the_permanent_card(
    portal: Portal,
) -> None:
    answer = send(portal)
    assert answer.status_code == 200
    found = CARD.search(answer.text)
    assert found is not None
    temporary = found.group(1)
    assert "We have also sent it to your email address." in answer.text
    assert temporary not in answer.url
    assert signs_in(portal, temporary, "4826")  # the portal opens at once
    # Their own record to download holds what they gave.
    mine = requests.Session()
    mine.post(
        f"{portal.url}/my/login",
        data={"card": temporary, "pin": "4826", "csrf_token": csrf_token(mine, portal.url)},
        timeout=30,
    )
    details = mine.get(f"{portal.url}/my/data.json", timeout=30).json()["details"]
    assert details["date_of_birth"] == "1990-03-31"
    assert details["surname"] == "Quarrington"

    staff = console(portal).login("cyril")
    listing = staff.get(f"{portal.url}/staff/registrations", timeout=30)
    assert "Quarrington, Imogen" in listing.text
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        patron = db.scalars(select(Patron).where(Patron.card == temporary)).one()
        patron_id = patron.patron_id
    page = f"/staff/registrations/{patron_id}"
    opened = staff.get(f"{portal.url}{page}", timeout=30)
    assert "1990-03-31" in opened.text
    approved = staff.post(
        f"{portal.url}{page}/approve",
        data={
            "member_type": "ADULT",
            "card": "21000000099999",
            "transaction_id": "desk-" + "a" * 32,
            "csrf_token": csrf_token(staff, portal.url, page),
        },
        allow_redirects=False,
        timeout=30,
    )
    assert approved.status_code == 303
    assert "21000000099999" not in approved.headers["location"]
    assert signs_in(portal, "21000000099999", "4826")
    assert not signs_in(portal, temporary, "4826")
    # Sent again: decided already.
    again = staff.post(
        f"{portal.url}{page}/approve",
        data={"member_type": "ADULT", "csrf_token": csrf_token(staff, portal.url)},
        timeout=30,
    )
    assert again.status_code == 404

    with SmtpServer() as smtp:
        clock = datetime.now
        Runner(engine, notices_config(smtp.port), clock).run_once()
        [welcome, received] = sorted(
            smtp.mail.to("imogen.q@example.net"), key=lambda m: str(m["X-Library-Notice"])
        )
    assert str(received["X-Library-Notice"]) == "registration_received"
    assert temporary in body(received)
    assert "Hello Imogen" in body(received)
    assert str(welcome["X-Library-Notice"]) == "registration_approved"
    assert "21000000099999" in body(welcome)
    assert "21000000099999" in body(welcome, "html")
    with Session(engine) as db:
        statuses = set(db.scalars(select(Notice.status).where(Notice.patron_id == patron_id)))
        assert statuses == {"sent"}
    engine.dispose()


def test_a_duplicate_and_a_form_without_consent_are_refused_and_keep_nothing(
    portal: Portal,
) -> None:
    assert send(portal).status_code == 200
    before = count(portal)
    no_consent = send(portal, consent="", email="new@example.net", dob_year="1991")
    assert no_consent.status_code == 400
    assert "To register, agree to the library keeping your details" in no_consent.text
    assert 'value="new@example.net"' in no_consent.text  # what was typed stays
    assert "4826" not in no_consent.text  # never the PINs
    twice = send(portal, first_name="Other", surname="Person")  # the same email
    assert twice.status_code == 409
    assert "The library may already know you" in twice.text
    assert "Quarrington" not in twice.text.replace('value="Quarrington"', "")
    member = send(portal, email="reader1@example.org", first_name="A", surname="B")
    assert member.status_code == 409  # an approved member's email: the same words
    assert "Reader1" not in member.text
    assert count(portal) == before


def test_closed_registration_is_said_and_refused(database_url: str) -> None:
    with in_process(database_url) as closed:
        page = requests.get(f"{closed.url}/my/register", timeout=30)
        assert page.status_code == 200
        assert "Online registration is not open" in page.text
        assert 'action="/my/register"' not in page.text
        refused = send(closed)
        assert refused.status_code == 403
        assert count(closed, Patron.pending_loans.is_not(None)) == 0


def test_csrf_missing_or_forged_is_refused(portal: Portal) -> None:
    browser = requests.Session()
    csrf_token(browser, portal.url, "/my/register")
    for token in ({}, {"csrf_token": "forged"}):
        answer = browser.post(f"{portal.url}/my/register", data={**FORM, **token}, timeout=30)
        assert answer.status_code == 403
    assert count(portal, Patron.pending_loans.is_not(None)) == 0


def test_a_viewer_may_look_but_not_decide(portal: Portal) -> None:
    send(portal)
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        patron_id = db.scalars(select(Patron.patron_id).where(Patron.pending_loans == 0)).one()
    viewer = console(portal).login("vera")
    page = f"/staff/registrations/{patron_id}"
    opened = viewer.get(f"{portal.url}{page}", timeout=30)
    assert opened.status_code == 200
    assert "Circulation staff and administrators approve" in opened.text
    for action, data in (("approve", {"member_type": "ADULT"}), ("reject", {"reason": "x"})):
        answer = viewer.post(
            f"{portal.url}{page}/{action}",
            data={**data, "csrf_token": csrf_token(viewer, portal.url, page)},
            timeout=30,
        )
        assert answer.status_code == 403
        assert "Your role cannot open this page" in answer.text  # the role, not the token
    assert count(portal, Patron.pending_loans.is_not(None)) == 1
    # Circulation staff reject it: deleted, an audit line without the name.
    staff = console(portal).login("cyril")
    rejected = staff.post(
        f"{portal.url}{page}/reject",
        data={"reason": "Came to the desk instead", "csrf_token": csrf_token(staff, portal.url)},
        allow_redirects=False,
        timeout=30,
    )
    assert rejected.status_code == 303
    assert count(portal, Patron.pending_loans.is_not(None)) == 0
    with Session(engine) as db:
        lines = list(
            db.scalars(select(AuditEntry).where(AuditEntry.target == f"patron {patron_id}"))
        )
        assert [line.action for line in lines] == ["registration.received", "registration.reject"]
        assert all("Quarrington" not in f"{line.detail}" for line in lines)
    engine.dispose()


def test_one_address_may_send_only_so_many(portal: Portal) -> None:
    for number in range(OPEN.per_address_per_hour):
        answer = send(portal, email=f"n{number}@example.net", dob_year=str(1970 + number))
        assert answer.status_code == 200
    slowed = send(portal, email="late@example.net", dob_year="1999")
    assert slowed.status_code == 429
    assert "Too many registrations were sent from this connection" in slowed.text
    assert count(portal, Patron.pending_loans.is_not(None)) == OPEN.per_address_per_hour


def test_sendings_at_once_from_one_address_are_counted_before_any_is_made(
    portal: Portal,
) -> None:
    ready = []
    for number in range(8):
        browser = requests.Session()
        ready.append((browser, csrf_token(browser, portal.url, "/my/register"), number))
    start = threading.Barrier(len(ready))

    def one(sending: tuple[requests.Session, str, int]) -> int:
        browser, token, number = sending
        start.wait()
        return browser.post(
            f"{portal.url}/my/register",
            data={
                **FORM,
                "email": f"at-once{number}@example.net",
                "dob_year": str(1950 + number),
                "csrf_token": token,
            },
            allow_redirects=False,
            timeout=60,
        ).status_code

    with ThreadPoolExecutor(len(ready)) as pool:
        statuses = sorted(pool.map(one, ready))
    most = OPEN.per_address_per_hour
    assert statuses == [200] * most + [429] * (len(ready) - most)
    assert count(portal, Patron.pending_loans.is_not(None)) == most


def test_a_form_with_a_mistake_is_not_counted_against_the_address(portal: Portal) -> None:
    for _ in range(OPEN.per_address_per_hour + 1):
        assert send(portal, consent="").status_code == 400
    assert send(portal).status_code == 200


@pytest.mark.parametrize(
    ("language", "heading", "received"),
    [
        ("es", "Hágase socio de la biblioteca", "Inscripción recibida"),
        ("fr", "S&#39;inscrire à la bibliothèque", "Inscription reçue"),
    ],
)
def test_the_form_and_its_answer_speak_the_patrons_language(
    portal: Portal, language: str, heading: str, received: str
) -> None:
    browser = requests.Session()
    browser.headers["Accept-Language"] = language
    form = browser.get(f"{portal.url}/my/register", timeout=30)
    assert heading in form.text
    token = csrf_token(browser, portal.url, "/my/register")
    answer = browser.post(
        f"{portal.url}/my/register",
        data={**FORM, "email": f"{language}@example.net", "csrf_token": token},
        timeout=30,
    )
    assert received in answer.text
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        patron = db.scalars(select(Patron).where(Patron.email == f"{language}@example.net")).one()
        assert patron.language == language  # the notices speak it too
    engine.dispose()


def test_where_the_library_has_branches_a_registrant_may_choose_theirs(portal: Portal) -> None:
    """The form offers the branches (none with fewer than two), the one chosen is the
    pending patron's home branch and staff see it; a code the library lacks is refused
    in the patron's words, escaped, and keeps nothing."""
    assert 'name="home_branch"' not in requests.get(f"{portal.url}/my/register", timeout=30).text
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        db.add_all(
            [Branch(code="Main", name="Central Library"), Branch(code="Zeal", name="Zealand")]
        )
        db.commit()
    form = requests.get(f"{portal.url}/my/register", timeout=30).text
    assert 'value="Main"' in form
    assert 'value="Zeal"' in form
    forged = send(portal, home_branch="<script>alert(1)</script>")
    assert forged.status_code == 400
    assert "Choose one of the libraries shown." in forged.text
    assert "<script>alert(1)" not in forged.text
    assert count(portal) == count(portal, Patron.pending_loans.is_(None))  # none pending
    assert send(portal, home_branch="Zeal").status_code == 200
    with Session(engine) as db:
        patron = db.scalars(select(Patron).where(Patron.pending_loans.is_not(None))).one()
        assert patron.home_branch == "Zeal"
        patron_id = patron.patron_id
    engine.dispose()
    staff = console(portal).login("cyril")
    opened = staff.get(f"{portal.url}/staff/registrations/{patron_id}", timeout=30)
    assert "Zealand" in opened.text
