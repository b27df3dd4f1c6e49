"""What is due: each notice a patron should get, with its key and the facts it tells.

Two scans. The frequent one, at every run, finds holds that became ready and receipts
(the last day's checkouts and renewals); the daily one, once a day, finds loans due
soon and overdue, ready holds about to expire, memberships about to end and the week's
new arrivals. A notice's ``day`` is the day it was due by the rules (a due date less the
patron's days, the due date plus the policy's overdue days...), never the day a runner
happened to find it, so a runner that was down finds the same notices later, with the
same keys, and the outbox adds each once.

Only patrons who chose a kind get it; the channel is theirs (``print`` when they chose
none, or have no address for the one they chose).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby, islice
from typing import Any

from sqlalchemy import Row, Select, and_, or_, select
from sqlalchemy.orm import Session

from kiosk.central.circulation.ledger import fine_so_far
from kiosk.central.models import (
    AppliedTransaction,
    Branch,
    Hold,
    Item,
    Loan,
    Notice,
    Patron,
    Record,
)
from kiosk.central.notices.preferences import broad, headings
from kiosk.rules import Due
from kiosk.rules.model import Policy, money

MAX_DUE_SOON_DAYS = 14
MAX_ARRIVALS = 20
# A hold that became ready longer ago than this is no news (the daily scan's expiring
# notice still finds it).
READY_NEWS = timedelta(days=2)
RECEIPT_WINDOW = timedelta(days=1)
# A receipt lists a visit: a patron's checkouts and renewals at one place, each decided
# and applied within this of the one before.
RECEIPT_GAP = timedelta(minutes=10)
# A visit is found once nothing of it has been applied for this long: a minute more than
# the gap, so that a transaction the runner could not see yet (applied just before its
# read, committed just after) is too late to join a visit found then, and starts one of
# its own.
RECEIPT_QUIET = RECEIPT_GAP + timedelta(minutes=1)
# Keys looked up in the outbox at once.
KEYS_AT_ONCE = 500
ZERO = Decimal("0.00")
_PATRON = (
    Patron.patron_id,
    Patron.notify_by,
    Patron.notices,
    Patron.due_soon_days,
    Patron.digest,
    Patron.email,
    Patron.phone,
)


@dataclass(frozen=True, slots=True)
class Found:
    """One notice that is due: its key's parts, how it goes, and what it says."""

    patron_id: str
    kind: str
    subject: str
    day: date
    channel: str  # email, sms or print
    digest: bool
    facts: dict[str, Any]

    @property
    def key(self) -> str:
        return notice_key(self.patron_id, self.kind, self.subject, self.day)


@dataclass(frozen=True, slots=True)
class Timing:
    """When the notices are due, from central.toml and the policy."""

    overdue_days: tuple[int, ...] = (1, 7, 14)
    hold_shelf_days: int = 7
    hold_expiry_days_before: int = 1
    membership_days_before: int = 30
    arrivals_weekday: int = 0


def notice_key(patron_id: str, kind: str, subject: str, day: date) -> str:
    return f"{patron_id}|{kind}|{subject}|{day.isoformat()}"


def _wants(patron: Any, kind: str) -> bool:
    return kind in patron.notices.split(",")


def _channel(patron: Any) -> str:
    address = {"email": patron.email, "sms": patron.phone}.get(patron.notify_by)
    return patron.notify_by if address else "print"


def _found(patron: Any, kind: str, subject: str, day: date, facts: dict[str, Any]) -> Found:
    return Found(patron.patron_id, kind, subject, day, _channel(patron), patron.digest, facts)


# --- every run ------------------------------------------------------------------------


def frequent(db: Session, now: datetime, timing: Timing) -> Iterator[Found]:
    """Holds ready since the last two days, and the last day's receipts."""
    yield from hold_ready(db, now, timing)
    yield from receipts(db, now)


def hold_ready(db: Session, now: datetime, timing: Timing) -> Iterator[Found]:
    """Holds ready lately, each with the name of the branch whose hold shelf it is on
    (``pickup``: empty for a hold with no pickup, ready where its copy was trapped)."""
    rows = db.execute(
        select(Hold.id, Hold.title, Hold.ready_at, Branch.name.label("pickup"), *_PATRON)
        .join(Patron, Patron.patron_id == Hold.patron_id)
        .outerjoin(Branch, Branch.code == Hold.pickup)
        .where(Hold.ready, Hold.ready_at >= now - READY_NEWS, Hold.ready_at <= now)
    )
    for row in rows:
        if not _wants(row, "hold_ready"):
            continue
        pickup_by = row.ready_at.date() + timedelta(days=timing.hold_shelf_days)
        facts = {
            "title": row.title,
            "pickup_by": pickup_by.isoformat(),
            "hold": row.id,
            "pickup": row.pickup or "",
        }
        yield _found(row, "hold_ready", _hold_subject(row), row.ready_at.date(), facts)


