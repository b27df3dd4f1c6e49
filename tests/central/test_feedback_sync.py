"""Patrons' feedback at the kiosk (issue 17, item 4): journaled anonymous and to the hour,
pushed by the real sync agent, applied once by the server into kiosk_feedback whatever
the duplicates and the order, and counted per kiosk and week. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from kiosk.central.circulation.kiosk_feedback import KioskWeek, per_kiosk_and_week
from kiosk.central.circulation.reports import Period
from kiosk.central.models import AppliedTransaction, Kiosk, KioskFeedback, StaffException
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import FeedbackReason, Unavailable
from kiosk.store import outbox
from kiosk.sync.agent import _wire_entry
from kiosk.sync.protocol import WireEntry

from .conftest import NOW, Central
from .test_membership_sync import push
from .test_sync import journal_size, server_count

MONDAY = NOW.date() - timedelta(days=NOW.weekday())


def rate(agent: Any, central: Central, rating: int, reason: FeedbackReason | None) -> None:
    answer = Circulation(agent.store, central.clock).feedback(rating, reason)
    assert not isinstance(answer, Unavailable)


def feedback_rows(central: Central) -> list[tuple[str, date, datetime, int, str | None]]:
    with central.session() as db:
        rows = db.execute(
            select(
                Kiosk.name,
                KioskFeedback.week,
                KioskFeedback.hour,
                KioskFeedback.rating,
                KioskFeedback.reason,
            )
            .join(Kiosk, Kiosk.id == KioskFeedback.kiosk_id)
            .order_by(KioskFeedback.hour, KioskFeedback.rating)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_feedback_reaches_the_server_once_anonymous_and_to_the_hour(
    central: Central, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    central.clock.advance(minutes=47)
    rate(agent, central, 1, FeedbackReason.SLOW)
    central.clock.advance(minutes=5)
    rate(agent, central, 3, None)
    entries = [_wire_entry(row) for row in outbox.entries(agent.store)]
    assert [entry.kind for entry in entries] == ["feedback", "feedback"]
    assert {entry.decided_at for entry in entries} == {NOW}
    assert {entry.patron_id for entry in entries} == {None}
    # Reordered, then both again: each applied once.
    assert push(central, entries[1:]) == ["applied"]
    assert push(central, entries[:1]) == ["applied"]
    assert push(central, entries) == ["duplicate", "duplicate"]
    assert feedback_rows(central) == [
        ("kiosk-a", MONDAY, NOW, 1, "slow"),
        ("kiosk-a", MONDAY, NOW, 3, None),
    ]
    # The transactions say an entry came, not what it said nor whose it was.
    with central.session() as db:
        applied = db.execute(
            select(AppliedTransaction.patron_id, AppliedTransaction.details).where(
                AppliedTransaction.kind == "feedback"
            )
        ).all()
    assert [tuple(row) for row in applied] == [(None, {}), (None, {})]
    assert server_count(central, StaffException) == 0
    report = agent.sync_once()
    assert (report.pushed, report.duplicates) == (0, 2)
    assert journal_size(agent) == 0


def test_the_agent_pushes_it_and_the_report_counts_each_kiosk_a_week(
    central: Central, tmp_path: Path
) -> None:
    first, second = central.agent(tmp_path / "a"), central.agent(tmp_path / "b", "kiosk-b")
    first.sync_once()
    second.sync_once()
    rate(first, central, 1, FeedbackReason.NOT_FOUND)
    rate(first, central, 1, FeedbackReason.NOT_FOUND)
    rate(second, central, 2, FeedbackReason.ERROR)
    central.clock.advance(days=7, hours=3)  # the next week
    rate(first, central, 3, None)
    first.sync_once()
    second.sync_once()
    assert server_count(central, KioskFeedback) == 4
    with central.session() as db:
        weeks = per_kiosk_and_week(db, Period(MONDAY, MONDAY + timedelta(days=13)))
        assert weeks == (
            KioskWeek("kiosk-a", MONDAY + timedelta(days=7), (0, 0, 1), (0, 0, 0, 0)),
            KioskWeek("kiosk-a", MONDAY, (2, 0, 0), (2, 0, 0, 0)),
            KioskWeek("kiosk-b", MONDAY, (0, 1, 0), (0, 0, 1, 0)),
        )
        assert weeks[1].given == (("not_found", 2),)
        assert weeks[2].average == 2.0
        # A range of the first week alone leaves the second out.
        assert len(per_kiosk_and_week(db, Period(MONDAY, MONDAY + timedelta(days=6)))) == 2


ENTRY: dict[str, Any] = {
    "id": "e-1",
    "seq": 1,
    "kind": "feedback",
    "decided_at": NOW,
    "item_barcode": "",
    "patron_id": None,
    "details": {"rating": 2},
    "charged": Decimal(0),
    "status_after": "",
    "loan_patron_id": None,
    "loan_member_type": None,
    "loan_due": None,
    "loan_renewals": None,
    "fulfilled_hold_of": None,
}


@pytest.mark.parametrize(
    "change",
    [
        {"patron_id": "P0000001"},  # never whose it was
        {"loan_patron_id": "P0000001"},
        {"decided_at": NOW + timedelta(minutes=1)},  # no time finer than the hour
        {"decided_at": NOW + timedelta(microseconds=1)},
        {"item_barcode": "31000000000001"},  # no item
        {"details": {}},  # a rating
        {"details": {"rating": 4}},  # of 1 to 3
        {"details": {"rating": 0}},
        {"details": {"rating": True}},
        {"details": {"rating": "2"}},
        {"details": {"rating": 2, "reason": "too cold"}},  # a known reason
        {"details": {"rating": 2, "card": "21000000000011"}},  # and nothing else
        {"charged": Decimal("1.00")},  # changing nothing
        {"status_after": "available"},
    ],
)
def test_a_feedback_entry_is_anonymous_and_says_only_a_rating(change: dict[str, Any]) -> None:
    WireEntry(**ENTRY)
    WireEntry(**{**ENTRY, "details": {"rating": 1, "reason": "hard_to_use"}})
    with pytest.raises(ValidationError):
        WireEntry(**{**ENTRY, **change})
