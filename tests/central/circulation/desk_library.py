"""A small library, built row by row, for the desk's decision-path tests: each patron and
item stands for one case the rules decide."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.policy import PolicyCache, put_policy
from kiosk.central.models import Hold, Item, Loan, Patron, Record

NOW = datetime(2026, 11, 23, 10, 0)  # a Monday
CYRIL = Actor("cyril", "127.0.0.1")

POLICY: dict[str, Any] = {
    "member_types": {
        "ADULT": {"name": "Adult", "quota": 3, "fine_limit": "5.00"},
        "STUDENT": {"name": "Student", "quota": 2},
    },
    "publication_types": {
        "FICTION": {"name": "Fiction"},
        "DVD": {"name": "DVD"},
    },
    "privileges": [
        {
            "member_type": "ADULT",
            "publication_type": "FICTION",
            "days": 14,
            "fine": "0.50",
            "renewals": 1,
        },
        {
            "member_type": "ADULT",
            "publication_type": "DVD",
            "days": 7,
            "fine": "1.00",
            "renewals": 0,
        },
        {"member_type": "STUDENT", "publication_type": "FICTION", "days": 7},
    ],
    "fault_charges": {
        "LOST": {"name": "Lost item", "amount": "20.00", "status": "lost"},
        "DAMAGED": {"name": "Damaged item", "amount": "5.00", "status": "damaged"},
    },
}

# patron id: (member type, expires, barred, owed)
PATRONS: dict[str, tuple[str, date | None, bool, str]] = {
    "ada": ("ADULT", date(2027, 6, 30), False, "0.00"),
    "ben": ("ADULT", date(2027, 6, 30), False, "0.00"),
    "barred": ("ADULT", date(2027, 6, 30), True, "0.00"),
    "lapsed": ("ADULT", date(2026, 10, 31), False, "0.00"),
    "owing": ("ADULT", date(2027, 6, 30), False, "6.00"),
    "student": ("STUDENT", date(2027, 6, 30), False, "0.00"),
    "everything": ("ADULT", date(2026, 1, 1), True, "9.00"),
}

# barcode: (brn, price, status)
ITEMS: dict[str, tuple[int, str, str]] = {
    "F1": (1, "12.99", "available"),
    "F2": (1, "12.99", "available"),
    "F3": (2, "0.00", "available"),
    "F4": (2, "30.00", "available"),
    "F5": (2, "30.00", "available"),
    "D1": (3, "20.00", "available"),
    "LOST1": (2, "30.00", "lost"),
    "HELD": (1, "12.99", "available"),
}
RECORDS = {1: ("Middlemarch", "FICTION"), 2: ("Persuasion", "FICTION"), 3: ("Metropolis", "DVD")}


def build(url: str) -> tuple[Engine, PolicyCache]:
    engine = database.connect(url)
    database.upgrade(engine)
    with Session(engine) as db:
        put_policy(db, POLICY, NOW)
    with engine.begin() as connection:
        connection.execute(
            insert(Record),
            [
                {"brn": brn, "title": title, "author": "A", "isbn": None, "publication_type": kind}
                for brn, (title, kind) in RECORDS.items()
            ],
        )
        connection.execute(
            insert(Item),
            [
                {
                    "barcode": barcode,
                    "brn": brn,
                    "price": Decimal(price),
                    "status": status,
                    "home_location": "Main",
                }
                for barcode, (brn, price, status) in ITEMS.items()
            ],
        )
        connection.execute(
            insert(Patron),
            [
                {
                    "patron_id": patron_id,
                    "card": f"2000{n:06d}",
                    "first_name": patron_id.title(),
                    "surname": "Tester",
                    "member_type": member_type,
                    "expires": expires,
                    "barred": barred,
                    "owed": Decimal(owed),
                    "pin_verifier": None,
                }
                for n, (patron_id, (member_type, expires, barred, owed)) in enumerate(
                    PATRONS.items()
                )
            ],
        )
        # HELD waits for ben, first in its queue.
        connection.execute(
            insert(Hold),
            [
                {
                    "item_barcode": "HELD",
                    "patron_id": "ben",
                    "position": 1,
                    "ready": True,
                    "ready_at": NOW,
                    "title": "Middlemarch",
                    "placed_at": NOW,
                }
            ],
        )
    return engine, PolicyCache()


def lend(db: Session, barcode: str, patron_id: str, due: str, renewals: int = 0) -> None:
    """A loan as if made earlier (by a kiosk), written straight to the table."""
    db.add(
        Loan(
            item_barcode=barcode,
            patron_id=patron_id,
            member_type=PATRONS[patron_id][0],
            due=due,
            renewals=renewals,
            lent_at=NOW,
            kiosk_id=None,
        )
    )
    db.commit()
