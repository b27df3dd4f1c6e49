"""Online registration on the decision path, on SQLite and PostgreSQL: a registration
is a pending patron with a temporary card and the kiosks' PIN verifier, its email queued
in the same transaction; duplicates and forms with mistakes keep nothing; what a pending
patron may borrow is the config's, decided by the rules at the desk (and so SIP2 and
the portal) and noted for a kiosk's fact; kiosks are not sent pending patrons until
staff approve them; a rejection keeps nothing of the person."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kiosk.central.api.feed import changes_page, snapshot_page
from kiosk.central.api.kiosks import add_kiosk
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.apply import apply_batch
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.circulation.desk import check_in, checkout, new_transaction_id
from kiosk.central.circulation.ledger import pay, waive
from kiosk.central.circulation.patron_status import patron_standing
from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.circulation.registrations import (
    APPROVED,
    RECEIVED,
    MaybeKnown,
    Registered,
    RegistrationDecided,
    RegistrationForm,
    RegistrationRefused,
    approve,
    pending,
    register,
    reject,
)
from kiosk.central.config.model import RegistrationSection
from kiosk.central.errors import CentralError
from kiosk.central.gateway.outbox import set_relaying
from kiosk.central.models import (
    AuditEntry,
    Change,
    Kiosk,
    Loan,
    Notice,
    Patron,
    StaffException,
    UpstreamOutbox,
)
from kiosk.common.pins import pin_matches
from kiosk.sync.protocol import Outcome, PushResult, WireEntry

from .desk_library import CYRIL, NOW, build
from .test_desk import _kiosk_checkout

PORTAL = Actor("portal", "192.0.2.7", "portal")
OPEN = RegistrationSection(open=True, contact="email_or_phone", date_of_birth=True)
FORM = RegistrationForm(
    first_name="Imogen",
    surname="Quarrington",
    email="imogen.q@example.net",
    phone="",
    date_of_birth="1990-03-31",
    pin="4826",
    pin_again="4826",
    consent=True,
    language="fr",
)


@dataclass
class Library:
    engine: Engine
    policies: PolicyCache

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def register(
        self, form: RegistrationForm = FORM, settings: RegistrationSection = OPEN
    ) -> Registered:
        with self.session() as db:
            return register(db, form, settings, NOW, PORTAL)

    def patron(self, patron_id: str) -> Patron | None:
        with self.session() as db:
            return db.get(Patron, patron_id)

    def count(self, model: type, *where: object) -> int:
        with self.session() as db:
            return db.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]

    def lend(self, patron_id: str, barcode: str) -> tuple[bool, list[str]]:
        with self.session() as db:
            answer = checkout(
                db,
                self.policies,
                patron_id=patron_id,
                barcode=barcode,
                now=NOW,
                actor=CYRIL,
                transaction_id=new_transaction_id(),
            )
        return answer.done, [refusal.reason.value for refusal in answer.refusals]

    def push(self, entry: WireEntry) -> PushResult:
        """One entry from a kiosk (SIP2's no-block transactions come the same way)."""
        with self.session() as db:
            if db.scalars(select(Kiosk)).first() is None:
                add_kiosk(db, "lobby", NOW)
            kiosk = db.scalars(select(Kiosk)).one()
            [result] = apply_batch(db, kiosk, [entry], NOW, self.policies)
            db.commit()
        return result

    def approve(self, patron_id: str, card: str = "", member_type: str = "ADULT") -> None:
        with self.session() as db:
            approve(
                db,
                patron_id,
                member_type=member_type,
                card=card,
                now=NOW,
                actor=CYRIL,
                transaction_id=new_transaction_id(),
            )


@pytest.fixture
def library(database_url: str) -> Iterator[Library]:
    engine, policies = build(database_url)
    yield Library(engine, policies)
    engine.dispose()


def test_a_registration_is_a_pending_patron_with_a_temporary_card_and_its_email_queued(
    library: Library,
) -> None:
    made = library.register()
    assert made.card.startswith("T")
    assert len(made.card) == 10
    assert made.emailed
    patron = library.patron(made.patron_id)
    assert patron is not None
    assert (patron.first_name, patron.surname, patron.email) == (
        "Imogen",
        "Quarrington",
        "imogen.q@example.net",
    )
    assert patron.date_of_birth == date(1990, 3, 31)
    assert patron.language == "fr"
    assert patron.pending_loans == 0
    assert patron.registered_at == NOW
    # The PIN only as the kiosks' verifier.
    assert patron.pin_verifier is not None
    assert "4826" not in patron.pin_verifier
    assert pin_matches(patron.pin_verifier, "4826")
    with library.session() as db:
        [notice] = db.scalars(select(Notice).where(Notice.patron_id == made.patron_id))
        assert (notice.kind, notice.channel, notice.status) == (RECEIVED, "email", "waiting")
        assert notice.facts == {"card": made.card}
        [audited] = db.scalars(select(AuditEntry).where(AuditEntry.action.like("registration%")))
        assert audited.target == f"patron {made.patron_id}"
        for private in ("Imogen", "Quarrington", "imogen", made.card):
            assert private not in f"{audited.target} {audited.detail} {audited.actor}"
        assert [row.patron_id for row in pending(db)] == [made.patron_id]
    # Kiosks are not sent it: no change, and no row in a snapshot.
    assert library.count(Change, Change.key == made.patron_id) == 0
    with library.session() as db:
        page = snapshot_page(db, None, 50_000)
        while page["entity"] != "patron" and page["after"]:
            page = snapshot_page(db, page["after"], 50_000)
        keys = {row[0] for row in page["rows"]} if page["entity"] == "patron" else set()
    assert made.patron_id not in keys
    assert "ada" in keys


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        ({"consent": False}, "consent"),
        ({"pin_again": "4827"}, "pin_again"),
        ({"pin": "12", "pin_again": "12"}, "pin"),
        ({"email": "", "phone": ""}, "contact"),
        ({"email": "not an address"}, "email"),
        ({"date_of_birth": "2090-01-01"}, "date_of_birth"),
        ({"first_name": ""}, "first_name"),
    ],
)
def test_a_form_with_a_mistake_is_refused_by_field_and_keeps_nothing(
    library: Library, changed: dict[str, object], field: str
) -> None:
    with pytest.raises(RegistrationRefused) as refused:
        library.register(replace(FORM, **changed))  # type: ignore[arg-type]
    assert field in refused.value.problems
    assert library.count(Patron, Patron.pending_loans.is_not(None)) == 0
    assert library.count(Notice) == 0


