"""``kiosk-central notices run``: find what is due, put it in the outbox, send it.

One pass (:meth:`Runner.run_once`): notices left ``sending`` by a runner that died are
marked interrupted; the frequent scan runs, and the daily one when the day has not been
scanned; then due notices are claimed a few at a time, composed in the patron's
language and sent by the patron's channel, each recorded as it goes. The service
(:meth:`Runner.run_forever`) repeats the pass every ``[notices] poll_seconds``.

The logs say how many of each kind were found and sent, and a failure's notice number
and kind; never a patron's name, card, address or number.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kiosk.central.circulation import forgetting
from kiosk.central.circulation.policy import policy_in_force
from kiosk.central.config import CentralConfig
from kiosk.central.models import Notice, Patron
from kiosk.central.notices import outbox
from kiosk.central.notices.channels import (
    Channel,
    Email,
    Refused,
    Sms,
    Unreachable,
    message_id,
    scrubbed,
)
from kiosk.central.notices.finding import (
    Found,
    Standing,
    Timing,
    daily,
    frequent,
    standing,
    still_true,
)
from kiosk.central.notices.templates import BLOCKS, DIGEST, Composed, Templates
from kiosk.rules.model import Policy

log = logging.getLogger("kiosk.central.notices")
CLAIM_BATCH = 50
# What each channel sends of a message.
CHANNEL_BLOCKS = {"email": ("subject", "text", "html"), "sms": ("sms",)}
# How long the outbox waits for a mail server or gateway it could not reach.
UNREACHABLE_WAIT = timedelta(minutes=1)


@dataclass
class Report:
    found: Counter[str] = field(default_factory=Counter)
    added: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    waiting_for_server: int = 0
    interrupted: int = 0
    cancelled: int = 0
    forgotten: int = 0
    loans_forgotten: int = 0  # transactions no longer naming their patron

    def words(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.found.items()))
        return (
            f"found {sum(self.found.values())} ({kinds or 'none'}), {self.added} new; "
            f"sent {self.sent}, to retry {self.retried}, failed {self.failed}, "
            f"waiting for a server {self.waiting_for_server}, interrupted {self.interrupted}, "
            f"no longer true {self.cancelled}; ended loans forgotten {self.loans_forgotten}"
        )


def preferences_url(config: CentralConfig) -> str:
    if config.notices.preferences_url:
        return config.notices.preferences_url
    return f"{config.web.base_url}/my/preferences" if config.web.base_url else ""


def renewal_url(config: CentralConfig) -> str:
    return f"{config.web.base_url}/my/renew" if config.web.base_url else ""


def timing(config: CentralConfig, db: Session) -> Timing:
    found = policy_in_force(db)
    overdue_days = found.policy.overdue_notice_days if found is not None else (1, 7, 14)
    return Timing(
        overdue_days=overdue_days,
        hold_shelf_days=config.library.hold_shelf_days,
        hold_expiry_days_before=config.notices.hold_expiry_days_before,
        membership_days_before=config.notices.membership_days_before,
        arrivals_weekday=config.notices.arrivals_weekday,
    )


@dataclass
class Runner:
    engine: Engine
    config: CentralConfig
    now: Callable[[], datetime]
    templates: Templates | None = None
    claimant: str = field(default_factory=outbox.runner_id)
    channels: dict[str, Channel] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.templates is None:
            self.templates = Templates(self.config.notices.templates, self.config.library.currency)
            for problem in self.templates.problems:
                log.warning("template %s (the shipped one is used meanwhile)", problem)

    @property
    def available(self) -> set[str]:
        """The channels central.toml sets up: a notice by any other is printed."""
        notices = self.config.notices
        return {
            name for name, on in (("email", notices.email.host), ("sms", notices.sms.url)) if on
        }

    def channel(self, name: str) -> Channel:
        if name not in self.channels:
            self.channels[name] = (
                Email(self.config.notices.email)
                if name == "email"
                else Sms(self.config.notices.sms)
            )
        return self.channels[name]

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()
        self.channels.clear()

    # --- one pass ---------------------------------------------------------------------

    def run_once(self, as_of: date | None = None) -> Report:
        now = self.now()
        if as_of is not None:
            now = datetime.combine(as_of, now.time())
        report = Report()
        report.interrupted = outbox.interrupt_abandoned(self.engine, now, self.claimant)
        self.find(now, report)
        try:
            self.send(now, report)
        finally:
            # A connection per pass: one kept through the wait between passes would
            # meet a mail server that closed it meanwhile, and a notice would wait.
            self.close()
        log.info("notices: %s", report.words())
        return report

    def due(self, now: datetime, *, every_scan: bool = False) -> tuple[list[Found], bool]:
        """What is due at ``now``, each by a channel central.toml sets up (else printed),
        and whether the daily scan was made (it is once a day, or with ``every_scan``)."""
        with Session(self.engine) as db:
            when = timing(self.config, db)
            found = list(frequent(db, now, when))
            daily_due = every_scan or not outbox.scanned(db, now.date())
            if daily_due:
                found.extend(daily(db, now, policy_of(db), when))
        available = self.available
        return [
            notice if notice.channel in available else replace(notice, channel=outbox.PRINT)
            for notice in found
        ], daily_due

    def dry_run(self, now: datetime) -> Counter[tuple[str, str]]:
        """How many notices of each kind and channel ``now``'s work would add to the
        outbox, which it leaves as it is."""
        found, _ = self.due(now, every_scan=True)
        fresh = outbox.not_yet_in(self.engine, found)
        return Counter((notice.kind, notice.channel) for notice in fresh)

    def find(self, now: datetime, report: Report) -> None:
        found, daily_due = self.due(now)
        report.found.update(notice.kind for notice in found)
        found = outbox.not_yet_in(self.engine, found)
        # Written in a transaction of its own that begins with the write: on SQLite the
        # reads above could not become a write once another runner had written.
        with Session(self.engine) as db:
            report.added = outbox.enqueue(db, found, now, self.config.notices.digest_hour)
            if daily_due:
                outbox.mark_scanned(db, now.date(), now)
                report.forgotten = outbox.forget(db, now)
            db.commit()
        if daily_due:
            # The library's other daily forgetting, where it already runs once a day.
            report.loans_forgotten = forgetting.forget_daily(
                self.engine,
                now,
                self.config.library.forget_loans_after_days,
                registrations_after_days=self.config.registration.expire_after_days,
            ).loans

    def send(self, now: datetime, report: Report) -> None:
        down: set[str] = set()
        while True:
            messages = outbox.claim(self.engine, now, self.claimant, CLAIM_BATCH)
            if not messages:
                return
            ids = {message.patron_id for message in messages}
            with Session(self.engine) as db:  # the batch's patrons, loans and holds at once
                patrons = {
                    patron.patron_id: patron
                    for patron in db.scalars(select(Patron).where(Patron.patron_id.in_(ids)))
                }
                now_true = standing(db, ids)
            for claimed in messages:
                message = self.still_due(claimed, now_true, report)
                if message.notices:
                    self.send_one(message, patrons.get(message.patron_id), now, down, report)
            if down >= self.available:  # the rest waits for the next pass
                return

    def still_due(
        self, message: outbox.Claimed, now_true: Standing, report: Report
    ) -> outbox.Claimed:
        """The message with its notices' facts as they stand now; a notice nothing of
        which holds any more (the book came back, the hold was collected) is cancelled,
        not sent."""
        kept, void = [], []
        for notice in message.notices:
            facts = still_true(notice.kind, notice.patron_id, notice.facts, now_true)
            if facts is None:
                void.append(notice)
            else:
                kept.append(outbox.Checked(notice, facts))
        if void:
            gone = outbox.Claimed(message.patron_id, message.channel, tuple(void))
            outbox.cancelled(self.engine, gone, self.claimant)
            report.cancelled += len(void)
        return replace(
            message,
            notices=tuple(kept_one.notice for kept_one in kept),
            facts={kept_one.notice.id: kept_one.facts for kept_one in kept},
        )

    def send_one(
        self,
        message: outbox.Claimed,
        patron: Patron | None,
        now: datetime,
        down: set[str],
        report: Report,
    ) -> None:
        until = now + UNREACHABLE_WAIT
        if message.channel in down:
            outbox.wait(self.engine, message, self.claimant, until, "waiting for the server")
            report.waiting_for_server += 1
            return
        address = _address(patron, message.channel)
        if patron is None or address is None:
            outbox.failed(
                self.engine, message, self.claimant, f"no {message.channel} for the patron now"
            )
            report.failed += 1
            return
        try:
            composed = self.compose(message.notices, patron, message.channel, message.facts)
        except Exception as error:  # a template's mistake must not stop the others
            outbox.failed(self.engine, message, self.claimant, f"cannot compose: {error}"[:300])
            report.failed += 1
            log.warning("notice %s (%s): cannot compose", message.ids[0], message.notices[0].kind)
            return
        sender = self.config.notices.email.from_address
        if not outbox.start(self.engine, message, self.claimant):
            return  # no longer this runner's (taken back as abandoned): not sent
        try:
            first = message.notices[0]
            kind = DIGEST if first.digest else first.kind
            self.channel(message.channel).send(
                address, composed, message_id(first.key, sender), kind
            )
        except Unreachable as error:
            down.add(message.channel)
            outbox.wait(self.engine, message, self.claimant, until, scrubbed(str(error), address))
            report.waiting_for_server += 1
            log.warning("notices: %s waits: %s", message.channel, scrubbed(str(error), address))
            return
        except Refused as error:
            settings = self.config.notices
            outbox.refused(
                self.engine,
                message,
                self.claimant,
                now,
                str(error),
                permanent=error.permanent,
                attempts=settings.attempts,
                retry_minutes=settings.retry_minutes,
            )
            log.warning("notice %s (%s) refused: %s", message.ids[0], message.channel, error)
            report.retried += 1
            return
        outbox.sent(self.engine, message, self.claimant, self.now())
        report.sent += len(message.notices)

    def compose(
        self,
        notices: Iterable[Notice],
        patron: Patron,
        channel: str | None = None,
        facts: Mapping[int, dict[str, Any]] | None = None,
    ) -> Composed:
        """The message for ``notices`` (more than one: the digest) to ``patron``: what
        ``channel`` sends of it (None: every form), each notice telling ``facts`` (by its
        id; its own when not given)."""
        told = facts or {}
        assert self.templates is not None
        language = patron.language or "en"
        common = {
            "library": self.config.library.name,
            "first_name": patron.first_name,
            "preferences_url": preferences_url(self.config),
            "renewal_url": renewal_url(self.config),
        }
        listed = list(notices)
        wanted = CHANNEL_BLOCKS.get(channel or "", BLOCKS)
        if len(listed) == 1 and not listed[0].digest:
            notice = listed[0]
            said = told.get(notice.id, notice.facts)
            return self.templates.compose(notice.kind, language, {**common, **said}, wanted)
        summary = []
        for notice in listed:
            part = self.templates.compose(
                notice.kind,
                language,
                {**common, **told.get(notice.id, notice.facts)},
                ("subject", "digest"),
            )
            summary.append({"kind": notice.kind, "subject": part.subject, "digest": part.digest})
        return self.templates.compose(DIGEST, language, {**common, "notices": summary}, wanted)

    # --- the service ------------------------------------------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database away a moment must not end the service
                log.exception("notices: the pass failed; trying again")
            stop.wait(self.config.notices.poll_seconds)
        self.close()


def policy_of(db: Session) -> Policy | None:
    found = policy_in_force(db)
    return found.policy if found is not None else None


def _address(patron: Patron | None, channel: str) -> str | None:
    if patron is None:
        return None
    return {"email": patron.email, "sms": patron.phone}.get(channel)


def print_list(db: Session) -> list[tuple[Notice, Patron | None]]:
    """The notices to print, each with its patron, by surname."""
    return [
        (notice, patron)
        for notice, patron in db.execute(
            select(Notice, Patron)
            .outerjoin(Patron, Patron.patron_id == Notice.patron_id)
            .where(Notice.status == outbox.PRINT)
            .order_by(Patron.surname, Patron.first_name, Notice.id)
        )
    ]
