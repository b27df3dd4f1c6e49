"""The kiosk's use cases: identify, checkout, return, renew, account, fault.

Each decision is made on one consistent reading of mirror + journal, recorded
in the journal and committed (``synchronous=FULL``) before its view is returned:
whatever the caller shows has already survived a power cut.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import exc

from kiosk.circulation.views import (
    AccountView,
    CheckoutStatus,
    CheckoutView,
    FaultView,
    HoldLine,
    Identification,
    IdentifyStatus,
    LoanLine,
    OutOfService,
    PatronSession,
    RenewStatus,
    RenewView,
    ReturnStatus,
    ReturnView,
    SortingBins,
    Unavailable,
)
from kiosk.circulation.world import (
    CHECKOUT,
    FAULT,
    ON_LOAN,
    RENEW,
    RETURN,
    UNKNOWN,
    CurrentLoan,
    ItemState,
    PatronState,
    World,
)
from kiosk.common import pins
from kiosk.common.clock import Clock
from kiosk.common.money import to_cents
from kiosk.rules import (
    InvalidPolicy,
    Policy,
    Route,
    assess_fault,
    assess_return,
    decide_checkout,
    decide_renewal,
    read_policy,
)
from kiosk.rules.decisions import human_date
from kiosk.rules.model import AVAILABLE, Due, money
from kiosk.store.journal import PENDING
from kiosk.store.store import MirrorHealth, Store

log = logging.getLogger(__name__)

# A Pi has no battery-backed clock: before this, its time is certainly wrong.
EARLIEST_TRUSTED_TIME = datetime(2026, 1, 1)


def clock_trusted(now: datetime, latest: datetime | None) -> bool:
    """Whether the clock can be believed: not before the project's own date, and not
    behind the latest time the journal recorded (a clock that ran back would misdate
    loans and fines)."""
    return now >= EARLIEST_TRUSTED_TIME and (latest is None or now >= latest)


class _Refuse(Exception):
    """A signal inside this module, never raised out of it."""

    def __init__(self, unavailable: Unavailable) -> None:
        self.unavailable = unavailable


def describe_due(due: Due) -> str:
    if due.at is None:
        return human_date(due.day)
    return f"{due.at:%H:%M} on {human_date(due.day)}"


def _locked_until(until: datetime) -> Identification:
    return Identification(
        IdentifyStatus.LOCKED,
        f"Too many wrong PINs: this card is locked on this kiosk until {until:%H:%M}. "
        "Please see a member of staff.",
        locked_until=until,
    )


def _is_disk_full(error: exc.OperationalError) -> bool:
    return getattr(error.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


class Circulation:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        bins: SortingBins | None = None,
        pin_required: bool = True,
    ) -> None:
        self.store = store
        self.clock = clock
        self.bins = bins or SortingBins()
        self.pin_required = pin_required
        self._policy: tuple[str, Policy] | None = None

    # --- plumbing ---------------------------------------------------------------------

    @contextmanager
    def _world(self) -> Iterator[World]:
        """Journal transaction first, then the mirror snapshot (see kiosk.circulation.world)."""
        with (
            self.store.journal.connect() as journal,
            journal.begin(),  # BEGIN IMMEDIATE, before the mirror snapshot starts
            self.store.mirror.connect() as mirror,
            mirror.begin(),
        ):
            yield World(mirror, journal)

    def _run(self, decide: Any) -> Any:
        """Run ``decide(world, now)``; a full disk or a refusal to serve becomes Unavailable."""
        now = self.clock.now()
        try:
            with self._world() as world:
                self._check_ready(world, now)
                return decide(world, now)
        except _Refuse as refused:
            return refused.unavailable
        except exc.OperationalError as error:
            if _is_disk_full(error):
                log.error("the disk is full: the transaction was not recorded")
                return Unavailable(OutOfService.DISK_FULL)
            raise

    def _check_ready(self, world: World, now: datetime) -> None:
        if self.store.mirror_health is not MirrorHealth.READY:
            self.store.refresh_health()
        if self.store.mirror_health is not MirrorHealth.READY:
            raise _Refuse(Unavailable(OutOfService.MIRROR_EMPTY))
        latest = world.latest_time()
        if not clock_trusted(now, latest):
            log.error("the clock reads %s, before the latest recorded time %s", now, latest)
            raise _Refuse(Unavailable(OutOfService.CLOCK_UNTRUSTED))

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
        world.record(
            {
                "id": entry_id,
                "kind": kind,
                "decided_at": now.isoformat(),
                "item_barcode": item_barcode,
                "patron_id": patron_id,
                "payload": json.dumps(details, default=str),
                "state": PENDING,
                "charged": to_cents(charged),
                "status_after": status_after,
                "loan_patron_id": loan.patron_id if loan else None,
                "loan_member_type": loan.member_type if loan else None,
                "loan_due": loan.due.isoformat() if loan else None,
                "loan_renewals": loan.renewals if loan else None,
                "fulfilled_hold_of": fulfilled_hold_of,
            },
            now,
        )
        return entry_id

    # --- identify ---------------------------------------------------------------------

    def identify(  # noqa: PLR0911 - one answer per way a card can fail
        self, card: str, pin: str | None
    ) -> Identification | Unavailable:
        def look_up(world: World, now: datetime) -> Any:
            patron = world.patron_by_card(card)
            _, locked_until = world.pin_failures(patron.patron_id) if patron else (0, None)
            return patron, locked_until is not None and locked_until > now, locked_until

        found = self._run(look_up)
        if isinstance(found, Unavailable):
            return found
        patron, locked, locked_until = found
        if patron is None:
            return Identification(
                IdentifyStatus.UNKNOWN_CARD,
                "We don't recognise this card. Please see a member of staff.",
            )
        if locked:
            return _locked_until(locked_until)
        if self.pin_required:
            if patron.pin_verifier is None:
                return Identification(
                    IdentifyStatus.NO_PIN_SET,
                    "Your card has no PIN yet. Please ask at the desk to set one.",
                )
            if pin is None:
                return Identification(IdentifyStatus.PIN_NEEDED, "Please enter your PIN.")
            if not pins.pin_matches(patron.pin_verifier, pin):
                return self._wrong_pin(patron.patron_id)
        self._run(lambda world, _now: world.set_pin_failures(patron.patron_id, 0, None))
        return self._welcome(patron)

    def _welcome(self, patron: PatronState) -> Identification:
        notices = []
        rules_patron = patron.as_rules_patron()
        expires = rules_patron.expires
        expired_on = expires if expires is not None and expires < self.clock.now().date() else None
        if expired_on is not None:
            notices.append(
                f"Your membership ended on {human_date(expired_on)}. You can see your "
                "account and return items; please renew at the desk to borrow."
            )
        if rules_patron.barred:
            notices.append(
                "Your card can't be used to borrow at the moment. Please see a member of staff."
            )
        session = PatronSession(
            patron.patron_id,
            patron.first_name,
            patron.member_type,
            tuple(notices),
            expired_on=expired_on,
            barred=rules_patron.barred,
        )
        return Identification(
            IdentifyStatus.IDENTIFIED, f"Hello {patron.first_name}.", session=session
        )

    def _wrong_pin(self, patron_id: str) -> Identification | Unavailable:
        def count(world: World, now: datetime) -> Identification:
            count = world.pin_failures(patron_id)[0] + 1
            if count >= pins.MAX_WRONG_PINS:
                until = now + timedelta(minutes=pins.LOCKOUT_MINUTES)
                world.set_pin_failures(patron_id, 0, until)
                log.warning(
                    "a card was locked on this kiosk after %d wrong PINs", pins.MAX_WRONG_PINS
                )
                return _locked_until(until)
            world.set_pin_failures(patron_id, count, None)
            left = pins.MAX_WRONG_PINS - count
            return Identification(
                IdentifyStatus.WRONG_PIN,
                f"That PIN is not right. Please try again ({left} "
                f"{'try' if left == 1 else 'tries'} left).",
                attempts_left=left,
            )

        result: Identification | Unavailable = self._run(count)
        return result

    # --- checkout ---------------------------------------------------------------------

    def checkout(self, session: PatronSession, barcode: str) -> CheckoutView | Unavailable:
        def decide(world: World, now: datetime) -> CheckoutView:
            policy = self.policy(world)
            patron = world.patron(session.patron_id)
            item = world.item(barcode)
            if item is None or patron is None:
                return CheckoutView(
                    CheckoutStatus.UNKNOWN_ITEM,
                    barcode,
                    "",
                    "We don't know this item. Please take it to the desk.",
                )
            if item.loan is not None and item.loan.patron_id == patron.patron_id:
                return CheckoutView(
                    CheckoutStatus.ALREADY_YOURS,
                    barcode,
                    item.title,
                    "This item is already on your card, due back by "
                    f"{describe_due(item.loan.due)}.",
                    due=item.loan.due,
                )
            held = [loan.publication_type for loan in world.loans_of(patron.patron_id)]
            decision = decide_checkout(
                policy, patron.as_rules_patron(), held, item.as_rules_item(), now
            )
            if not decision.allowed or decision.due is None:
                return CheckoutView(
                    CheckoutStatus.REFUSED,
                    barcode,
                    item.title,
                    " ".join(refusal.message for refusal in decision.refusals),
                    refusals=decision.refusals,
                )
            hold_fulfilled = bool(item.holds) and item.holds[0] == patron.patron_id
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
                },
                status_after=ON_LOAN,
                loan=CurrentLoan(patron.patron_id, patron.member_type, decision.due, 0),
                fulfilled_hold_of=patron.patron_id if hold_fulfilled else None,
            )
            return CheckoutView(
                CheckoutStatus.LENT,
                barcode,
                item.title,
                f"Due back by {describe_due(decision.due)}.",
                due=decision.due,
                hold_fulfilled=hold_fulfilled,
                entry_id=entry_id,
            )

        result: CheckoutView | Unavailable = self._run(decide)
        return result

    # --- return -----------------------------------------------------------------------

    def return_item(self, barcode: str) -> ReturnView | Unavailable:
        """Take an item back at the drop station: no patron, no PIN."""

        def decide(world: World, now: datetime) -> ReturnView:
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
                return ReturnView(
                    ReturnStatus.UNKNOWN_ITEM,
                    barcode,
                    "",
                    "Thank you. Please put this item in the staff bin.",
                    self.bins.staff,
                    entry_id=entry_id,
                )
            if item.loan is None:
                last = item.last_entry
                if last is not None and last.kind == RETURN:
                    bin_ = self._bin(last.details().get("route"))
                    return ReturnView(
                        ReturnStatus.ALREADY_RETURNED,
                        barcode,
                        item.title,
                        "Thank you, this item is already returned. "
                        f"Please put it in bin {bin_.number}.",
                        bin_,
                        entry_id=last.id,
                    )
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
                return ReturnView(
                    ReturnStatus.NOT_ON_LOAN,
                    barcode,
                    item.title,
                    "Thank you. Please put this item in the staff bin.",
                    self.bins.staff,
                    entry_id=entry_id,
                )
            outcome = assess_return(policy, item.loan.as_rules_loan(), item.as_rules_item(), now)
            bin_ = self._bin(outcome.route.value)
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
                },
                status_after=AVAILABLE,
                loan=None,
                charged=outcome.fine,
            )
            message = f"Thank you. Please put it in bin {bin_.number}."
            if outcome.fine > 0:
                message = (
                    f"Thank you. This item was {outcome.overdue_days} days late: a fine of "
                    f"{outcome.fine} has been added to your account. "
                    f"Please put it in bin {bin_.number}."
                )
            return ReturnView(
                ReturnStatus.RETURNED,
                barcode,
                item.title,
                message,
                bin_,
                fine=outcome.fine,
                overdue_days=outcome.overdue_days,
                entry_id=entry_id,
            )

        result: ReturnView | Unavailable = self._run(decide)
        return result

    def _bin(self, route: str | None) -> Any:
        if route == Route.HOLD_SHELF.value:
            return self.bins.hold_shelf
        if route == Route.SHELF.value:
            return self.bins.shelf
        return self.bins.staff

    # --- renew ------------------------------------------------------------------------

    def _renew_one(
        self, world: World, now: datetime, patron_id: str, item: ItemState | None, barcode: str
    ) -> RenewView:
        policy = self.policy(world)
        patron = world.patron(patron_id)
        if item is None or item.loan is None or patron is None or item.loan.patron_id != patron_id:
            return RenewView(
                RenewStatus.NOT_YOUR_LOAN,
                barcode,
                item.title if item else "",
                "This item is not on your card.",
            )
        loan = item.loan
        decision = decide_renewal(
            policy, patron.as_rules_patron(), loan.as_rules_loan(), item.as_rules_item(), now
        )
        if not decision.allowed or decision.due is None:
            return RenewView(
                RenewStatus.REFUSED,
                barcode,
                item.title,
                " ".join(refusal.message for refusal in decision.refusals),
                refusals=decision.refusals,
            )
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
        message = f"Renewed: now due back by {describe_due(decision.due)}."
        if decision.fine > 0:
            message += f" A fine of {decision.fine} for the days it was late has been added."
        return RenewView(
            RenewStatus.RENEWED,
            barcode,
            item.title,
            message,
            due=decision.due,
            fine=decision.fine,
            entry_id=entry_id,
        )

    def renew(self, session: PatronSession, barcode: str) -> RenewView | Unavailable:
        result: RenewView | Unavailable = self._run(
            lambda world, now: self._renew_one(
                world, now, session.patron_id, world.item(barcode), barcode
            )
        )
        return result

    def renew_all(self, session: PatronSession) -> tuple[RenewView, ...] | Unavailable:
        def decide(world: World, now: datetime) -> tuple[RenewView, ...]:
            return tuple(
                self._renew_one(world, now, session.patron_id, item, item.barcode)
                for item in world.loans_of(session.patron_id)
            )

        result: tuple[RenewView, ...] | Unavailable = self._run(decide)
        return result

    # --- account ----------------------------------------------------------------------

    def account(self, session: PatronSession) -> AccountView | Unavailable:
        def read(world: World, now: datetime) -> AccountView:
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
                line = HoldLine(hold.title, hold.ready, hold.position)
                (ready if hold.ready else waiting).append(line)
            return AccountView(
                session.first_name,
                loans,
                patron.owed if patron else money(Decimal(0)),
                tuple(waiting),
                tuple(ready),
            )

        result: AccountView | Unavailable = self._run(read)
        return result

    # --- fault (staff) ----------------------------------------------------------------

    def fault(
        self, barcode: str, charge_code: str, *, patron_id: str | None = None
    ) -> FaultView | Unavailable:
        """Levy a fault charge on an item: on ``patron_id``, else on its current borrower."""

        def decide(world: World, now: datetime) -> FaultView:
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
            return FaultView(
                barcode,
                item.title,
                outcome.charge,
                outcome.item_status,
                charged_to is not None,
                entry_id,
            )

        result: FaultView | Unavailable = self._run(decide)
        return result