def test_the_same_person_twice_is_refused_without_naming_the_record(library: Library) -> None:
    library.register()
    before = library.count(Patron)
    again = [
        replace(FORM, email="IMOGEN.Q@example.net", first_name="Someone", surname="Else"),
        replace(FORM, email="other@example.net", first_name="imogen", surname="QUARRINGTON"),
    ]
    with library.session() as db:
        known = db.scalars(select(Patron).where(Patron.patron_id == "ada")).one()
        known.phone = "01632 960 001"
        db.commit()
    again.append(replace(FORM, email="", phone="01632 960 001", first_name="X", surname="Y"))
    for form in again:
        with pytest.raises(MaybeKnown) as refused:
            library.register(form)
        assert "ada" not in str(refused.value)
    assert library.count(Patron) == before
    # The same name with another date of birth is another person.
    library.register(replace(FORM, email="", phone="07700 900123", date_of_birth="1991-03-31"))


def test_registration_closed_in_the_config_is_refused(library: Library) -> None:
    with pytest.raises(CentralError, match="closed"):
        library.register(settings=replace(OPEN, open=False))
    assert library.count(Patron, Patron.pending_loans.is_not(None)) == 0


def test_the_pending_limit_is_the_rules_decision_at_the_desk(library: Library) -> None:
    nothing = library.register()
    # A member type the policy knows is needed to lend at all; with none, staff are told.
    with pytest.raises(CentralError, match="waiting for approval"):
        library.lend(nothing.patron_id, "F1")
    with library.session() as db:
        patron = db.get(Patron, nothing.patron_id)
        assert patron is not None
        patron.member_type = "ADULT"
        db.commit()
    assert library.lend(nothing.patron_id, "F1") == (False, ["registration_pending"])
    with library.session() as db:
        standing = patron_standing(db, nothing.patron_id, NOW, library.policies.get(db))
        assert standing is not None
        assert not standing.may_borrow  # SIP2's status says so too

    two = library.register(
        replace(FORM, email="two@example.net", date_of_birth="1980-01-01"),
        replace(OPEN, member_type="ADULT", pending_loans=2),
    )
    assert library.lend(two.patron_id, "F1") == (True, [])
    assert library.lend(two.patron_id, "F2") == (True, [])
    assert library.lend(two.patron_id, "F3") == (False, ["registration_pending"])
    with library.session() as db:
        standing = patron_standing(db, two.patron_id, NOW, library.policies.get(db))
        assert standing is not None
        assert standing.at_loan_limit
    # Approved: the member type's quota (3) alone decides.
    library.approve(two.patron_id)
    assert library.lend(two.patron_id, "F3") == (True, [])
    assert library.count(Loan, Loan.patron_id == two.patron_id) == 3


