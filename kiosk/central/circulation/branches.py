"""The library's branches: buildings where kiosks stand, items live and copies return.

A library with no branches is one undivided library, as before issue 21: no kiosk has
a branch and nothing is sent anywhere. Once branches exist, an item's home branch is its
``home_location`` (checked against them on import), and a kiosk stands in the branch
staff register it in. Adding a branch is audited in its own transaction.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from kiosk.central import audit
from kiosk.central.errors import CentralError
from kiosk.central.models import AppliedTransaction, Branch, Item, Kiosk, Record
from kiosk.common.suggest import did_you_mean
from kiosk.sync.protocol import BRANCH_CODE

MAX_NAME = 120


def branches(db: Session) -> list[Branch]:
    """Every branch, by code."""
    return list(db.scalars(select(Branch).order_by(Branch.code)))


def branch_names(db: Session) -> dict[str, str]:
    """Each branch's name as patrons read it, by code."""
    return {branch.code: branch.name for branch in branches(db)}


def choosable_branches(db: Session) -> dict[str, str]:
    """The branches a patron chooses among (their library, where to collect a hold), by
    code to name: none where there is only one, or none, to choose."""
    names = branch_names(db)
    return names if len(names) > 1 else {}


def branch_codes(db: Session) -> set[str]:
    return set(db.scalars(select(Branch.code)))


@dataclass(frozen=True, slots=True)
class BranchCounts:
    """A branch with how many kiosks stand in it and how many items have it as home."""

    code: str
    name: str
    kiosks: int
    items: int


def branch_counts(db: Session) -> list[BranchCounts]:
    """Every branch, by code, with its kiosks and its items counted (one grouped query
    each, whatever the number of branches)."""
    kiosks = dict(
        db.execute(
            select(Kiosk.branch, func.count())
            .where(Kiosk.branch.is_not(None))
            .group_by(Kiosk.branch)
        ).all()
    )
    items = dict(
        db.execute(
            select(Item.home_location, func.count())
            .where(Item.home_location.in_(select(Branch.code)))
            .group_by(Item.home_location)
        ).all()
    )
    return [
        BranchCounts(found.code, found.name, kiosks.get(found.code, 0), items.get(found.code, 0))
        for found in branches(db)
    ]


class BranchRefused(CentralError):
    """A branch add_branch refuses; ``field``: the one at fault, ``code`` or ``name``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def add_branch(
    db: Session, code: str, name: str, now: datetime, *, actor: str, origin: str
) -> Branch:
    """Register a branch; refused (BranchRefused) for a malformed or taken code, or an
    empty name or one with a control character (name_problem)."""
    name = name.strip()
    if not BRANCH_CODE.fullmatch(code):
        raise BranchRefused(
            "code",
            f"branch code {code!r} must be 1 to 32 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit (it is what items' home_location say)",
        )
    if not name or len(name) > MAX_NAME:
        raise BranchRefused("name", f"a branch's name must be 1 to {MAX_NAME} characters")
    problem = name_problem(name)
    if problem is not None:
        raise BranchRefused("name", problem)
    if db.get(Branch, code) is not None:
        raise BranchRefused("code", f"a branch {code!r} exists already")
    branch = Branch(code=code, name=name)
    db.add(branch)
    audit.record(db, now, actor=actor, action="branch.add", target=code, origin=origin)
    db.commit()
    return branch


# Characters a branch's name may not hold: control characters (a tab, a line break),
# line and paragraph separators and lone surrogates. A non-breaking space or a soft
# hyphen is the library's typography: kept, and shown by each kiosk as it can.
_NOT_IN_A_NAME = frozenset({"Cc", "Zl", "Zp", "Cs"})
_SAID = {
    "\t": "a tab",
    "\n": "a line break",
    "\r": "a carriage return",
    "\u2028": "a line break",
    "\u2029": "a paragraph break",
}


def name_problem(name: str) -> str | None:
    """What is wrong with ``name`` as a branch's name (one line of text that patrons read
    on the kiosks and in the portal), or None."""
    for place, character in enumerate(name, start=1):
        category = unicodedata.category(character)
        if category in _NOT_IN_A_NAME:
            kind = "a control character" if category == "Cc" else "a character that is no text"
            what = _SAID.get(character, f"{kind} (U+{ord(character):04X})")
            return (
                "a branch's name must be one line of text without control characters: "
                f"it has {what} at character {place}"
            )
    return None


def branch_problem(code: str, codes: set[str]) -> str | None:
    """What is wrong with ``code`` as one of the branches ``codes`` (naming the nearest
    and every branch), or None when it is one."""
    if code in codes:
        return None
    known = ", ".join(sorted(codes)) or "none yet: kiosk-central branch add CODE NAME"
    return f"no branch {code!r}{did_you_mean(code, codes)} (branches: {known})"


@dataclass(frozen=True, slots=True)
class Homeless:
    """Items whose home_location names no branch (from before branches, or of a branch
    not added yet): ``count`` of them, in ``distinct`` values, the commonest of which
    with how many each."""

    count: int
    distinct: int
    commonest: list[tuple[str, int]]

    def message(self) -> str | None:
        """What staff are told, or None when every item's home is a branch."""
        if not self.count:
            return None
        one = self.count == 1
        values = ", ".join(f"{value!r} ({n})" for value, n in self.commonest)
        if self.distinct > len(self.commonest):
            values += f" and {self.distinct - len(self.commonest)} other value(s)"
        return (
            f"{self.count} item{'' if one else 's'} ha{'s' if one else 've'} a home_location "
            f"that names no branch, so a return sends {'it' if one else 'them'} to no branch "
            f"(back on the shelf where returned): {values}. Re-import "
            f"{'it' if one else 'them'} with a branch's code as home_location, or add the "
            "branch (kiosk-central branch add CODE NAME)"
        )


