"""Holds: patrons waiting for an item, or for any copy of a title (a catalogue record),
in the order they asked (or staff put them in).

The first hold of an item that is on the hold shelf is *ready*; the kiosks lend the
item to that patron alone (``on_hold_for_other``). A title hold waits in its record's
queue until a copy of the record comes back (``apply.Applying.trap``): the copy is then
*trapped* for it and it becomes the copy's ready first hold. A hold names the branch
where its patron collects it (its pickup, once the library has branches): a copy
trapped at another branch goes there in transit and is ready once it arrives
(``kiosk.rules.route_return``). Every change here is a staff write
(``ChangeLog.lock``) entered in the change log and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from kiosk.central import audit
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import IN_TRANSIT, branch_codes, branch_problem
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.circulation.lookup import item_record
from kiosk.central.circulation.policy import policy_in_force
from kiosk.central.errors import CentralError
from kiosk.central.models import Branch, Hold, Item, Loan, Patron, Record
from kiosk.rules import Item as RulesItem
from kiosk.rules import Policy, Refusal, Route, lending_closed, route_return
from kiosk.rules.model import AVAILABLE
from kiosk.sync.protocol import Entity

# An item in one of these is not coming back to the shelf: no hold can be placed on it.
UNHOLDABLE = ("withdrawn", "lost", "missing")


class HoldRefused(CentralError):
    """A hold the decision path will not place. ``reason`` names why, for a caller that
    says it in its own words (the patron portal, in the patron's language); the message
    is staff's: ``CARD`` (barred or expired, asking by device or portal), ``UNHOLDABLE``
    (no copy can come back), ``ON_LOAN`` (the patron has a copy), ``WAITING`` (in the
    queue already), ``COPY_HELD`` (holding one copy of the title already), ``PICKUP``
    (no such branch to collect at), ``NOT_LENDABLE`` (the patron's member type may never
    borrow the title's publication type while the policy stands: ``refusals``, the
    rules' reasons, say why, whoever asks)."""

    CARD = "card"
    UNHOLDABLE = "unholdable"
    ON_LOAN = "on_loan"
    WAITING = "waiting"
    COPY_HELD = "copy_held"
    PICKUP = "pickup"
    NOT_LENDABLE = "not_lendable"

    def __init__(self, reason: str, message: str, refusals: tuple[Refusal, ...] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.refusals = refusals


@dataclass(frozen=True, slots=True)
class QueuedHold:
    """``item_barcode``: the copy held (None for a title hold no copy is trapped for);
    ``brn``: the record of a title hold (None for an item hold); ``position``: the place
    in the copy's queue, or in the record's for a waiting title hold; ``pickup``: the
    branch where it is collected (None: wherever its copy is trapped)."""

    hold_id: int
    item_barcode: str | None
    patron_id: str
    position: int  # 1 = next
    ready: bool
    placed_at: datetime
    ready_at: datetime | None
    title: str
    brn: int | None = None
    pickup: str | None = None

    @property
    def on_title(self) -> bool:
        return self.brn is not None


@dataclass(frozen=True, slots=True)
class ShelfHold:
    hold: QueuedHold
    patron_name: str
    expires: datetime
    expired: bool


def _queued(hold: Hold, position: int) -> QueuedHold:
    return QueuedHold(
        hold.id,
        hold.item_barcode,
        hold.patron_id,
        position,
        hold.ready,
        hold.placed_at,
        hold.ready_at,
        hold.title,
        hold.brn,
        hold.pickup,
    )


def _in_queue(barcode: str | None, brn: int | None) -> ColumnElement[bool]:
    """The holds of one queue: a copy's (its item holds and a title hold trapped for
    it), or a record's waiting title holds."""
    if barcode is not None:
        return Hold.item_barcode == barcode
    return and_(Hold.brn == brn, Hold.item_barcode.is_(None))


def _queue(db: Session, barcode: str | None, brn: int | None = None) -> list[Hold]:
    return list(
        db.scalars(select(Hold).where(_in_queue(barcode, brn)).order_by(Hold.position, Hold.id))
    )


def queue(db: Session, barcode: str) -> list[QueuedHold]:
    """The item's hold queue, next first, numbered from 1."""
    return [_queued(hold, n) for n, hold in enumerate(_queue(db, barcode), start=1)]


def title_queue(db: Session, brn: int) -> list[QueuedHold]:
    """The record's waiting title holds (no copy trapped for them yet), next first."""
    return [_queued(hold, n) for n, hold in enumerate(_queue(db, None, brn), start=1)]


def patron_holds(db: Session, patron_id: str) -> list[QueuedHold]:
    """The patron's holds, each with its place in its queue (its copy's, or its
    record's while no copy is trapped for it)."""
    rows = []
    for hold in db.scalars(select(Hold).where(Hold.patron_id == patron_id).order_by(Hold.id)):
        ahead = db.scalar(
            select(func.count())
            .select_from(Hold)
            .where(_in_queue(hold.item_barcode, hold.brn), Hold.position < hold.position)
        )
        rows.append(_queued(hold, (ahead or 0) + 1))
    return rows


def hold_shelf(
    db: Session, now: datetime, keep_days: int, *, branch: str | None = None
) -> list[ShelfHold]:
    """Every ready hold (on branch ``branch``'s shelf, or on any), longest waiting first,
    with when it stops being kept. A hold with no pickup (placed before branches) is
    ready wherever its copy was trapped: it is on every branch's list."""
    query = (
        select(Hold, Patron.first_name, Patron.surname)
        .join(Patron, Patron.patron_id == Hold.patron_id)
        .where(Hold.ready.is_(True))
        .order_by(Hold.ready_at, Hold.id)
    )
    if branch is not None:
        query = query.where(or_(Hold.pickup == branch, Hold.pickup.is_(None)))
    rows = db.execute(query).all()
    shelf = []
    for hold, first_name, surname in rows:
        since = hold.ready_at or hold.placed_at
        expires = since + timedelta(days=keep_days)
        shelf.append(
            ShelfHold(_queued(hold, 1), f"{surname}, {first_name}", expires, now >= expires)
        )
    return shelf


def _renumber(log: ChangeLog, holds: list[Hold], now: datetime, *, on_shelf: bool) -> None:
    """Number the queue 1, 2, ... in its new order; when the item waits on the hold
    shelf, its first hold is the ready one. Each hold that changed goes to the kiosks."""
    for position, hold in enumerate(holds, start=1):
        ready = on_shelf and position == 1
        if hold.position != position or hold.ready != ready:
            hold.position = position
            if hold.ready != ready:
                hold.ready, hold.ready_at = ready, now if ready else None
            log.hold(hold)


def _audit(
    db: Session, now: datetime, actor: Actor, *, action: str, hold: Hold, detail: str
) -> None:
    audit.record(
        db,
        now,
        actor=actor.username,
        action=action,
        target=f"item {hold.item_barcode}" if hold.item_barcode else f"title {hold.brn}",
        origin=actor.origin,
        detail=f"patron {hold.patron_id}; {detail}",
    )


def _holder(db: Session, patron_id: str, now: datetime, actor: Actor) -> Patron:
    """The patron a hold is placed for, if they may place one."""
    patron = db.get(Patron, patron_id)
    if patron is None:
        raise CentralError("no such patron: find them again with the search")
    if actor.channel in ("sip2", "portal", "kiosk") and (
        patron.barred or (patron.expires is not None and patron.expires < now.date())
    ):
        # A device, the portal or a kiosk asks for the patron; staff (desk, terminal) may
        # decide.
        raise HoldRefused(
            HoldRefused.CARD, "this card can't place holds at the moment: please ask staff"
        )
    return patron


def _lendable(
    db: Session, patron: Patron, record: Record | None, now: datetime, policy: Policy | None
) -> None:
    """Refused (``HoldRefused.NOT_LENDABLE``) when the patron's member type may never
    borrow the record's publication type while the policy stands
    (``kiosk.rules.lending_closed``: no privilege, a quota of 0, lending closed), as the
    kiosks decide it: the copy would wait on the hold shelf for someone who may not take
    it. Staff are refused too: a hold they place could never be collected. Nothing is
    decided without a policy, or for types it does not know."""
    in_force = policy if policy is not None else _policy(db)
    if (
        in_force is None
        or record is None
        or patron.member_type not in in_force.member_types
        or record.publication_type not in in_force.publication_types
    ):
        return
    closed = lending_closed(in_force, patron.member_type, record.publication_type, now.date())
    if closed:
        why = " ".join(refusal.message for refusal in closed)
        raise HoldRefused(
            HoldRefused.NOT_LENDABLE,
            f"the patron may not borrow {record.title}, so it can't be held for them: {why}",
            closed,
        )


def _policy(db: Session) -> Policy | None:
    found = policy_in_force(db)
    return found.policy if found is not None else None


def default_pickup(db: Session, patron: Patron | None = None) -> str | None:
    """Where a hold is collected when no one chose: the patron's home branch while it is
    one of the library's, else the library's first branch by code (None: a library
    without branches)."""
    home = patron.home_branch if patron is not None else None
    if home is not None and db.get(Branch, home) is not None:
        return home
    return db.scalar(select(Branch.code).order_by(Branch.code).limit(1))


def _pickup(db: Session, pickup: str | None, patron: Patron) -> str | None:
    """The branch a hold is to be collected at: ``pickup`` if it is one of the library's
    branches, the patron's default when None; refused otherwise."""
    if pickup is None:
        return default_pickup(db, patron)
    problem = branch_problem(pickup, branch_codes(db))
    if problem is not None:
        raise HoldRefused(HoldRefused.PICKUP, f"the hold can't be collected there: {problem}")
    return pickup


def place_hold(
    db: Session,
    patron_id: str,
    barcode: str,
    now: datetime,
    actor: Actor,
    *,
    pickup: str | None = None,
) -> Hold:
    """Put the patron at the end of the item's hold queue, to collect it at branch
    ``pickup`` (None: ``default_pickup``); a hold on an item on the shelf with no queue
    is ready at once when it is on the shelf where it is to be collected (one elsewhere
    waits to be checked in there, which sends it on)."""
    log = ChangeLog(db)
    log.lock()
    try:
        patron = _holder(db, patron_id, now, actor)
        pickup = _pickup(db, pickup, patron)
        barcode = barcode.strip()
        item = db.get(Item, barcode)
        if item is None:
            raise CentralError(f"no item has barcode {barcode}")
        if item.status in UNHOLDABLE:
            raise CentralError(f"item {barcode} is recorded as {item.status}: it cannot be held")
        _lendable(db, patron, db.get(Record, item.brn), now, None)
        loan = db.get(Loan, barcode)
        if loan is not None and loan.patron_id == patron_id:
            raise CentralError(f"the patron has item {barcode} on loan already")
        holds = _queue(db, barcode)
        if any(hold.patron_id == patron_id for hold in holds):
            raise CentralError(f"the patron is in item {barcode}'s hold queue already")
        record = db.get(Record, item.brn)
        if db.scalar(
            select(func.count())
            .select_from(Hold)
            .where(Hold.brn == item.brn, Hold.patron_id == patron_id)
        ):
            title = record.title if record else "this title"
            raise CentralError(
                f"the patron is waiting for any copy of {title} already: "
                "cancel that hold first to wait for this copy"
            )
        # A copy whose home is no branch is wherever it is: no one can send it anywhere.
        here = (
            pickup is None
            or item.home_location == pickup
            or item.home_location not in branch_codes(db)
        )
        ready = loan is None and not holds and item.status == "available" and here
        hold = Hold(
            item_barcode=barcode,
            patron_id=patron_id,
            position=(holds[-1].position if holds else 0) + 1,
            ready=ready,
            ready_at=now if ready else None,
            title=record.title if record else "",
            placed_at=now,
            pickup=pickup,
        )
        db.add(hold)
        db.flush()
        log.hold(hold)
        _audit(db, now, actor, action="hold.place", hold=hold, detail=f"position {len(holds) + 1}")
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return hold


def place_title_hold(
    db: Session,
    patron_id: str,
    brn: int,
    now: datetime,
    actor: Actor,
    *,
    pickup: str | None = None,
) -> Hold:
    """Put the patron at the end of the record's title queue, to collect at branch
    ``pickup`` (None: ``default_pickup``): the next copy of it to come back is trapped
    for the first in that queue. A copy on the shelf now is not trapped by it
    (lending-rules.md): whoever comes to the shelf first borrows it, and a checkout of
    it by the first in the queue fulfils the hold."""
    log = ChangeLog(db)
    log.lock()
    try:
        hold = add_title_hold(db, log, patron_id, brn, now=now, actor=actor, pickup=pickup)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return hold


def add_title_hold(
    db: Session,
    log: ChangeLog,
    patron_id: str,
    brn: int,
    *,
    now: datetime,
    actor: Actor,
    pickup: str | None = None,
    policy: Policy | None = None,
) -> Hold:
    """``place_title_hold``'s decision and its writes, in the caller's transaction under
    the caller's locks (staff's ``log.lock()``; a kiosk's push holds the patron's and the
    record's): refused with ``HoldRefused`` (or ``CentralError``), else the hold added,
    entered in ``log`` and audited. The caller commits. ``policy``: the policy in force
    when the caller has read it already (None: read here)."""
    patron = _holder(db, patron_id, now, actor)
    pickup = _pickup(db, pickup, patron)
    record = db.get(Record, brn)
    if record is None:
        raise CentralError(f"no title has record number {brn}")
    _lendable(db, patron, record, now, policy)
    copies = list(db.scalars(select(Item.barcode).where(Item.brn == brn)))
    holdable = db.scalar(
        select(func.count())
        .select_from(Item)
        .where(Item.brn == brn, Item.status.not_in(UNHOLDABLE))
    )
    if not holdable:
        raise HoldRefused(
            HoldRefused.UNHOLDABLE,
            f"no copy of {record.title} can come back to be lent: it cannot be held",
        )
    if copies and db.scalar(
        select(func.count())
        .select_from(Loan)
        .where(Loan.item_barcode.in_(copies), Loan.patron_id == patron_id)
    ):
        raise HoldRefused(
            HoldRefused.ON_LOAN, f"the patron has a copy of {record.title} on loan already"
        )
    if db.scalar(
        select(func.count()).select_from(Hold).where(Hold.brn == brn, Hold.patron_id == patron_id)
    ):
        raise HoldRefused(HoldRefused.WAITING, f"the patron is waiting for {record.title} already")
    held_copy = (
        db.scalar(
            select(Hold.item_barcode)
            .where(Hold.item_barcode.in_(copies), Hold.patron_id == patron_id)
            .limit(1)
        )
        if copies
        else None
    )
    if held_copy is not None:
        raise HoldRefused(
            HoldRefused.COPY_HELD,
            f"the patron has a hold on copy {held_copy} of {record.title} already: "
            "cancel it first to wait for any copy",
        )
    waiting = _queue(db, None, brn)
    hold = Hold(
        item_barcode=None,
        brn=brn,
        patron_id=patron_id,
        position=(waiting[-1].position if waiting else 0) + 1,
        ready=False,
        ready_at=None,
        title=record.title,
        placed_at=now,
        pickup=pickup,
    )
    db.add(hold)
    db.flush()
    log.hold(hold)
    _audit(db, now, actor, action="hold.place", hold=hold, detail=f"position {len(waiting) + 1}")
    return hold


def place_title_hold_by_copy(
    db: Session,
    patron_id: str,
    barcode: str,
    now: datetime,
    actor: Actor,
    *,
    pickup: str | None = None,
) -> Hold:
    """A title hold on the record of the copy ``barcode`` (a copy staff or a device
    scanned)."""
    brn = item_record(db, barcode)
    if brn is None:
        raise CentralError(f"no item has barcode {barcode.strip()}")
    return place_title_hold(db, patron_id, brn, now, actor, pickup=pickup)


def place_hold_by_card(
    db: Session,
    card: str,
    barcode: str,
    now: datetime,
    actor: Actor,
    *,
    pickup: str | None = None,
) -> Hold:
    patron_id = db.scalar(select(Patron.patron_id).where(Patron.card == card.strip()))
    if patron_id is None:
        raise CentralError("no patron has that card")
    return place_hold(db, patron_id, barcode, now, actor, pickup=pickup)


def _existing(db: Session, hold_id: int) -> Hold:
    hold = db.get(Hold, hold_id)
    if hold is None:
        raise CentralError("no such hold: it may have been cancelled or collected meanwhile")
    return hold


def cancel_hold(db: Session, hold_id: int, now: datetime, actor: Actor, reason: str = "") -> None:
    """Take the hold out of its queue. When it was ready, the item stays on the hold
    shelf for the next in the queue, or failing one for the first title hold on its
    record, if any; or goes in transit to where that patron collects, when elsewhere."""
    log = ChangeLog(db)
    log.lock()
    try:
        hold = _existing(db, hold_id)
        was_ready = hold.ready
        rest = [other for other in _queue(db, hold.item_barcode, hold.brn) if other.id != hold.id]
        db.delete(hold)
        log.remove(Entity.HOLD, str(hold.id))
        _renumber(log, rest, now, on_shelf=was_ready)
        if was_ready and hold.item_barcode is not None:
            # The copy is on the hold shelf where the cancelled hold was to be collected.
            if rest:
                _send_to_pickup(db, log, hold.item_barcode, rest[0], where=hold.pickup)
            else:
                _trap_for_title(db, log, hold.item_barcode, now, where=hold.pickup)
        _audit(
            db,
            now,
            actor,
            action="hold.cancel",
            hold=hold,
            detail=reason.strip()[:200] or "cancelled",
        )
        db.commit()
    except BaseException:
        db.rollback()
        raise


def move_hold(db: Session, hold_id: int, position: int, now: datetime, actor: Actor) -> None:
    """Put the hold at ``position`` (1 = next) in its queue. When the item waits on the
    hold shelf, it then waits for whoever is first: there, or in transit to where they
    collect, when elsewhere."""
    log = ChangeLog(db)
    log.lock()
    try:
        hold = _existing(db, hold_id)
        holds = _queue(db, hold.item_barcode, hold.brn)
        if not 1 <= position <= len(holds):
            raise CentralError(f"choose a place from 1 to {len(holds)}")
        waiting = next((other for other in holds if other.ready), None)
        holds.remove(hold)
        holds.insert(position - 1, hold)
        _renumber(log, holds, now, on_shelf=waiting is not None)
        if waiting is not None and holds[0] is not waiting and hold.item_barcode is not None:
            # The copy is on the hold shelf where the hold it waited for is collected.
            _send_to_pickup(db, log, hold.item_barcode, holds[0], where=waiting.pickup)
        _audit(db, now, actor, action="hold.move", hold=hold, detail=f"to position {position}")
        db.commit()
    except BaseException:
        db.rollback()
        raise


def change_pickup(
    db: Session,
    hold_id: int,
    pickup: str,
    now: datetime,
    actor: Actor,
    *,
    patron_id: str | None = None,
) -> Hold:
    """The hold is now to be collected at branch ``pickup``, which must be one of the
    library's branches (refused otherwise, naming the nearest, nothing changed).
    ``patron_id``: the patron asking for their own hold (the portal); another's is
    refused as no such hold.

    A hold no copy is trapped for only changes its pickup. A ready hold's copy waits on
    the hold shelf where it was to be collected: it goes in transit to the new pickup,
    and the hold is ready again only once it arrives there (``route_return``, as a
    cancelled hold's next patron). A copy already in transit for the hold goes on to the
    new pickup instead. Entered in the change log for the kiosks, and audited."""
    log = ChangeLog(db)
    log.lock()
    try:
        hold = _existing(db, hold_id)
        if patron_id is not None and hold.patron_id != patron_id:
            raise CentralError("no such hold: it may have been cancelled or collected meanwhile")
        codes = branch_codes(db)
        problem = branch_problem(pickup, codes) if codes else "the library has no branches"
        if problem is not None:
            raise HoldRefused(HoldRefused.PICKUP, f"the hold can't be collected there: {problem}")
        before = hold.pickup
        if before == pickup:
            raise HoldRefused(
                HoldRefused.PICKUP, f"the hold is to be collected at {pickup} already"
            )
        hold.pickup = pickup
        log.hold(hold)
        item = db.get(Item, hold.item_barcode) if hold.item_barcode is not None else None
        first = item is not None and hold.position == 1 and db.get(Loan, item.barcode) is None
        if item is not None and first and hold.ready:
            # On the hold shelf where it was to be collected (a hold from before branches:
            # where its copy lives), sent on to the new pickup.
            where = before or item.home_location
            _send_to_pickup(db, log, item.barcode, hold, where=where)
        elif item is not None and first and item.status == IN_TRANSIT and item.transit_to == before:
            if item.transit_from == pickup:
                # Still on the hold shelf where it is now to be collected (never sent):
                # ready there again.
                item.status, item.transit_to, item.transit_from = AVAILABLE, None, None
                hold.ready, hold.ready_at = True, now
                log.hold(hold)
            else:
                # On its way to the old pickup for this hold: it goes on to the new one.
                item.transit_to = pickup
            log.item(item)
        _audit(
            db,
            now,
            actor,
            action="hold.pickup",
            hold=hold,
            detail=f"collected at {pickup}, was {before or 'where trapped'}",
        )
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return hold


def _trap_for_title(
    db: Session, log: ChangeLog, barcode: str, now: datetime, *, where: str | None
) -> None:
    """The copy waits on the hold shelf of branch ``where`` with no one left in its
    queue: it is trapped for the first title hold on its record (``kiosk.rules.trap_for``),
    if any and the copy is not lent meanwhile: ready there, or sent in transit to where
    that patron collects (``kiosk.rules.route_return``)."""
    item = db.get(Item, barcode)
    if item is None or db.get(Loan, barcode) is not None:
        return
    waiting = _queue(db, None, item.brn)
    if waiting:
        first = waiting[0]
        first.item_barcode, first.position = barcode, 1
        first.ready, first.ready_at = True, now
        log.hold(first)
        _send_to_pickup(db, log, barcode, first, where=where)


def _send_to_pickup(
    db: Session, log: ChangeLog, barcode: str, first: Hold, *, where: str | None
) -> None:
    """The copy on the hold shelf of branch ``where`` is now ``first``'s, who collects
    at another branch (``kiosk.rules.route_return``): it goes in transit there and the
    hold is not ready until it arrives. It is still on that shelf, where no check-in
    sorted it: ``transit_from`` names ``where``, whose staff the In transit page tells to
    send it (``branches.to_send``), until it is checked in. Otherwise it stays ready
    where it is."""
    pickups = {first.patron_id: first.pickup} if first.pickup is not None else {}
    routing = route_return(RulesItem("", trapped_for=first.patron_id, pickups=pickups), where)
    item = db.get(Item, barcode)
    if routing.route is not Route.TRANSFER or item is None:
        return
    item.status, item.transit_to = IN_TRANSIT, routing.destination
    item.transit_from = where
    log.item(item)
    first.ready, first.ready_at = False, None
    log.hold(first)
