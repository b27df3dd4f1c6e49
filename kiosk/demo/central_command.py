"""``kiosk-central demo-data``: the demo library loaded into a new central database.

kiosk-central finds this command through its entry-point group (pyproject.toml's
``[project.entry-points."kiosk_central.commands"]``), so the central server never
imports the demo. ``load_demo_data`` does the same for a caller in Python.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.orm import Session

from kiosk.central.circulation.policy import put_policy
from kiosk.central.commands import Command
from kiosk.central.errors import CentralError
from kiosk.central.models import Hold, Item, Loan, Patron, Record
from kiosk.common.clock import SystemClock
from kiosk.common.money import from_cents
from kiosk.demo.library import GeneratedLibrary, Scale, generate_library

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
    for start in range(0, len(library.patrons), BATCH):
        connection.execute(insert(Patron), library.patrons[start : start + BATCH])
    loans = [{**loan, "lent_at": now, "kiosk_id": None} for loan in library.loans.values()]
    for start in range(0, len(loans), BATCH):
        connection.execute(insert(Loan), loans[start : start + BATCH])
    if library.holds:
        connection.execute(insert(Hold), [{**hold, "placed_at": now} for hold in library.holds])


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
