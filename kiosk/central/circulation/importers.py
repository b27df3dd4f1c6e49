"""Importing the library's catalogue, items and patrons from CSV files staff export.

Every bad row is reported with its line number and column, and a file with any
error imports nothing. Rows are upserted by key and enter the change log, so
every kiosk receives them.

Columns (a header row is required; column order is free):

- catalogue: ``brn, title, author, isbn, publication_type`` (isbn may be empty) and,
  optional, ``subjects``: the record's subject headings separated by semicolons
  (``Cookery; History -- Europe``), for the new arrivals by subject
- items: ``barcode, brn, price, status, home_location`` (once the library has branches,
  ``home_location`` is the item's home branch: one of their codes)
- patrons: ``patron_id, card, first_name, surname, member_type, expires, barred, pin``
  (``expires`` and ``pin`` may be empty; ``barred`` is yes/no; the PIN is turned
  into an argon2id verifier at once and never stored; a card may be one patron's only),
  and, each optional, the contact and messaging preferences: ``email, phone, language,
  notify_by`` (email, sms or none), ``notices`` (the kinds chosen, e.g.
  ``due_soon;hold_ready``), ``due_soon_days, digest`` (yes/no) and ``arrivals`` (the
  publication types of the weekly new arrivals), and ``home_branch`` (a branch's code,
  where their holds are collected unless they choose; empty: none); a column left out
  leaves what the patron has

Given an ``actor`` (and ``origin`` and ``now``), an import is audited as
``import.<kind>`` (the number of rows, never a card or a name) in the transaction
that imports it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import audit
from kiosk.central.circulation.branches import branch_codes, branch_problem
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.circulation.patrons import check_contact
from kiosk.central.errors import ImportRejected
from kiosk.central.models import Item, Patron, PolicyVersion, Record
from kiosk.central.notices import preferences
from kiosk.common.check_digits import gs1_valid, isbn10_valid
from kiosk.common.pins import pin_verifier
from kiosk.common.suggest import did_you_mean
from kiosk.rules.parsing import STANDARD_STATUSES

CONTACT_COLUMNS = (
    "email",
    "phone",
    "language",
    "notify_by",
    "notices",
    "due_soon_days",
    "digest",
    "arrivals",
)
COLUMNS = {
    "catalogue": ("brn", "title", "author", "isbn", "publication_type", "subjects"),
    "items": ("barcode", "brn", "price", "status", "home_location"),
    "patrons": (
        "patron_id",
        "card",
        "first_name",
        "surname",
        "member_type",
        "expires",
        "barred",
        "pin",
        *CONTACT_COLUMNS,
        "home_branch",
    ),
}
OPTIONAL = {"isbn", "expires", "pin", "subjects", "home_branch", *CONTACT_COLUMNS}
_PIN = re.compile(r"\d{4,8}")
MAX_SUBJECTS = 400  # records.subjects
_MONEY_LIMIT = Decimal("10000000.00")
_WHOLE_LIMIT = 2**31 - 1


@dataclass
class _Row:
    line: int
    values: dict[str, str]
    problems: list[str]
    source: str

    def bad(self, column: str, message: str) -> None:
        self.problems.append(f"{self.source}:{self.line}: {column}: {message}")

    def text(self, column: str, limit: int) -> str:
        value = self.values.get(column, "").strip()
        if not value and column not in OPTIONAL:
            self.bad(column, "is empty")
        elif len(value) > limit:
            self.bad(column, f"is longer than {limit} characters")
        return value

    def whole(self, column: str) -> int:
        value = self.text(column, 20)
        if value and not (value.isascii() and value.isdigit()):  # not "²", which int() refuses
            self.bad(column, f"must be a whole number, got {value!r}")
            return 0
        if int(value or 0) > _WHOLE_LIMIT:  # a 32-bit column's largest
            self.bad(column, f"must be at most {_WHOLE_LIMIT}, got {value!r}")
            return 0
        return int(value or 0)

    def money(self, column: str) -> Decimal:
        value = self.text(column, 20)
        try:
            amount = Decimal(value)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():  # "NaN" and "Infinity" are Decimals, but no amount
            self.bad(column, f'must be an amount such as "12.50", got {value!r}')
            return Decimal(0)
        if amount >= _MONEY_LIMIT:  # whole cents in a 32-bit column; "1e30" cannot quantize
            self.bad(column, f"must be less than {_MONEY_LIMIT}, got {value!r}")
            return Decimal(0)
        if amount < 0 or amount != amount.quantize(Decimal("0.01")):
            self.bad(column, f"must be 0 or more, with at most two decimals, got {value!r}")
        return amount

    def code(self, column: str, known: set[str], what: str) -> str:
        value = self.text(column, 32)
        if value and value not in known:
            self.bad(column, f"unknown {what} {value!r}{did_you_mean(value, known)}")
        return value


@dataclass
class _Fields(_Row):
    """A form's fields checked as a CSV row is, each field's first problem kept by field."""

    by_field: dict[str, str] = field(default_factory=dict)

    def bad(self, column: str, message: str) -> None:
        self.by_field.setdefault(column, message)


def check_fields(
    kind: str, values: Mapping[str, str], member_types: set[str], publication_types: set[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """One row of ``kind`` typed into a form rather than read from a file, checked as an
    import checks a row: its values as they would be stored, and each field's problem
    (by column; none when every field is good). Nothing is checked against the database."""
    fields = _Fields(0, dict(values), [], "form")
    return _PARSERS[kind](fields, member_types, publication_types), fields.by_field


def _rows(path: Path, kind: str, problems: list[str]) -> Iterator[_Row]:
    source = path.name
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise ImportRejected(source, [f"{source}: cannot read: {error.strerror}"]) from None
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames or []
            expected = COLUMNS[kind]
            for name in header:
                if name not in expected:
                    problems.append(
                        f"{source}:1: unknown column {name!r}{did_you_mean(name, expected)}"
                    )
            for name in expected:
                if name not in header and name not in OPTIONAL:
                    problems.append(f"{source}:1: missing column {name!r}")
            if problems:
                return
            for row in reader:
                values = {k: v or "" for k, v in row.items() if k}
                yield _Row(reader.line_num, values, problems, source)
        except UnicodeDecodeError:
            problems.append(f'{source}: is not UTF-8 text: save it as "CSV UTF-8" and try again')
        except csv.Error as error:
            problems.append(f"{source}:{reader.line_num}: not a CSV line: {error}")


def _policy_codes(db: Session) -> tuple[set[str], set[str]]:
    policy = db.get(PolicyVersion, 1)
    if policy is None:
        raise ImportRejected(
            "policy", ["import a policy first: kiosk-central import policy FILE.toml"]
        )
    document: dict[str, Any] = policy.document
    return set(document.get("member_types", {})), set(document.get("publication_types", {}))


def _check_isbn(row: _Row, isbn: str) -> None:
    digits = isbn.replace("-", "")
    if isbn and not (
        (len(digits) == 13 and gs1_valid(digits)) or (len(digits) == 10 and isbn10_valid(digits))
    ):
        row.bad("isbn", f"is not a valid ISBN-13 or ISBN-10: {isbn!r}")


def _check_brns(
    db: Session, parsed: list[tuple[int, dict[str, Any]]], problems: list[str], source: str
) -> None:
    """An item's catalogue record must be there already."""
    brns = set(db.scalars(select(Record.brn)))
    for line, values in parsed:
        if values["brn"] not in brns:
            problems.append(f"{source}:{line}: brn: no catalogue record {values['brn']}")