def _hold_subject(row: Any) -> str:
    # A hold trapped again later (a cancelled trap, a new copy) is news again.
    return f"hold {row.id} {row.ready_at:%Y%m%dT%H%M%S}"


def receipts(db: Session, now: datetime) -> Iterator[Found]:
    """A receipt for each visit of the last day, to the patrons who chose receipts: what
    they borrowed and what they renewed at one place (the desk, the portal, a SIP2
    device, one kiosk), a notice for each, once the visit has been quiet for
    :data:`RECEIPT_QUIET`. A kiosk visit whose patron asked for a receipt at its Finish
    screen (a ``receipt`` entry in it) has that receipt already (queued as the entry was
    applied): none here.

    A visit is the patron's transactions at one place, each decided *and* applied within
    :data:`RECEIPT_GAP` of the one before: a transaction applied after its visit's
    receipt went (an offline kiosk's or SIP2 device's, uploaded later) is a visit of its
    own, with a receipt of its own. A visit's key names its first transaction, so a later
    pass finds the same visit with the same key and the outbox keeps it once. Each line
    names its transaction: a visit found with a key the outbox does not hold (its first
    transaction forgotten since, its patron no longer named on it) lists only the
    transactions no receipt of the patron lists yet, a visit's or, from before receipts
    were by visit, the transaction's own (its subject the transaction's id); none when
    every one is listed. Nothing is sent twice."""
    start = now - RECEIPT_WINDOW - RECEIPT_GAP
    rows = db.execute(
        _receipt_lines(start, now).where(
            AppliedTransaction.kind.in_(("checkout", "renew", "receipt")),
            Patron.notices.contains("receipt"),
        )
    )
    visits: dict[tuple[str, str], list[list[Row[Any]]]] = defaultdict(list)
    for row in rows:
        if not _wants(row, "receipt"):
            continue
        chains = visits[(row.patron_id, _place(row))]
        # The latest visit there whose last transaction this one follows (an offline
        # transaction, decided in the middle of a visit, leaves it open for the next).
        joined = next((chain for chain in reversed(chains) if _follows(chain[-1], row)), None)
        if joined is None:
            chains.append([row])
        else:
            joined.append(row)
    found = [
        notice
        for chains in visits.values()
        for visit in chains
        for notice in _visit_receipts(visit, now)
    ]
    yield from _not_receipted(db, found, start)


def _receipt_lines(start: datetime, now: datetime) -> Select[Any]:
    """The transactions decided from ``start`` to ``now``, each with its patron, its
    title and the due date of its loan, by patron and time."""
    return (
        select(
            AppliedTransaction.id.label("transaction_id"),
            AppliedTransaction.kind,
            AppliedTransaction.kiosk_id,
            AppliedTransaction.decided_at,
            AppliedTransaction.applied_at,
            AppliedTransaction.details,
            Record.title,
            Loan.due,
            *_PATRON,
        )
        .join(Patron, Patron.patron_id == AppliedTransaction.patron_id)
        .outerjoin(Item, Item.barcode == AppliedTransaction.item_barcode)
        .outerjoin(Record, Record.brn == Item.brn)
        .outerjoin(
            Loan,
            and_(
                Loan.item_barcode == AppliedTransaction.item_barcode,
                Loan.patron_id == AppliedTransaction.patron_id,
            ),
        )
        .where(AppliedTransaction.decided_at >= start, AppliedTransaction.decided_at <= now)
        .order_by(
            AppliedTransaction.patron_id, AppliedTransaction.decided_at, AppliedTransaction.id
        )
    )


def _follows(before: Any, row: Any) -> bool:
    decided: timedelta = abs(row.decided_at - before.decided_at)
    applied: timedelta = abs(row.applied_at - before.applied_at)
    return decided <= RECEIPT_GAP and applied <= RECEIPT_GAP


def _place(row: Any) -> str:
    """Where a transaction was made: its kiosk, else the channel the decision path
    names in its details (the desk, the portal, SIP2)."""
    if row.kiosk_id is not None:
        return f"kiosk {row.kiosk_id}"
    return str((row.details or {}).get("via") or "desk")