def test_approval_sends_the_patron_to_kiosks_with_the_permanent_card_and_queues_the_email(
    library: Library,
) -> None:
    made = library.register()
    with pytest.raises(RegistrationRefused, match="member type"):
        library.approve(made.patron_id, member_type="NOPE")
    known = library.patron("ada")
    assert known is not None
    with pytest.raises(RegistrationRefused, match="Another patron"):
        library.approve(made.patron_id, card=known.card)
    library.approve(made.patron_id, card="21000000077777")
    patron = library.patron(made.patron_id)
    assert patron is not None
    assert (patron.card, patron.member_type, patron.pending_loans) == (
        "21000000077777",
        "ADULT",
        None,
    )
    with library.session() as db:
        [change] = db.scalars(select(Change).where(Change.key == made.patron_id))
        assert change.data is not None
        assert change.data["card"] == "21000000077777"
        assert "surname" not in change.data
        kinds = set(db.scalars(select(Notice.kind).where(Notice.patron_id == made.patron_id)))
        assert kinds == {RECEIVED, APPROVED}
        approved = db.scalars(select(Notice).where(Notice.kind == APPROVED)).one()
        assert approved.facts == {"card": "21000000077777"}
        [audited] = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "registration.approve")
        )
        assert "transaction desk-" in audited.detail
        assert "21000000077777" not in audited.detail
        assert pending(db) == []
    # Sent twice: decided already, nothing changes.
    with pytest.raises(RegistrationDecided):
        library.approve(made.patron_id)


def test_a_rejection_keeps_nothing_of_the_person_but_an_audit_line(library: Library) -> None:
    made = library.register()
    with library.session() as db, pytest.raises(RegistrationRefused):
        reject(db, made.patron_id, reason=" ", now=NOW, actor=CYRIL, transaction_id="x")
    with library.session() as db:
        reject(
            db,
            made.patron_id,
            reason="Registered twice",
            now=NOW + timedelta(minutes=5),
            actor=CYRIL,
            transaction_id=new_transaction_id(),
        )
    assert library.patron(made.patron_id) is None
    assert library.count(Notice, Notice.patron_id == made.patron_id) == 0
    with library.session() as db:
        [audited] = db.scalars(select(AuditEntry).where(AuditEntry.action == "registration.reject"))
        assert audited.target == f"patron {made.patron_id}"
        assert "Registered twice" in audited.detail
        every = " ".join(
            f"{entry.target} {entry.detail}" for entry in db.scalars(select(AuditEntry))
        )
        assert "Quarrington" not in every
        assert "imogen" not in every.lower()
        with pytest.raises(RegistrationDecided):
            reject(
                db,
                "ada",
                reason="not pending",
                now=NOW,
                actor=CYRIL,
                transaction_id=new_transaction_id(),
            )


