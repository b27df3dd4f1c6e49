"""The day's forgetting, on SQLite and PostgreSQL: the counts of refused sign-ins and
registrations by address go once no window could still need them, who sent feedback
goes with its day, and ``kiosk-central forget`` does it all for a library that runs no
notices."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.forgetting import ADDRESSES_KEPT, forget_daily
from kiosk.central.circulation.holds import cancel_hold, place_title_hold
from kiosk.central.circulation.loan_history import FORGOTTEN
from kiosk.central.circulation.registrations import register
from kiosk.central.gateway.outbox import RELAYED_KEPT
from kiosk.central.models import (
    AppliedTransaction,
    AuditEntry,
    FeedbackSender,
    LedgerEntry,
    Notice,
    Patron,
    PortalSignInFailures,
    StaffException,
    UpstreamOutbox,
)
from tests.central.circulation import desk_library
from tests.central.circulation.test_registrations import FORM, OPEN, PORTAL
from tests.central.conftest import NOW

# (address, counted how long before NOW, kept)
ADDRESSES = (
    ("192.0.2.1", timedelta(minutes=5), True),  # a sign-in window in force
    ("register:192.0.2.2", timedelta(minutes=50), True),  # a registration hour in force
    ("192.0.2.3", ADDRESSES_KEPT - timedelta(seconds=1), True),
    ("192.0.2.4", ADDRESSES_KEPT + timedelta(seconds=1), False),
    ("2001:db8::5", timedelta(days=40), False),
)
# (sender, days before today, kept)
SENDERS = (("patron:P1", 0, True), ("address:192.0.2.9", 0, True), ("patron:P2", 1, False))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    built = database.connect(database_url)
    database.upgrade(built)
    with built.begin() as connection:
        connection.execute(
            insert(PortalSignInFailures),
            [
                {"address": address, "failures": 3, "window_start": NOW - ago}
                for address, ago, _ in ADDRESSES
            ],
        )
        connection.execute(
            insert(FeedbackSender),
            [
                {"sender": sender, "day": NOW.date() - timedelta(days=ago), "sent": 1}
                for sender, ago, _ in SENDERS
            ],
        )
    yield built
    built.dispose()


def _left(engine: Engine) -> tuple[set[str], set[str]]:
    with Session(engine) as db:
        return (
            set(db.scalars(select(PortalSignInFailures.address))),
            set(db.scalars(select(FeedbackSender.sender))),
        )


def test_what_no_window_needs_is_forgotten_and_nothing_else_even_twice(engine: Engine) -> None:
    forgotten = forget_daily(engine, NOW, 30)
    assert (forgotten.addresses, forgotten.feedback_senders, forgotten.loans) == (2, 1, 0)
    kept = ({a for a, _, keep in ADDRESSES if keep}, {s for s, _, keep in SENDERS if keep})
    assert _left(engine) == kept
    again = forget_daily(engine, NOW, 30)
    assert (again.addresses, again.feedback_senders, again.loans) == (0, 0, 0)
    assert _left(engine) == kept


def test_the_command_forgets_for_a_library_that_sends_no_notices(
    engine: Engine, database_url: str
) -> None:
    # The command runs on the real clock: everything planted is long past by then.
    run = subprocess.run(
        [sys.executable, "-m", "kiosk.central.cli", "--db", database_url, "forget"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "addresses' refused sign-in counts: 5" in run.stdout
    assert "feedback senders of days gone: 3" in run.stdout
    assert _left(engine) == (set(), set())


def test_registrations_staff_never_decided_on_expire_with_their_notices(engine: Engine) -> None:
    def registered(name: str, days_ago: int) -> str:
        form = replace(FORM, first_name=name, email=f"{name.lower()}@example.net")
        with Session(engine) as db:
            return register(db, form, OPEN, NOW - timedelta(days=days_ago), PORTAL).patron_id

    old = registered("Olwen", 31)
    young = registered("Yara", 29)
    owing = registered("Ottilie", 40)
    approved = registered("Agnes", 40)
    with Session(engine) as db:
        db.add(LedgerEntry(patron_id=owing, amount=Decimal("1.00"), kind="fine", at=NOW))
        patron = db.get(Patron, approved)
        assert patron is not None
        patron.pending_loans = None
        db.commit()

    forgotten = forget_daily(engine, NOW, 30, registrations_after_days=30)
    assert forgotten.registrations == 1
    with Session(engine) as db:
        assert set(db.scalars(select(Patron.patron_id))) == {young, owing, approved}
        assert db.scalars(select(Notice).where(Notice.patron_id == old)).all() == []
        [audited] = db.scalars(select(AuditEntry).where(AuditEntry.action == "registration.expire"))
        assert audited.target == f"patron {old}"
        assert "expired" in audited.detail
        every = " ".join(
            f"{entry.target} {entry.detail}" for entry in db.scalars(select(AuditEntry))
        )
        assert "olwen" not in every.lower()
    assert forget_daily(engine, NOW, 30).registrations == 0
    # The bound is the config's.
    assert forget_daily(engine, NOW, 30, registrations_after_days=28).registrations == 1


# (status, done how long before NOW or None, its exception resolved or None, cleared)
RELAYED = (
    ("done", RELAYED_KEPT + timedelta(seconds=1), None, True),
    ("done", RELAYED_KEPT - timedelta(seconds=1), None, False),
    ("refused", RELAYED_KEPT + timedelta(days=9), True, True),
    ("refused", RELAYED_KEPT + timedelta(days=9), False, False),  # staff still on it
    ("sending", None, None, False),
    ("waiting", None, None, False),
)


def test_relayed_transactions_stop_naming_the_patron_once_done_with(engine: Engine) -> None:
    decided = NOW - timedelta(days=60)
    rows = [
        {
            "change_seq": seq,
            "transaction_id": f"T{seq}",
            "kind": "checkout",
            "item_barcode": f"I{seq}",
            "patron_id": f"P{seq}",
            "decided_at": decided,
            "status": status,
            "attempts": 1,
            "done_at": None if ago is None else NOW - ago,
            "answer": f"Patron P{seq} blocked" if status == "refused" else None,
        }
        for seq, (status, ago, _, _) in enumerate(RELAYED, start=1)
    ]
    exceptions = [
        {
            "entry_id": f"T{seq}",
            "source": "upstream",
            "reason": "upstream_refused",
            "detail": "refused",
            "created_at": decided,
            "resolved_at": NOW if resolved else None,
        }
        for seq, (_, _, resolved, _) in enumerate(RELAYED, start=1)
        if resolved is not None
    ]
    with engine.begin() as connection:
        connection.execute(insert(UpstreamOutbox), rows)
        connection.execute(insert(StaffException), exceptions)
    forgotten = forget_daily(engine, NOW, 30)
    assert forgotten.relayed == sum(cleared for *_, cleared in RELAYED)
    with Session(engine) as db:
        kept = db.scalars(select(UpstreamOutbox).order_by(UpstreamOutbox.change_seq)).all()
        for row, (*_, cleared) in zip(kept, RELAYED, strict=True):
            named = (row.patron_id, row.item_barcode, row.answer)
            assert (named == (None, None, None)) is cleared, row.change_seq
            assert row.transaction_id == f"T{row.change_seq}"  # the row itself stays
    assert forget_daily(engine, NOW, 30).relayed == 0


# (kind, days before NOW, forgotten) with a forgetting period of 30 days
NOT_LOANS = (
    ("hold", 31, True),
    ("hold", 29, False),  # a hold placed lately: whose it was is still needed
    ("pin", 31, True),
    ("pin", 1, False),
    ("checkout", 31, False),  # a loan not yet back: the loans' forgetting decides
)


def test_holds_placed_and_pins_typed_at_kiosks_stop_naming_the_patron_with_the_loans(
    engine: Engine,
) -> None:
    """A hold's transaction keeps no details (apply: the holds row carries the hold) and
    a PIN's only whether it was right; whose they were goes after the loans' period,
    whatever the patron keeps of their loans, and the rows stay for the counts."""
    with engine.begin() as connection:
        connection.execute(
            insert(AppliedTransaction),
            [
                {
                    "id": f"k1:{seq}",
                    "kiosk_id": None,
                    "kiosk_seq": seq,
                    "kind": kind,
                    "item_barcode": "31000000000001" if kind == "checkout" else "",
                    "patron_id": "P0000001",
                    "decided_at": NOW - timedelta(days=ago),
                    "applied_at": NOW - timedelta(days=ago),
                    "outcome": "applied",
                    "change_seq": seq,
                    "details": {"right": False} if kind == "pin" else {},
                    "charged": Decimal("0.00"),
                    "actor": None,
                    "member_type": None,
                }
                for seq, (kind, ago, _) in enumerate(NOT_LOANS, start=1)
            ],
        )
    assert forget_daily(engine, NOW, 30).holds_and_pins == 2
    with Session(engine) as db:
        rows = db.execute(
            select(AppliedTransaction.kiosk_seq, AppliedTransaction.patron_id).order_by(
                AppliedTransaction.kiosk_seq
            )
        ).all()
    assert [patron is None for _, patron in rows] == [gone for *_, gone in NOT_LOANS]
    assert forget_daily(engine, NOW, 30).holds_and_pins == 0


def test_the_audit_log_of_holds_stops_naming_the_patron_with_the_loans(
    database_url: str,
) -> None:
    """Whose hold it was (a staff member's entry says 'patron ada; position 1', the
    portal's has the patron as its actor) goes from the audit log after the loans'
    period; the entries stay, with the title and the member of staff; a hold placed
    lately still says whose it is."""
    engine, _ = desk_library.build(database_url)
    portal = Actor("patron student", "127.0.0.1", "portal")
    try:
        with Session(engine) as db:
            old = NOW - timedelta(days=31)
            hold = place_title_hold(db, "ada", 1, old, desk_library.CYRIL)
            cancel_hold(db, hold.id, old, desk_library.CYRIL, "asked at the desk")
            place_title_hold(db, "student", 1, old, portal)
            place_title_hold(db, "ada", 2, NOW - timedelta(days=1), desk_library.CYRIL)
        forgotten = forget_daily(engine, NOW, 30)
        assert forgotten.hold_audits == 3
        with Session(engine) as db:
            entries = db.execute(
                select(AuditEntry.action, AuditEntry.actor, AuditEntry.target, AuditEntry.detail)
                .where(AuditEntry.action.like("hold.%"))
                .order_by(AuditEntry.id)
            ).all()
        assert [tuple(entry) for entry in entries] == [
            ("hold.place", "cyril", "title 1", f"{FORGOTTEN}; position 1"),
            ("hold.cancel", "cyril", "title 1", f"{FORGOTTEN}; asked at the desk"),
            ("hold.place", "patron", "title 1", f"{FORGOTTEN}; position 1"),
            ("hold.place", "cyril", "title 2", "patron ada; position 1"),
        ]
        assert forget_daily(engine, NOW, 30).hold_audits == 0
    finally:
        engine.dispose()