def _visit_receipts(visit: list[Row[Any]], now: datetime) -> Iterator[Found]:
    first = visit[0]
    if first.decided_at < now - RECEIPT_WINDOW:
        return  # begun more than a day ago: found then, or no news now
    if now - max(row.applied_at for row in visit) < RECEIPT_QUIET:
        return  # the visit may go on: found when it is over
    if any(row.kind == "receipt" for row in visit):
        return  # asked for at the kiosk, and queued then
    for action, facts in _visit_facts(visit).items():
        subject = f"visit {first.transaction_id} {action}"
        yield _found(first, "receipt", subject, first.decided_at.date(), facts)


def _visit_facts(visit: list[Row[Any]]) -> dict[str, dict[str, Any]]:
    """A receipt's facts for each action of the visit with any line: its titles and due
    dates, each line naming its transaction."""
    found: dict[str, dict[str, Any]] = {}
    for action in ("checkout", "renew"):
        items = []
        for row in visit:
            # The due date as this transaction made it (a later renewal moves the loan's).
            due = (row.details or {}).get("due") or row.due
            if row.kind == action and due:
                items.append(
                    {"title": row.title or "", "due": str(due), "transaction": row.transaction_id}
                )
        if items:
            found[action] = {"action": action, "items": items}
    return found


def asked_receipts(db: Session, patron_id: str, place: str, now: datetime) -> list[Found]:
    """The receipts of the patron's latest visit at ``place`` (``"desk"``) of the last
    day, which they asked for there (whatever their preferences), by email: one for what
    they borrowed and one for what they renewed, none when the visit made neither. Keyed
    by the visit's first and last transactions, so asking twice queues them once and
    asking again after more loans sends the whole visit; a receipt found later for a
    patron who chose receipts leaves out the lines these list (``_not_receipted``)."""
    rows = [
        row
        for row in db.execute(
            _receipt_lines(now - RECEIPT_WINDOW, now).where(
                AppliedTransaction.patron_id == patron_id,
                AppliedTransaction.kiosk_id.is_(None),
                AppliedTransaction.kind.in_(("checkout", "renew")),
            )
        )
        if _place(row) == place
    ]
    visit: list[Row[Any]] = []
    for row in rows:
        if visit and not _follows(visit[-1], row):
            visit = []  # a visit of its own: the latest is the one asked about
        visit.append(row)
    if not visit:
        return []
    first, last = visit[0], visit[-1]
    return [
        Found(
            patron_id,
            "receipt",
            f"{place} {first.transaction_id} {last.transaction_id} {action}",
            first.decided_at.date(),
            "email",
            False,
            facts,
        )
        for action, facts in _visit_facts(visit).items()
    ]


def _not_receipted(db: Session, found: list[Found], start: datetime) -> Iterator[Found]:
    """``found`` as the outbox has not listed it yet: a receipt whose key it holds as
    it is (the outbox adds nothing for it); one it does not hold, with only the lines
    no receipt of the patron in the outbox lists (by a visit's lines, or a transaction's
    own receipt from before visits, whose subject was the transaction's id), and none
    when every line is listed already."""
    held: set[str] = set()
    keys = [notice.key for notice in found]
    for at in range(0, len(keys), KEYS_AT_ONCE):
        chunk = keys[at : at + KEYS_AT_ONCE]
        held.update(db.scalars(select(Notice.key).where(Notice.key.in_(chunk))))
    fresh = [notice for notice in found if notice.key not in held]
    yield from (notice for notice in found if notice.key in held)
    if not fresh:
        return
    listed: dict[str, set[str]] = defaultdict(set)
    # A receipt listing a line of these visits began at most a window before it.
    earliest = (start - RECEIPT_WINDOW).date()
    for patron_id, subject, facts in db.execute(
        select(Notice.patron_id, Notice.subject, Notice.facts).where(
            Notice.patron_id.in_(sorted({notice.patron_id for notice in fresh})),
            Notice.kind == "receipt",
            Notice.day >= earliest,
        )
    ):
        listed[patron_id].add(subject)
        for item in (facts or {}).get("items", ()):
            if isinstance(item, dict) and item.get("transaction"):
                listed[patron_id].add(str(item["transaction"]))
    for notice in fresh:
        already = listed[notice.patron_id]
        items = [item for item in notice.facts["items"] if item["transaction"] not in already]
        if items:
            yield replace(notice, facts={**notice.facts, "items": items})


# --- once a day -----------------------------------------------------------------------


def daily(db: Session, now: datetime, policy: Policy | None, timing: Timing) -> Iterator[Found]:
    today = now.date()
    yield from due_soon(db, today)
    if policy is not None:
        yield from overdue(db, now, policy, timing.overdue_days or ())
    yield from hold_expiring(db, today, timing)
    yield from membership_expiring(db, today, timing.membership_days_before)
    if today.weekday() == timing.arrivals_weekday:
        yield from new_arrivals(db, today)


