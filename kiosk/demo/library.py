"""``kiosk demo-data``: a deterministic, realistic library written straight into a data directory.

The example policy, titles and authors, ISBN-13s and 14-digit library barcodes
with valid check digits, loans made by the lending rules themselves (some now
overdue), holds waiting and ready, some barred and expired members. Usable
cards (with their PINs) and sample items go to ``demo-cards.json``.

Demo PINs are shared by many patrons: hashing one argon2id verifier per patron
would take hours at benchmark scale, and these cards guard nothing.
"""

from __future__ import annotations

import json
import random
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from kiosk.common.check_digits import ITEM_PREFIX, PATRON_PREFIX, isbn13, library_barcodes
from kiosk.common.money import to_cents
from kiosk.common.pins import pin_verifier
from kiosk.rules import Item, Patron, Policy, decide_checkout, read_policy
from kiosk.store import loading, outbox
from kiosk.store.mirror import MirrorPatron, Record, StockItem
from kiosk.store.store import Store

EXAMPLE_POLICY = Path(__file__).with_name("policy.example.toml")
PIN_POOL = 16

ADJECTIVES = (
    "Silent Hidden Golden Broken Winter Distant Crimson Secret Last Forgotten Northern Quiet "
    "Burning Endless Little Wild Painted Hollow Bright Salt Iron Paper Glass Midnight Summer"
).split()
NOUNS = (
    "River Garden Kingdom Voyage Island Mirror Orchard Harbour Lantern Mountain Forest Letter "
    "Compass Library Station Bridge Tide Archive Meadow Clock Feather Storm Window Road Sky"
).split()
TOPICS = (
    "Astronomy Chemistry Gardening History Geology Mathematics Botany Economics Philosophy "
    "Music Architecture Navigation Cooking Medicine Weather Birds Trains Bridges Volcanoes"
).split()
FIRST_NAMES = (
    "Ada Ben Chloe Dev Elif Femi Grace Hugo Ines Jonah Kai Lena Mateo Nia Omar Priya Quinn "
    "Rosa Sam Tariq Uma Vera Wen Xavi Yara Zoe Aiko Bruno Carmen Dara Emil Farah Gus Hana"
).split()
SURNAMES = (
    "Okafor Lindqvist Moreau Tanaka Novak Haddad Silva O'Brien Kowalski Nguyen Mensah Rossi "
    "Fischer Dubois Patel Yilmaz Costa Larsen Murphy Ivanova Chen Garcia Abebe Sato Walsh"
).split()
PUBLICATION_MIX = {"FICTION": 40, "NONFICTION": 35, "TEXTBOOK": 8, "DVD": 10, "REFERENCE": 7}
MEMBER_MIX = {"ADULT": 50, "CHILD": 15, "STUDENT": 15, "GRADE8": 15, "STAFF": 5}
ODD_STATUSES = {"lost": 10, "damaged": 10, "missing": 5, "withdrawn": 5}


@dataclass(frozen=True, slots=True)
class Scale:
    items: int = 2000
    patrons: int = 300
    loans: int = 400
    seed: int = 1


@dataclass
class DemoLibrary:
    records: int = 0
    items: int = 0
    patrons: int = 0
    loans: int = 0
    holds: int = 0
    cards: list[dict[str, Any]] = field(default_factory=list)
    samples: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def _weighted(rng: random.Random, mix: dict[str, int], count: int) -> list[str]:
    return rng.choices(list(mix), weights=list(mix.values()), k=count)


@dataclass
class GeneratedLibrary:
    """A whole demo library, in the mirror's stored forms, before it is written anywhere."""

    document: dict[str, Any]
    version: str
    records: list[tuple[int, str, str, str | None, str]]
    items: list[_Item]
    patrons: list[dict[str, Any]]
    loans: dict[str, dict[str, Any]]
    holds: list[dict[str, Any]]
    cards: list[dict[str, Any]]
    samples: dict[str, dict[str, list[str]]]

    def write_cards(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "demo-cards.json").write_text(
            json.dumps({"cards": self.cards, "items": self.samples}, indent=2) + "\n",
            encoding="utf-8",
        )


