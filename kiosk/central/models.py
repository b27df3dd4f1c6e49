"""The authoritative circulation database: SQLite for a small library, PostgreSQL at scale.

Money is stored in whole cents (``Money``), times are the library's local time.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    false,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from kiosk.common.money import from_cents, to_cents


class Money(TypeDecorator[Decimal]):
    """A ``Decimal`` amount stored as an integer number of cents (``kiosk.common.money``
    converts), so that no binary float ever holds a fine."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, _dialect: Dialect) -> int | None:
        return None if value is None else to_cents(value)

    def process_result_value(self, value: Any, _dialect: Dialect) -> Decimal | None:
        return None if value is None else from_cents(int(value))


class CentralBase(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


def table(model: type[CentralBase]) -> Table:
    """A model's table, for Core inserts of many rows: the ORM's bulk path costs more."""
    found = model.__table__
    assert isinstance(found, Table)
    return found


def insert_or_skip(dialect_name: str, model: type[CentralBase], key: str) -> Insert:
    """An INSERT of ``model``'s rows that skips a row whose ``key`` is taken already
    (ON CONFLICT DO NOTHING, which SQLite and PostgreSQL both speak): two writers may
    both try to make the first row, and the second must not fail."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement: Insert = dialect.insert(table(model)).on_conflict_do_nothing(index_elements=[key])
    return statement


class PolicyVersion(CentralBase):
    __tablename__ = "policy"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1: the policy in force
    version: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class Record(CentralBase):
    __tablename__ = "records"

    brn: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(400))
    author: Mapped[str] = mapped_column(String(200))
    isbn: Mapped[str | None] = mapped_column(String(17))
    publication_type: Mapped[str] = mapped_column(String(32))
    added_on: Mapped[date | None]  # when it entered the catalogue: the new arrivals
    # Its subject headings ("Cookery; History -- Europe"), separated by semicolons: the
    # new arrivals by subject (kiosk.central.notices.preferences.headings).
    subjects: Mapped[str] = mapped_column(String(400), server_default="")

    # Searches by title and author use the migration's case-folded indexes (0005).
    __table_args__ = (Index("records_by_isbn", "isbn"),)


class Item(CentralBase):
    __tablename__ = "items"

    barcode: Mapped[str] = mapped_column(String(32), primary_key=True)
    brn: Mapped[int] = mapped_column(ForeignKey("records.brn"), index=True)
    price: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(32))
    # Its home branch: a branch's code once the library has branches (the import checks).
    home_location: Mapped[str] = mapped_column(String(64))
    # The branch a copy is on its way to (status ``in_transit`` meanwhile); None: it is
    # where it belongs.
    transit_to: Mapped[str | None] = mapped_column(String(32))
    # The branch whose hold shelf it is to be sent from, while in transit because a
    # hold's decision sent it on (its pickup changed, a ready hold cancelled or moved:
    # circulation.holds): None once it is checked in anywhere, and for a copy a check-in
    # sent (in the returns' transfer bin already).
    transit_from: Mapped[str | None] = mapped_column(String(32))

    # The console's In transit page reads the few copies on their way: a partial index.
    __table_args__ = (
        Index(
            "items_in_transit",
            "transit_to",
            sqlite_where=text("status = 'in_transit'"),
            postgresql_where=text("status = 'in_transit'"),
        ),
    )


class Branch(CentralBase):
    """One of the library's buildings: ``code`` as staff type it (and items' home
    locations name it), ``name`` as patrons read it ("Northside Library")."""

    __tablename__ = "branches"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class Patron(CentralBase):
    __tablename__ = "patrons"

    patron_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    card: Mapped[str] = mapped_column(String(32), unique=True)
    first_name: Mapped[str] = mapped_column(String(64))
    surname: Mapped[str] = mapped_column(String(64))  # never sent to a kiosk
    member_type: Mapped[str] = mapped_column(String(32))
    expires: Mapped[date | None]
    barred: Mapped[bool]
    owed: Mapped[Decimal] = mapped_column(Money)
    pin_verifier: Mapped[str | None] = mapped_column(String(200))
    # Wrong PINs typed wherever the card was asked for one (kiosk.common.pins.PinState):
    # on the patron's row so that every kiosk's mirror follows them in the change log.
    pin_failures: Mapped[int] = mapped_column(server_default="0")
    pin_locked_until: Mapped[datetime | None]
    # Only the server keeps these: the kiosks never see a patron's contact details.
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    barred_reason: Mapped[str | None] = mapped_column(String(200))
    # Messaging preferences (kiosk.central.notices.preferences): the channel ("email",
    # "sms" or "none"), the kinds of notice chosen and the publication types of the new
    # arrivals wanted, each a comma-separated list of codes.
    notify_by: Mapped[str] = mapped_column(String(8), server_default="email")
    notices: Mapped[str] = mapped_column(
        String(200), server_default="due_soon,overdue,hold_ready,hold_expiring,membership_expiring"
    )
    due_soon_days: Mapped[int] = mapped_column(server_default="2")
    digest: Mapped[bool] = mapped_column(server_default=false())
    arrivals: Mapped[str] = mapped_column(String(400), server_default="")
    # The subjects of the new arrivals wanted (chosen in the portal), by semicolons, as
    # many as preferences.MAX_SUBJECTS: text of any length (0026). SQLite keeps any
    # length in any column: there the column stays as 0023 declared it (changing its
    # type copies the table, and the copy loses the name searches' indexes).
    arrival_subjects: Mapped[str] = mapped_column(
        Text().with_variant(String(400), "sqlite"), server_default=""
    )
    # Off unless the patron chooses it in the portal: then their ended loans stay linked
    # to them; else the link goes a bounded time after each loan ends
    # (kiosk.central.circulation.loan_history).
    keep_loan_history: Mapped[bool] = mapped_column(server_default=false())
    # An online registration (the portal's /my/register) staff have not approved yet:
    # how many loans it may hold meanwhile ([registration] pending_loans when it came);
    # None for every approved patron. Kiosks are not sent pending patrons.
    pending_loans: Mapped[int | None]
    registered_at: Mapped[datetime | None]  # when the registration form was sent
    # Asked only where the library's member types depend on it ([registration]).
    date_of_birth: Mapped[date | None]
    # The branch they use (a branch's code; None: none chosen): a hold placed without a
    # pickup is collected there (0027). Only the server keeps it.
    home_branch: Mapped[str | None] = mapped_column(String(32))
    # Searches by surname and first name use the migration's case-folded indexes (0005).

    @hybrid_property
    def has_email(self) -> bool:
        """What the kiosks are told of the patron's email (their PatronRow): whether
        there is one, never the address."""
        return bool(self.email)

    @has_email.inplace.expression
    @classmethod
    def _has_email(cls) -> ColumnElement[bool]:
        return and_(cls.email.is_not(None), cls.email != "").label("has_email")

    # The console's pending registrations, oldest first: the few rows still pending.
    __table_args__ = (
        Index(
            "patrons_pending",
            "registered_at",
            sqlite_where=text("pending_loans IS NOT NULL"),
            postgresql_where=text("pending_loans IS NOT NULL"),
        ),
    )


class Loan(CentralBase):
    __tablename__ = "loans"

    item_barcode: Mapped[str] = mapped_column(String(32), primary_key=True)
    patron_id: Mapped[str] = mapped_column(String(32), index=True)
    member_type: Mapped[str] = mapped_column(String(32))
    due: Mapped[str] = mapped_column(String(16))
    renewals: Mapped[int]
    lent_at: Mapped[datetime]
    kiosk_id: Mapped[int | None]


class Hold(CentralBase):
    """A place in a queue. An item hold (``brn`` None) waits for one copy. A title hold
    (``brn`` set) waits in its record's queue with no ``item_barcode`` until a copy is
    trapped for it; from then on it is that copy's ready first hold, as an item hold on
    the hold shelf would be, and ``position`` is its place in the copy's queue."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_barcode: Mapped[str | None] = mapped_column(String(32))
    patron_id: Mapped[str] = mapped_column(String(32), index=True)
    position: Mapped[int]
    ready: Mapped[bool]
    title: Mapped[str] = mapped_column(String(400))
    placed_at: Mapped[datetime]
    ready_at: Mapped[datetime | None]  # when it reached the hold shelf
    brn: Mapped[int | None]
    # The branch where the patron collects it (None: wherever its copy is trapped, as in
    # a library without branches); a copy trapped elsewhere is sent there first.
    pickup: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("holds_by_item", "item_barcode", "position"),
        Index("holds_by_record", "brn", "position"),
    )