HOMELESS_SHOWN = 5


def homeless(db: Session) -> Homeless:
    """The items whose home_location names no branch, once there are branches (with
    none, the library is undivided and no item has a home branch to miss)."""
    if not branch_codes(db):
        return Homeless(0, 0, [])
    known = select(Branch.code)
    rows = db.execute(
        select(Item.home_location, func.count())
        .where(Item.home_location.not_in(known))
        .group_by(Item.home_location)
        .order_by(func.count().desc(), Item.home_location)
    ).all()
    return Homeless(
        sum(n for _, n in rows), len(rows), [(value, n) for value, n in rows[:HOMELESS_SHOWN]]
    )


def known_branch(db: Session, code: str) -> str:
    """``code`` when it is a branch; otherwise refused, naming the nearest."""
    problem = branch_problem(code, branch_codes(db))
    if problem is not None:
        raise CentralError(problem)
    return code


# A transfer between branches of one library takes a van a day or two: one still on its
# way after this is worth a look (lost in the van, or checked in without a scan).
TRANSIT_OVERDUE = timedelta(days=7)
IN_TRANSIT = "in_transit"


@dataclass(frozen=True, slots=True)
class InTransit:
    """A copy on its way to branch ``to``, sent ``since`` (its latest check-in; None when
    no check-in sent it, as when staff set the status)."""

    barcode: str
    title: str
    to: str | None
    since: datetime | None
    overdue: bool


def in_transit(db: Session, now: datetime, *, to: str | None = None) -> list[InTransit]:
    """The copies in transit (to branch ``to``, or to any), longest on the way first."""
    sent = func.max(AppliedTransaction.decided_at)
    query = (
        select(Item.barcode, Record.title, Item.transit_to, sent)
        .join(Record, Record.brn == Item.brn)
        .outerjoin(
            AppliedTransaction,
            and_(
                AppliedTransaction.item_barcode == Item.barcode,
                AppliedTransaction.kind == "return",
            ),
        )
        .where(Item.status == IN_TRANSIT)
        .group_by(Item.barcode, Record.title, Item.transit_to)
    )
    if to is not None:
        query = query.where(Item.transit_to == to)
    rows = [
        InTransit(
            barcode, title, destination, since, since is None or now - since > TRANSIT_OVERDUE
        )
        for barcode, title, destination, since in db.execute(query)
    ]
    return sorted(rows, key=lambda row: (row.since or datetime.min, row.barcode))


@dataclass(frozen=True, slots=True)
class ToSend:
    """A copy waiting on branch ``source``'s hold shelf to be sent to branch ``to``: a
    hold's decision sent it on (its pickup changed, a ready hold cancelled or moved),
    with no check-in to sort it into the transfers."""

    barcode: str
    title: str
    source: str
    to: str | None


def to_send(db: Session, *, source: str | None = None) -> list[ToSend]:
    """The copies to send from a hold shelf (branch ``source``'s, or any), until each is
    checked in (``items.transit_from``), by barcode."""
    query = (
        select(Item.barcode, Record.title, Item.transit_from, Item.transit_to)
        .join(Record, Record.brn == Item.brn)
        .where(Item.status == IN_TRANSIT, Item.transit_from.is_not(None))
        .order_by(Item.barcode)
    )
    if source is not None:
        query = query.where(Item.transit_from == source)
    return [
        ToSend(barcode, title, str(origin), destination)
        for barcode, title, origin, destination in db.execute(query)
    ]