def test_a_kiosks_loan_past_the_pending_limit_is_kept_and_shown_to_staff(library: Library) -> None:
    """A kiosk is never sent a pending patron; should one lend to them all the same (a
    card it knew before, a fact from a device that does not ask), the book has left:
    the loan stands and staff see that the rules refuse it."""
    one = library.register(settings=replace(OPEN, member_type="ADULT", pending_loans=1))
    assert library.lend(one.patron_id, "F1") == (True, [])
    result = library.push(_kiosk_checkout("F2", one.patron_id, "lobby:1"))
    assert result.outcome is Outcome.EXCEPTION
    assert library.count(Loan, Loan.patron_id == one.patron_id) == 2
    with library.session() as db:
        [exception] = db.scalars(select(StaffException))
    assert exception.reason == "refused_now"
    assert "registration_pending" in exception.detail


def _lent_late(library: Library, patron_id: str, barcode: str) -> None:
    with library.session() as db:
        db.add(
            Loan(
                item_barcode=barcode,
                patron_id=patron_id,
                member_type="ADULT",
                due="2026-11-19",  # four days late at 0.50 a day
                renewals=0,
                lent_at=NOW - timedelta(days=21),
                kiosk_id=None,
            )
        )
        db.commit()


def _patron_changes(library: Library, patron_id: str) -> int:
    return library.count(Change, Change.entity == "patron", Change.key == patron_id)


def test_a_pending_patrons_fine_is_not_sent_to_kiosks(library: Library) -> None:
    made = library.register(settings=replace(OPEN, member_type="ADULT", pending_loans=2))
    _lent_late(library, made.patron_id, "F1")
    with library.session() as db:
        answer = check_in(
            db, library.policies, barcode="F1", now=NOW, actor=CYRIL, transaction_id=None
        )
    assert (answer.done, answer.fine) == (True, Decimal("2.00"))
    # A kiosk's (or SIP2's no-block) return charges the same way.
    _lent_late(library, made.patron_id, "F2")
    result = library.push(_kiosk_return("F2", made.patron_id, "lobby:1"))
    assert result.outcome is not Outcome.EXCEPTION
    patron = library.patron(made.patron_id)
    assert patron is not None
    assert patron.owed == Decimal("4.00")
    assert _patron_changes(library, made.patron_id) == 0
    # Approved, kiosks are sent the patron with what they owe.
    library.approve(made.patron_id)
    with library.session() as db:
        [change] = db.scalars(select(Change).where(Change.key == made.patron_id))
        assert change.data is not None
        assert Decimal(change.data["owed"]) == Decimal("4.00")


def _kiosk_return(barcode: str, patron_id: str, entry_id: str) -> WireEntry:
    return _kiosk_checkout(barcode, patron_id, entry_id).model_copy(
        update={
            "kind": "return",
            "charged": Decimal("2.00"),
            "status_after": "available",
            **dict.fromkeys(("loan_patron_id", "loan_member_type", "loan_due", "loan_renewals")),
        }
    )