class LedgerEntry(CentralBase):
    """Money owed or paid: every fine and charge, with the transaction that made it."""

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[str] = mapped_column(String(32), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    kind: Mapped[str] = mapped_column(String(16))  # fine, fault, payment
    entry_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (Index("ledger_at", "at"),)


class Kiosk(CentralBase):
    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token
    created_at: Mapped[datetime]
    last_seen: Mapped[datetime | None]
    version: Mapped[str | None] = mapped_column(String(32))
    journal_depth: Mapped[int | None]
    oldest_pending: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(400))
    scanners: Mapped[list[str] | None]
    disk_free_mb: Mapped[int | None]
    disabled_at: Mapped[datetime | None]  # set by staff: the token is refused from then on
    # Transactions the server applied that the kiosk still keeps because no backup covers
    # them yet (its last heartbeat's count; None from a kiosk too old to say).
    held_for_backup: Mapped[int | None]
    # The branch it stands in (a branch's code); None: no branch, as before branches.
    branch: Mapped[str | None] = mapped_column(String(32))


class HeartbeatRecord(CentralBase):
    """A kiosk's heartbeat as it came, kept a week for the kiosk page's 24-hour chart."""

    __tablename__ = "heartbeats"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    journal_depth: Mapped[int | None]
    disk_free_mb: Mapped[int | None]
    scanners: Mapped[int | None]  # how many scanners it named
    error: Mapped[bool]  # it named a last error

    __table_args__ = (Index("heartbeats_by_kiosk", "kiosk_id", "at"),)


