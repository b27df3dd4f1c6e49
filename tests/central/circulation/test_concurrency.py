"""Many kiosks pushing at once, over shared items and patrons, to two servers on one database.

Pushes lock only what they touch and number their changes at the end, so this
checks what the narrower locks must still guarantee: every entry applied once,
balances never losing a charge, a change log that every reader sees as an
unbroken prefix, and kiosks that converge on the server's state.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.models import AppliedTransaction, Change, ChangeCounter, Loan, Patron
from kiosk.store.mirror import MirrorLoan, MirrorPatron
from kiosk.sync.protocol import PushRequest, WireEntry
from tests.central.conftest import NOW, Central, ServerThread

KIOSKS = 6
ENTRIES_PER_KIOSK = 16
BATCH = 2
FINE = Decimal("0.50")


def entries_of(
    kiosk: int, shared: list[str], own: list[str], patrons: list[str]
) -> list[WireEntry]:
    """Pairs of a checkout and its return: of an item every kiosk lends (contended), then of
    one only this kiosk lends, returned with a fine (contended only through the patron)."""
    made = []
    for n in range(ENTRIES_PER_KIOSK):
        pair = n // 2
        barcode = shared[(kiosk + pair) % len(shared)] if pair % 2 == 0 else own[pair % len(own)]
        patron = patrons[(kiosk + pair) % len(patrons)]
        lending = n % 2 == 0
        made.append(
            WireEntry(
                id=str(uuid.uuid4()),
                seq=n + 1,
                kind="checkout" if lending else "return",
                decided_at=NOW + timedelta(minutes=n),
                item_barcode=barcode,
                patron_id=patron,
                details={},
                charged=FINE if not lending and pair % 2 == 1 else Decimal(0),
                status_after="on_loan" if lending else "available",
                loan_patron_id=patron if lending else None,
                loan_member_type="ADULT" if lending else None,
                loan_due="2026-12-14" if lending else None,
                loan_renewals=0 if lending else None,
                fulfilled_hold_of=None,
            )
        )
    return made


def test_many_kiosks_at_once_apply_each_entry_once_and_converge(
    central: Central, database_url: str, tmp_path: Path
) -> None:
    library = central.library
    with central.session() as session:
        for n in range(2, KIOSKS):
            central.tokens[f"kiosk-{n}"] = add_kiosk(session, f"kiosk-{n}", NOW)
    names = ["kiosk-a", "kiosk-b"] + [f"kiosk-{n}" for n in range(2, KIOSKS)]
    agents = [central.agent(tmp_path / name, name) for name in names]
    for agent in agents:
        agent.sync_once()  # the snapshot, before anything changes

    held = {hold["item_barcode"] for hold in library.holds}
    stock = [
        item.barcode
        for item in library.items
        if item.status == "available" and item.barcode not in held | set(library.loans)
    ]
    shared, own = stock[:3], [stock[3 + 2 * n : 5 + 2 * n] for n in range(KIOSKS)]
    barcodes = stock[: 3 + 2 * KIOSKS]
    adults = [p["patron_id"] for p in library.patrons if p["member_type"] == "ADULT"][:3]
    with central.session() as session:
        owed_before = {
            patron_id: session.get(Patron, patron_id).owed  # type: ignore[union-attr]
            for patron_id in adults
        }
    entries = {name: entries_of(n, shared, own[n], adults) for n, name in enumerate(names)}

    # A second server process on the same database, with its own connections.
    second_engine = database.connect(database_url)
    outcomes: dict[str, list[str]] = {}
    failures: list[str] = []
    holes: list[str] = []
    lock = threading.Lock()
    pushing = threading.Event()
    start = threading.Barrier(2 * KIOSKS + 1)

    def push(name: str, server: str) -> None:
        headers = {"Authorization": f"Bearer {central.tokens[name]}"}
        start.wait()
        for first in range(0, ENTRIES_PER_KIOSK, BATCH):
            body = PushRequest(entries=entries[name][first : first + BATCH]).model_dump_json()
            response = requests.post(
                f"{server}/v1/journal",
                data=body,
                headers={**headers, "Content-Type": "application/json"},
                timeout=60,
            )
            with lock:
                if response.status_code != 200:
                    failures.append(f"{name}: {response.status_code} {response.text[:200]}")
                    continue
                for result in response.json()["results"]:
                    outcomes.setdefault(result["id"], []).append(result["outcome"])

    def read_the_log() -> None:
        """What a kiosk relies on: at any moment the committed numbers are 1..N, no holes."""
        cursor = 0
        while pushing.is_set():
            with Session(central.engine) as session:
                seqs = list(
                    session.scalars(
                        select(Change.seq).where(Change.seq > cursor).order_by(Change.seq)
                    )
                )
            if seqs != list(range(cursor + 1, cursor + 1 + len(seqs))):
                holes.append(f"after {cursor}: {seqs[:10]}")
            cursor += len(seqs)

    def pull(agent_index: int) -> None:
        while pushing.is_set():
            agents[agent_index].sync_once()

    with ServerThread(second_engine, central.clock) as second:
        servers = [central.url, second.url]
        # Each kiosk pushes each batch twice at once, once to each server: a retry
        # racing the original.
        threads = [
            threading.Thread(target=push, args=(name, server))
            for name in names
            for server in servers
        ]
        pushing.set()
        readers = [threading.Thread(target=read_the_log)] + [
            threading.Thread(target=pull, args=(n,)) for n in range(2)
        ]
        for thread in threads + readers:
            thread.start()
        start.wait()
        for thread in threads:
            thread.join()
        pushing.clear()
        for thread in readers:
            thread.join()
    second_engine.dispose()

    assert failures == []
    assert holes == []
    all_ids = {entry.id for made in entries.values() for entry in made}
    assert set(outcomes) == all_ids
    for entry_id, answers in outcomes.items():
        assert len(answers) == 2
        assert answers.count("duplicate") == 1, (entry_id, answers)

    with central.session() as session:
        applied = list(session.scalars(select(AppliedTransaction.id)))
        assert sorted(applied) == sorted(all_ids)
        counter = session.get(ChangeCounter, 1)
        seqs = list(session.scalars(select(Change.seq).order_by(Change.seq)))
        assert counter is not None
        assert seqs == list(range(1, counter.value + 1))
        # Every entry's marker is one change, and its transaction points at it.
        markers = dict(
            session.execute(select(AppliedTransaction.id, AppliedTransaction.change_seq)).all()
        )
        marked = dict(
            session.execute(select(Change.key, Change.seq).where(Change.entity == "entry")).all()
        )
        assert markers == marked
        for patron_id in adults:
            fined = sum(
                (
                    entry.charged
                    for made in entries.values()
                    for entry in made
                    if entry.patron_id == patron_id
                ),
                Decimal(0),
            )
            patron = session.get(Patron, patron_id)
            assert patron is not None
            assert patron.owed == owed_before[patron_id] + fined, "no charge lost"
        loans = {
            loan.item_barcode: loan.patron_id
            for loan in session.scalars(select(Loan).where(Loan.item_barcode.in_(barcodes)))
        }
        owed = {
            patron.patron_id: patron.owed
            for patron in session.scalars(select(Patron).where(Patron.patron_id.in_(adults)))
        }

    for agent in agents:
        agent.sync_once()
        with agent.store.mirror.connect() as mirror:
            mirrored = dict(
                mirror.execute(
                    select(MirrorLoan.item_barcode, MirrorLoan.patron_id).where(
                        MirrorLoan.item_barcode.in_(barcodes)
                    )
                ).all()
            )
            balances = dict(
                mirror.execute(
                    select(MirrorPatron.patron_id, MirrorPatron.owed).where(
                        MirrorPatron.patron_id.in_(adults)
                    )
                ).all()
            )
        assert mirrored == loans
        assert balances == owed