def _check_home_branches(
    db: Session, parsed: list[tuple[int, dict[str, Any]]], problems: list[str], source: str
) -> None:
    """Once the library has branches, an item's home_location names one of them: a copy
    with an unknown home could never be sent home."""
    codes = branch_codes(db)
    if not codes:
        return
    for line, values in parsed:
        home = values["home_location"]
        if home and (problem := branch_problem(home, codes)) is not None:
            problems.append(f"{source}:{line}: home_location: {problem}")


def _check_items(
    db: Session, parsed: list[tuple[int, dict[str, Any]]], problems: list[str], source: str
) -> None:
    _check_brns(db, parsed, problems, source)
    _check_home_branches(db, parsed, problems, source)


def _check_patrons(
    db: Session, parsed: list[tuple[int, dict[str, Any]]], problems: list[str], source: str
) -> None:
    _check_cards(db, parsed, problems, source)
    codes = branch_codes(db)
    for line, values in parsed:
        home = values.get("home_branch")
        if home is not None and (problem := branch_problem(home, codes)) is not None:
            problems.append(f"{source}:{line}: home_branch: {problem}")


def _check_cards(
    db: Session, parsed: list[tuple[int, dict[str, Any]]], problems: list[str], source: str
) -> None:
    """A card is one patron's: not twice in the file, nor another patron's in the database
    (unless the file gives that patron a new card on an earlier line). The card number is
    never echoed."""
    held = dict(db.execute(select(Patron.card, Patron.patron_id)).all())
    new_card = {values["patron_id"]: (line, values["card"]) for line, values in reversed(parsed)}
    first_line: dict[str, int] = {}
    for line, values in parsed:
        card, patron_id = values["card"], values["patron_id"]
        if not card:
            continue
        if card in first_line:
            problems.append(f"{source}:{line}: card: the same card as line {first_line[card]}")
            continue
        first_line[card] = line
        owner = held.get(card)
        if owner is None or owner == patron_id:
            continue
        moved = new_card.get(owner)
        if moved is None or moved[1] == card or moved[0] > line:
            problems.append(f"{source}:{line}: card: is the card of another patron, {owner!r}")


