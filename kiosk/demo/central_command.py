"""``kiosk-central demo-data``: the demo library loaded into a new central database.

kiosk-central finds this command through its entry-point group (pyproject.toml's
``[project.entry-points."kiosk_central.commands"]``), so the central server never
imports the demo. ``load_demo_data`` does the same for a caller in Python.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.orm import Session

from kiosk.central.circulation.policy import put_policy
from kiosk.central.commands import Command
from kiosk.central.errors import CentralError
from kiosk.central.models import Hold, Item, Loan, Patron, Record
from kiosk.common.clock import SystemClock
from kiosk.common.money import from_cents
from kiosk.demo.library import TOPICS, GeneratedLibrary, Scale, generate_library

BATCH = 20_000


def load_library(connection: Connection, library: GeneratedLibrary, now: datetime) -> None:
    """Bulk-load a generated library into empty tables (kiosks then take a snapshot)."""
    if connection.scalar(select(func.count()).select_from(Item)):
        raise CentralError("the database already holds items; demo data goes into a new one")
    for start in range(0, len(library.records), BATCH):
        connection.execute(
            insert(Record),
            [
                {
                    "brn": brn,
                    "title": title,
                    "author": author,
                    "isbn": isbn,
                    "publication_type": kind,
                    # A record in twenty came this week: the new arrivals have news.
                    "added_on": now.date() - timedelta(days=brn % 140),
                    "subjects": demo_subjects(brn, title, kind),
                }
                for brn, title, author, isbn, kind in library.records[start : start + BATCH]
            ],
        )
    for start in range(0, len(library.items), BATCH):
        connection.execute(
            insert(Item),
            [
                {
                    "barcode": item.barcode,
                    "brn": item.brn,
                    "price": from_cents(item.price_cents),
                    "status": item.status,
                    "home_location": item.home_location,
                }
                for item in library.items[start : start + BATCH]
            ],
        )
    patrons = [
        {**patron, **demo_contact(number, patron)} for number, patron in enumerate(library.patrons)
    ]
    for start in range(0, len(patrons), BATCH):
        connection.execute(insert(Patron), patrons[start : start + BATCH])
    loans = [{**loan, "lent_at": now, "kiosk_id": None} for loan in library.loans.values()]
    for start in range(0, len(loans), BATCH):
        connection.execute(insert(Loan), loans[start : start + BATCH])
    if library.holds:
        connection.execute(insert(Hold), [{**hold, "placed_at": now} for hold in library.holds])


# The subjects of the demo's fiction, by record number; the rest take the topic in their
# title ("Astronomy for Year 9"), a film is a film.
GENRES = ("Adventure", "Mystery", "Romance", "Science fiction", "Fantasy")
# The subjects of the new arrivals wanted, by the demo patron's preferences' row.
_SUBJECTS = {3: "Astronomy", 6: "History; Mystery"}


def demo_subjects(brn: int, title: str, kind: str) -> str:
    """A demo record's subject headings, from its number, title and type alone (never
    the shared random draws: the kiosk's demo library stays the same)."""
    if kind == "FICTION":
        return f"{GENRES[brn % len(GENRES)]} -- Fiction"
    if kind == "DVD":
        return "Film"
    return next((topic for topic in TOPICS if topic in title.split()), "")


# Every demo patron's messaging preferences, by their number's last digit: most chose
# due soon and hold ready by email, some a daily digest, some text messages, some
# neither channel (their notices printed), so that a demo run sends real mail of each kind.
_PREFERENCES = (
    ("email", "due_soon,hold_ready", False),
    ("email", "due_soon,overdue,hold_ready,hold_expiring,membership_expiring", False),
    ("email", "due_soon,hold_ready,receipt", False),
    ("email", "due_soon,overdue,hold_ready,new_arrivals", False),
    ("email", "due_soon,hold_ready", False),
    ("email", "due_soon,overdue,hold_ready,hold_expiring,membership_expiring", True),
    ("email", "due_soon,hold_ready,receipt,new_arrivals", True),
    ("sms", "due_soon,hold_ready,overdue", False),
    ("sms", "hold_ready", False),
    ("none", "due_soon,overdue,hold_ready", False),
)
_LANGUAGES = ("en", "en", "en", "en", "es", "en", "fr", "en", "en", "en", "en", "es", "en")


def demo_contact(number: int, patron: dict[str, Any]) -> dict[str, Any]:
    """A demo patron's email (at example.org), phone (Ofcom's drama range), language and
    preferences: made from their number, never from the shared random draws, so the
    kiosk's demo library is the same as before."""
    notify_by, kinds, digest = _PREFERENCES[number % len(_PREFERENCES)]
    first = "".join(c for c in patron["first_name"].lower() if c.isascii() and c.isalpha())
    return {
        "email": f"{first or 'patron'}.{patron['patron_id'].lower()}@example.org",
        "phone": f"+44 7700 900{number % 1000:03d}",
        "language": _LANGUAGES[number % len(_LANGUAGES)],
        "notify_by": notify_by,
        "notices": kinds,
        "due_soon_days": 2 + number % 3,
        "digest": digest,
        # The one with a digest by subject alone, the other by fiction and a subject.
        "arrivals": "FICTION" if "new_arrivals" in kinds and not digest else "",
        "arrival_subjects": _SUBJECTS.get(number % len(_PREFERENCES), ""),
    }


def load_demo_data(engine: Engine, scale: Scale, out: Path, now: datetime) -> GeneratedLibrary:
    """Fill the new central database behind ``engine`` (schema made, no items yet) with
    the demo library for ``scale``: its policy in force, its records, items, patrons,
    loans and holds; its cards and sample barcodes written to ``out/demo-cards.json``."""
    library = generate_library(scale, now)
    with Session(engine) as session:
        put_policy(session, library.document, now)
    with engine.begin() as connection:
        load_library(connection, library, now)
    library.write_cards(out)
    return library


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="where demo-cards.json goes"
    )
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--patrons", type=int, default=300)
    parser.add_argument("--loans", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)


def _run(args: argparse.Namespace, engine: Engine) -> int:
    scale = Scale(args.items, args.patrons, args.loans, args.seed)
    library = load_demo_data(engine, scale, args.out, SystemClock().now())
    print(
        f"{len(library.items)} items, {len(library.patrons)} patrons, "
        f"{len(library.loans)} loans; cards in {args.out / 'demo-cards.json'}"
    )
    return 0


COMMAND = Command("demo-data", "fill a new database with the demo library", _arguments, _run)
