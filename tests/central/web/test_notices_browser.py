"""The console's *Notices* pages against the real server, in chromium with axe-core:
the outbox by state, a resend by circulation staff (audited, sent again once), none for
a viewer, a forged or missing token refused, a title or an error written like a script
shown as text, and the list to print."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.models import AuditEntry, Notice, Patron
from kiosk.central.notices import outbox
from kiosk.central.notices.finding import Found

from .conftest import XSS, Console, csrf_token, serve
from .test_browser import accessible, sign_in, watch


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for running in serve(tmp_path_factory.mktemp("notices")):
        _outbox(running.database_url)
        yield running


def _outbox(database_url: str) -> None:
    """A patron named like a script, and one notice in each state that matters."""
    engine = database.connect(database_url)
    now = datetime.now().replace(microsecond=0)
    with Session(engine) as db:
        for patron_id, first in (("p-1", XSS), ("p-2", "Di")):
            db.add(
                Patron(
                    patron_id=patron_id,
                    card=f"card-{patron_id}",
                    first_name=first,
                    surname=XSS if patron_id == "p-1" else "Post",
                    member_type="ADULT",
                    expires=None,
                    barred=False,
                    owed=Decimal("0.00"),
                    pin_verifier=None,
                    email="x@example.org" if patron_id == "p-1" else None,
                    phone=None,
                    language="en",
                    notify_by="email" if patron_id == "p-1" else "none",
                )
            )
        db.flush()
        found = [
            Found(
                "p-1",
                "hold_ready",
                f"hold {n}",
                now.date(),
                "email",
                False,
                {"title": XSS, "pickup_by": "2026-12-09"},
            )
            for n in range(3)
        ] + [
            Found(
                "p-2",
                "overdue",
                "level 1",
                now.date(),
                "print",
                False,
                {
                    "level": 1,
                    "items": [{"title": "Emma", "due": "2026-11-20", "fine": "0.60"}],
                    "total": "0.60",
                },
            )
        ]
        outbox.enqueue(db, found, now - timedelta(hours=1), 8)
        notices = db.scalars(select(Notice).order_by(Notice.id)).all()
        notices[0].status, notices[0].attempts, notices[0].last_error = "failed", 5, f"550 {XSS}"
        notices[1].status, notices[1].last_error = "interrupted", "the runner stopped"
        notices[2].status, notices[2].sent_at = "sent", now
        db.commit()
    engine.dispose()


def test_circulation_resends_a_failed_notice_once_audited_and_a_viewer_cannot(
    page: Page, console: Console
) -> None:
    problems = watch(page)
    sign_in(page, console, "cyril")
    page.goto(f"{console.url}/staff/notices")
    expect(page.locator("#notices tbody tr")).to_have_count(2)  # failed and interrupted
    expect(page.locator("#notices")).to_contain_text(XSS)  # as text: no dialog opened
    accessible(page)
    page.locator('[data-status="failed"] button').click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("will go again")
    expect(page.locator('#notices [data-status="waiting"]')).to_have_count(1)
    accessible(page)
    page.goto(f"{console.url}/staff/notices?show=print")
    expect(page.locator('#notices [data-status="print"]')).to_have_count(1)
    page.goto(f"{console.url}/staff/notices/print")
    expect(page.locator("#to-print")).to_contain_text("Emma, due 2026-11-20, fine so far 0.60")
    accessible(page)
    page.get_by_role("button", name="Mark these 1 as printed").click()
    expect(page.locator("#no-notices")).to_be_visible()
    assert problems == []
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        actions = db.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("notice.%"))
        ).all()
        statuses = sorted(db.scalars(select(Notice.status)).all())
    engine.dispose()
    assert sorted(actions) == ["notice.printed", "notice.resend"]
    assert statuses == ["interrupted", "printed", "sent", "waiting"]
    # A viewer reads the outbox, is offered no resend, and its POST is refused.
    vera = console.login("vera")
    page_text = vera.get(f"{console.url}/staff/notices?show=all", timeout=10).text
    assert "Resend" not in page_text
    token = csrf_token(vera, console.url, "/staff/notices")
    answer = vera.post(
        f"{console.url}/staff/notices/2/resend",
        data={"csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 403


def test_a_resend_without_its_token_or_with_a_forged_one_is_refused(console: Console) -> None:
    cyril = console.login("cyril")
    for data in ({}, {"csrf_token": "forged"}):
        answer = cyril.post(
            f"{console.url}/staff/notices/2/resend", data=data, allow_redirects=False, timeout=10
        )
        assert answer.status_code == 403
    anonymous = requests.post(
        f"{console.url}/staff/notices/2/resend", data={}, allow_redirects=False, timeout=10
    )
    assert anonymous.status_code in (401, 403)
    # Nothing of that reached the notice, and an unknown number is no such notice.
    token = csrf_token(cyril, console.url, "/staff/notices")
    answer = cyril.post(
        f"{console.url}/staff/notices/9999/resend",
        data={"csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 404
    # The pages never show an address.
    for path in ("/staff/notices?show=all", "/staff/notices/print"):
        assert "x@example.org" not in cyril.get(console.url + path, timeout=10).text


def test_circulation_sets_a_patrons_notices_on_their_page(console: Console) -> None:
    cyril = console.login("cyril")
    edit = f"{console.url}/staff/patrons/p-2/edit"
    page = cyril.get(edit, timeout=10).text
    assert 'name="notify_by"' in page
    assert 'name="notices" type="checkbox" value="due_soon"' in page
    token = csrf_token(cyril, console.url, "/staff/patrons/p-2/edit")
    form = {
        "csrf_token": token,
        "first_name": "Di",
        "surname": "Post",
        "member_type": "ADULT",
        "notify_by": "sms",
        "notices": ["hold_ready", "overdue"],
        "due_soon_days": "4",
        "digest": "yes",
        "with_notices": "1",
    }
    bad = cyril.post(
        edit,
        data={**form, "notices": ["due_son"], "due_soon_days": "99"},
        allow_redirects=False,
        timeout=10,
    )
    assert bad.status_code == 400
    assert "unknown kind of notice" in bad.text
    assert "a number of days from 1 to 14" in bad.text
    answer = cyril.post(edit, data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    shown = cyril.get(f"{console.url}/staff/patrons/p-2", timeout=10).text
    assert "Text message (SMS): Overdue, Hold ready; one daily digest" in shown
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        patron = db.get(Patron, "p-2")
        assert patron is not None
        assert (patron.notify_by, patron.notices, patron.due_soon_days, patron.digest) == (
            "sms",
            "overdue,hold_ready",
            4,
            True,
        )
        audited = db.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "patron.edit")
        ).all()
    engine.dispose()
    assert any("notices chosen" in detail for detail in audited)
    # The details sent alone (no notices on the form) leave the notices as they are.
    details_only = {
        k: v for k, v in form.items() if k in ("csrf_token", "first_name", "surname", "member_type")
    }
    answer = cyril.post(
        edit, data={**details_only, "first_name": "Dee"}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 303
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        patron = db.get(Patron, "p-2")
        assert patron is not None
        assert (patron.first_name, patron.notify_by, patron.notices) == (
            "Dee",
            "sms",
            "overdue,hold_ready",
        )
    engine.dispose()
