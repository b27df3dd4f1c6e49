"""A small, real library in a real data directory, for the circulation tests."""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from kiosk.common.pins import pin_verifier
from kiosk.store import loading
from kiosk.store.store import Store

ROOT = Path(__file__).parents[2]
POLICY = tomllib.loads(
    (ROOT / "kiosk" / "demo" / "policy.example.toml").read_text(), parse_float=Decimal
)

# A student (quota 4), an adult who owes a little, a barred adult, an expired
# student, an adult whose card has no PIN yet, an adult whose membership ends in 17
# days, and one whose membership ends as soon but who owes more than the fine limit.
ADA, BEN, CAL, DOT, EVE = "P-ADA", "P-BEN", "P-CAL", "P-DOT", "P-EVE"
FAY, GUS = "P-FAY", "P-GUS"
CARDS = {
    ADA: "21000000000011",
    BEN: "21000000000029",
    CAL: "21000000000037",
    DOT: "21000000000045",
    EVE: "21000000000052",
    FAY: "21000000000060",
    GUS: "21000000000078",
}
ENDING_SOON = date(2026, 12, 10)
PIN = "2468"

FICTION = [f"3100000000{n:04d}" for n in range(1, 9)]
NONFICTION = [f"3200000000{n:04d}" for n in range(1, 5)]
TEXTBOOK = "33000000000001"
DVD = "34000000000001"
REFERENCE = "35000000000001"
LOST_ITEM = "31000000009999"
BEN_OVERDUE = NONFICTION[3]  # lent to Ben, due 10 days ago
HELD_FOR_BEN = FICTION[7]  # on the hold shelf for Ben
WANTED_BY_ADA = FICTION[6]  # lent to Ben; Ada is waiting for it


def build(directory: Path, *, verifier: str | None = None) -> Store:
    store = Store.open(directory, kiosk_id="kiosk-test")
    verifier = verifier or pin_verifier(PIN)
    records = [
        {
            "brn": 1,
            "title": "The Hobbit",
            "author": "J. R. R. Tolkien",
            "isbn": "9780261103344",
            "publication_type": "FICTION",
        },
        {
            "brn": 2,
            "title": "A Brief History of Time",
            "author": "Stephen Hawking",
            "isbn": "9780553380163",
            "publication_type": "NONFICTION",
        },
        {
            "brn": 3,
            "title": "Algebra 1",
            "author": "R. Larson",
            "isbn": None,
            "publication_type": "TEXTBOOK",
        },
        {
            "brn": 4,
            "title": "Casablanca",
            "author": "Michael Curtiz",
            "isbn": None,
            "publication_type": "DVD",
        },
        {
            "brn": 5,
            "title": "Oxford English Dictionary",
            "author": "OUP",
            "isbn": None,
            "publication_type": "REFERENCE",
        },
    ]

    def item(
        barcode: str, brn: int, status: str = "available", price: str = "12.99"
    ) -> dict[str, Any]:
        return {
            "barcode": barcode,
            "brn": brn,
            "price": Decimal(price),
            "status": status,
            "home_location": "Main",
        }

    items = (
        [item(code, 1) for code in FICTION]
        + [item(code, 2) for code in NONFICTION]
        + [
            item(TEXTBOOK, 3),
            item(DVD, 4, price="0.00"),
            item(REFERENCE, 5),
            item(LOST_ITEM, 1, "lost"),
        ]
    )

    def patron(pid: str, first: str, member_type: str, **extra: Any) -> dict[str, Any]:
        row = {
            "patron_id": pid,
            "card": CARDS[pid],
            "first_name": first,
            "member_type": member_type,
            "expires": date(2027, 6, 30),
            "barred": False,
            "owed": Decimal("0.00"),
            "pin_verifier": verifier,
        }
        row.update(extra)
        return row

    with store.mirror.begin() as connection:
        loading.put_policy(connection, POLICY, "v1")
        loading.put_records(connection, records)
        loading.put_items(connection, items)
        loading.put_patrons(
            connection,
            [
                patron(ADA, "Ada", "STUDENT"),
                patron(BEN, "Ben", "ADULT", owed=Decimal("1.50"), has_email=True),
                patron(CAL, "Cal", "ADULT", barred=True),
                patron(DOT, "Dot", "STUDENT", expires=date(2026, 10, 31)),
                patron(EVE, "Eve", "ADULT", pin_verifier=None),
                patron(FAY, "Fay", "ADULT", expires=ENDING_SOON),
                patron(GUS, "Gus", "ADULT", expires=ENDING_SOON, owed=Decimal("12.00")),
            ],
        )
        loading.put_loans(
            connection,
            [
                {
                    "item_barcode": BEN_OVERDUE,
                    "patron_id": BEN,
                    "member_type": "ADULT",
                    "due": "2026-11-13",
                    "renewals": 0,
                },
                {
                    "item_barcode": WANTED_BY_ADA,
                    "patron_id": BEN,
                    "member_type": "ADULT",
                    "due": "2026-12-01",
                    "renewals": 0,
                },
            ],
        )
        loading.put_holds(
            connection,
            [
                {
                    "item_barcode": HELD_FOR_BEN,
                    "patron_id": BEN,
                    "position": 1,
                    "ready": True,
                    "title": "The Hobbit",
                },
                {
                    "item_barcode": WANTED_BY_ADA,
                    "patron_id": ADA,
                    "position": 1,
                    "ready": False,
                    "title": "The Hobbit",
                },
            ],
        )
        loading.put_cursor(connection, 1, datetime(2026, 11, 23, 8, 0))
    store.refresh_health()
    return store
