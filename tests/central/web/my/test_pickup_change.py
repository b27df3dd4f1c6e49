"""A patron changes where they collect their own hold in the portal (issue 21), on
SQLite and PostgreSQL: the decision path's change (``holds.change_pickup``) behind a
thin route; and the form as an attacker would send it: another patron's hold is not
found, a form without its CSRF token is refused, a branch the library does not have
(a script, say) is refused in words that do not repeat it, and nothing changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.models import Branch, Hold

from .conftest import Portal, csrf_token, reader

XSS = "<script>alert(1)</script>"


@pytest.fixture
def branched(portal: Portal) -> Portal:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        db.add(Branch(code="Main", name="Central Library"))
        db.add(Branch(code="Zeal", name="Zealand Branch Library"))
        db.commit()
    engine.dispose()
    return portal


def _holds(portal: Portal, patron_id: str) -> dict[str, tuple[str | None, bool]]:
    """The patron's holds by copy: where each is collected, and whether it is ready."""
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        found = {
            hold.item_barcode or "": (hold.pickup, hold.ready)
            for hold in db.scalars(select(Hold).where(Hold.patron_id == patron_id))
        }
    engine.dispose()
    return found


def _hold_id(portal: Portal, patron_id: str, barcode: str) -> int:
    engine = database.connect(portal.database_url)
    with Session(engine) as db:
        found = db.scalar(
            select(Hold.id).where(Hold.patron_id == patron_id, Hold.item_barcode == barcode)
        )
    engine.dispose()
    assert found is not None
    return found


def test_a_patron_collects_their_hold_at_another_branch(branched: Portal) -> None:
    me = reader(1)
    browser = branched.sign_in(me.card, me.pin)
    token = csrf_token(browser, branched.url, "/my/")
    waiting = _hold_id(branched, me.patron_id, me.barcode(5))
    answer = browser.post(
        f"{branched.url}/my/holds/{waiting}/pickup",
        data={"csrf_token": token, "pickup": "Zeal"},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/my/?pickup=1"
    assert _holds(branched, me.patron_id)[me.barcode(5)] == ("Zeal", False)
    page = browser.get(f"{branched.url}/my/?pickup=1", timeout=30).text
    assert "Where you collect your hold has changed." in page
    assert "You will collect it at Zealand Branch Library." in page

    # The ready one (from before branches) goes from where it waits to Zealand.
    ready = _hold_id(branched, me.patron_id, me.barcode(6))
    browser.post(
        f"{branched.url}/my/holds/{ready}/pickup",
        data={"csrf_token": token, "pickup": "Zeal"},
        timeout=30,
    )
    assert _holds(branched, me.patron_id)[me.barcode(6)] == ("Zeal", False)


def test_another_patrons_hold_a_forged_form_or_an_unknown_branch_change_nothing(
    branched: Portal,
) -> None:
    me, them = reader(1), reader(2)
    browser = branched.sign_in(me.card, me.pin)
    token = csrf_token(browser, branched.url, "/my/")
    before = (_holds(branched, me.patron_id), _holds(branched, them.patron_id))
    theirs = _hold_id(branched, them.patron_id, them.barcode(5))
    for hold_id in (theirs, 999999, "x1", "-1"):
        answer = browser.post(
            f"{branched.url}/my/holds/{hold_id}/pickup",
            data={"csrf_token": token, "pickup": "Zeal"},
            timeout=30,
        )
        assert answer.status_code == 404, hold_id
    mine = _hold_id(branched, me.patron_id, me.barcode(5))
    for data in ({"pickup": "Zeal"}, {"pickup": "Zeal", "csrf_token": "forged"}):
        answer = browser.post(f"{branched.url}/my/holds/{mine}/pickup", data=data, timeout=30)
        assert answer.status_code == 403, data
    for pickup in (XSS, "Nowhere", "", "Z" * 41):
        answer = browser.post(
            f"{branched.url}/my/holds/{mine}/pickup",
            data={"csrf_token": token, "pickup": pickup},
            timeout=30,
        )
        assert answer.status_code in (409, 422), pickup
        assert XSS not in answer.text
    answer = browser.post(
        f"{branched.url}/my/holds/{mine}/pickup",
        data={"csrf_token": token, "pickup": XSS},
        timeout=30,
    )
    assert 'id="pickup-refused"' in answer.text
    assert "That hold can&#39;t be collected there." in answer.text
    assert (_holds(branched, me.patron_id), _holds(branched, them.patron_id)) == before