def generate_library(
    scale: Scale, now: datetime, policy_file: Path = EXAMPLE_POLICY
) -> GeneratedLibrary:
    """The demo library for ``scale``: the same seed gives the same library."""
    rng = random.Random(scale.seed)
    document = tomllib.loads(policy_file.read_text(encoding="utf-8"), parse_float=Decimal)
    policy = read_policy(document)
    pins = [f"{rng.randrange(10_000):04d}" for _ in range(PIN_POOL)]
    verifiers = [pin_verifier(pin) for pin in pins]
    records_count = max(1, scale.items * 2 // 5)
    record_types = _weighted(rng, PUBLICATION_MIX, records_count)
    records = [_record(rng, brn, kind) for brn, kind in enumerate(record_types, start=1)]
    items = _items(rng, scale.items, record_types)
    patrons = _patrons(rng, scale.patrons, now.date(), verifiers)
    loans = _loans(
        rng,
        policy,
        wanted=scale.loans,
        items=items,
        record_types=record_types,
        patrons=patrons,
        now=now,
    )
    holds = _holds(rng, items, loans, patrons, records)
    _ending_soon(patrons, loans, holds, now.date())
    cards = _cards(patrons, loans, holds, dict(zip(verifiers, pins, strict=True)), now.date())
    return GeneratedLibrary(
        document=json.loads(json.dumps(document, default=str)),
        version=f"demo-{scale.seed}",
        records=records,
        items=items,
        patrons=patrons,
        loans=loans,
        holds=holds,
        cards=cards,
        samples=_samples(items, record_types, loans, holds),
    )


def build_demo_library(
    directory: Path, scale: Scale, now: datetime, policy_file: Path = EXAMPLE_POLICY
) -> DemoLibrary:
    """Write a generated library straight into a kiosk's data directory."""
    library = generate_library(scale, now, policy_file)
    summary = DemoLibrary()
    store = Store.open(directory)
    decided = outbox.newest_seq(store)
    with loading.writing(store) as connection:
        loading.clear_mirror(connection)
        loading.put_policy(connection, library.document, library.version)
        summary.records = loading.put_stored(connection, Record, library.records)
        summary.items = loading.put_stored(connection, StockItem, library.items)
        summary.patrons = loading.put_stored(
            connection, MirrorPatron, _patron_rows(library.patrons)
        )
        summary.loans = loading.put_loans(
            connection, (library.loans[code] for code in sorted(library.loans))
        )
        summary.holds = loading.put_holds(connection, library.holds)
        # This snapshot is the whole truth now: earlier journal entries are history.
        loading.put_cursor(connection, 0, now, reflected_through=decided)
    store.close()
    summary.cards, summary.samples = library.cards, library.samples
    library.write_cards(directory)
    return summary


def _record(rng: random.Random, brn: int, kind: str) -> tuple[int, str, str, str | None, str]:
    if kind in ("NONFICTION", "TEXTBOOK", "REFERENCE"):
        title = f"{rng.choice(ADJECTIVES)} {rng.choice(TOPICS)}"
        if kind == "TEXTBOOK":
            title = f"{rng.choice(TOPICS)} for Year {rng.randint(7, 13)}"
    else:
        title = f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    author = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
    isbn = None if kind == "DVD" else isbn13(f"978{rng.randrange(10**9):09d}")
    return (brn, title, author, isbn, kind)


class _Item(NamedTuple):
    """An item row in the mirror's stored form and column order."""

    barcode: str
    brn: int
    price_cents: int
    status: str
    home_location: str


PRICES = list(range(499, 6000, 50))  # cents


def _items(rng: random.Random, count: int, record_types: list[str]) -> list[_Item]:
    items = []
    odd = [status for status, weight in ODD_STATUSES.items() for _ in range(weight)]
    records = len(record_types)
    draw, pick = rng.random, rng.choice
    for barcode in library_barcodes(ITEM_PREFIX, 1, count):
        brn = int(draw() * records) + 1
        price = 0 if record_types[brn - 1] == "DVD" and draw() < 0.5 else pick(PRICES)
        status = pick(odd) if draw() < 0.02 else "available"
        items.append(_Item(barcode, brn, price, status, "Main"))
    return items


def _patron_rows(patrons: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for patron in patrons:
        yield (
            patron["patron_id"],
            patron["card"],
            patron["first_name"],
            patron["member_type"],
            patron["expires"].isoformat(),
            int(patron["barred"]),
            to_cents(patron["owed"]),
            patron["pin_verifier"],
            0,  # no wrong PINs yet
            None,
            0,  # no email: a kiosk-only library has no server to send a receipt
        )


def _patrons(
    rng: random.Random, count: int, today: date, verifiers: list[str]
) -> list[dict[str, Any]]:
    types = _weighted(rng, MEMBER_MIX, count)
    past = [today - timedelta(days=days) for days in range(1, 301)]
    future = [today + timedelta(days=days) for days in range(30, 701)]
    debts = [Decimal(cents) / 100 for cents in range(50, 1500, 25)]
    nothing = Decimal("0.00")
    draw, pick = rng.random, rng.choice
    rows = []
    cards = library_barcodes(PATRON_PREFIX, 1, count)
    for number, (member_type, card) in enumerate(zip(types, cards, strict=True), start=1):
        expires = pick(past) if draw() < 0.04 else pick(future)
        owed = nothing if draw() < 0.85 else pick(debts)
        rows.append(
            {
                "patron_id": f"P{number:07d}",
                "card": card,
                "first_name": pick(FIRST_NAMES),
                "surname": pick(SURNAMES),
                "member_type": member_type,
                "expires": expires,
                "barred": draw() < 0.01,
                "owed": owed,
                "pin_verifier": verifiers[number % len(verifiers)],
            }
        )
    return rows


def _loans(
    rng: random.Random,
    policy: Policy,
    *,
    wanted: int,
    items: list[_Item],
    record_types: list[str],
    patrons: list[dict[str, Any]],
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """Loans the rules themselves allowed, made over the last weeks: some are overdue now."""
    loans: dict[str, dict[str, Any]] = {}
    held: dict[str, list[str]] = defaultdict(list)
    attempts = 0
    while items and patrons and len(loans) < wanted and attempts < wanted * 20:
        attempts += 1
        item = items[int(rng.random() * len(items))]
        if item.status != "available" or item.barcode in loans:
            continue
        patron = rng.choice(patrons)
        kind = record_types[item.brn - 1]
        privilege = policy.privilege(patron["member_type"], kind)
        if privilege is None:
            continue
        span = 1 if privilege.is_short_loan else privilege.days + 21
        lent_at = now - timedelta(days=rng.randint(0, span), hours=rng.randint(0, 8))
        decision = decide_checkout(
            policy,
            Patron(
                patron["patron_id"],
                patron["member_type"],
                patron["expires"],
                patron["barred"],
                patron["owed"],
            ),
            held[patron["patron_id"]],
            Item(kind),
            lent_at,
        )
        if not decision.allowed or decision.due is None:
            continue
        held[patron["patron_id"]].append(kind)
        loans[item.barcode] = {
            "item_barcode": item.barcode,
            "patron_id": patron["patron_id"],
            "member_type": patron["member_type"],
            "due": decision.due.isoformat(),
            "renewals": 0,
        }
    return loans


def _holds(
    rng: random.Random,
    items: list[_Item],
    loans: dict[str, dict[str, Any]],
    patrons: list[dict[str, Any]],
    records: list[tuple[int, str, str, str | None, str]],
) -> list[dict[str, Any]]:
    """Holds waiting on some loans, and items on the hold shelf ready for pickup."""
    holds: list[dict[str, Any]] = []
    if not patrons:
        return holds
    by_barcode = {item.barcode: item for item in items}
    lent = list(loans)
    for barcode in rng.sample(lent, k=len(lent) // 10):
        patron = rng.choice(patrons)["patron_id"]
        if patron != loans[barcode]["patron_id"]:
            title = records[by_barcode[barcode].brn - 1][1]
            holds.append(_hold(barcode, patron, ready=False, title=title))
    shelf = [item for item in items if item.status == "available" and item.barcode not in loans]
    for item in rng.sample(shelf, k=min(len(shelf), max(1, len(lent) // 20))):
        holds.append(
            _hold(
                item.barcode,
                rng.choice(patrons)["patron_id"],
                ready=True,
                title=records[item.brn - 1][1],
            )
        )
    return holds


def _hold(barcode: str, patron_id: str, *, ready: bool, title: str) -> dict[str, Any]:
    return {
        "item_barcode": barcode,
        "patron_id": patron_id,
        "position": 1,
        "ready": ready,
        "title": title,
    }


ENDING_SOON_DAYS = 14
OWES_TOO_MUCH = Decimal("10.00")  # the example policy's fine limit for adults


def _ending_soon(
    patrons: list[dict[str, Any]],
    loans: dict[str, dict[str, Any]],
    holds: list[dict[str, Any]],
    today: date,
) -> None:
    """Three adults in good standing, with nothing on loan, whose membership ends in two
    weeks: the kiosk offers them its renewal; and one who owes more than an adult may,
    whom it refuses. Chosen without the random draws, so the rest of the library is what
    the same seed always gave."""
    busy = {loan["patron_id"] for loan in loans.values()}
    busy |= {hold["patron_id"] for hold in holds}
    free = [
        patron
        for patron in patrons
        if patron["member_type"] == "ADULT"
        and patron["patron_id"] not in busy
        and not patron["barred"]
        and patron["expires"] >= today
    ]
    owing = [patron for patron in free if patron["owed"] > OWES_TOO_MUCH]
    chosen = [patron for patron in free if patron["owed"] == 0][:3] + owing[:1]
    for patron in chosen:
        patron["expires"] = today + timedelta(days=ENDING_SOON_DAYS)


def _cards(
    patrons: list[dict[str, Any]],
    loans: dict[str, dict[str, Any]],
    holds: list[dict[str, Any]],
    pins: dict[str, str],
    today: date,
) -> list[dict[str, Any]]:
    """A handful of cards for each situation a demo wants to show."""
    lending = Counter(loan["patron_id"] for loan in loans.values())
    overdue = {loan["patron_id"] for loan in loans.values() if loan["due"][:10] < today.isoformat()}
    ready = {hold["patron_id"] for hold in holds if hold["ready"]}
    cards: list[dict[str, Any]] = []
    seen: Counter[str] = Counter()
    for patron in patrons:
        pid = patron["patron_id"]
        if patron["barred"]:
            situation = "barred"
        elif patron["expires"] < today:
            situation = "expired"
        elif pid in overdue:
            situation = "has overdue loans"
        elif pid in ready:
            situation = "has a hold ready for pickup"
        elif lending[pid]:
            situation = "has loans"
        elif patron["expires"] <= today + timedelta(days=ENDING_SOON_DAYS):
            owes = patron["owed"] > 0
            situation = "membership ends soon" + (", owes too much" if owes else "")
        elif patron["owed"] > 0:
            situation = "owes money"
        else:
            situation = f"{patron['member_type'].lower()}, nothing on loan"
        if seen[situation] >= 3:
            continue
        seen[situation] += 1
        cards.append(
            {
                "card": patron["card"],
                "pin": pins[patron["pin_verifier"]],
                "first_name": patron["first_name"],
                "member_type": patron["member_type"],
                "situation": situation,
            }
        )
    return cards


def _samples(
    items: list[_Item],
    record_types: list[str],
    loans: dict[str, dict[str, Any]],
    holds: list[dict[str, Any]],
) -> dict[str, dict[str, list[str]]]:
    """A few item barcodes per publication type and state."""
    on_hold_shelf = {hold["item_barcode"] for hold in holds if hold["ready"]}
    samples: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for item in items:
        kind = record_types[item.brn - 1]
        if item.barcode in loans:
            state = "on_loan"
        elif item.barcode in on_hold_shelf:
            state = "on_hold_shelf"
        else:
            state = item.status
        if len(samples[kind][state]) < 5:
            samples[kind][state].append(item.barcode)
    return {kind: dict(states) for kind, states in samples.items()}
