"""A receipt asked for at the desk (issue 16), in Debian's chromium with axe-core: after
two checkouts, *Email a receipt of this visit* queues one receipt of both, which the
notices' runner sends to a real SMTP server on loopback; asked again with nothing new,
it is refused in words and nothing more is queued. A patron with no email address is
not offered one, and a forged request for them is refused; a viewer and a request
without its CSRF token get 403."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.policy import put_policy
from kiosk.central.models import AuditEntry, Item, Notice, Patron, Record
from kiosk.central.notices.runner import Runner
from kiosk.demo.library import EXAMPLE_POLICY
from tests.central.notices.conftest import SmtpServer, body, notices_config

from .conftest import Console, csrf_token, serve
from .test_browser import accessible, sign_in, watch
from .test_desk_browser import scan

WITH_EMAIL, WITHOUT = "P0000501", "P0000502"
EMAIL = "rosalind.receipt@example.org"
ITEMS = {"39000000005001": "A Receipted Book", "39000000005002": "Another Receipted Book"}


def _seed(database_url: str) -> None:
    now = datetime.now().replace(microsecond=0)
    document = tomllib.loads(EXAMPLE_POLICY.read_text(encoding="utf-8"), parse_float=Decimal)
    engine = database.connect(database_url)
    with Session(engine) as db:
        put_policy(db, json.loads(json.dumps(document, default=str)), now)
        for patron_id, first, email in ((WITH_EMAIL, "Rosalind", EMAIL), (WITHOUT, "Nye", None)):
            db.add(
                Patron(
                    patron_id=patron_id,
                    card=f"2000000{patron_id[1:]}",
                    first_name=first,
                    surname="Receiptson",
                    member_type="ADULT",
                    expires=now.date() + timedelta(days=300),
                    barred=False,
                    owed=Decimal("0.00"),
                    email=email,
                    notices="due_soon",  # no receipts chosen: asked for at the desk
                )
            )
        for brn, (barcode, title) in enumerate(ITEMS.items(), start=501):
            db.add(Record(brn=brn, title=title, author="A. Writer", publication_type="FICTION"))
            db.flush()
            db.add(
                Item(
                    barcode=barcode,
                    brn=brn,
                    price=Decimal("9.00"),
                    status="available",
                    home_location="Main",
                )
            )
        db.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for served in serve(tmp_path_factory.mktemp("desk-receipt")):
        _seed(served.database_url)
        yield served


def _receipts(console: Console, patron_id: str) -> list[Notice]:
    engine = database.connect(console.database_url)
    with Session(engine, expire_on_commit=False) as db:
        found = list(
            db.scalars(
                select(Notice).where(Notice.patron_id == patron_id, Notice.kind == "receipt")
            )
        )
    engine.dispose()
    return found


def test_a_receipt_asked_for_at_the_desk_is_emailed_once(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/desk/{WITH_EMAIL}")
    expect(page.locator("#email-receipt")).to_have_count(0)  # nothing lent yet
    page.locator("#checkout-barcode").focus()
    for barcode, title in ITEMS.items():
        scan(page, "#checkout-barcode", barcode)
        expect(page.locator("#answer")).to_contain_text(title)
    accessible(page)
    with page.expect_navigation():
        page.locator("#email-receipt").click()
    expect(page.locator("#receipt-queued")).to_contain_text("queued for the patron's email")
    accessible(page)
    [queued] = _receipts(console, WITH_EMAIL)
    assert queued.channel == "email"
    # In the order lent; two in one second in either order.
    assert sorted(item["title"] for item in queued.facts["items"]) == sorted(ITEMS.values())

    # Asked again with nothing new: said, and nothing more queued.
    with page.expect_navigation():
        page.locator("#email-receipt").click()
    expect(page.locator("#trouble")).to_contain_text("queued already")
    accessible(page)
    assert len(_receipts(console, WITH_EMAIL)) == 1
    assert problems == []

    engine = database.connect(console.database_url)
    with SmtpServer() as smtp:
        Runner(engine, notices_config(smtp.port), datetime.now).run_once()
        [mail] = smtp.mail.to(EMAIL)
    with Session(engine) as db:
        audited = db.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "notice.receipt")
        ).all()
    engine.dispose()
    assert str(mail["X-Library-Notice"]) == "receipt"
    for title in ITEMS.values():
        assert title in body(mail)
    assert audited == ["asked at the desk: 2 lines"]  # never a title


def test_no_receipt_for_a_patron_without_email_nor_for_a_viewer_or_a_forged_form(
    page: Page, console: Console
) -> None:
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/desk/{WITHOUT}")
    expect(page.locator("#email-receipt")).to_have_count(0)
    staff = console.login("cyril")
    token = csrf_token(staff, console.url, f"/staff/desk/{WITHOUT}")
    refused = staff.post(
        f"{console.url}/staff/desk/receipt",
        data={"patron_id": WITHOUT, "csrf_token": token},
        timeout=10,
    )
    assert "the patron has no email address" in refused.text
    assert _receipts(console, WITHOUT) == []
    viewer = console.login("vera")
    as_viewer = viewer.post(
        f"{console.url}/staff/desk/receipt",
        data={"patron_id": WITH_EMAIL, "csrf_token": csrf_token(viewer, console.url)},
        allow_redirects=False,
        timeout=10,
    )
    assert as_viewer.status_code == 403
    forged = requests.Session()
    forged.cookies.update(staff.cookies)
    no_token = forged.post(
        f"{console.url}/staff/desk/receipt",
        data={"patron_id": WITH_EMAIL},
        allow_redirects=False,
        timeout=10,
    )
    assert no_token.status_code == 403
