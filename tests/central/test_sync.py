"""Kiosks and the central server converge: nothing lost, nothing doubled, physical facts kept.

Every test runs against the real server on a loopback port, once over SQLite and
once over PostgreSQL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select, update

from kiosk import __version__
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.circulation.holds import place_hold_by_card
from kiosk.central.circulation.koc import export_koc
from kiosk.central.circulation.staff import open_exceptions
from kiosk.central.models import (
    AppliedTransaction,
    Item,
    LedgerEntry,
    Loan,
    Patron,
    StaffException,
)
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import CheckoutStatus, PatronSession, ReturnStatus, Unavailable
from kiosk.store import outbox
from kiosk.store.journal import Entry
from kiosk.store.mirror import MirrorLoan
from kiosk.store.store import MirrorHealth
from kiosk.sync import last_sync
from kiosk.sync.agent import SyncAgent, _wire_entry
from kiosk.sync.protocol import PushRequest

from .conftest import Central


def card(central: Central, situation: str) -> dict[str, Any]:
    return next(c for c in central.library.cards if c["situation"] == situation)


def patron_id(central: Central, card_number: str) -> str:
    return str(next(p["patron_id"] for p in central.library.patrons if p["card"] == card_number))


def available(central: Central, kind: str = "FICTION") -> list[str]:
    return central.library.samples[kind]["available"]


def sign_in(circulation: Circulation, who: dict[str, Any]) -> PatronSession:
    identified = circulation.identify(who["card"], who["pin"])
    assert not isinstance(identified, Unavailable)
    assert identified.session is not None, identified.status
    return identified.session


def server_count(central: Central, model: Any, *where: Any) -> int:
    with central.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def journal_size(agent: SyncAgent) -> int:
    with agent.store.journal.connect() as journal:
        return int(journal.scalar(select(func.count()).select_from(Entry)) or 0)


def test_a_new_kiosk_takes_a_snapshot_and_can_lend(central: Central, tmp_path: Path) -> None:
    agent = central.agent(tmp_path / "a")
    assert agent.store.mirror_health is MirrorHealth.EMPTY
    report = agent.sync_once()
    library = central.library
    rows = (
        1
        + len(library.records)
        + len(library.items)
        + len(library.patrons)
        + len(library.loans)
        + len(library.holds)
    )
    assert report.snapshot_rows == rows
    assert agent.store.refresh_health() is MirrorHealth.READY
    assert agent.status.connectivity == "online"
    circulation = Circulation(agent.store, central.clock)
    lent = circulation.checkout(
        sign_in(circulation, card(central, "adult, nothing on loan")), available(central)[0]
    )
    assert getattr(lent, "status", None) is CheckoutStatus.LENT


def test_a_loading_snapshot_shows_its_percentage_to_the_screens_process(
    central: Central, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.snapshot_page_size = 50
    seen: list[int | None] = []
    agent.on_progress = lambda _done, _total: seen.append(
        last_sync.load_progress(tmp_path / "a", central.clock.now())
    )
    agent.sync_once()
    assert len(seen) > 5
    assert None not in seen
    assert seen == sorted(seen)  # type: ignore[type-var]
    assert seen[0] < 20  # type: ignore[operator]
    assert seen[-1] == 99  # complete only once the cursor is written
    assert last_sync.load_progress(tmp_path / "a", central.clock.now()) is None
    assert not (tmp_path / "a" / last_sync.PROGRESS_FILE).exists()


def test_progress_left_by_an_agent_that_stopped_is_not_believed(tmp_path: Path) -> None:
    last_sync.save_progress(tmp_path, 42, datetime(2026, 11, 23, 10, 0))
    assert last_sync.load_progress(tmp_path, datetime(2026, 11, 23, 10, 1)) == 42
    assert last_sync.load_progress(tmp_path, datetime(2026, 11, 23, 10, 3)) is None
    (tmp_path / last_sync.PROGRESS_FILE).write_text("{not json")
    assert last_sync.load_progress(tmp_path, datetime(2026, 11, 23, 10, 1)) is None


def test_a_snapshot_in_small_pages_copies_every_row_as_the_server_holds_it(
    central: Central, tmp_path: Path
) -> None:
    # Amounts at the edges of their text form, a missing expiry and a barred card,
    # read back through several pages of each table.
    with central.session() as session, session.begin():
        first, second, third = session.scalars(select(Patron).order_by(Patron.patron_id).limit(3))
        first.owed, first.expires, first.barred = Decimal("1234.05"), None, True
        second.owed = Decimal("0.07")
        third.owed = Decimal("-2.50")  # a credit on the account
        session.execute(
            update(Item).where(Item.barcode == available(central)[0]).values(price=Decimal("0.00"))
        )
    agent = central.agent(tmp_path / "a")
    agent.snapshot_page_size = 7
    agent.sync_once()
    with central.session() as session:
        server_items = {
            (i.barcode, i.brn, i.price, i.status, i.home_location)
            for i in session.scalars(select(Item))
        }
        server_patrons = {
            (p.patron_id, p.card, p.first_name, p.member_type, p.expires, p.barred, p.owed)
            for p in session.scalars(select(Patron))
        }
    with sqlite3.connect(tmp_path / "a" / "mirror.db") as mirror:
        kiosk_items = {
            (barcode, brn, Decimal(cents) / 100, status, home)
            for barcode, brn, cents, status, home in mirror.execute("SELECT * FROM items")
        }
        kiosk_patrons = {
            (
                pid,
                number,
                name,
                kind,
                expires and date.fromisoformat(expires),
                bool(barred),
                Decimal(cents) / 100,
            )
            for pid, number, name, kind, expires, barred, cents in mirror.execute(
                "SELECT patron_id, card, first_name, member_type, expires, barred, owed "
                "FROM patrons"
            )
        }
    assert kiosk_items == server_items
    assert kiosk_patrons == server_patrons


def test_offline_lending_arrives_once_and_leaves_no_history_on_the_kiosk(
    central: Central, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    adult = card(central, "adult, nothing on loan")
    session = sign_in(circulation, adult)
    items = available(central)[:3]
    for barcode in items:
        assert (
            getattr(circulation.checkout(session, barcode), "status", None) is CheckoutStatus.LENT
        )
    assert getattr(circulation.return_item(items[0]), "status", None) is ReturnStatus.RETURNED
    central.clock.advance(days=1)
    circulation.renew(session, items[1])
    assert journal_size(agent) == 5

    report = agent.sync_once()
    assert (report.pushed, report.duplicates, report.exceptions) == (5, 0, 0)
    assert server_count(central, AppliedTransaction) == 5
    owner = patron_id(central, adult["card"])
    assert server_count(central, Loan, Loan.patron_id == owner) == 2
    assert journal_size(agent) == 0, "no loan history stays on the kiosk"
    account = circulation.account(session)
    assert not isinstance(account, Unavailable)
    assert {line.barcode for line in account.loans} == set(items[1:])
    again = agent.sync_once()
    assert (again.pushed, again.changes) == (0, 0)


def test_the_same_batch_pushed_twice_and_at_once_has_one_effect(
    central: Central, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    session = sign_in(circulation, card(central, "adult, nothing on loan"))
    for barcode in available(central)[:4]:
        circulation.checkout(session, barcode)
    rows = outbox.entries(agent.store)
    body = PushRequest(entries=[_wire_entry(row) for row in rows]).model_dump_json()
    headers = {
        "Authorization": f"Bearer {central.tokens['kiosk-a']}",
        "Content-Type": "application/json",
    }
    answers: list[list[str]] = []
    start = threading.Barrier(3)

    def push() -> None:
        start.wait()
        response = requests.post(
            f"{central.url}/v1/journal", data=body, headers=headers, timeout=30
        )
        response.raise_for_status()
        answers.append([result["outcome"] for result in response.json()["results"]])

    threads = [threading.Thread(target=push) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for position in range(4):
        assert sorted(answer[position] for answer in answers) == [
            "applied",
            "duplicate",
            "duplicate",
        ]
    assert server_count(central, AppliedTransaction) == 4
    report = agent.sync_once()  # the agent's own push now finds them all applied
    assert (report.pushed, report.duplicates) == (0, 4)
    assert journal_size(agent) == 0


def test_batches_arriving_out_of_order_leave_the_state_of_the_newest_fact(
    central: Central, tmp_path: Path
) -> None:
    # Offline, one item is lent, returned and lent again, and a second item lent; the
    # batches reach the server newest first (a retry overtaken by a later push).
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    first = sign_in(circulation, card(central, "adult, nothing on loan"))
    book, other = available(central)[:2]
    circulation.checkout(first, book)
    central.clock.advance(minutes=5)
    circulation.return_item(book)
    central.clock.advance(minutes=5)
    circulation.checkout(first, book)
    circulation.checkout(first, other)
    entries = [_wire_entry(row) for row in outbox.entries(agent.store)]
    headers = {
        "Authorization": f"Bearer {central.tokens['kiosk-a']}",
        "Content-Type": "application/json",
    }

    def push(batch: list[Any]) -> list[str]:
        response = requests.post(
            f"{central.url}/v1/journal",
            data=PushRequest(entries=batch).model_dump_json(),
            headers=headers,
            timeout=30,
        )
        response.raise_for_status()
        return [result["outcome"] for result in response.json()["results"]]

    assert push(entries[2:]) == ["applied", "applied"]
    assert push(entries[:2]) == ["applied", "applied"]
    assert push(entries) == ["duplicate"] * 4
    assert server_count(central, AppliedTransaction) == 4
    with central.session() as session:
        loans = {loan.item_barcode: loan.patron_id for loan in session.scalars(select(Loan))}
    who = patron_id(central, card(central, "adult, nothing on loan")["card"])
    # The later loan of the book stands: the older checkout and return, applied after it,
    # did not take the book back off the patron's account.
    assert loans.get(book) == who
    assert loans.get(other) == who
    report = agent.sync_once()
    assert (report.pushed, report.duplicates) == (0, 4)
    assert journal_size(agent) == 0
    # The kiosk's mirror, with its journal purged, shows the same two loans.
    account = Circulation(agent.store, central.clock).account(first)
    assert not isinstance(account, Unavailable)
    assert {line.barcode for line in account.loans} == {book, other}


def test_an_item_lent_offline_after_a_hold_was_placed_is_kept_and_shown_to_staff(
    central: Central, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    barcode = available(central)[0]
    other = card(central, "has loans")
    with central.session() as session:
        place_hold_by_card(
            session, other["card"], barcode, central.clock.now(), Actor("test", "test")
        )
    circulation = Circulation(agent.store, central.clock)  # offline: the kiosk knows no hold
    adult = card(central, "adult, nothing on loan")
    assert (
        getattr(circulation.checkout(sign_in(circulation, adult), barcode), "status", None)
        is CheckoutStatus.LENT
    )
    report = agent.sync_once()
    assert report.exceptions == 1
    with central.session() as session:
        loan = session.get(Loan, barcode)
        assert loan is not None
        assert loan.patron_id == patron_id(central, adult["card"])
        [exception] = open_exceptions(session)
        assert exception.reason == "refused_now"
        assert "on_hold_for_other" in exception.detail


def test_a_card_blocked_meanwhile_still_has_its_offline_loan(
    central: Central, tmp_path: Path
) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    adult = card(central, "adult, nothing on loan")
    owner = patron_id(central, adult["card"])
    with central.session() as session, session.begin():
        ChangeLog(session).lock()
        session.execute(update(Patron).where(Patron.patron_id == owner).values(barred=True))
    circulation = Circulation(agent.store, central.clock)
    barcode = available(central)[1]
    assert (
        getattr(circulation.checkout(sign_in(circulation, adult), barcode), "status", None)
        is CheckoutStatus.LENT
    )
    agent.sync_once()
    assert server_count(central, Loan, Loan.item_barcode == barcode) == 1
    assert server_count(central, StaffException, StaffException.reason == "refused_now") == 1


def test_one_item_returned_at_two_drop_stations(central: Central, tmp_path: Path) -> None:
    first, second = (
        central.agent(tmp_path / "a", "kiosk-a"),
        central.agent(tmp_path / "b", "kiosk-b"),
    )
    first.sync_once()
    second.sync_once()
    barcode = sorted(central.library.loans)[0]
    assert (
        getattr(Circulation(first.store, central.clock).return_item(barcode), "status", None)
        is ReturnStatus.RETURNED
    )
    assert (
        getattr(Circulation(second.store, central.clock).return_item(barcode), "status", None)
        is ReturnStatus.RETURNED
    )
    assert first.sync_once().exceptions == 0
    assert second.sync_once().exceptions == 1
    with central.session() as session:
        assert [e.reason for e in open_exceptions(session)] == ["already_returned"]
        assert session.get(Loan, barcode) is None
    first.sync_once()
    for agent in (first, second):
        with agent.store.mirror.connect() as mirror:
            assert (
                mirror.execute(select(MirrorLoan).where(MirrorLoan.item_barcode == barcode)).first()
                is None
            )
        assert journal_size(agent) == 0


def test_fines_charged_at_a_kiosk_reach_the_ledger_once(central: Central, tmp_path: Path) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    overdue = next(
        (barcode, loan)
        for barcode, loan in sorted(central.library.loans.items())
        if loan["due"][:10] < "2026-11-10" and loan["member_type"] in ("ADULT", "STUDENT", "GRADE8")
    )
    barcode, loan = overdue
    view = Circulation(agent.store, central.clock).return_item(barcode)
    assert not isinstance(view, Unavailable)
    fine = view.fine
    agent.sync_once()
    agent.sync_once()
    with central.session() as session:
        ledger = list(
            session.scalars(select(LedgerEntry).where(LedgerEntry.patron_id == loan["patron_id"]))
        )
        assert [entry.amount for entry in ledger] == ([fine] if fine > 0 else [])


def test_tokens_are_required_and_a_kiosk_pushes_only_its_own(
    central: Central, tmp_path: Path
) -> None:
    assert (
        requests.get(f"{central.url}/v1/changes", params={"since": 0}, timeout=10).status_code
        == 401
    )
    wrong = {"Authorization": "Bearer not-a-real-token"}
    assert (
        requests.get(
            f"{central.url}/v1/changes", params={"since": 0}, headers=wrong, timeout=10
        ).status_code
        == 401
    )
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    circulation.checkout(
        sign_in(circulation, card(central, "adult, nothing on loan")), available(central)[2]
    )
    rows = outbox.entries(agent.store)
    body = PushRequest(entries=[_wire_entry(row) for row in rows]).model_dump_json()
    agent.sync_once()
    other = {
        "Authorization": f"Bearer {central.tokens['kiosk-b']}",
        "Content-Type": "application/json",
    }
    response = requests.post(f"{central.url}/v1/journal", data=body, headers=other, timeout=10)
    assert response.status_code == 403
    assert "another kiosk" in response.json()["detail"]


def test_the_protocol_is_served_as_openapi(central: Central) -> None:
    schema = requests.get(f"{central.url}/openapi.json", timeout=10).json()
    assert {"/v1/snapshot", "/v1/changes", "/v1/journal", "/v1/heartbeat"} <= set(schema["paths"])
    assert json.dumps(schema).count("WireEntry") > 0


def test_transactions_export_to_koha_offline_circulation(central: Central, tmp_path: Path) -> None:
    agent = central.agent(tmp_path / "a")
    agent.sync_once()
    circulation = Circulation(agent.store, central.clock)
    adult = card(central, "adult, nothing on loan")
    session = sign_in(circulation, adult)
    first, second = available(central)[:2]
    circulation.checkout(session, first)
    central.clock.advance(minutes=5)
    circulation.checkout(session, second)
    central.clock.advance(minutes=5)
    circulation.return_item(first)
    central.clock.advance(days=2)
    circulation.renew(session, second)
    agent.sync_once()
    out = tmp_path / "kiosk.koc"
    with central.session() as db:
        written = export_koc(db, datetime(2026, 11, 23), out)
    assert (written.written, written.left_out) == (4, 0)
    assert out.read_text().splitlines() == [
        f"Version=1.0\tGenerator=kiosk-central\tGeneratorVersion={__version__}",
        f"2026-11-23 10:00:00 000\tissue\t{adult['card']}\t{first}",
        f"2026-11-23 10:05:00 000\tissue\t{adult['card']}\t{second}",
        f"2026-11-23 10:10:00 000\treturn\t{first}",
        f"2026-11-25 10:10:00 000\tissue\t{adult['card']}\t{second}",
    ]
