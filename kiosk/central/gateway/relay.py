"""The relay: the upstream outbox sent to the library's own system, in decision order,
over one SIP2 connection.

One relay sends at a time. It holds the relay row (``upstream_relay.holder``, renewed
in each of its commits and before a message whenever the last renewal is
:data:`RENEW_EVERY` old); another relay waits until the holder's hold is older than
:data:`STALE_HOLD`, or at once when the holder was a process of this machine that is
gone (a relay killed and started again). Each message must be answered within
:data:`MESSAGE_SECONDS`, a quarter of that, whatever ``answer_timeout_seconds`` says:
a message starts at most a quarter after a renewal and ends at most a quarter after
that, so a live holder's hold never goes stale while it sends, and a relay whose
renewal fails (it was stopped longer than that, and passed over) stops before its
next message. Renewing before every message instead cost a transaction of its own a
message, most of the relay's time. Each of its commits checks that it still holds the
row, so a relay that was passed over stops before writing anything.

It works in runs of the outbox's first transactions, each item at most once in a run:

1. the run's waiting transactions are marked ``sending`` (committed before anything
   goes; a renewal with the due date the upstream gives before it, asked with 17);
2. each is sent (11 checkout, 09 checkin with the return date, 29 renew, 37 fee paid)
   and its answer kept: done, or refused (ok 0: a staff exception with the upstream's
   screen message; the transaction stays applied here, and the next one is sent);
3. the answers are committed with the relay's position, in one transaction.

A transaction left ``sending`` (the connection or the relay died before its answer was
committed) may or may not have reached the upstream. Before it is sent again the
upstream is asked the item's state (17): a checkout it shows on loan, a return it shows
not on loan, a renewal whose due date moved, counts as done. Since an item is in a run
once, the state the upstream shows is that transaction's. A payment cannot be asked
after, and not every system knows a 37 sent again by its transaction id (BK): it is
not sent again but made a staff exception, for staff to look in the upstream's own
client and take the payment there if it is missing.

With ``[upstream] connections`` above 1, a run also holds each patron at most once (and a
return whose borrower is not known alone), so that no transaction in it depends on
another, and its transactions are sent side by side, one connection each, by threads
of the relay's own.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Engine, insert, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kiosk.central.gateway.client import Connection, Login, Unsendable, UpstreamDown
from kiosk.central.gateway.outbox import DONE, PAYMENT, REFUSED, SENDING, TO_SEND, WAITING
from kiosk.central.models import Patron, StaffException, UpstreamOutbox, UpstreamRelay, table
from kiosk.central.sip2 import codec
from kiosk.central.sip2.fields import format_date

log = logging.getLogger("kiosk.central.relay")

RUN = 50  # transactions sent between two commits
STALE_HOLD = timedelta(minutes=2)
# The longest one message may take, connecting included: well inside STALE_HOLD, so the
# hold renewed before it cannot go stale before its answer.
MESSAGE_SECONDS = STALE_HOLD.total_seconds() / 4
RENEW_EVERY = STALE_HOLD / 4
POLL_SECONDS = 1.0  # how often an idle relay looks for new transactions
RECONNECT_IDLE_SECONDS = 240.0  # a connection idle this long is opened afresh
CHARGED = "04"  # SIP2's circulation status of an item on loan
NOT_KNOWN = "01"  # "other": what our SIP2 server and others answer for an unknown item
REASON = "upstream_refused"
PAYMENT_IN_DOUBT = (
    "its answer was lost and a payment cannot be asked after: it was not sent again; "
    "see in the library system whether it was taken, and take it there if not"
)
SOURCE = "upstream"
FEE_OTHER = "01"
PAID_CASH = "00"


def holder_id() -> str:
    """This process, as the relay row names it: ``host:pid``."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def _gone(holder: str) -> bool:
    """Whether ``holder`` was a process of this machine that no longer runs."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname()[:60] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's: alive
        return False
    return False


class _PassedOver(Exception):
    """The hold could not be renewed before a message: another relay may send now."""


@dataclass
class Report:
    """What one pass did, for the command's last line and for tests."""

    relayed: int = 0
    refused: int = 0
    verified: int = 0  # in doubt, found done upstream by 17: not sent again
    errors: list[str] = field(default_factory=list)

    def words(self) -> str:
        text = f"{self.relayed} relayed, {self.refused} refused"
        if self.verified:
            text += f" ({self.verified} found done upstream after a lost answer)"
        if self.errors:
            text += f"; upstream error: {self.errors[-1]}"
        return text