def _line_of(source: str) -> Callable[[str], int]:
    """The line a problem names (``source:LINE: ...``); 0 for the whole file."""

    def line(problem: str) -> int:
        number = problem.removeprefix(f"{source}:").split(":", 1)[0]
        return int(number) if number.isdigit() else 0

    return line


def import_file(
    db: Session,
    kind: str,
    path: Path,
    *,
    actor: str | None = None,
    origin: str = "",
    now: datetime | None = None,
) -> int:
    """Import ``path`` as ``kind`` (catalogue, items or patrons); returns the rows imported.
    Raises ImportRejected listing every problem, having imported nothing. With an
    ``actor`` (who needs ``now``), the import is audited in the same transaction."""
    if actor is not None and now is None:
        raise TypeError("an audited import needs the time: now=")
    problems: list[str] = []
    member_types, publication_types = _policy_codes(db)
    parsed: list[tuple[int, dict[str, Any]]] = []
    first_line: dict[str, int] = {}
    key_column = COLUMNS[kind][0]
    for row in _rows(path, kind, problems):
        key = row.values.get(key_column, "").strip()
        if key in first_line:
            row.bad(key_column, f"{key!r} appears again (first on line {first_line[key]})")
        first_line.setdefault(key, row.line)
        parsed.append((row.line, _PARSERS[kind](row, member_types, publication_types)))
    if kind in _AGAINST_THE_DATABASE:
        _AGAINST_THE_DATABASE[kind](db, parsed, problems, path.name)
    if problems:  # in the file's order; a line's own problems in the order found
        raise ImportRejected(path.name, sorted(problems, key=_line_of(path.name)))
    model = {"catalogue": Record, "items": Item, "patrons": Patron}[kind]
    log = ChangeLog(db)
    log.lock()
    for _, values in parsed:
        existing = db.get(model, values[key_column])
        if existing is None:
            new = {**_NEW_DEFAULTS.get(kind, {}), **values}
            if kind == "catalogue" and now is not None:  # the new arrivals' notices
                new["added_on"] = now.date()
            existing = model(**new)
            db.add(existing)
        else:
            for name, value in values.items():
                setattr(existing, name, value)
        db.flush()
        _LOG[kind](log, existing)
    if actor is not None and now is not None:
        audit.record(
            db,
            now,
            actor=actor,
            action=f"import.{kind}",
            target=kind,
            origin=origin,
            detail=f"{len(parsed)} row{'' if len(parsed) == 1 else 's'} imported",
        )
    db.commit()
    return len(parsed)


def _catalogue(row: _Row, _members: set[str], publications: set[str]) -> dict[str, Any]:
    isbn = row.text("isbn", 17)
    _check_isbn(row, isbn)
    return {
        "brn": row.whole("brn"),
        "title": row.text("title", 400),
        "author": row.text("author", 200),
        "isbn": isbn.replace("-", "") or None,
        "publication_type": row.code("publication_type", publications, "publication type"),
    } | _subjects(row)