def _loans() -> Any:
    return (
        select(
            Loan.item_barcode,
            Loan.due,
            Loan.member_type,
            Loan.renewals,
            Record.title,
            Record.publication_type,
            *_PATRON,
        )
        .join(Patron, Patron.patron_id == Loan.patron_id)
        .join(Item, Item.barcode == Loan.item_barcode)
        .join(Record, Record.brn == Item.brn)
    )


def due_soon(db: Session, today: date) -> Iterator[Found]:
    """Day loans due within the patron's days (short loans are due too soon to warn)."""
    latest = today + timedelta(days=MAX_DUE_SOON_DAYS + 1)
    rows = db.execute(_loans().where(Loan.due > today.isoformat(), Loan.due < latest.isoformat()))
    groups: dict[tuple[str, str], list[Row[Any]]] = defaultdict(list)
    for row in rows:
        if "T" in row.due or not _wants(row, "due_soon"):
            continue
        warned_on = date.fromisoformat(row.due) - timedelta(days=row.due_soon_days)
        if warned_on <= today:
            groups[(row.patron_id, row.due)].append(row)
    for (_patron_id, due), loans in groups.items():
        items = [{"title": loan.title, "due": due, "barcode": loan.item_barcode} for loan in loans]
        facts = {"due": due, "items": items}
        day = date.fromisoformat(due) - timedelta(days=loans[0].due_soon_days)
        yield _found(loans[0], "due_soon", due, day, facts)


def overdue(db: Session, now: datetime, policy: Policy, days: Iterable[int]) -> Iterator[Found]:
    """Each loan at the latest overdue notice it has reached (a runner down for a week
    sends the third, not all three), grouped by patron, notice and due day."""
    levels = sorted(days)
    if not levels:
        return
    today = now.date()
    rows = db.execute(
        _loans().where(Loan.due < (today - timedelta(days=levels[0] - 1)).isoformat())
    )
    groups: dict[tuple[str, int, date], list[Row[Any]]] = defaultdict(list)
    for row in rows:
        if not _wants(row, "overdue"):
            continue
        late = (today - Due.fromisoformat(row.due).day).days
        reached = [level for level, after in enumerate(levels, 1) if late >= after]
        if reached:
            level = reached[-1]
            day = Due.fromisoformat(row.due).day + timedelta(days=levels[level - 1])
            groups[(row.patron_id, level, day)].append(row)
    for (_patron_id, level, day), loans in groups.items():
        items = [
            {
                "title": loan.title,
                "due": loan.due,
                "fine": str(_fine(policy, loan, now)),
                "barcode": loan.item_barcode,
            }
            for loan in loans
        ]
        total = money(sum((Decimal(item["fine"]) for item in items), ZERO))
        facts = {"level": level, "items": items, "total": str(total)}
        yield _found(loans[0], "overdue", f"level {level}", day, facts)


def _fine(policy: Policy, loan: Row[Any], moment: datetime) -> Decimal:
    """The fine the loan would owe coming back at ``moment``, as the rules reckon it."""
    return fine_so_far(
        policy, loan.member_type, loan.due, loan.renewals, loan.publication_type, moment
    )


def hold_expiring(db: Session, today: date, timing: Timing) -> Iterator[Found]:
    """Ready holds whose last day on the hold shelf is close, each with the name of the
    branch whose hold shelf it is on (``pickup``, as :func:`hold_ready`'s)."""
    shelf = timedelta(days=timing.hold_shelf_days)
    before = timedelta(days=timing.hold_expiry_days_before)
    earliest = datetime.combine(today - shelf, time(0))
    rows = db.execute(
        select(Hold.id, Hold.title, Hold.ready_at, Branch.name.label("pickup"), *_PATRON)
        .join(Patron, Patron.patron_id == Hold.patron_id)
        .outerjoin(Branch, Branch.code == Hold.pickup)
        .where(Hold.ready, Hold.ready_at >= earliest)
    )
    for row in rows:
        if row.ready_at is None or not _wants(row, "hold_expiring"):
            continue
        last_day = row.ready_at.date() + shelf
        warned_on = last_day - before
        if warned_on <= today <= last_day and warned_on > row.ready_at.date():
            facts = {
                "title": row.title,
                "pickup_by": last_day.isoformat(),
                "hold": row.id,
                "pickup": row.pickup or "",
            }
            yield _found(row, "hold_expiring", _hold_subject(row), warned_on, facts)