class AppliedTransaction(CentralBase):
    """Every kiosk transaction applied, by its id: the primary key makes it once only."""

    __tablename__ = "transactions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"))  # None: at the desk
    kiosk_seq: Mapped[int]  # 0 at the desk
    kind: Mapped[str] = mapped_column(String(16))
    item_barcode: Mapped[str] = mapped_column(String(32))
    patron_id: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime]
    applied_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    change_seq: Mapped[int] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]]
    charged: Mapped[Decimal] = mapped_column(Money)
    actor: Mapped[str | None] = mapped_column(String(80))  # the member of staff, at the desk
    # The borrower's member type, written when the patron is forgotten (patron_id set to
    # None, kiosk.central.circulation.loan_history): the reports still count by it.
    member_type: Mapped[str | None] = mapped_column(String(32))
    # Where it happened (0028): the kiosk's branch, the desk's member of staff's, the SIP2
    # device's location; None: none known. The reports by branch count by it.
    branch: Mapped[str | None] = mapped_column(String(32))

    # Not unique: a kiosk re-installed on a new card starts a new journal at 1.
    __table_args__ = (
        Index("transactions_by_kiosk", "kiosk_id", "kiosk_seq"),
        Index("transactions_at", "decided_at"),
        Index("transactions_by_item", "item_barcode", "kind", "decided_at"),
        Index("transactions_by_patron", "patron_id", "decided_at"),
    )


class StaffException(CentralBase):
    """A physical fact the rules would have refused, applied anyway, for staff to look at."""

    __tablename__ = "exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"))  # None: not a kiosk
    source: Mapped[str | None] = mapped_column(String(80))  # e.g. "sip2:selfcheck-1"
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(400))
    resolved_by: Mapped[str | None] = mapped_column(String(80))


class Change(CentralBase):
    """The change log that drives every kiosk's mirror; ``seq`` only ever grows."""

    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entity: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any] | None]
    kiosk_id: Mapped[int | None]  # set on a journal entry's marker: only that kiosk needs it