@dataclass
class _Outcome:
    row: UpstreamOutbox
    status: str  # DONE or REFUSED
    answer: str | None = None
    verified: bool = False  # in doubt, found done upstream: not sent again


class Relay:
    """The relay of one process; ``now`` is the one injectable clock."""

    def __init__(
        self,
        engine: Engine,
        login: Login,
        now: Callable[[], datetime],
        *,
        holder: str | None = None,
        run: int = RUN,
        currency: str = "",
    ) -> None:
        self.engine = engine
        self.login = login
        self.settings = login.settings
        self.now = now
        self.holder = holder or holder_id()
        self.run = run
        self.currency = currency if len(currency) == 3 else "   "
        # Side by side when [upstream] connections is above 1 (see _head).
        self.connections = [Connection(login) for _ in range(max(1, self.settings.connections))]
        self.pool = (
            ThreadPoolExecutor(len(self.connections), thread_name_prefix="relay")
            if len(self.connections) > 1
            else None
        )
        self.last_used = 0.0
        self.wait = self.settings.retry_seconds
        self._renewed: datetime | None = None  # by this relay's clock, committed
        self._renewing = threading.Lock()  # the lanes share the hold

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None

    # --- the loop ---------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set: when the outbox is empty or another relay holds
        the row, look again every second; when the upstream is down, again after a wait
        that doubles each time (retry_seconds up to retry_max_seconds)."""
        try:
            while not stop.is_set():
                try:
                    report = self.run_once()
                except DBAPIError as error:  # the database busy or gone: an ordinary event
                    log.warning("relay: the database: %s", type(error.orig).__name__)
                    report = Report(errors=["the database could not be used"])
                if report.errors:
                    stop.wait(self.wait)
                    self.wait = min(self.wait * 2, self.settings.retry_max_seconds)
                    continue
                self.wait = self.settings.retry_seconds
                if report.relayed + report.refused + report.verified == 0:
                    stop.wait(POLL_SECONDS)
        finally:
            self.close()

    def run_once(self) -> Report:
        """Send everything waiting, until the outbox is empty or the upstream is down."""
        report = Report()
        while True:
            if not self._hold():
                return report
            with Session(self.engine, expire_on_commit=False) as db:
                rows = self._head(db)
                if not rows:
                    return report
                try:
                    self._connect()
                    outcomes = self._relay(db, rows, report)
                except UpstreamDown as error:
                    report.errors.append(str(error))
                    self._failed(db, str(error))
                    return report
            if not outcomes:
                return report

    # --- holding the right to send --------------------------------------------------------

    def _hold(self) -> bool:
        """Take or renew the relay row; False when another relay holds it. Each
        transaction here starts with its write: on SQLite a read that turns into a write
        fails at once when another process is writing."""
        now = self.now()
        free = or_(
            UpstreamRelay.holder.is_(None),
            UpstreamRelay.holder == self.holder,
            UpstreamRelay.held_at.is_(None),
            UpstreamRelay.held_at < now - STALE_HOLD,
        )
        if self._take(now, free):
            return True
        with Session(self.engine) as db:
            held = db.scalar(
                select(UpstreamRelay.holder).where(UpstreamRelay.id == 1, UpstreamRelay.enabled)
            )
        # Its holder a process of this machine that is gone (killed, crashed): at once.
        if held is None or not _gone(held) or not self._take(now, UpstreamRelay.holder == held):
            return False
        log.warning("relay: took over from %s, which stopped", held)
        return True

    def _take(self, now: datetime, condition: ColumnElement[bool]) -> bool:
        with Session(self.engine) as db:
            taken = db.execute(
                update(UpstreamRelay)
                .where(UpstreamRelay.id == 1, UpstreamRelay.enabled, condition)
                .values(holder=self.holder, held_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            db.commit()
        with self._renewing:
            self._renewed = now if taken else None
        return bool(taken)

    def _still_held(self, db: Session) -> bool:
        """In the transaction about to commit: the row still ours, its hold renewed."""
        return bool(
            db.execute(
                update(UpstreamRelay)
                .where(UpstreamRelay.id == 1, UpstreamRelay.holder == self.holder)
                .values(held_at=self.now())
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
        )

    def _before_message(self, connection: Connection) -> None:
        """Renew the hold in a transaction of its own when its last renewal is
        ``RENEW_EVERY`` old, then give the message its deadline; raises
        :class:`_PassedOver` when the row is no longer ours."""
        with self._renewing:
            now = self.now()
            renewed = self._renewed
            if renewed is None or not renewed <= now < renewed + RENEW_EVERY:
                with Session(self.engine) as db:
                    held = self._still_held(db)
                    db.commit()
                self._renewed = now if held else None
                if not held:
                    log.warning("relay: another relay holds the row now; this one stops sending")
                    raise _PassedOver
        connection.deadline = time.monotonic() + MESSAGE_SECONDS

    # --- one run ----------------------------------------------------------------------------

    def _head(self, db: Session) -> list[UpstreamOutbox]:
        """The outbox's first transactions, up to the first that names an item already
        among them. Sent side by side (several connections), also up to the first that
        names a patron already among them, and a return whose borrower is not known
        (a device's no-block return) alone: within a run, then, no transaction depends
        on another, and the order they reach the upstream in changes nothing."""
        rows = db.scalars(
            select(UpstreamOutbox)
            .where(UpstreamOutbox.status.in_(TO_SEND))
            .order_by(UpstreamOutbox.change_seq)
            .limit(self.run)
        ).all()
        side_by_side = len(self.connections) > 1
        taken: list[UpstreamOutbox] = []
        keys: set[tuple[str, str]] = set()
        for row in rows:
            named = set()
            if row.item_barcode is not None:
                named.add(("item", row.item_barcode))
            if side_by_side and row.patron_id is not None:
                named.add(("patron", row.patron_id))
            unknown_borrower = side_by_side and row.patron_id is None
            if named & keys or (unknown_borrower and taken):
                break
            keys |= named
            taken.append(row)
            if unknown_borrower:
                break
        return taken

    def _connect(self) -> None:
        idle = time.monotonic() - self.last_used
        for connection in self.connections:
            if connection.is_open and idle > RECONNECT_IDLE_SECONDS:
                connection.close()
            if not connection.is_open:
                connection.deadline = time.monotonic() + MESSAGE_SECONDS
                connection.open()
        self.last_used = time.monotonic()

    def _relay(self, db: Session, rows: list[UpstreamOutbox], report: Report) -> list[_Outcome]:
        cards = self._cards(db, rows)
        # The reads end here: on SQLite a transaction that writes must begin with its
        # write (a read turned write fails at once under another writer).
        db.commit()
        # 1. In doubt first: asked after, not sent again when done there.
        in_doubt = {row.change_seq for row in rows if row.status == SENDING}
        fresh = [row for row in rows if row.status == WAITING]
        if fresh and not self._mark_sending(db, fresh):
            return []
        errors: list[str] = []

        def lane(connection: Connection, share: list[UpstreamOutbox]) -> list[_Outcome]:
            answered: list[_Outcome] = []
            try:
                for row in share:
                    if row.change_seq in in_doubt and row.kind == PAYMENT:
                        answered.append(_Outcome(row, REFUSED, PAYMENT_IN_DOUBT))
                        continue
                    if row.change_seq in in_doubt and row.item_barcode is not None:
                        self._before_message(connection)
                        if self._done_upstream(connection, row):
                            answered.append(_Outcome(row, DONE, verified=True))
                            continue
                    self._before_message(connection)
                    try:
                        sent = self._send(connection, row, cards.get(row.patron_id or ""))
                    except Unsendable as error:  # for staff; the next goes on
                        sent = _Outcome(row, REFUSED, str(error)[:400])
                    answered.append(sent)
            except UpstreamDown as error:
                errors.append(str(error))
            except _PassedOver:
                pass  # what was answered is recorded only if the row is still ours
            return answered

        outcomes: list[_Outcome] = []
        try:
            count = len(self.connections)
            if self.pool is None or len(rows) == 1:
                outcomes = lane(self.connections[0], rows)
            else:
                shares = [rows[start::count] for start in range(count)]
                for answered in self.pool.map(lane, self.connections, shares):
                    outcomes.extend(answered)
        finally:
            # What was answered is kept even when a connection drops half way.
            self._record(db, outcomes, report)
        if errors:
            raise UpstreamDown(errors[0])
        return outcomes

    def _mark_sending(self, db: Session, fresh: list[UpstreamOutbox]) -> bool:
        """Commit the run's new transactions as ``sending`` (a renewal with the due date
        before it); False, nothing written, when the row is no longer ours."""
        try:
            for row in fresh:
                if row.kind == "renew":
                    self._before_message(self.connections[0])
                    row.due_before = self._due(self.connections[0], row)
                row.status = SENDING
                row.attempts += 1
        except _PassedOver:
            db.rollback()
            return False
        if not self._still_held(db):
            db.rollback()
            return False
        db.commit()
        return True

    def _cards(self, db: Session, rows: list[UpstreamOutbox]) -> dict[str, str]:
        """The cards of the run's patrons, read as they are now: the outbox keeps no
        card of its own."""
        ids = {row.patron_id for row in rows if row.patron_id}
        if not ids:
            return {}
        found = db.execute(select(Patron.patron_id, Patron.card).where(Patron.patron_id.in_(ids)))
        return {str(row[0]): str(row[1]) for row in found}

    def _item_state(self, connection: Connection, barcode: str) -> codec.ItemInformationResponse:
        return connection.ask(
            codec.ItemInformation(
                transaction_date=self._date(self.now()),
                institution_id=self.settings.institution_id,
                item_id=barcode,
            ),
            codec.ItemInformationResponse,
        )

    def _due(self, connection: Connection, row: UpstreamOutbox) -> str:
        state = self._item_state(connection, row.item_barcode or "")
        return format_date(state.due_date) if state.due_date is not None else ""

    def _done_upstream(self, connection: Connection, row: UpstreamOutbox) -> bool:
        """Whether a transaction in doubt already shows in the upstream's state of its
        item (17); a payment cannot be asked after."""
        if row.kind == PAYMENT or row.item_barcode is None:
            return False
        state = self._item_state(connection, row.item_barcode)
        if row.kind == "checkout":
            return state.circulation_status == CHARGED
        if row.kind == "return":
            known = state.circulation_status != NOT_KNOWN or bool(state.title_id)
            return known and state.circulation_status != CHARGED
        due = format_date(state.due_date) if state.due_date is not None else ""
        return row.due_before is not None and due != row.due_before

    @staticmethod
    def _date(moment: datetime) -> datetime:
        return moment.replace(microsecond=0)

    def _send(self, connection: Connection, row: UpstreamOutbox, card: str | None) -> _Outcome:
        settings = self.settings
        when = self._date(row.decided_at)
        institution = settings.institution_id
        patron = card or ""
        answer: codec.CheckoutResponse | codec.CheckinResponse | codec.RenewResponse
        if row.kind == "checkout":
            answer = connection.ask(
                codec.Checkout(
                    sc_renewal_policy=False,
                    no_block=settings.no_block,
                    transaction_date=when,
                    nb_due_date=None,
                    institution_id=institution,
                    patron_id=patron,
                    item_id=row.item_barcode or "",
                ),
                codec.CheckoutResponse,
            )
        elif row.kind == "return":
            answer = connection.ask(
                codec.Checkin(
                    no_block=settings.no_block,
                    transaction_date=when,
                    return_date=when,
                    current_location=settings.location,
                    institution_id=institution,
                    item_id=row.item_barcode or "",
                ),
                codec.CheckinResponse,
            )
        elif row.kind == "renew":
            answer = connection.ask(
                codec.Renew(
                    third_party_allowed=False,
                    no_block=settings.no_block,
                    transaction_date=when,
                    nb_due_date=None,
                    institution_id=institution,
                    patron_id=patron,
                    item_id=row.item_barcode,
                ),
                codec.RenewResponse,
            )
        else:
            paid = connection.ask(
                codec.FeePaid(
                    transaction_date=when,
                    fee_type=FEE_OTHER,
                    payment_type=PAID_CASH,
                    currency_type=self.currency,
                    fee_amount=row.amount or Decimal("0.00"),
                    institution_id=institution,
                    patron_id=patron,
                    transaction_id=row.transaction_id,
                ),
                codec.FeePaidResponse,
            )
            return self._outcome(row, paid.payment_accepted, paid.screen_message)
        return self._outcome(row, answer.ok, answer.screen_message)

    @staticmethod
    def _outcome(row: UpstreamOutbox, ok: bool, screen: tuple[str, ...]) -> _Outcome:
        message = " ".join(" ".join(screen).split())[:400] or None
        return _Outcome(row, DONE if ok else REFUSED, message)

    def _record(self, db: Session, outcomes: list[_Outcome], report: Report) -> None:
        """The answers, the exceptions and the relay's position, in one commit."""
        if not outcomes:
            db.rollback()
            return
        now = self.now()
        if not self._still_held(db):
            db.rollback()
            log.warning("relay: another relay holds the row now; this one stops sending")
            return
        exceptions = []
        for outcome in outcomes:
            row = outcome.row
            row.status = outcome.status
            row.answer = outcome.answer
            row.done_at = now
            if outcome.status == REFUSED:
                what = f"item {row.item_barcode}" if row.item_barcode else f"{row.amount} paid"
                exceptions.append(
                    {
                        "entry_id": row.transaction_id,
                        "kiosk_id": None,
                        "source": SOURCE,
                        "reason": REASON,
                        "detail": (
                            f"this payment ({what}) may not have reached the library "
                            f"system: {PAYMENT_IN_DOUBT}"
                            if outcome.answer == PAYMENT_IN_DOUBT
                            else f"the library system refused this {row.kind} ({what}), "
                            f"which stands here: {outcome.answer or 'it gave no reason'}"
                        )[:400],
                        "created_at": now,
                    }
                )
        if exceptions:
            db.execute(insert(table(StaffException)), exceptions)
        refused = len(exceptions)
        done = len(outcomes) - refused
        db.execute(
            update(UpstreamRelay)
            .where(UpstreamRelay.id == 1)
            .values(
                position=max(outcome.row.change_seq for outcome in outcomes),
                relayed=UpstreamRelay.relayed + done,
                refused=UpstreamRelay.refused + refused,
                last_sent_at=now,
                last_error=None,
            )
            .execution_options(synchronize_session=False)
        )
        db.commit()
        report.relayed += done
        report.refused += refused
        report.verified += sum(outcome.verified for outcome in outcomes)
        for outcome in outcomes:
            if outcome.status == REFUSED:
                log.warning(
                    "relay: the upstream refused transaction %s (%s): a staff exception",
                    outcome.row.transaction_id,
                    outcome.row.kind,
                )

    def _failed(self, db: Session, why: str) -> None:
        """The upstream's error, for staff (a new session: the run's may be spent)."""
        db.rollback()
        log.warning("relay: %s", why)
        with Session(self.engine) as fresh:
            fresh.execute(
                update(UpstreamRelay)
                .where(
                    UpstreamRelay.id == 1,
                    or_(UpstreamRelay.holder == self.holder, UpstreamRelay.holder.is_(None)),
                )
                .values(last_error=why[:400], last_error_at=self.now(), held_at=self.now())
                .execution_options(synchronize_session=False)
            )
            fresh.commit()