def test_a_pending_patron_pays_and_is_waived_with_the_payment_relayed(
    library: Library,
) -> None:
    set_relaying(library.engine, True)
    made = library.register(settings=replace(OPEN, member_type="ADULT", pending_loans=2))
    _lent_late(library, made.patron_id, "F1")
    with library.session() as db:
        check_in(db, library.policies, barcode="F1", now=NOW, actor=CYRIL)
    with library.session() as db:
        paid = pay(db, made.patron_id, Decimal("1.50"), "cash", NOW, CYRIL)
    assert paid.owed == Decimal("0.50")
    with library.session() as db:
        waived = waive(db, made.patron_id, Decimal("0.50"), "first time", NOW, CYRIL)
    assert waived.owed == Decimal(0)
    with library.session() as db:
        [queued] = db.scalars(select(UpstreamOutbox).where(UpstreamOutbox.kind == "payment"))
        assert queued.patron_id == made.patron_id
        # Its place is a change of its own, which no kiosk is sent.
        [marker] = db.scalars(select(Change).where(Change.seq == queued.change_seq))
        assert marker.key == paid.transaction_id
        page = json.loads(changes_page(db, kiosk_id=1, since=0, limit=1000))
        assert made.patron_id not in json.dumps(page["changes"])
        assert paid.transaction_id not in json.dumps(page)
    assert _patron_changes(library, made.patron_id) == 0


def test_a_registration_with_loans_or_money_on_record_is_not_rejected(library: Library) -> None:
    settings = replace(OPEN, member_type="ADULT", pending_loans=2)
    borrowing = library.register(settings=settings)
    assert library.lend(borrowing.patron_id, "F1") == (True, [])

    def reject_it(patron_id: str) -> None:
        with library.session() as db:
            reject(
                db,
                patron_id,
                reason="Registered twice",
                now=NOW,
                actor=CYRIL,
                transaction_id=new_transaction_id(),
            )

    with pytest.raises(RegistrationRefused) as refused:
        reject_it(borrowing.patron_id)
    assert refused.value.problems == {"reason": "It has items on loan: check them in first."}
    assert library.patron(borrowing.patron_id) is not None
    assert library.count(Loan, Loan.patron_id == borrowing.patron_id) == 1
    assert library.count(AuditEntry, AuditEntry.action == "registration.reject") == 0
    with library.session() as db:
        check_in(db, library.policies, barcode="F1", now=NOW, actor=CYRIL)
    reject_it(borrowing.patron_id)
    assert library.patron(borrowing.patron_id) is None

    fined = library.register(
        replace(FORM, email="fined@example.net", date_of_birth="1980-01-01"), settings
    )
    _lent_late(library, fined.patron_id, "F2")
    with library.session() as db:
        check_in(db, library.policies, barcode="F2", now=NOW, actor=CYRIL)
    with pytest.raises(RegistrationRefused, match="fines or payments"):
        reject_it(fined.patron_id)
    assert library.patron(fined.patron_id) is not None


def test_one_person_registering_twice_at_once_is_made_once(library: Library) -> None:
    start = threading.Barrier(4)

    def one(form: RegistrationForm) -> str:
        start.wait()
        try:
            library.register(form)
        except MaybeKnown:
            return "known"
        return "made"

    forms = [FORM, replace(FORM, first_name="Other", phone="01632 960 777")] * 2
    with ThreadPoolExecutor(4) as pool:
        answers = sorted(pool.map(one, forms))
    assert answers == ["known", "known", "known", "made"]
    assert library.count(Patron, Patron.pending_loans.is_not(None)) == 1


def test_a_registration_does_not_wait_for_a_kiosks_push(library: Library) -> None:
    """Anyone may send the form: it must not hold up the kiosks (on PostgreSQL, where
    writers run side by side; SQLite has one writer at a time anyway)."""
    with library.session() as pushing:
        log = ChangeLog(pushing)
        log.lock_items(["F1"])
        log.lock_patrons(["ada"])
        with ThreadPoolExecutor(1) as pool:
            made = pool.submit(library.register)
            if library.engine.dialect.name == "postgresql":
                # Were it to wait, it would wait until the rollback below: a minute
                # tells that apart from a slow PIN verifier on a machine under load.
                done = wait([made], timeout=60).done
                pushing.rollback()
                assert done, "the registration waited for the push"
            else:
                pushing.rollback()
            assert library.patron(made.result().patron_id) is not None
