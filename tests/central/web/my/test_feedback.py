"""*Feedback* on SQLite and PostgreSQL: a signed-in patron's rating and comment kept
anonymous unless they ask to be contacted; a wrong form answered with what to change
and what was typed kept; a few forms a day per patron and per address; CSRF required;
and the staff console's Feedback page for every role (the ratings' counts and average
over a period, the comments newest first a page at a time, escaped, a link to the
patron only when they may be contacted), closed to anyone not signed in."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path

import requests
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation import feedback
from kiosk.central.models import FeedbackSender, PortalFeedback

from ..conftest import XSS, Console
from .conftest import Portal, csrf_token, reader


def _send(browser: requests.Session, portal: Portal, **data: str) -> requests.Response:
    token = csrf_token(browser, portal.url, "/my/feedback")
    return browser.post(
        f"{portal.url}/my/feedback",
        data={"csrf_token": token, **data},
        allow_redirects=False,
        timeout=30,
    )


def _kept(portal: Portal) -> list[tuple[date, int, str, str | None]]:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        rows = [
            (row.day, row.rating, row.comment, row.patron_id)
            for row in db.scalars(select(PortalFeedback).order_by(PortalFeedback.id))
        ]
    engine.dispose()
    return rows


def _staff(portal: Portal, username: str = "vera") -> requests.Session:
    return Console(portal.url, portal.database_url, Path(os.devnull)).login(username)


def test_feedback_is_anonymous_unless_the_patron_may_be_contacted(portal: Portal) -> None:
    assert portal.clock is not None
    today = portal.clock.now().date()
    me = reader(1)
    browser = portal.sign_in(me.card, me.pin)
    form = browser.get(f"{portal.url}/my/feedback", timeout=30)
    assert form.status_code == 200
    assert "You may contact me about this" in form.text
    answer = _send(browser, portal, rating="4", comment="  The new chairs are lovely.  ")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/my/feedback/thanks"
    thanks = browser.get(f"{portal.url}/my/feedback/thanks", timeout=30)
    assert "Thank you for your feedback" in thanks.text
    answer = _send(browser, portal, rating="2", comment="Too cold upstairs.", contact="yes")
    assert answer.status_code == 303
    assert _kept(portal) == [
        (today, 4, "The new chairs are lovely.", None),
        (today, 2, "Too cold upstairs.", me.patron_id),
    ]


def test_a_wrong_form_says_what_to_change_and_keeps_what_was_typed(portal: Portal) -> None:
    browser = portal.sign_in(reader(2).card, reader(2).pin)
    long = "word " * 201  # 1,005 characters
    answer = _send(browser, portal, rating="", comment=long, contact="yes")
    assert answer.status_code == 400
    assert "Choose how good the library is for you, from 1 to 5." in answer.text
    assert "Write your comment in 1000 characters or fewer." in answer.text
    assert long.strip() in answer.text
    assert 'value="yes" checked' in answer.text
    for rating in ("0", "6", "4.5", "five", "-1"):
        assert _send(browser, portal, rating=rating, comment="fine").status_code == 400, rating
    assert _kept(portal) == []


def test_a_patron_and_an_address_send_a_few_a_day(portal: Portal) -> None:
    assert portal.clock is not None
    me = reader(3)
    browser = portal.sign_in(me.card, me.pin)
    for number in range(feedback.PER_PATRON):
        assert _send(browser, portal, rating="5", comment=f"form {number}").status_code == 303
    answer = _send(browser, portal, rating="3", comment="one too many")
    assert answer.status_code == 429
    assert "You have sent feedback 3 times today" in answer.text
    assert "one too many" in answer.text  # to send tomorrow: nothing typed is lost
    assert len(_kept(portal)) == feedback.PER_PATRON
    # The next day the patron may send again (signed in afresh: the session was idle).
    portal.clock.moment += timedelta(days=1)
    browser = portal.sign_in(me.card, me.pin)
    assert _send(browser, portal, rating="3", comment="one too many").status_code == 303
    # Every patron at one address: PER_ADDRESS forms a day between them.
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        db.execute(delete(FeedbackSender))
        db.commit()
    engine.dispose()
    sent = 0
    for number in range(4, 12):
        browser = portal.sign_in(reader(number).card, reader(number).pin)
        for _ in range(feedback.PER_PATRON):
            answer = _send(browser, portal, rating="4", comment="")
            if sent < feedback.PER_ADDRESS:
                assert answer.status_code == 303
                sent += 1
            else:
                assert answer.status_code == 429
    assert len(_kept(portal)) == feedback.PER_PATRON + 1 + feedback.PER_ADDRESS


def test_a_form_without_its_csrf_token_or_signed_out_keeps_nothing(portal: Portal) -> None:
    me = reader(4)
    browser = portal.sign_in(me.card, me.pin)
    for data in (
        {},
        {"csrf_token": "forged"},
        {"csrf_token": csrf_token(requests.Session(), portal.url)},
    ):
        answer = browser.post(f"{portal.url}/my/feedback", data={"rating": "5", **data}, timeout=30)
        assert answer.status_code == 403, data
    stranger = requests.Session()
    answer = stranger.get(f"{portal.url}/my/feedback", allow_redirects=False, timeout=30)
    assert answer.headers["location"] == "/my/login"
    answer = stranger.post(
        f"{portal.url}/my/feedback",
        data={"rating": "5", "csrf_token": csrf_token(stranger, portal.url)},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 401
    assert _kept(portal) == []


def test_staff_read_the_ratings_and_comments_escaped_newest_first(portal: Portal) -> None:
    assert portal.clock is not None
    today = portal.clock.now().date()
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        db.add(
            PortalFeedback(
                day=today - timedelta(days=40), rating=1, comment="Long ago", patron_id=None
            )
        )
        for number in range(30):
            db.add(
                PortalFeedback(
                    day=today - timedelta(days=number // 10),
                    rating=5 if number % 2 else 4,
                    comment=f"Comment number {number}",
                    patron_id=None,
                )
            )
        db.add(PortalFeedback(day=today, rating=2, comment="", patron_id=None))
        db.add(PortalFeedback(day=today, rating=3, comment=XSS, patron_id=reader(5).patron_id))
        db.commit()
    engine.dispose()
    staff = _staff(portal)  # a viewer: the least role
    page = staff.get(f"{portal.url}/staff/feedback", timeout=30)
    assert page.status_code == 200
    text = page.text
    # The last 30 days: 32 forms (not the one 40 days ago), 15 fives, 15 fours, a two
    # and a three: (75 + 60 + 2 + 3) / 32.
    assert "Average rating: <strong>4.4</strong> out of 5, from 32 forms." in text
    counted = dict(
        re.findall(r'data-rating="(\d)">\s*<th[^>]*>\d</th>\s*<td[^>]*>(\d+)</td>', text)
    )
    assert counted == {"1": "0", "2": "1", "3": "1", "4": "15", "5": "15"}
    # Escaped: the script is text on the page, never markup.
    assert XSS not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert f'href="/staff/patrons/{reader(5).patron_id}"' in text
    assert text.count('href="/staff/patrons/') == 1  # the anonymous ones link to no one
    # Newest first, 25 a page: today's (the XSS one, then comments 9 to 0), yesterday's
    # (19 to 10), then 29 to 26 of the day before; 25 to 20 on the next page.
    shown = re.findall(r">Comment number (\d+)</p>", text)
    assert shown == [str(n) for n in [*range(9, -1, -1), *range(19, 9, -1), 29, 28, 27, 26]]
    assert text.index("alert(1)") < text.index(">Comment number 9<")
    older = staff.get(f"{portal.url}/staff/feedback?page=2", timeout=30).text
    assert re.findall(r">Comment number (\d+)</p>", older) == ["25", "24", "23", "22", "21", "20"]
    assert "Long ago" not in older
    assert 'href="/staff/feedback?page=1"' in older
    # A chosen period.
    chosen = (today - timedelta(days=45)).isoformat()
    period = staff.get(
        f"{portal.url}/staff/feedback", params={"from": chosen, "to": chosen}, timeout=30
    ).text
    assert "No feedback in this period." in period
    period = staff.get(
        f"{portal.url}/staff/feedback",
        params={"from": chosen, "to": (today - timedelta(days=35)).isoformat()},
        timeout=30,
    ).text
    assert "from 1 form." in period
    assert "Long ago" in period
    wrong = staff.get(f"{portal.url}/staff/feedback", params={"from": "yesterday"}, timeout=30)
    assert "The first day must be a date such as 2026-12-01" in wrong.text
    # No one signed in: sent to sign in; a patron's session opens no staff page.
    answer = requests.get(f"{portal.url}/staff/feedback", allow_redirects=False, timeout=30)
    assert (answer.status_code, answer.headers["location"]) == (303, "/staff/login")
    patron = portal.sign_in(reader(6).card, reader(6).pin)
    answer = patron.get(f"{portal.url}/staff/feedback", allow_redirects=False, timeout=30)
    assert (answer.status_code, answer.headers["location"]) == (303, "/staff/login")
