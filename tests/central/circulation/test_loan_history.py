"""Loan history kept only at the patron's wish, on SQLite and PostgreSQL: the daily job
forgets who borrowed a loan that ended past the bound, and nothing else (a loan ended
lately, one still out, one whose fine is unpaid, an opted-in patron's); the reports
still count the forgotten rows by member type; two runs at once forget each row once;
the notices' daily pass runs it once a day."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation import loan_history, reports
from kiosk.central.circulation.actor import Actor
from kiosk.central.config import CentralConfig
from kiosk.central.config.model import LibrarySection
from kiosk.central.models import AppliedTransaction, AuditEntry, Patron
from kiosk.central.notices.runner import Runner
from kiosk.common.clock import FixedClock
from tests.central.conftest import NOW

DAYS = 30
FORGETS, PAYS, KEEPS = "P0000001", "P0000002", "P0000003"


@dataclass(frozen=True)
class Case:
    name: str
    patron: str
    # (kind, days before NOW) of one item's transactions, in order
    steps: tuple[tuple[str, int], ...]
    forgotten: tuple[bool, ...]  # each step's row forgotten


CASES = (
    Case(
        "ended past the bound",
        FORGETS,
        (("checkout", 50), ("renew", 40), ("return", 31)),
        (True, True, True),
    ),
    Case("ended, not yet past", FORGETS, (("checkout", 40), ("return", 29)), (False, False)),
    Case("still on loan", FORGETS, (("checkout", 60), ("renew", 45)), (False, False)),
    Case("fine unpaid", PAYS, (("checkout", 50), ("return", 40)), (False, False)),
    Case("opted in", KEEPS, (("checkout", 50), ("return", 40)), (False, False)),
    Case(
        "returned, then lent again",
        FORGETS,
        (("checkout", 70), ("return", 60), ("checkout", 5)),
        (True, True, False),
    ),
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = database.connect(database_url)
    database.upgrade(made)
    with Session(made) as db:
        for patron_id, owed, keeps in (
            (FORGETS, "0.00", False),
            (PAYS, "1.50", False),
            (KEEPS, "0.00", True),
        ):
            db.add(
                Patron(
                    patron_id=patron_id,
                    card=f"2{patron_id[1:]}",
                    first_name="Reader",
                    surname="Privacy",
                    member_type="ADULT" if patron_id != PAYS else "CHILD",
                    expires=None,
                    barred=False,
                    owed=Decimal(owed),
                    pin_verifier=None,
                    keep_loan_history=keeps,
                )
            )
        for number, case in enumerate(CASES):
            for step, (kind, days) in enumerate(case.steps):
                at = NOW - timedelta(days=days)
                db.add(_row(f"{number}-{step}", f"3900{number:08d}", case.patron, kind, at))
                db.add(_audited(f"{number}-{step}", f"3900{number:08d}", case.patron, kind, at))
        db.commit()
    yield made
    made.dispose()


def _row(row_id: str, barcode: str, patron_id: str, kind: str, at: datetime) -> AppliedTransaction:
    return AppliedTransaction(
        id=row_id,
        kiosk_id=None,
        kiosk_seq=0,
        kind=kind,
        item_barcode=barcode,
        patron_id=patron_id,
        decided_at=at,
        applied_at=at,
        outcome="applied",
        change_seq=0,
        details={"title": "A Private Matter"},
        charged=Decimal(0),
        # A renewal in the portal names the patron as its actor.
        actor=f"patron {patron_id}" if kind == "renew" else "ada",
    )


def _audited(row_id: str, barcode: str, patron_id: str, kind: str, at: datetime) -> AuditEntry:
    """The audit entry the desk (or the portal, for a renewal) writes with the row."""
    return AuditEntry(
        at=at,
        actor=f"patron {patron_id}" if kind == "renew" else "ada",
        action=f"loan.{kind}",
        target=f"item {barcode}",
        origin="127.0.0.1",
        detail={
            "checkout": f"patron {patron_id}, due 2026-12-01",
            "renew": f"due 2026-12-01, step {row_id}",
            "return": f"fine 0.00, patron {patron_id}",
        }[kind],
    )


def _named(engine: Engine) -> dict[str, bool]:
    """Each audit entry (by its row's id) and whether it still names a patron."""
    with Session(engine) as db:
        return {
            f"{entry.target}:{entry.action}:{entry.at.isoformat()}": (
                "patron P" in entry.actor or "patron P" in entry.detail
            )
            for entry in db.scalars(select(AuditEntry))
        }


def _linked(engine: Engine) -> dict[str, tuple[str | None, str | None, str | None]]:
    with Session(engine) as db:
        return {
            row.id: (row.patron_id, row.member_type, row.actor)
            for row in db.scalars(select(AppliedTransaction))
        }


def test_only_loans_ended_past_the_bound_of_patrons_who_keep_none_are_forgotten(
    engine: Engine,
) -> None:
    period = reports.Period(NOW.date() - timedelta(days=100), NOW.date())
    with Session(engine) as db:
        before = reports.per_member_type(db, period)
        forgotten = loan_history.forget_ended_loans(db, NOW, DAYS)
    assert forgotten == 5
    rows = _linked(engine)
    # The audit log's entries of those loans no longer name the patron; staff stay.
    named = _named(engine)
    for number, case in enumerate(CASES):
        for step, (kind, days) in enumerate(case.steps):
            at = (NOW - timedelta(days=days)).isoformat()
            key = f"item 3900{number:08d}:loan.{kind}:{at}"
            assert named[key] is not case.forgotten[step], (case.name, kind)
    with Session(engine) as db:
        staff = set(db.scalars(select(AuditEntry.actor)))
        details = set(db.scalars(select(AuditEntry.detail)))
    assert staff == {"ada", "patron", f"patron {FORGETS}"}
    assert "fine 0.00, a patron no longer named" in details
    assert "a patron no longer named, due 2026-12-01" in details
    for number, case in enumerate(CASES):
        for step, gone in enumerate(case.forgotten):
            patron_id, member_type, actor = rows[f"{number}-{step}"]
            if gone:
                assert (patron_id, member_type) == (None, "ADULT"), case.name
                assert actor != f"patron {case.patron}", case.name
            else:
                assert (patron_id, member_type) == (case.patron, None), case.name
    # The reports count the forgotten rows by the member type they kept.
    with Session(engine) as db:
        assert reports.per_member_type(db, period) == before
        # A second run finds nothing more.
        assert loan_history.forget_ended_loans(db, NOW, DAYS) == 0
    assert _linked(engine) == rows


def test_a_patron_who_stops_keeping_their_history_may_forget_it_at_once(engine: Engine) -> None:
    actor = Actor(f"patron {KEEPS}", "127.0.0.1", "portal")
    with Session(engine) as db:
        assert [loan.title for loan in loan_history.history(db, KEEPS, 1, 10)[0]] == [
            "A Private Matter"
        ]
        assert loan_history.keep(db, KEEPS, False, forget_now=True, now=NOW, actor=actor) == 2
        assert loan_history.history(db, KEEPS, 1, 10) == ([], False)
        # Every ended loan of theirs, however lately: the one still out has not ended.
        assert loan_history.keep(db, FORGETS, False, forget_now=True, now=NOW, actor=actor) == 7
    rows = _linked(engine)
    assert rows["2-0"][0] == FORGETS  # still on loan
    assert rows["5-2"][0] == FORGETS  # lent again
    assert rows["1-0"][0] is None  # ended lately: forgotten now, as asked


def test_two_runs_at_once_forget_each_row_once(engine: Engine) -> None:
    # More rows than a batch, so that the runs meet.
    many = loan_history.BATCH + 500
    with Session(engine) as db:
        for n in range(many):
            at = NOW - timedelta(days=60, minutes=n)
            db.add(_row(f"many-{n}-out", f"37{n:012d}", FORGETS, "checkout", at))
            db.add(_row(f"many-{n}-in", f"37{n:012d}", FORGETS, "return", at + timedelta(days=1)))
        db.commit()
    counts: list[int] = []
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            with Session(engine) as db:
                start.wait()
                counts.append(loan_history.forget_ended_loans(db, NOW, DAYS))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert sum(counts) == 2 * many + 5
    with Session(engine) as db:
        linked = db.scalar(
            select(AppliedTransaction.id).where(
                AppliedTransaction.id.like("many-%"), AppliedTransaction.patron_id.is_not(None)
            )
        )
    assert linked is None


def test_the_notices_daily_pass_forgets_them_once_a_day(engine: Engine) -> None:
    config = replace(CentralConfig(), library=LibrarySection(forget_loans_after_days=DAYS))
    clock = FixedClock(NOW)
    report = Runner(engine, config, clock.now).run_once()
    assert report.loans_forgotten == 5
    assert "ended loans forgotten 5" in report.words()
    with Session(engine) as db:
        db.execute(
            update(AppliedTransaction)
            .where(AppliedTransaction.id == "1-0")
            .values(decided_at=NOW - timedelta(days=90))
        )
        db.execute(
            update(AppliedTransaction)
            .where(AppliedTransaction.id == "1-1")
            .values(decided_at=NOW - timedelta(days=89))
        )
        db.commit()
    # The same day's later passes leave the daily work alone; the next day's does it.
    assert Runner(engine, config, clock.now).run_once().loans_forgotten == 0
    clock.advance(days=1)
    assert Runner(engine, config, clock.now).run_once().loans_forgotten == 2