class ChangeCounter(CentralBase):
    """One row: the last change sequence handed out.

    Every writing transaction bumps it first, so the row lock serialises writers and
    sequence numbers are committed in the order they are handed out: a kiosk that has
    read up to N can never later miss a change numbered below N.
    """

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class StaffMember(CentralBase):
    """A member of staff who signs in to the console: a password verifier, never a
    password (argon2id, ``kiosk.common.pins``), a role, and the lockout's count."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin, circulation, viewer
    password_verifier: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool]
    failed_attempts: Mapped[int]
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # The branch where they work (a branch's code; None: none): the desk's returns are
    # routed from it and the console's lists show it first.
    branch: Mapped[str | None] = mapped_column(String(32))


class StaffSession(CentralBase):
    """A signed-in browser. The cookie holds a random id; the table only its SHA-256, so
    a copy of the database opens no session."""

    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen: Mapped[datetime]


class AuditEntry(CentralBase):
    """Who changed what, when, from where: written in the same transaction as the change."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(80))  # a username, or "terminal:USER"
    action: Mapped[str] = mapped_column(String(40))  # e.g. staff.add, session.start
    target: Mapped[str] = mapped_column(String(120))
    origin: Mapped[str] = mapped_column(String(80))  # an address, or "terminal"
    detail: Mapped[str] = mapped_column(String(400), default="")


class Sip2Account(CentralBase):
    """A SIP2 device's login (93): a password verifier, never a password, the location
    it reports, and what it may do; all false but the login is patron authentication
    only."""

    __tablename__ = "sip2_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_verifier: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(64))
    may_check_out: Mapped[bool]
    may_check_in: Mapped[bool]
    may_renew: Mapped[bool]
    may_hold: Mapped[bool]
    may_pay: Mapped[bool]
    may_block: Mapped[bool]
    disabled: Mapped[bool]
    created_at: Mapped[datetime]


class ServerState(CentralBase):
    """One row: this database's epoch and the latest backup taken of it.

    Never in a backup (``kiosk.central.backups`` leaves it out), so a database restored by
    any means has none and starts a new epoch when it is first read: kiosks that see a new
    epoch push again whatever they still hold and take a fresh snapshot, since the
    restored change log is behind their mirrors.
    """

    __tablename__ = "server_state"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    epoch: Mapped[str] = mapped_column(String(32))
    epoch_started_at: Mapped[datetime]
    # The change log position the latest completed backup covers: kiosks may forget the
    # transactions applied up to it. None: no backup of this epoch yet.
    backup_covers: Mapped[int | None] = mapped_column(BigInteger)
    # The latest backup taken (whether or not it counts for the kiosks).
    backup_at: Mapped[datetime | None]
    backup_file: Mapped[str | None] = mapped_column(String(400))
    # The latest backup was written to the SQLite database's own disk, not said to be
    # copied off the machine ([backup] off_machine): it did not move backup_covers on.
    backup_on_database_disk: Mapped[bool] = mapped_column(default=False, server_default=false())


