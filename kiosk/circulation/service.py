"""The kiosk's use cases: identify (with what waits for the patron), checkout, return,
renew, account, membership renewal, a title hold, fault.

Each decision is made on one consistent reading of mirror + journal, recorded
in the journal and committed (``synchronous=FULL``) before its view is returned:
whatever the caller shows has already survived a power cut.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from kiosk.circulation.views import (
    FEEDBACK_RATINGS,
    AccountAnswer,
    CheckoutAnswer,
    CheckoutStatus,
    FaultAnswer,
    FeedbackReason,
    Greeting,
    HoldAnswer,
    HoldLine,
    HoldStatus,
    Identification,
    IdentifyStatus,
    LoanLine,
    MembershipAnswer,
    MembershipStatus,
    OutOfService,
    PatronSession,
    RenewAnswer,
    RenewStatus,
    ReturnAnswer,
    ReturnStatus,
    SortingBins,
    Unavailable,
)
from kiosk.common import pins
from kiosk.common.clock import Clock
from kiosk.rules import (
    InvalidPolicy,
    Policy,
    Route,
    assess_fault,
    assess_return,
    decide_checkout,
    decide_membership_renewal,
    decide_renewal,
    lending_closed,
    read_policy,
    route_return,
)
from kiosk.rules.model import AVAILABLE, money
from kiosk.rules.reasons import Reason
from kiosk.store.errors import StoreFull
from kiosk.store.store import MirrorHealth, Store
from kiosk.store.world import (
    CHECKOUT,
    FAULT,
    FEEDBACK,
    HOLD,
    MEMBERSHIP,
    ON_LOAN,
    PIN,
    RECEIPT,
    RENEW,
    RETURN,
    UNKNOWN,
    CurrentLoan,
    ItemState,
    NewEntry,
    PatronState,
    World,
)

log = logging.getLogger(__name__)

# The greeting names the loans due within this many days, and a membership ending within
# this many when the patron may not renew it here (the policy's window says, when it has
# one).
DUE_SOON_DAYS = 3
MEMBERSHIP_NOTICE_DAYS = 30
_SOON = timedelta(days=DUE_SOON_DAYS)

# A copy on its way to another branch: lent once it has arrived (checked in there).
IN_TRANSIT = "in_transit"
# A copy in one of these is not coming back to be lent: no hold is offered through it
# (the server's circulation.holds.UNHOLDABLE).
UNHOLDABLE = ("withdrawn", "lost", "missing")
# A copy refused for these alone may be waited for: a hold on its title is offered.
_WAITED_FOR = frozenset({Reason.ON_HOLD_FOR_OTHER, Reason.ITEM_UNAVAILABLE})
# A card refused for these cannot place a hold either (as the portal and SIP2 refuse).
_CARD_REFUSED = frozenset({Reason.PATRON_BARRED, Reason.MEMBERSHIP_EXPIRED})

# A Pi has no battery-backed clock: before this, its time is certainly wrong.
EARLIEST_TRUSTED_TIME = datetime(2026, 1, 1)


def clock_trusted(now: datetime, latest: datetime | None) -> bool:
    """Whether the clock can be believed: not before the project's own date, and not
    behind the latest time the journal recorded (a clock that ran back would misdate
    loans and fines)."""
    return now >= EARLIEST_TRUSTED_TIME and (latest is None or now >= latest)


@dataclass(frozen=True, slots=True)
class OfflineGuard:
    """kiosk.toml's [offline]: once the mirror has not been refreshed for longer than
    ``max_age``, the kiosk lends at most ``items`` items a patron's session, since what it
    does not know (a card blocked, a copy lent elsewhere) grows with the time offline."""

    max_age: timedelta = timedelta(hours=24)
    items: int = 3


class _Refuse(Exception):
    """A signal inside this module, never raised out of it."""

    def __init__(self, unavailable: Unavailable) -> None:
        self.unavailable = unavailable


def _locked_until(until: datetime) -> Identification:
    return Identification(IdentifyStatus.LOCKED, locked_until=until)


class Circulation:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        bins: SortingBins | None = None,
        pin_required: bool = True,
        offline: OfflineGuard | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.offline = offline or OfflineGuard()
        self.bins = bins or SortingBins()
        self.pin_required = pin_required
        self._policy: tuple[str, Policy] | None = None

    # --- plumbing ---------------------------------------------------------------------

    def _run(self, decide: Any) -> Any:
        """Run ``decide(world, now)`` in one journal transaction (journal first, then the
        mirror's snapshot: see kiosk.store.world), committed before the answer is returned;
        a full disk or a refusal to serve becomes Unavailable."""
        now = self.clock.now()
        try:
            with self.store.world() as world:
                self._check_ready(world, now)
                return decide(world, now)
        except _Refuse as refused:
            return refused.unavailable
        except StoreFull:
            log.error("the disk is full: the transaction was not recorded")
            return Unavailable(OutOfService.DISK_FULL)

    def _check_ready(self, world: World, now: datetime) -> None:
        if self.store.mirror_health is not MirrorHealth.READY:
            self.store.refresh_health()
        if self.store.mirror_health is not MirrorHealth.READY:
            raise _Refuse(Unavailable(OutOfService.MIRROR_EMPTY))
        latest = world.latest_time()
        if not clock_trusted(now, latest):
            log.error("the clock reads %s, before the latest recorded time %s", now, latest)
            raise _Refuse(Unavailable(OutOfService.CLOCK_UNTRUSTED))

    def _offline_limit(self, world: World, now: datetime) -> int | None:
        """The items a session may have while the mirror is too old; None: no limit."""
        synced = world.mirror_synced_at()
        if synced is not None and now - synced <= self.offline.max_age:
            return None
        return self.offline.items

    def mirror_age(self) -> tuple[datetime | None, bool]:
        """When the mirror was last refreshed, and whether the offline guard is on: for
        staff mode and ``kiosk status``."""

        def read(world: World, now: datetime) -> tuple[datetime | None, bool]:
            return world.mirror_synced_at(), self._offline_limit(world, now) is not None

        answer = self._run(read)
        return (None, False) if isinstance(answer, Unavailable) else answer

    def library_message(self) -> dict[str, str]:
        """The library's message on Welcome by language as staff set it in the console,
        from the mirror (none while it cannot be read: kiosk.toml's stands)."""
        answer = self._run(lambda world, _now: world.library_message())
        return {} if isinstance(answer, Unavailable) else dict(answer)

    def readiness(self) -> OutOfService | None:
        """Why the kiosk cannot lend now, or None; checked as a transaction would be."""
        answer = self._run(lambda world, _now: self.policy(world))
        return answer.cause if isinstance(answer, Unavailable) else None

    def policy(self, world: World) -> Policy:
        version = world.policy_version()
        if version is None:
            raise _Refuse(Unavailable(OutOfService.MIRROR_EMPTY))
        if self._policy is None or self._policy[0] != version:
            try:
                policy = read_policy(json.loads(world.policy_document(), parse_float=Decimal))
            except (InvalidPolicy, ValueError) as error:
                log.error("the mirror's policy is unusable: %s", error)
                raise _Refuse(Unavailable(OutOfService.MIRROR_EMPTY)) from error
            self._policy = (version, policy)
        return self._policy[1]

    def _record(
        self,
        world: World,
        now: datetime,
        kind: str,
        *,
        item_barcode: str,
        patron_id: str | None,
        details: dict[str, Any],
        status_after: str,
        loan: CurrentLoan | None,
        charged: Decimal = Decimal("0.00"),
        fulfilled_hold_of: str | None = None,
    ) -> str:
        """Append the decision, with the item's whole state after it, to the journal."""
        entry_id = str(uuid.uuid4())
        world.append(
            NewEntry(
                id=entry_id,
                kind=kind,
                decided_at=now,
                item_barcode=item_barcode,
                patron_id=patron_id,
                payload=json.dumps(details, default=str),
                status_after=status_after,
                loan=loan,
                charged=charged,
                fulfilled_hold_of=fulfilled_hold_of,
            )
        )
        return entry_id

    # --- identify ---------------------------------------------------------------------

    def identify(  # noqa: PLR0911 - one answer per way a card can fail
        self, card: str, pin: str | None
    ) -> Identification | Unavailable:
        def look_up(world: World, now: datetime) -> tuple[PatronState | None, bool]:
            patron = world.patron_by_card(card)
            return patron, patron is not None and patron.pin.locked_at(now)

        found = self._run(look_up)
        if isinstance(found, Unavailable):
            return found
        patron, locked = found
        if patron is None:
            return Identification(IdentifyStatus.UNKNOWN_CARD)
        if locked:
            assert patron.pin.locked_until is not None
            return _locked_until(patron.pin.locked_until)
        typed = False
        if self.pin_required:
            if patron.pin_verifier is None:
                return Identification(IdentifyStatus.NO_PIN_SET)
            if pin is None:
                return Identification(IdentifyStatus.PIN_NEEDED)
            if not pins.pin_matches(patron.pin_verifier, pin):
                return self._wrong_pin(patron.patron_id)
            typed = True

        def welcome(world: World, now: datetime) -> Greeting:
            if typed and patron.pin != pins.PinState():
                # Wrong PINs were counted (here or elsewhere): the right one clears them
                # everywhere once the server has it.
                self._typed_pin(world, now, patron.patron_id, right=True)
            return self._greeting(world, now, patron)

        greeting = self._run(welcome)
        if isinstance(greeting, Unavailable):
            return greeting
        return self._welcome(patron, greeting)

    @staticmethod
    def _elsewhere(world: World, pickup: str | None) -> str:
        """The name of branch ``pickup`` when a hold collected there waits on another
        branch's hold shelf than this kiosk's ("": here, or no name known)."""
        if pickup is None or pickup == world.branch:
            return ""
        return world.branch_name(pickup) or ""

    def _greeting(self, world: World, now: datetime, patron: PatronState) -> Greeting:
        """What waits for the patron: one read of their loans and ready holds beside the
        patron already read."""
        dues, ready = world.waiting_for(patron.patron_id)
        today = now.date()
        overdue = [due for due in dues if due.overdue_days(now) > 0]
        soon = sorted(
            (due for due in dues if due not in overdue and due.day <= today + _SOON),
            key=lambda due: due.isoformat(),
        )
        member = self.policy(world).member_types.get(patron.member_type)
        renewable = (
            member is not None
            and member.renewal_window_days is not None
            and member.renewal_period_days is not None
        )
        notice_days = (
            member.renewal_window_days
            if renewable and member is not None and member.renewal_window_days is not None
            else MEMBERSHIP_NOTICE_DAYS
        )
        ends = patron.expires
        if ends is not None and (ends - today).days > notice_days:
            ends = None
        return Greeting(
            holds_ready=tuple(title for title, _ in ready),
            ready_where=tuple(self._elsewhere(world, pickup) for _, pickup in ready),
            overdue=len(overdue),
            due_soon=len(soon),
            next_due=soon[0] if soon else None,
            owed=patron.owed,
            membership_ends=ends,
            renewable=renewable and ends is not None,
            offline_limit=self._offline_limit(world, now),
        )

    def _welcome(self, patron: PatronState, greeting: Greeting) -> Identification:
        rules_patron = patron.as_rules_patron()
        expires = rules_patron.expires
        expired_on = expires if expires is not None and expires < self.clock.now().date() else None
        session = PatronSession(
            patron.patron_id,
            patron.first_name,
            patron.member_type,
            expired_on=expired_on,
            barred=rules_patron.barred,
            has_email=patron.has_email,
        )
        return Identification(IdentifyStatus.IDENTIFIED, session=session, greeting=greeting)

    def _wrong_pin(self, patron_id: str) -> Identification | Unavailable:
        def count(world: World, now: datetime) -> Identification:
            # Read again within this transaction: the count as it stands now, with any
            # PIN typed since the card was read.
            patron = world.patron(patron_id)
            before = patron.pin if patron is not None else pins.PinState()
            self._typed_pin(world, now, patron_id, right=False)
            after = before.after(right=False, at=now)
            if after.locked_until is not None:
                log.warning("a card was locked after %d wrong PINs", pins.MAX_WRONG_PINS)
                return _locked_until(after.locked_until)
            return Identification(IdentifyStatus.WRONG_PIN, attempts_left=after.attempts_left())

        result: Identification | Unavailable = self._run(count)
        return result

    def _typed_pin(self, world: World, now: datetime, patron_id: str, *, right: bool) -> None:
        """A PIN typed here, for the server to count with those typed elsewhere."""
        self._record(
            world,
            now,
            PIN,
            item_barcode="",
            patron_id=patron_id,
            details={"right": right},
            status_after="",
            loan=None,
        )

    # --- checkout ---------------------------------------------------------------------

    def checkout(
        self, session: PatronSession, barcode: str, *, lent_in_session: int = 0
    ) -> CheckoutAnswer | Unavailable:
        """Lend ``barcode``; ``lent_in_session``: the items this session has had, which
        the offline guard counts."""

        def decide(world: World, now: datetime) -> CheckoutAnswer:
            policy = self.policy(world)
            patron = world.patron(session.patron_id)
            item = world.item(barcode)
            if item is None or patron is None:
                return CheckoutAnswer(CheckoutStatus.UNKNOWN_ITEM, barcode, "")
            if item.loan is not None and item.loan.patron_id == patron.patron_id:
                return CheckoutAnswer(
                    CheckoutStatus.ALREADY_YOURS, barcode, item.title, due=item.loan.due
                )
            limit = self._offline_limit(world, now)
            if limit is not None and lent_in_session >= limit:
                return CheckoutAnswer(
                    CheckoutStatus.OFFLINE_LIMIT, barcode, item.title, offline_limit=limit
                )
            held = [loan.publication_type for loan in world.loans_of(patron.patron_id)]
            decision = decide_checkout(
                policy, patron.as_rules_patron(), held, item.as_rules_item(), now
            )
            if not decision.allowed or decision.due is None:
                return CheckoutAnswer(
                    CheckoutStatus.REFUSED,
                    barcode,
                    item.title,
                    refusals=decision.refusals,
                    hold_offered=self._hold_offered(
                        world, policy, patron, item, refusals=decision.refusals, now=now
                    ),
                )
            # The copy waited for this patron (trapped here, or first in its queue), or
            # they were first in its title's queue: their hold is done.
            waited_for = item.trapped_for or (item.holds[0] if item.holds else None)
            title_hold = decision.fulfils_title_hold
            hold_fulfilled = waited_for == patron.patron_id or title_hold
            entry_id = self._record(
                world,
                now,
                CHECKOUT,
                item_barcode=barcode,
                patron_id=patron.patron_id,
                details={
                    "member_type": patron.member_type,
                    "publication_type": item.publication_type,
                    "due": decision.due.isoformat(),
                    "hold_fulfilled": hold_fulfilled,
                    "title_hold": title_hold,
                },
                status_after=ON_LOAN,
                loan=CurrentLoan(patron.patron_id, patron.member_type, decision.due, 0),
                fulfilled_hold_of=patron.patron_id if hold_fulfilled else None,
            )
            return CheckoutAnswer(
                CheckoutStatus.LENT,
                barcode,
                item.title,
                due=decision.due,
                hold_fulfilled=hold_fulfilled,
                entry_id=entry_id,
            )

        result: CheckoutAnswer | Unavailable = self._run(decide)
        return result

    def _hold_offered(
        self,
        world: World,
        policy: Policy,
        patron: PatronState,
        item: ItemState,
        *,
        refusals: Sequence[Any],
        now: datetime,
    ) -> bool:
        """Whether a hold on the copy's title is offered: the copy waits for someone else
        or cannot be lent now (and could come back), the card may place holds, the
        patron's member type may some day borrow the title's type (the rules report every
        reason: a copy on loan may be refused for no privilege as well, and a hold on it
        could never be collected: ``kiosk.rules.lending_closed``), and the patron neither
        waits for the title already nor has a copy of it."""
        reasons = {refusal.reason for refusal in refusals}
        if not reasons & _WAITED_FOR or reasons & _CARD_REFUSED:
            return False
        if item.stock_status in UNHOLDABLE:
            return False
        if lending_closed(policy, patron.member_type, item.publication_type, now.date()):
            return False
        brn = world.record_of(item.barcode)
        return brn is not None and not world.hold_obstacles(patron.patron_id, brn)

    # --- title hold ---------------------------------------------------------------------

    def place_hold(self, session: PatronSession, barcode: str) -> HoldAnswer | Unavailable:
        """A hold on the title of the copy ``barcode``, to collect at this kiosk's branch
        (none: the library's default, the server's choice), journaled as an entry of its
        own that names no item: the server places it through its decision path, as the
        portal's. Refused as the portal refuses: a card barred or expired, a member type
        that may never borrow the title's type (``kiosk.rules.lending_closed``), a hold on
        the title already (here or known to the mirror), a copy of it on loan already, a
        copy that cannot come back."""

        def decide(world: World, now: datetime) -> HoldAnswer:  # noqa: PLR0911 - one a refusal
            policy = self.policy(world)
            patron = world.patron(session.patron_id)
            item = world.item(barcode)
            brn = world.record_of(barcode)
            title = item.title if item is not None else ""
            if item is None or brn is None or item.stock_status in UNHOLDABLE:
                return HoldAnswer(HoldStatus.UNHOLDABLE, barcode, title)
            if patron is None:
                return HoldAnswer(HoldStatus.CARD, barcode, title)
            card = patron.as_rules_patron()
            if card.barred or (card.expires is not None and card.expires < now.date()):
                return HoldAnswer(HoldStatus.CARD, barcode, title)
            closed = lending_closed(policy, patron.member_type, item.publication_type, now.date())
            if closed:
                return HoldAnswer(HoldStatus.NOT_LENDABLE, barcode, title, refusals=closed)
            obstacles = world.hold_obstacles(patron.patron_id, brn)
            if "on_loan" in obstacles:
                return HoldAnswer(HoldStatus.ON_LOAN, barcode, title)
            if "waiting" in obstacles:
                return HoldAnswer(HoldStatus.WAITING, barcode, title)
            entry_id = self._record(
                world,
                now,
                HOLD,
                item_barcode="",
                patron_id=patron.patron_id,
                details={"brn": brn, "item": barcode, "pickup": world.branch},
                status_after="",
                loan=None,
            )
            return HoldAnswer(
                HoldStatus.PLACED, barcode, title, pickup=world.branch, entry_id=entry_id
            )

        result: HoldAnswer | Unavailable = self._run(decide)
        return result

    # --- return -----------------------------------------------------------------------

    def return_item(self, barcode: str) -> ReturnAnswer | Unavailable:
        """Take an item back at the drop station: no patron, no PIN."""

        def decide(world: World, now: datetime) -> ReturnAnswer:
            policy = self.policy(world)
            item = world.item(barcode)
            if item is None:
                entry_id = self._record(
                    world,
                    now,
                    RETURN,
                    item_barcode=barcode,
                    patron_id=None,
                    details={"known": False, "route": "staff"},
                    status_after=UNKNOWN,
                    loan=None,
                )
                return ReturnAnswer(
                    ReturnStatus.UNKNOWN_ITEM,
                    barcode,
                    "",
                    self.bins.staff,
                    entry_id=entry_id,
                )
            if item.loan is None:
                last = item.last_entry
                if last is not None and last.kind == RETURN:
                    details = last.details()
                    return ReturnAnswer(
                        ReturnStatus.ALREADY_RETURNED,
                        barcode,
                        item.title,
                        self._bin(details.get("route")),
                        entry_id=last.id,
                        destination=details.get("destination"),
                    )
                if item.status == IN_TRANSIT:
                    return self._arrived(world, now, item)
                # The mirror may not yet know of a loan made elsewhere: record the return
                # anyway and let staff look at the item; the server sorts it out.
                entry_id = self._record(
                    world,
                    now,
                    RETURN,
                    item_barcode=barcode,
                    patron_id=None,
                    details={"known": True, "route": "staff"},
                    status_after=item.status,
                    loan=None,
                )
                return ReturnAnswer(
                    ReturnStatus.NOT_ON_LOAN,
                    barcode,
                    item.title,
                    self.bins.staff,
                    entry_id=entry_id,
                )
            once_back = item.status_once_back()
            copy = item.as_rules_item()
            if once_back != AVAILABLE:  # damaged, in repair...: no title hold is trapped
                copy = replace(copy, status=once_back)
            outcome = assess_return(
                policy, item.loan.as_rules_loan(), copy, now, branch=world.branch
            )
            bin_ = self._bin(outcome.route.value)
            if outcome.route is Route.TRANSFER and once_back == AVAILABLE:
                once_back = IN_TRANSIT  # lent again once it has arrived, as on the server
            entry_id = self._record(
                world,
                now,
                RETURN,
                item_barcode=barcode,
                patron_id=item.loan.patron_id,
                details={
                    "known": True,
                    "member_type": item.loan.member_type,
                    "due": item.loan.due.isoformat(),
                    "overdue_days": outcome.overdue_days,
                    "fine": str(outcome.fine),
                    "route": outcome.route.value,
                    "trapped_for": outcome.trapped_for,
                    # Where it was decided, so the server routes it as this kiosk did.
                    "branch": world.branch,
                    "destination": outcome.destination,
                },
                status_after=once_back,
                loan=None,
                charged=outcome.fine,
            )
            return ReturnAnswer(
                ReturnStatus.RETURNED,
                barcode,
                item.title,
                bin_,
                fine=outcome.fine,
                overdue_days=outcome.overdue_days,
                entry_id=entry_id,
                destination=outcome.destination,
            )

        result: ReturnAnswer | Unavailable = self._run(decide)
        return result

    def _arrived(self, world: World, now: datetime, item: ItemState) -> ReturnAnswer:
        """A copy in transit, checked in here: it has arrived, is available again, and
        goes where a return here would send it (its hold shelf, its shelf, or on to its
        home when this is not it)."""
        routing = route_return(replace(item.as_rules_item(), status=AVAILABLE), world.branch)
        entry_id = self._record(
            world,
            now,
            RETURN,
            item_barcode=item.barcode,
            patron_id=None,
            details={
                "known": True,
                "arrived": True,
                "route": routing.route.value,
                "trapped_for": routing.trapped_for,
                "branch": world.branch,
                "destination": routing.destination,
            },
            status_after=IN_TRANSIT if routing.route is Route.TRANSFER else AVAILABLE,
            loan=None,
        )
        return ReturnAnswer(
            ReturnStatus.RETURNED,
            item.barcode,
            item.title,
            self._bin(routing.route.value),
            entry_id=entry_id,
            destination=routing.destination,
        )

    def _bin(self, route: str | None) -> Any:
        if route == Route.HOLD_SHELF.value:
            return self.bins.hold_shelf
        if route == Route.SHELF.value:
            return self.bins.shelf
        if route == Route.TRANSFER.value:
            return self.bins.transfer
        return self.bins.staff

    # --- renew ------------------------------------------------------------------------

    def _renew_one(
        self, world: World, now: datetime, patron_id: str, item: ItemState | None, barcode: str
    ) -> RenewAnswer:
        policy = self.policy(world)
        patron = world.patron(patron_id)
        if item is None or item.loan is None or patron is None or item.loan.patron_id != patron_id:
            return RenewAnswer(RenewStatus.NOT_YOUR_LOAN, barcode, item.title if item else "")
        loan = item.loan
        decision = decide_renewal(
            policy, patron.as_rules_patron(), loan.as_rules_loan(), item.as_rules_item(), now
        )
        if not decision.allowed or decision.due is None:
            return RenewAnswer(RenewStatus.REFUSED, barcode, item.title, refusals=decision.refusals)
        entry_id = self._record(
            world,
            now,
            RENEW,
            item_barcode=barcode,
            patron_id=patron_id,
            details={
                "due": decision.due.isoformat(),
                "fine": str(decision.fine),
                "renewals": loan.renewals + 1,
            },
            status_after=ON_LOAN,
            loan=replace(loan, due=decision.due, renewals=loan.renewals + 1),
            charged=decision.fine,
        )
        return RenewAnswer(
            RenewStatus.RENEWED,
            barcode,
            item.title,
            due=decision.due,
            fine=decision.fine,
            entry_id=entry_id,
        )

    def renew(self, session: PatronSession, barcode: str) -> RenewAnswer | Unavailable:
        result: RenewAnswer | Unavailable = self._run(
            lambda world, now: self._renew_one(
                world, now, session.patron_id, world.item(barcode), barcode
            )
        )
        return result

    def renew_all(self, session: PatronSession) -> tuple[RenewAnswer, ...] | Unavailable:
        def decide(world: World, now: datetime) -> tuple[RenewAnswer, ...]:
            return tuple(
                self._renew_one(world, now, session.patron_id, item, item.barcode)
                for item in world.loans_of(session.patron_id)
            )

        result: tuple[RenewAnswer, ...] | Unavailable = self._run(decide)
        return result

    # --- membership renewal -------------------------------------------------------------

    def renew_membership(self, session: PatronSession) -> MembershipAnswer | Unavailable:
        """Renew the patron's membership as the policy lets a patron (lending-rules.md,
        "Membership renewal"), journaled as an entry of its own that names no item."""

        def decide(world: World, now: datetime) -> MembershipAnswer:
            policy = self.policy(world)
            patron = world.patron(session.patron_id)
            if patron is None or patron.member_type not in policy.member_types:
                return MembershipAnswer(MembershipStatus.REFUSED)
            decision = decide_membership_renewal(policy, patron.as_rules_patron(), now)
            if not decision.allowed or decision.expires is None:
                return MembershipAnswer(MembershipStatus.REFUSED, refusals=decision.refusals)
            entry_id = self._record(
                world,
                now,
                MEMBERSHIP,
                item_barcode="",
                patron_id=patron.patron_id,
                details={
                    "member_type": patron.member_type,
                    "previous": patron.expires.isoformat() if patron.expires else None,
                    "expires": decision.expires.isoformat(),
                },
                status_after="",
                loan=None,
            )
            return MembershipAnswer(
                MembershipStatus.RENEWED, expires=decision.expires, entry_id=entry_id
            )

        result: MembershipAnswer | Unavailable = self._run(decide)
        return result

    # --- feedback ---------------------------------------------------------------------

    def feedback(self, rating: int, reason: FeedbackReason | None) -> bool | Unavailable:
        """Journal a patron's rating of the kiosk, anonymous: no patron, and its time
        rounded down to the hour (World.append keeps the clock check's latest time)."""
        if rating not in FEEDBACK_RATINGS:
            raise ValueError(f"a rating is one of {FEEDBACK_RATINGS}, not {rating!r}")

        def record(world: World, now: datetime) -> bool:
            details: dict[str, Any] = {"rating": rating}
            if reason is not None:
                details["reason"] = FeedbackReason(reason).value
            self._record(
                world,
                now.replace(minute=0, second=0, microsecond=0),
                FEEDBACK,
                item_barcode="",
                patron_id=None,
                details=details,
                status_after="",
                loan=None,
            )
            return True

        result: bool | Unavailable = self._run(record)
        return result

    # --- receipt by email ----------------------------------------------------------------

    def email_receipt(
        self, session: PatronSession, results: Sequence[CheckoutAnswer | RenewAnswer]
    ) -> str | Unavailable:
        """Journal the patron's request for this session's receipt by email: the server
        sends it to the address it has (the kiosk never holds one). Its lines are what
        the patron was told here, as the printed receipt's are. Returns the entry id."""
        done = [answer for answer in results if answer.entry_id and answer.due is not None]
        if not done:
            raise ValueError("a receipt needs a loan or a renewal of this session")

        def record(world: World, now: datetime) -> str:
            return self._record(
                world,
                now,
                RECEIPT,
                item_barcode="",
                patron_id=session.patron_id,
                details={
                    "entries": [answer.entry_id for answer in done],
                    "items": [
                        {
                            "action": CHECKOUT if isinstance(answer, CheckoutAnswer) else RENEW,
                            "title": answer.title[:300],
                            "due": answer.due.isoformat() if answer.due else "",
                        }
                        for answer in done
                    ],
                },
                status_after="",
                loan=None,
            )

        result: str | Unavailable = self._run(record)
        return result

    # --- account ----------------------------------------------------------------------

    def account(self, session: PatronSession) -> AccountAnswer | Unavailable:
        def read(world: World, now: datetime) -> AccountAnswer:
            patron = world.patron(session.patron_id)
            loans = tuple(
                LoanLine(
                    item.barcode,
                    item.title,
                    item.loan.due,
                    item.loan.due.overdue_days(now) > 0,
                    item.loan.renewals,
                )
                for item in world.loans_of(session.patron_id)
                if item.loan is not None
            )
            waiting: list[HoldLine] = []
            ready: list[HoldLine] = []
            for hold, item in world.holds_of(session.patron_id):
                if (
                    item is not None
                    and item.loan is not None
                    and item.loan.patron_id == session.patron_id
                ):
                    continue  # fulfilled here, before the server knows
                where = self._elsewhere(world, hold.pickup) if hold.ready else ""
                line = HoldLine(hold.title, hold.ready, hold.position, where)
                (ready if hold.ready else waiting).append(line)
            # Placed here since the last sync: waiting, at a place the server gives it.
            waiting += [
                HoldLine(title, False, 0) for title in world.holds_placed_here(session.patron_id)
            ]
            return AccountAnswer(
                session.first_name,
                loans,
                patron.owed if patron else money(Decimal(0)),
                tuple(waiting),
                tuple(ready),
            )

        result: AccountAnswer | Unavailable = self._run(read)
        return result

    # --- fault (staff) ----------------------------------------------------------------

    def fault(
        self, barcode: str, charge_code: str, *, patron_id: str | None = None
    ) -> FaultAnswer | Unavailable:
        """Levy a fault charge on an item: on ``patron_id``, else on its current borrower."""

        def decide(world: World, now: datetime) -> FaultAnswer:
            policy = self.policy(world)
            item = world.item(barcode)
            if item is None:
                raise LookupError(f"unknown item {barcode!r}")
            if charge_code not in policy.fault_charges:
                known = ", ".join(sorted(policy.fault_charges)) or "none"
                raise LookupError(f"unknown fault charge {charge_code!r} (known: {known})")
            outcome = assess_fault(policy, charge_code, item.as_rules_item())
            charged_to = patron_id or (item.loan.patron_id if item.loan else None)
            entry_id = self._record(
                world,
                now,
                FAULT,
                item_barcode=barcode,
                patron_id=charged_to,
                details={
                    "code": charge_code,
                    "charge": str(outcome.charge),
                    "status": outcome.item_status,
                },
                status_after=outcome.item_status,
                loan=item.loan,
                charged=outcome.charge if charged_to else money(Decimal(0)),
            )
            return FaultAnswer(
                barcode,
                item.title,
                outcome.charge,
                outcome.item_status,
                charged_to is not None,
                entry_id,
            )

        result: FaultAnswer | Unavailable = self._run(decide)
        return result
