"""The catalogue as staff search and grow it, on SQLite and PostgreSQL: searches by
barcode, ISBN, title and author (a range on the case-folded indexes, which EXPLAIN shows
in use), an item's page, and records and items added by hand (every bad field at once,
the change log, the audit log, a form sent twice)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, Select, func, select, text
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation import catalogue, desk
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import add_branch
from kiosk.central.circulation.catalogue import (
    InvalidFields,
    add_item,
    add_record,
    item_view,
    search_items,
)
from kiosk.central.circulation.holds import place_hold
from kiosk.central.circulation.policy import PolicyCache, put_policy
from kiosk.central.errors import CentralError
from kiosk.central.models import AuditEntry, Change, Item, Loan, Patron, Record

NOW = datetime(2026, 11, 23, 10, 0)
CYRIL = Actor("cyril", "192.0.2.7")
XSS = "<script>alert(1)</script>"

POLICY: dict[str, Any] = {
    "member_types": {"ADULT": {"name": "Adult", "quota": 5}},
    "publication_types": {"FICTION": {"name": "Fiction"}, "DVD": {"name": "DVD"}},
    "privileges": [
        {"member_type": "ADULT", "publication_type": "FICTION", "days": 14, "fine": "0.50"},
    ],
    "fault_charges": {"LOST": {"name": "Lost item", "amount": "19.99", "status": "lost"}},
}

# brn: (title, author, isbn as stored, publication type)
RECORDS: dict[int, tuple[str, str, str | None, str]] = {
    1: ("The Hobbit", "J. R. R. Tolkien", "9780261103344", "FICTION"),
    2: ("The Hobbit: an illustrated edition", "J. R. R. Tolkien", None, "FICTION"),
    3: ("O'Brien's Guide to Dublin", "Flann O'Brien", None, "FICTION"),
    4: ("100% Pure", "Percy Cent", None, "FICTION"),
    5: ("100 Years of Solitude", "Gabriel García Márquez", None, "FICTION"),
    6: ("snake_case for beginners", "Ann Underscore", None, "FICTION"),
    7: ("snakes and ladders", "Ann Other", None, "FICTION"),
    8: ("Middlemarch", "George Eliot", "0141439548", "FICTION"),  # an ISBN-10
    9: ("École de Paris", "Émile Zola", None, "DVD"),
    10: (XSS, "Mallory", None, "FICTION"),
    11: ("Hobbies for All", "Ann Other", None, "FICTION"),
}
# barcode: brn
ITEMS = {
    "31000000000011": 1,
    "31000000000012": 1,
    "31000000000021": 2,
    "31000000000031": 3,
    "31000000000041": 4,
    "31000000000051": 5,
    "31000000000061": 6,
    "31000000000071": 7,
    "31000000000081": 8,
    "31000000000091": 9,
    "31000000000101": 10,
}
LENT = "31000000000011"


@dataclass
class Library:
    engine: Engine
    policies: PolicyCache

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)


@pytest.fixture
def library(database_url: str) -> Iterator[Library]:
    engine = database.connect(database_url)
    database.upgrade(engine)
    with Session(engine) as db:
        put_policy(db, POLICY, NOW)
        for brn, (title, author, isbn, kind) in RECORDS.items():
            db.add(Record(brn=brn, title=title, author=author, isbn=isbn, publication_type=kind))
        db.flush()
        for barcode, brn in ITEMS.items():
            db.add(
                Item(
                    barcode=barcode,
                    brn=brn,
                    price=Decimal("12.50"),
                    status="available",
                    home_location="Adult fiction",
                )
            )
        for patron_id, first_name, surname in (
            ("p1", "Ada", "Lovelace"),
            ("p2", "Ben", "Okri"),
            ("p3", "Cleo", "Dunn"),
        ):
            db.add(
                Patron(
                    patron_id=patron_id,
                    card=f"card-{patron_id}",
                    first_name=first_name,
                    surname=surname,
                    member_type="ADULT",
                    expires=date(2027, 6, 30),
                    barred=False,
                    owed=Decimal("0.00"),
                )
            )
        db.add(
            Loan(
                item_barcode=LENT,
                patron_id="p1",
                member_type="ADULT",
                due="2026-11-20",  # three days ago
                renewals=1,
                lent_at=NOW - timedelta(days=17),
                kiosk_id=None,
            )
        )
        db.commit()
    yield Library(engine, PolicyCache())
    engine.dispose()


def _brns(found: catalogue.Found) -> list[int]:
    return [record.brn for record in found.records]


SEARCHES = [
    # what staff type, what found it, the records found (in the order shown)
    ("31000000000011", "barcode", [1]),
    (" 31000000000021 ", "barcode", [2]),
    ("9780261103344", "isbn", [1]),
    ("978-0-261-10334-4", "isbn", [1]),  # hyphens dropped
    ("0-261-10334-2", "isbn", [1]),  # its ISBN-10 finds the ISBN-13 stored
    ("0141439548", "isbn", [8]),
    ("978-0-14-143954-9", "isbn", [8]),  # an ISBN-13 finds the ISBN-10 stored
    ("the hob", "title", [1, 2]),
    ("THE HOBBIT", "title", [1, 2]),
    ("tHe HoBbIt:", "title", [2]),
    ("hobbi", "title", [11]),  # a prefix, not a word anywhere in the title
    ("  the   hobbit ", "title", [1, 2]),  # runs of spaces as one
    ("o'brien's", "title", [3]),  # a quote is a character
    ("100%", "title", [4]),  # not a wildcard: "100 Years" does not match
    ("100", "title", [5, 4]),  # " " sorts before "%"
    ("snake_", "title", [6]),  # not a wildcard: "snakes" does not match
    ("<script>", "title", [10]),
    ("École", "title", [9]),
    ("j. r. r.", "author", [1, 2]),
    ("flann o'", "author", [3]),
    ("ann ", "author", [7, 11, 6]),  # Ann Other (7, 11), then Ann Underscore
    ("", None, []),
    ("   ", None, []),
    ("\x00", None, []),  # PostgreSQL refuses a NUL: dropped
    ("nothing at all", None, []),
    ("9780000000002", None, []),  # the shape of an ISBN, but none stored
    ("%", None, []),
    ("_", None, []),
    ("'", None, []),
    ("'; DROP TABLE records; --", None, []),
    ("\U0010ffff", None, []),  # no code point above it: no upper bound
]


@pytest.mark.parametrize(("typed", "by", "brns"), SEARCHES)
def test_a_search_finds_by_barcode_isbn_title_then_author(
    library: Library, typed: str, by: str | None, brns: list[int]
) -> None:
    with library.session() as db:
        found = search_items(db, typed)
    assert (found.by, _brns(found)) == (by, brns)


def test_an_upper_case_non_ascii_prefix_finds_on_both_databases(library: Library) -> None:
    # SQLite's lower() folds ASCII letters only; the prefix is folded by the same lower().
    with library.session() as db:
        assert _brns(search_items(db, "ÉCOLE DE")) == [9]
        assert _brns(search_items(db, "ÉMILE")) == [9]


def test_found_records_carry_their_items_and_whether_each_is_on_loan(library: Library) -> None:
    with library.session() as db:
        found = search_items(db, "the hobbit")
    first = found.records[0]
    assert (first.title, first.author, first.isbn, first.item_count) == (
        "The Hobbit",
        "J. R. R. Tolkien",
        "9780261103344",
        2,
    )
    assert [(item.barcode, item.on_loan, item.due) for item in first.items] == [
        ("31000000000011", True, "2026-11-20"),
        ("31000000000012", False, None),
    ]
    assert found.more is False


def test_a_search_is_bounded_and_says_there_is_more(library: Library) -> None:
    with library.session() as db:
        found = search_items(db, "the hobbit", limit=1)
        assert (_brns(found), found.more) == ([1], True)
        # A record with many items shows the first few, and how many it has.
        for n in range(catalogue.ITEMS_PER_RECORD + 5):
            db.add(
                Item(
                    barcode=f"H{n:03d}",
                    brn=11,
                    price=Decimal(0),
                    status="available",
                    home_location="Stack",
                )
            )
        db.commit()
        hobbies = search_items(db, "hobbies").records[0]
        scanned = search_items(db, "H024").records[0]
        lent = search_items(db, "31000000000012").records[0]
    assert len(hobbies.items) == catalogue.ITEMS_PER_RECORD
    assert hobbies.item_count == catalogue.ITEMS_PER_RECORD + 5
    # An item scanned is shown first, even when it is not among the first few.
    assert [item.barcode for item in scanned.items][:2] == ["H024", "H000"]
    assert len(scanned.items) == catalogue.ITEMS_PER_RECORD
    assert [item.barcode for item in lent.items] == ["31000000000012", "31000000000011"]
    assert lent.items[1].on_loan


def _plan(db: Session, query: Select[Any]) -> str:
    sql = str(query.compile(db.get_bind(), compile_kwargs={"literal_binds": True}))
    if db.get_bind().dialect.name == "postgresql":
        # A few rows: the planner would rightly read the table. Off, it shows that the
        # index answers the query, as it will when the catalogue is large.
        db.execute(text("SET LOCAL enable_seqscan = off"))
        return "\n".join(db.scalars(text(f"EXPLAIN {sql}")))
    return "\n".join(str(row[-1]) for row in db.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


@pytest.mark.parametrize(
    ("column", "index"),
    [(Record.title, "records_by_title"), (Record.author, "records_by_author")],
)
def test_a_prefix_search_is_a_range_on_the_case_folded_index(
    library: Library, column: Any, index: str
) -> None:
    with library.session() as db:
        postgres = db.get_bind().dialect.name == "postgresql"
        plan = _plan(db, catalogue.prefix_query(db, column, catalogue.fold(db, "The Hob"), 51))
    assert index in plan, plan
    if postgres:
        assert "Index Cond" in plan, plan  # the range bounds the index scan
        assert "Seq Scan" not in plan, plan
    else:
        assert "SEARCH records USING INDEX" in plan, plan  # a range, not a SCAN of it all
        assert ">? AND" in plan, plan


def test_an_isbn_search_uses_the_isbn_index(library: Library) -> None:
    with library.session() as db:
        plan = _plan(db, catalogue.isbn_query(catalogue.isbn_forms("0141439548"), 51))
    assert "records_by_isbn" in plan, plan


def test_the_item_page_shows_the_loan_the_queue_and_the_last_transactions(
    library: Library,
) -> None:
    with library.session() as db:
        place_hold(db, "p2", LENT, NOW - timedelta(days=2), CYRIL)
        place_hold(db, "p3", LENT, NOW - timedelta(days=1), CYRIL)
        answer = desk.set_item_status(
            db,
            library.policies,
            barcode="31000000000012",
            choice="withdrawn",
            now=NOW,
            actor=CYRIL,
            transaction_id="desk-item-page",
        )
        assert answer.done
        view = item_view(db, LENT, NOW)
        other = item_view(db, "31000000000012", NOW)
        assert item_view(db, "no-such-item", NOW) is None
    assert view is not None
    assert other is not None
    assert (view.record.title, view.item.status) == ("The Hobbit", "available")
    assert view.loan is not None
    assert (view.loan.patron_id, view.loan.patron_name, view.loan.due) == (
        "p1",
        "Ada Lovelace",
        "2026-11-20",
    )
    assert view.loan.overdue is True
    assert view.loan.renewals == 1
    assert [(w.hold.position, w.hold.patron_id, w.patron_name) for w in view.holds] == [
        (1, "p2", "Ben Okri"),
        (2, "p3", "Cleo Dunn"),
    ]
    assert view.transactions == ()
    assert other.loan is None
    assert other.item.status == "withdrawn"
    assert [(t.id, t.kind, t.actor) for t in other.transactions] == [
        ("desk-item-page", "fault", "cyril")
    ]


@pytest.mark.parametrize(
    ("due", "overdue"),
    [
        ("2026-11-23", False),  # due today: not overdue until the day is over
        ("2026-11-22", True),
        ("2026-11-23T09:59", True),  # a short loan: due at a time
        ("2026-11-23T10:00", False),
        ("not a date", False),
    ],
)
def test_overdue(due: str, overdue: bool) -> None:
    assert catalogue.is_overdue(due, NOW) is overdue


def _changes(db: Session, entity: str) -> list[tuple[str, dict[str, Any] | None]]:
    return [
        (change.key, change.data)
        for change in db.scalars(select(Change).where(Change.entity == entity))
    ]


def _audit(db: Session, action: str) -> list[tuple[str, str, str, str]]:
    return [
        (entry.actor, entry.target, entry.origin, entry.detail)
        for entry in db.scalars(select(AuditEntry).where(AuditEntry.action == action))
    ]


def test_a_record_added_by_hand_enters_the_change_log_and_the_audit_log(
    library: Library,
) -> None:
    fields = {
        "brn": "",  # the next free number
        "title": "  A Wizard of Earthsea ",
        "author": "Ursula K. Le Guin",
        "isbn": "978-0-14-030477-0",
        "publication_type": "FICTION",
    }
    with library.session() as db:
        added = add_record(db, fields, NOW, CYRIL, transaction_id="desk-record-1")
        again = add_record(db, fields, NOW, CYRIL, transaction_id="desk-record-1")
        chosen = add_record(
            db, {**fields, "brn": "500", "isbn": ""}, NOW, CYRIL, transaction_id="desk-record-2"
        )
        stored = db.get(Record, 12)
        assert stored is not None
        assert (stored.title, stored.isbn, stored.publication_type) == (
            "A Wizard of Earthsea",
            "9780140304770",
            "FICTION",
        )
        changes = _changes(db, "record")
        audits = _audit(db, "record.add")
    assert (added.record.brn, added.duplicate) == (12, False)
    assert (again.record.brn, again.duplicate) == (12, True)  # the form sent twice: added once
    assert (chosen.record.brn, chosen.record.isbn) == (500, None)
    assert [key for key, _ in changes] == ["12", "500"]
    assert changes[0][1] is not None
    assert changes[0][1]["title"] == "A Wizard of Earthsea"
    assert audits == [
        ("cyril", "record 12", "192.0.2.7", "desk-record-1: FICTION, A Wizard of Earthsea"),
        ("cyril", "record 500", "192.0.2.7", "desk-record-2: FICTION, A Wizard of Earthsea"),
    ]


def test_every_bad_field_of_a_record_is_reported_at_once(library: Library) -> None:
    with library.session() as db:
        with pytest.raises(InvalidFields) as refused:
            add_record(
                db,
                {
                    "brn": "12a",
                    "title": "",
                    "author": "x" * 201,
                    "isbn": "978-0-14-030477-1",  # a wrong check digit
                    "publication_type": "FICTON",
                },
                NOW,
                CYRIL,
            )
        problems = refused.value.problems
        assert problems == {
            "brn": "must be a whole number, got '12a'",
            "title": "is empty",
            "author": "is longer than 200 characters",
            "isbn": "is not a valid ISBN-13 or ISBN-10: '978-0-14-030477-1'",
            "publication_type": problems["publication_type"],
        }
        assert problems["publication_type"].startswith("unknown publication type 'FICTON'")
        assert "FICTION" in problems["publication_type"]  # did you mean
        assert str(refused.value) == "5 fields to correct; nothing was added"
        # A publication type the policy in force does not name; a BRN taken; a tab.
        with pytest.raises(InvalidFields) as refused:
            add_record(
                db,
                {
                    "brn": "1",
                    "title": "Tab\there",
                    "author": "A",
                    "publication_type": "BOOK",
                },
                NOW,
                CYRIL,
            )
        assert set(refused.value.problems) == {"brn", "title", "publication_type"}
        assert refused.value.problems["brn"].startswith("is record 1's already")
        assert db.scalar(select(func.count()).select_from(Record)) == len(RECORDS)
        assert _changes(db, "record") == []
        assert _audit(db, "record.add") == []


def test_an_item_added_by_hand_enters_the_change_log_and_the_audit_log(
    library: Library,
) -> None:
    fields = {
        "barcode": "31000000000111",
        "brn": "8",
        "price": "9.99",
        "status": "",  # available
        "home_location": "Classics",
    }
    with library.session() as db:
        added = add_item(db, fields, NOW, CYRIL, transaction_id="desk-item-1")
        again = add_item(db, fields, NOW, CYRIL, transaction_id="desk-item-1")
        # Sent again a day and more later: no longer recognised, and the barcode is taken.
        with pytest.raises(InvalidFields) as late:
            add_item(db, fields, NOW + timedelta(days=2), CYRIL, transaction_id="desk-item-1")
        stored = db.get(Item, "31000000000111")
        changes = _changes(db, "item")
        audits = _audit(db, "item.add")
        found = search_items(db, "middlemarch").records[0]
    assert stored is not None
    assert (stored.brn, stored.price, stored.status, stored.home_location) == (
        8,
        Decimal("9.99"),
        "available",
        "Classics",
    )
    assert (added.duplicate, again.duplicate) == (False, True)
    assert set(late.value.problems) == {"barcode"}
    assert [key for key, _ in changes] == ["31000000000111"]
    assert changes[0][1] is not None
    assert changes[0][1]["price"] == "9.99"
    assert audits == [
        (
            "cyril",
            "item 31000000000111",
            "192.0.2.7",
            "desk-item-1: record 8, available, price 9.99",
        )
    ]
    assert [item.barcode for item in found.items] == ["31000000000081", "31000000000111"]


def test_every_bad_field_of_an_item_is_reported_at_once(library: Library) -> None:
    with library.session() as db:
        with pytest.raises(InvalidFields) as refused:
            add_item(
                db,
                {
                    "barcode": "3100 0000",
                    "brn": "999",
                    "price": "12.505",
                    "status": "on_loan",
                    "home_location": "",
                },
                NOW,
                CYRIL,
            )
        assert refused.value.problems == {
            "barcode": "must be letters, digits and signs, with no space",
            "brn": "no catalogue record 999: add the record first",
            "price": "must be 0 or more, with at most two decimals, got '12.505'",
            "status": "comes from lending or a return, not by hand",
            "home_location": "is empty",
        }
        with pytest.raises(InvalidFields) as refused:
            add_item(
                db,
                {
                    "barcode": LENT,
                    "brn": "",
                    "price": "NaN",
                    "status": "lsot",
                    "home_location": "x" * 65,
                },
                NOW,
                CYRIL,
            )
        problems = refused.value.problems
        assert set(problems) == {"barcode", "brn", "price", "status", "home_location"}
        assert problems["barcode"] == f"is item {LENT}'s already: each item has its own"
        assert problems["brn"] == "is empty"
        assert problems["status"].startswith("unknown status 'lsot'")
        for price in ("-1", "1e30", "abc", "Infinity", ""):
            with pytest.raises(InvalidFields) as refused:
                add_item(
                    db,
                    {"barcode": "N1", "brn": "1", "price": price, "home_location": "A"},
                    NOW,
                    CYRIL,
                )
            assert set(refused.value.problems) == {"price"}, price
        assert db.get(Item, "N1") is None
        assert _changes(db, "item") == []
        assert _audit(db, "item.add") == []


def test_nothing_is_added_without_a_policy_or_with_a_forged_transaction_id(
    database_url: str,
) -> None:
    engine = database.connect(database_url)
    database.upgrade(engine)
    try:
        with Session(engine) as db:
            fields = {"title": "T", "author": "A", "publication_type": "FICTION"}
            with pytest.raises(CentralError, match="no lending policy is in force"):
                add_record(db, fields, NOW, CYRIL)
            put_policy(db, POLICY, NOW)
            with pytest.raises(CentralError, match="transaction id is not valid"):
                add_record(db, fields, NOW, CYRIL, transaction_id="x' OR 1=1 --")
            assert add_record(db, fields, NOW, CYRIL).record.brn == 1
    finally:
        engine.dispose()


def test_an_item_added_by_hand_has_a_home_among_the_branches_once_there_are_any(
    library: Library,
) -> None:
    fields = {
        "barcode": "31000000000129",
        "brn": "8",
        "price": "9.99",
        "status": "in_transit",
        "home_location": "Clasics",
    }
    with library.session() as db:
        for code, name in (("Classics", "Classics Library"), ("North", "Northside")):
            add_branch(db, code, name, NOW, actor="test", origin="test")
        with pytest.raises(InvalidFields) as refused:
            add_item(db, fields, NOW, CYRIL)
        assert refused.value.problems == {
            "status": "comes from lending or a return, not by hand",  # a return sends it
            "home_location": "no branch 'Clasics'; did you mean 'Classics'? "
            "(branches: Classics, North)",
        }
        added = add_item(db, {**fields, "status": "", "home_location": "North"}, NOW, CYRIL)
    assert added.item.home_location == "North"