class Notice(CentralBase):
    """One notice in the outbox. ``key`` (patron, kind, subject, day) is fixed when the
    notice becomes due and is unique: finding it again adds nothing. ``status`` is
    waiting, sending (claimed by ``claimed_by``), sent, failed, interrupted (its runner
    died mid-send: it may or may not have gone), print (the patron has no channel) or
    printed. ``facts`` holds what the message says (titles, dates, amounts) as they
    were when it became due, so a resend says the same."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    patron_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    subject: Mapped[str] = mapped_column(String(80))
    day: Mapped[date]
    channel: Mapped[str] = mapped_column(String(8))  # email, sms, print
    digest: Mapped[bool]
    facts: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime]
    send_after: Mapped[datetime]  # a digest's notices wait for the day's digest hour
    attempts: Mapped[int]
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(400))

    __table_args__ = (Index("notices_to_send", "status", "send_after"),)


class NoticeScan(CentralBase):
    """A day whose daily notices (due soon, overdue, hold expiring, membership, new
    arrivals) were found: runners polling every few seconds look once a day."""

    __tablename__ = "notice_scans"

    day: Mapped[date] = mapped_column(primary_key=True)
    done_at: Mapped[datetime]


class UpstreamOutbox(CentralBase):
    """Gateway mode (issue 19): a transaction decided here, waiting to be relayed to the
    library's own system over SIP2, queued in the transaction that decided it.
    ``change_seq`` is its place in the change log, handed out under the change counter's
    lock and so in commit order: the relay sends in that order. ``status`` is waiting,
    sending (sent or about to be; after a crash or a lost answer the upstream is asked
    the item's state before it is sent again), done, or refused (by the upstream: a
    staff exception carries its message)."""

    __tablename__ = "upstream_outbox"

    change_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # checkout, return, renew, payment
    item_barcode: Mapped[str | None] = mapped_column(String(32))
    patron_id: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime]
    amount: Mapped[Decimal | None] = mapped_column(Money)  # a payment's
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int]
    # A renewal's due date as the upstream gave it just before the renewal was sent: a
    # later one there means it was renewed, should its answer be lost.
    due_before: Mapped[str | None] = mapped_column(String(32))
    done_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(String(400))  # the upstream's screen message

    __table_args__ = (Index("upstream_outbox_to_send", "status", "change_seq"),)


class UpstreamRelay(CentralBase):
    """One row: whether transactions are queued for the upstream ([upstream] enabled, as
    the server's processes found it when they started), which relay holds the right to
    send (``holder``, renewed at each commit: one relay sends at a time, in order) and
    what it has done, for staff."""

    __tablename__ = "upstream_relay"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    enabled: Mapped[bool]
    holder: Mapped[str | None] = mapped_column(String(80))
    held_at: Mapped[datetime | None]
    position: Mapped[int] = mapped_column(BigInteger)  # the last change_seq done with
    relayed: Mapped[int]
    refused: Mapped[int]
    last_sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(400))
    last_error_at: Mapped[datetime | None]


class PatronSession(CentralBase):
    """A patron signed in to the portal (``/my/``): kept apart from staff sessions, so
    neither cookie opens the other's pages. As there, the table holds only the SHA-256
    of the cookie's random id."""

    __tablename__ = "patron_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    patron_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime]
    last_seen: Mapped[datetime]


class PortalSignInFailures(CentralBase):
    """Sign-ins refused to one address in the portal (an unknown card or a wrong PIN),
    counted in a window: the per-card lockout does not slow someone trying one PIN on
    many cards."""

    __tablename__ = "portal_sign_in_failures"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int]
    window_start: Mapped[datetime]


class PortalFeedback(CentralBase):
    """What a patron thought of the library, sent from the portal: a rating from 1 to 5
    and a comment. Anonymous (``patron_id`` None) unless the patron asked to be
    contacted about it; only the day is kept, not the time, so that the per-sender
    counts (``FeedbackSender``) do not tell who sent an anonymous one."""

    __tablename__ = "portal_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    rating: Mapped[int]
    comment: Mapped[str] = mapped_column(String(1000))
    patron_id: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("portal_feedback_by_day", "day", "id"),)


class KioskFeedback(CentralBase):
    """A patron's rating of a kiosk at the end of their session (1 to 3, worst to best)
    and the reason they gave, if any: applied from the kiosk's journal, anonymous. Only
    the hour is kept, and no link to the entry it came in (its neighbours in the journal
    name the patron)."""

    __tablename__ = "kiosk_feedback"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id", ondelete="CASCADE"))
    week: Mapped[date]  # the Monday of the hour's week, for the reports
    hour: Mapped[datetime]
    rating: Mapped[int]
    reason: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("kiosk_feedback_by_week", "week", "kiosk_id"),)


class FeedbackSender(CentralBase):
    """How many feedback forms one patron, or one address, sent on ``day``: a few a day
    each, so the form cannot be flooded. Rows of days gone are deleted at the next send."""

    __tablename__ = "feedback_senders"

    sender: Mapped[str] = mapped_column(String(80), primary_key=True)
    day: Mapped[date]
    sent: Mapped[int]


class LibraryMessage(CentralBase):
    """The library's own message on the kiosks' Welcome screen in one language ("Closed
    on Monday 25th"), set by staff in the console; it reaches the kiosks through the
    change log (``Entity.MESSAGE``). No row: no message in that language."""

    __tablename__ = "library_messages"

    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    text: Mapped[str] = mapped_column(String(300))
    set_at: Mapped[datetime]
    set_by: Mapped[str] = mapped_column(String(80))