def membership_expiring(db: Session, today: date, days_before: int) -> Iterator[Found]:
    rows = db.execute(
        select(Patron.expires, *_PATRON).where(
            Patron.expires >= today,
            Patron.expires <= today + timedelta(days=days_before),
            Patron.notices.contains("membership_expiring"),
        )
    )
    for row in rows:
        if not _wants(row, "membership_expiring"):
            continue
        day = row.expires - timedelta(days=days_before)
        facts = {"expires": row.expires.isoformat()}
        yield _found(row, "membership_expiring", row.expires.isoformat(), day, facts)


def new_arrivals(db: Session, today: date) -> Iterator[Found]:
    """The records that entered the catalogue in the seven days before ``today``, to the
    patrons who chose new arrivals of their publication types or of their subjects (a
    record with a heading of the subject, or under it: "History -- Europe" is history),
    each record once, newest first (never from what they borrowed)."""
    records = db.execute(
        select(Record.brn, Record.title, Record.author, Record.publication_type, Record.subjects)
        .where(Record.added_on >= today - timedelta(days=7), Record.added_on < today)
        .order_by(Record.added_on.desc(), Record.brn.desc())
    ).all()
    if not records:
        return
    # Each type's and each subject's records as places in ``records`` (newest first),
    # each in order and once: a patron's are the first MAX_ARRIVALS of their lists
    # merged, not a pass over every record of the week for every patron.
    by_type: dict[str, list[int]] = defaultdict(list)
    by_subject: dict[str, list[int]] = defaultdict(list)
    for place, record in enumerate(records):
        by_type[record.publication_type].append(place)
        for heading in headings(record.subjects or ""):
            listed = by_subject[broad(heading).casefold()]
            if not listed or listed[-1] != place:
                listed.append(place)
    patrons = db.execute(
        select(Patron.arrivals, Patron.arrival_subjects, *_PATRON).where(
            Patron.notices.contains("new_arrivals"),
            or_(Patron.arrivals != "", Patron.arrival_subjects != ""),
        )
    )
    year, week, _ = today.isocalendar()
    label = f"{year}-W{week:02d}"
    for patron in patrons:
        if not _wants(patron, "new_arrivals"):
            continue
        lists = [by_type.get(code, []) for code in patron.arrivals.split(",")]
        lists += [
            by_subject.get(broad(subject).casefold(), [])
            for subject in headings(patron.arrival_subjects)
        ]
        # The lists are sorted: each place once, in order, and only as many as shown.
        places = list(islice((place for place, _ in groupby(heapq.merge(*lists))), MAX_ARRIVALS))
        items = [
            {"title": records[place].title, "author": records[place].author} for place in places
        ]
        if items:
            yield _found(patron, "new_arrivals", label, today, {"week": label, "items": items})


@dataclass(frozen=True, slots=True)
class Standing:
    """What is still true of some patrons when their notices are about to go: each
    loan (barcode, due) and each ready hold, by patron."""

    loans: dict[str, set[tuple[str, str]]]
    ready_holds: dict[str, set[int]]


def standing(db: Session, patron_ids: Iterable[str]) -> Standing:
    wanted = set(patron_ids)
    loans: dict[str, set[tuple[str, str]]] = defaultdict(set)
    holds: dict[str, set[int]] = defaultdict(set)
    if wanted:
        for patron_id, barcode, due in db.execute(
            select(Loan.patron_id, Loan.item_barcode, Loan.due).where(Loan.patron_id.in_(wanted))
        ):
            loans[patron_id].add((barcode, due))
        for patron_id, hold_id in db.execute(
            select(Hold.patron_id, Hold.id).where(Hold.patron_id.in_(wanted), Hold.ready)
        ):
            holds[patron_id].add(hold_id)
    return Standing(loans, holds)


def still_true(
    kind: str, patron_id: str, facts: dict[str, Any], now: Standing
) -> dict[str, Any] | None:
    """A notice's facts as far as they still hold when it is to go (a book returned or
    renewed since is left out, a hold collected or cancelled drops the notice); None
    when nothing of it does. Receipts, memberships and new arrivals stand as found."""
    if kind in ("due_soon", "overdue"):
        on_loan = now.loans.get(patron_id, set())
        items = [
            item
            for item in facts["items"]
            if "barcode" not in item or (item["barcode"], item["due"]) in on_loan
        ]
        if not items:
            return None
        if kind == "overdue" and len(items) != len(facts["items"]):
            total = sum((Decimal(item["fine"]) for item in items), ZERO)
            return {**facts, "items": items, "total": str(money(total))}
        return {**facts, "items": items}
    if kind in ("hold_ready", "hold_expiring") and "hold" in facts:
        return facts if facts["hold"] in now.ready_holds.get(patron_id, set()) else None
    return facts