def _subjects(row: _Row) -> dict[str, str]:
    """The record's subject headings, when the file has the column (one it leaves out
    leaves a record's as they are): separated by semicolons, as stored."""
    if "subjects" not in row.values:
        return {}
    text = preferences.SUBJECT_SEPARATOR.join(preferences.headings(row.values["subjects"]))
    if len(text) > MAX_SUBJECTS:
        row.bad("subjects", f"is longer than {MAX_SUBJECTS} characters")
    return {"subjects": text[:MAX_SUBJECTS]}


def _item(row: _Row, _members: set[str], _publications: set[str]) -> dict[str, Any]:
    status = row.code("status", set(STANDARD_STATUSES), "status")
    return {
        "barcode": row.text("barcode", 32),
        "brn": row.whole("brn"),
        "price": row.money("price"),
        "status": status,
        "home_location": row.text("home_location", 64),
    }


def _patron(row: _Row, members: set[str], publications: set[str]) -> dict[str, Any]:
    expires_text = row.text("expires", 10)
    expires = None
    if expires_text:
        try:
            expires = date.fromisoformat(expires_text)
        except ValueError:
            row.bad("expires", f"must be a date as YYYY-MM-DD, got {expires_text!r}")
    barred_text = row.text("barred", 5).lower()
    if barred_text not in ("yes", "no", "true", "false", "1", "0"):
        row.bad("barred", f"must be yes or no, got {barred_text!r}")
    pin = row.values.get("pin", "").strip()
    if pin and not _PIN.fullmatch(pin):
        row.bad("pin", "must be 4 to 8 digits")  # never echo a PIN
    values = {
        "patron_id": row.text("patron_id", 32),
        "card": row.text("card", 32),
        "first_name": row.text("first_name", 64),
        "surname": row.text("surname", 64),
        "member_type": row.code("member_type", members, "member type"),
        "expires": expires,
        "barred": barred_text in ("yes", "true", "1"),
    } | ({"pin_verifier": pin_verifier(pin)} if pin and _PIN.fullmatch(pin) else {})
    return values | _contact(row, publications) | _home_branch(row)


def _home_branch(row: _Row) -> dict[str, str | None]:
    """The patron's home branch, when the file has the column (checked against the
    branches with the cards: ``_check_patrons``); empty: none."""
    if "home_branch" not in row.values:
        return {}
    return {"home_branch": row.text("home_branch", 32) or None}


def _contact(row: _Row, publications: set[str]) -> dict[str, Any]:
    """The contact and preference columns the file has, checked as the console checks
    them; one it leaves out leaves the patron's as it is."""
    checks: dict[str, Callable[[str], Any]] = {
        "email": partial(check_contact, "email"),
        "phone": partial(check_contact, "phone"),
        "language": partial(check_contact, "language"),
        "notify_by": preferences.channel,
        "notices": preferences.kinds,
        "due_soon_days": preferences.due_soon_days,
        "digest": preferences.flag,
        "arrivals": lambda text: preferences.arrivals(text, publications),
    }
    values: dict[str, Any] = {}
    for column, check in checks.items():
        if column not in row.values:
            continue
        try:
            values[column] = check(row.values[column])
        except ValueError as bad:  # never echo an address or a number
            row.bad(column, str(bad) if column not in ("email", "phone") else "is not one")
    return values


# Only a new patron starts owing nothing and without a PIN: an import never clears a
# balance (that is the ledger's) nor a PIN set at the desk.
_NEW_DEFAULTS: dict[str, dict[str, Any]] = {
    "patrons": {"owed": Decimal("0.00"), "pin_verifier": None},
}
_PARSERS: dict[str, Callable[[_Row, set[str], set[str]], dict[str, Any]]] = {
    "catalogue": _catalogue,
    "items": _item,
    "patrons": _patron,
}
_AGAINST_THE_DATABASE: dict[
    str, Callable[[Session, list[tuple[int, dict[str, Any]]], list[str], str], None]
] = {
    "items": _check_items,
    "patrons": _check_patrons,
}
_LOG: dict[str, Callable[[ChangeLog, Any], int | None]] = {
    "catalogue": ChangeLog.record,
    "items": ChangeLog.item,
    "patrons": ChangeLog.patron,
}
