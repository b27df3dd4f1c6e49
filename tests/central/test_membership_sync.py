"""A membership renewed at a kiosk (issue 17): journaled as an entry of its own, applied
once by the server's decision path, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import ValidationError
from sqlalchemy import select

from kiosk.central.models import AppliedTransaction, Patron, StaffException
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import CheckoutStatus, MembershipStatus, Unavailable
from kiosk.store import outbox
from kiosk.sync.agent import _wire_entry
from kiosk.sync.protocol import PushRequest, WireEntry

from .conftest import NOW, Central
from .test_sync import available, card, journal_size, patron_id, server_count, sign_in

RENEWED = NOW.date() + timedelta(days=14 + 365)  # the demo's ending soon, plus a year


def push(central: Central, entries: list[WireEntry]) -> list[str]:
    response = requests.post(
        f"{central.url}/v1/journal",
        data=PushRequest(entries=entries).model_dump_json(),
        headers={
            "Authorization": f"Bearer {central.tokens['kiosk-a']}",
            "Content-Type": "application/json",
        },
        timeout=30,
    )
    response.raise_for_status()
    return [result["outcome"] for result in response.json()["results"]]


def expires_on_server(central: Central, who: dict[str, Any]) -> date | None:
    with central.session() as session:
        return session.scalar(
            select(Patron.expires).where(Patron.patron_id == patron_id(central, who["card"]))
        )


def test_a_membership_renewed_offline_reaches_the_server_once(
    central: Central, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    who = card(central, "membership ends soon")
    identified = circulation.identify(who["card"], who["pin"])
    assert not isinstance(identified, Unavailable)
    assert identified.greeting.renewable
    session = sign_in(circulation, who)
    answer = circulation.renew_membership(session)
    assert not isinstance(answer, Unavailable)
    assert (answer.status, answer.expires) == (MembershipStatus.RENEWED, RENEWED)
    lent = circulation.checkout(session, available(central)[0])
    assert not isinstance(lent, Unavailable)
    assert lent.status is CheckoutStatus.LENT
    entries = [_wire_entry(row) for row in outbox.entries(agent.store)]
    assert [entry.kind for entry in entries] == ["membership", "checkout"]
    # Reordered: the checkout first, then both again; each applied once.
    assert push(central, entries[1:]) == ["applied"]
    assert push(central, entries[:1]) == ["applied"]
    assert push(central, entries) == ["duplicate", "duplicate"]
    assert server_count(central, AppliedTransaction, AppliedTransaction.kind == "membership") == 1
    assert server_count(central, StaffException) == 0
    assert expires_on_server(central, who) == RENEWED
    report = agent.sync_once()
    assert (report.pushed, report.duplicates) == (0, 2)
    assert journal_size(agent) == 0
    # The mirror has it from the server now: nothing left to renew.
    again = Circulation(agent.store, central.clock).identify(who["card"], who["pin"])
    assert not isinstance(again, Unavailable)
    assert again.greeting.membership_ends is None


def test_a_renewal_arriving_after_staff_renewed_keeps_the_later_expiry(
    central: Central, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    who = card(central, "membership ends soon")
    answer = circulation.renew_membership(sign_in(circulation, who))
    assert not isinstance(answer, Unavailable)
    later = RENEWED + timedelta(days=100)
    with central.session() as session:
        patron = session.get(Patron, patron_id(central, who["card"]))
        assert patron is not None
        patron.expires = later
        session.commit()
    report = agent.sync_once()
    assert report.exceptions == 1
    assert expires_on_server(central, who) == later
    with central.session() as session:
        reasons = list(session.scalars(select(StaffException.reason)))
    assert reasons == ["already_renewed"]


@pytest.mark.parametrize(
    ("kind", "barcode", "details"),
    [
        ("membership", "31000000000001", {"expires": "2027-12-07"}),
        ("checkout", "", {}),
        ("membership", "", {}),
        ("membership", "", {"expires": "next year"}),
    ],
)
def test_a_membership_entry_names_no_item_and_its_new_expiry(
    kind: str, barcode: str, details: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        WireEntry(
            id="e-1",
            seq=1,
            kind=kind,  # type: ignore[arg-type]
            decided_at=NOW,
            item_barcode=barcode,
            patron_id="P0000001",
            details=details,
            charged=Decimal(0),
            status_after="",
            loan_patron_id=None,
            loan_member_type=None,
            loan_due=None,
            loan_renewals=None,
            fulfilled_hold_of=None,
        )
