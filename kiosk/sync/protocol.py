"""The sync protocol's wire schemas: defined once, used by the server and the kiosk alike.

Paths are versioned (``/v1/...``); every request carries the kiosk's bearer
token. See docs/sync-protocol.md for the exchange itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

API_PREFIX = "/v1"
MAX_PUSH = 500  # entries in one push
MAX_PAGE = 5000  # changes in one page
MAX_SNAPSHOT_PAGE = 50_000  # rows in one snapshot page
MESSAGE_LENGTH = 300  # characters of the library's message in one language


class Wire(BaseModel):
    """Every message: unknown fields are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Entity(StrEnum):
    POLICY = "policy"
    RECORD = "record"
    ITEM = "item"
    PATRON = "patron"
    LOAN = "loan"
    HOLD = "hold"
    MESSAGE = "message"  # the library's message on the kiosks' Welcome, one per language
    ENTRY = "entry"  # marks a kiosk's journal entry as applied; carries no row


# The order in which a snapshot sends the entities, and a mirror loads them.
SNAPSHOT_ORDER = (
    Entity.POLICY,
    Entity.RECORD,
    Entity.ITEM,
    Entity.PATRON,
    Entity.LOAN,
    Entity.HOLD,
    Entity.MESSAGE,
)


class PolicyRow(Wire):
    version: str
    document: dict[str, Any]  # the contract's JSON policy


class RecordRow(Wire):
    brn: int
    title: str
    author: str
    isbn: str | None
    publication_type: str


class ItemRow(Wire):
    barcode: str
    brn: int
    price: Decimal
    status: str
    home_location: str


class PatronRow(Wire):
    patron_id: str
    card: str
    first_name: str
    member_type: str
    expires: date | None
    barred: bool
    owed: Decimal
    pin_verifier: str | None
    # Wrong PINs counted wherever typed (kiosk.common.pins.PinState). Left out of a change
    # while 0 and None, and of the changes sent to a kiosk that knows older rows
    # (ROW_FIELDS_SINCE): a kiosk one version older refuses a field it does not know.
    pin_failures: int = Field(default=0, ge=0)
    pin_locked_until: datetime | None = None  # the library's local time, as every time
    # Whether the library has an email address for the patron (the kiosk offers to email
    # a receipt): a yes or no, never the address. Left out of a change while False, and
    # of the changes sent to a kiosk that knows an older patron row.
    has_email: bool = False


PIN_STATE_FIELDS = ("pin_failures", "pin_locked_until")


class LoanRow(Wire):
    item_barcode: str
    patron_id: str
    member_type: str
    due: str  # a date, or a date and time for a short loan
    renewals: int


class HoldRow(Wire):
    """An item hold (``brn`` None), or a title hold on record ``brn``: with no
    ``item_barcode`` while it waits in its record's queue, and the copy's once one is
    trapped for it (then it is that copy's first hold: ready on the hold shelf, or not
    yet while the copy is in transit to ``pickup``, the branch where the patron collects
    it; None: wherever it is trapped)."""

    id: int
    item_barcode: str | None
    patron_id: str
    position: int
    ready: bool
    title: str
    brn: int | None = None
    pickup: str | None = None  # left out of a change while None, as ``brn`` is


class MessageRow(Wire):
    """The library's own message on the kiosks' Welcome screen in one language (a code
    of kiosk.session.i18n.LANGUAGE_NAMES), as staff set it in the console."""

    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
    text: Annotated[str, StringConstraints(min_length=1, max_length=MESSAGE_LENGTH)]


ROW_TYPES: dict[Entity, type[Wire]] = {
    Entity.POLICY: PolicyRow,
    Entity.RECORD: RecordRow,
    Entity.ITEM: ItemRow,
    Entity.PATRON: PatronRow,
    Entity.LOAN: LoanRow,
    Entity.HOLD: HoldRow,
    Entity.MESSAGE: MessageRow,
}

# The fields each version of the rows added, by entity, from the first version: a kiosk
# says on its pull which version it knows (ROW_FIELDS_HEADER; none: before the first),
# and the changes it is sent leave out the later fields, which it would refuse. A kiosk
# and a server may then be upgraded in either order.
ROW_FIELDS_SINCE: dict[Entity, dict[int, tuple[str, ...]]] = {
    Entity.PATRON: {1: PIN_STATE_FIELDS, 2: ("has_email",)},
    Entity.HOLD: {1: ("pickup",)},
}
# The entities each version added: a kiosk that knows an older version is sent none of
# their snapshot pages or changes (it would refuse an entity it does not know). Either
# way its cursor moves past what it was not sent: upgraded, a kiosk replaces a mirror
# built from an older version with a snapshot (sync_cursor.row_fields).
ENTITIES_SINCE: dict[Entity, int] = {Entity.MESSAGE: 3}
ROW_FIELDS_VERSION = max(
    *(version for since in ROW_FIELDS_SINCE.values() for version in since),
    *ENTITIES_SINCE.values(),
)


def entities_unknown_to(version: int) -> frozenset[Entity]:
    """The entities a kiosk that knows rows of ``version`` does not know."""
    return frozenset(entity for entity, since in ENTITIES_SINCE.items() if since > version)


def fields_unknown_to(version: int) -> dict[str, tuple[str, ...]]:
    """The fields of each entity's rows (by its value) a kiosk that knows ``version``
    does not know; entities with none are left out."""
    unknown = {
        entity.value: tuple(
            name for since, names in added.items() if since > version for name in names
        )
        for entity, added in ROW_FIELDS_SINCE.items()
    }
    return {entity: names for entity, names in unknown.items() if names}


class Change(Wire):
    """One row changed on the server. ``data`` None is a tombstone: the row is gone."""

    seq: int
    entity: Entity
    key: str
    data: dict[str, Any] | None


class ChangesPage(Wire):
    changes: list[Change]
    cursor: int  # the last change this page accounts for
    more: bool
    # This kiosk's journal entries whose effects are in the changes up to ``cursor``.
    reflected: list[str] = Field(default_factory=list)


# A snapshot page is columnar: these columns, in this order, one list per row. Money is
# a decimal string, a date "YYYY-MM-DD", the policy's document a JSON object.
SNAPSHOT_COLUMNS: dict[Entity, tuple[str, ...]] = {
    Entity.POLICY: ("version", "document"),
    Entity.RECORD: ("brn", "title", "author", "isbn", "publication_type"),
    Entity.ITEM: ("barcode", "brn", "price", "status", "home_location"),
    Entity.PATRON: (
        "patron_id",
        "card",
        "first_name",
        "member_type",
        "expires",
        "barred",
        "owed",
        "pin_verifier",
        "pin_failures",
        "pin_locked_until",
        "has_email",
    ),
    Entity.LOAN: ("item_barcode", "patron_id", "member_type", "due", "renewals"),
    Entity.HOLD: (
        "id",
        "item_barcode",
        "patron_id",
        "position",
        "ready",
        "title",
        "brn",
        "pickup",
    ),
    Entity.MESSAGE: ("language", "text"),
}
# Columns a server one version older does not send: a kiosk reads them as null. A kiosk
# reads a snapshot's columns by name, so a newer server's added ones are passed over.
SNAPSHOT_OPTIONAL: dict[Entity, frozenset[str]] = {
    Entity.HOLD: frozenset({"brn", "pickup"}),
    Entity.PATRON: frozenset((*PIN_STATE_FIELDS, "has_email")),
}


class SnapshotPage(Wire):
    cursor: int  # the change log position the snapshot began at: follow deltas from here
    entity: Entity
    columns: list[str]
    rows: list[list[Any]]
    after: str | None  # pass back to get the next page; None when the snapshot is complete
    totals: dict[Entity, int]  # rows of each entity in the whole snapshot (first page only)


# ``membership``: a patron renewed their membership at the kiosk; it names no item.
EntryKind = Literal[
    "checkout", "return", "renew", "fault", "membership", "pin", "feedback", "receipt", "hold"
]
# Entries about a patron alone, with no item (``item_barcode`` empty): a membership
# renewal, a PIN typed at the kiosk (``details["right"]``), which the server counts
# with the PINs typed elsewhere, and a patron's request for their session's receipt by
# email (``details``: the session's ``entries`` and the ``items`` it lent and renewed).
RECEIPT = "receipt"
# A title hold a patron placed at the kiosk (``details``: the record's ``brn``, the
# ``item`` they scanned, the ``pickup`` branch, the kiosk's own or None): its item is
# no copy's state, so it names none, as the others here.
HOLD = "hold"
PATRON_ONLY_KINDS = frozenset({"membership", "pin", RECEIPT, HOLD})
MAX_RECEIPT_ITEMS = 100
# A patron's feedback at the end of a session names neither item nor patron, and its
# time only to the hour: it must not say whose it was (docs/sync-protocol.md).
FEEDBACK = "feedback"
NO_ITEM_KINDS = PATRON_ONLY_KINDS | {FEEDBACK}
# Worst to best, as the kiosk's faces are.
FEEDBACK_RATINGS = (1, 2, 3)
# The reasons a patron may add to a rating; none is a rating alone.
FEEDBACK_REASONS = ("not_found", "slow", "error", "hard_to_use")


INT32 = 2**31 - 1  # the widest plain integer column in the central database
Code = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,32}$")]  # barcodes, ids, codes
Status = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
DueText = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$")]


def _local_time(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        raise ValueError("must be the library's local time, without a time zone")
    return moment


def _storable_text(text: str) -> str:
    """Only what every database stores as text: no NUL characters, no lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    if "\\u0000" in text or "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


def _storable(details: dict[str, Any]) -> dict[str, Any]:
    """Only what every database stores as JSON (see _storable_text), and not too much."""
    text = _storable_text(json.dumps(details, ensure_ascii=False))
    if len(text) > 10_000:
        raise ValueError("is too large (at most 10,000 characters as JSON)")
    return details


class WireEntry(Wire):
    """One journal entry of a kiosk, as decided there."""

    id: str = Field(pattern=r"^[A-Za-z0-9:._-]{1,64}$")
    seq: int = Field(ge=1, le=INT32)
    kind: EntryKind
    decided_at: Annotated[datetime, AfterValidator(_local_time)]
    item_barcode: Code | Literal[""]  # empty for NO_ITEM_KINDS, and only there
    patron_id: Code | None
    details: Annotated[dict[str, Any], AfterValidator(_storable)]
    charged: Decimal = Field(ge=0, le=Decimal("100000.00"), decimal_places=2)
    status_after: Status | Literal[""]
    loan_patron_id: Code | None
    loan_member_type: Code | None
    loan_due: DueText | None
    loan_renewals: int | None = Field(ge=0, le=INT32)
    fulfilled_hold_of: Code | None

    @model_validator(mode="after")
    def _item_or_membership(self) -> WireEntry:
        if (self.kind in NO_ITEM_KINDS) != (self.item_barcode == ""):
            raise ValueError(
                "item_barcode is empty for a membership, PIN or feedback entry, and only there"
            )
        if self.kind == FEEDBACK:
            _check_feedback(self)
        if self.kind == RECEIPT and (self.patron_id is None or not receipt_items(self)):
            raise ValueError(
                "a receipt entry names its patron, and the session's entries and items"
            )
        if self.kind == "pin" and (
            self.patron_id is None or not isinstance(self.details.get("right"), bool)
        ):
            raise ValueError("a PIN entry names its patron and whether the PIN was right")
        if self.kind == "membership" and (
            self.patron_id is None or _membership_expiry(self.details) is None
        ):
            raise ValueError("a membership entry names its patron and its new expiry date")
        if self.kind == HOLD and (self.patron_id is None or _hold_request(self.details) is None):
            raise ValueError(
                "a hold entry names its patron, the record, the copy scanned and the pickup"
            )
        return self


def _check_feedback(entry: WireEntry) -> None:
    """Anonymous: no patron, no loan, nothing charged, a time no finer than the hour, and
    nothing in its details but a rating and perhaps a reason."""
    if entry.patron_id is not None or entry.loan_patron_id is not None:
        raise ValueError("a feedback entry names no patron")
    if entry.decided_at != entry.decided_at.replace(minute=0, second=0, microsecond=0):
        raise ValueError("a feedback entry's time is rounded down to the hour")
    details = entry.details
    rating, reason = details.get("rating"), details.get("reason")
    if (
        set(details) - {"rating", "reason"}
        or isinstance(rating, bool)
        or rating not in FEEDBACK_RATINGS
        or (reason is not None and reason not in FEEDBACK_REASONS)
    ):
        raise ValueError(
            "a feedback entry's details are a rating of 1 to 3 and perhaps a known reason"
        )
    if entry.charged != 0 or entry.status_after or entry.fulfilled_hold_of is not None:
        raise ValueError("a feedback entry changes nothing")


class ReceiptItem(Wire):
    """A line of an emailed receipt: what the kiosk told the patron."""

    action: Literal["checkout", "renew"]
    title: str = Field(max_length=300)
    due: DueText


class _ReceiptDetails(Wire):
    entries: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9:._-]{1,64}$")]] = Field(
        min_length=1, max_length=MAX_RECEIPT_ITEMS
    )
    items: list[ReceiptItem] = Field(min_length=1, max_length=MAX_RECEIPT_ITEMS)


def receipt_items(entry: WireEntry) -> list[ReceiptItem]:
    """The lines of a receipt entry (none: its details are not a receipt's)."""
    try:
        return _ReceiptDetails.model_validate(entry.details).items
    except ValidationError:
        return []


def _membership_expiry(details: Mapping[str, Any]) -> date | None:
    """The new expiry a membership entry's details give (``expires``), if a date."""
    try:
        return date.fromisoformat(str(details.get("expires")))
    except ValueError:
        return None


def membership_expiry(entry: WireEntry) -> date:
    """The new expiry of a membership entry (checked as the entry was read)."""
    expires = _membership_expiry(entry.details)
    assert expires is not None
    return expires


class HoldRequest(Wire):
    """What a hold entry asks: a title hold on record ``brn``, seen through the copy
    ``item`` the patron scanned, to collect at branch ``pickup`` (None: the default)."""

    brn: int = Field(ge=1, le=INT32)
    item: Code
    pickup: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")] | None
    ) = None


def _hold_request(details: Mapping[str, Any]) -> HoldRequest | None:
    try:
        return HoldRequest.model_validate(details)
    except ValidationError:
        return None


def hold_request(entry: WireEntry) -> HoldRequest:
    """The request of a hold entry (checked as the entry was read)."""
    request = _hold_request(entry.details)
    assert request is not None
    return request


def touched_item(entry: WireEntry) -> str:
    """The item an entry's application reads and locks: its own, or for a hold the copy
    scanned (whose record's title queue it joins); empty for none."""
    if entry.kind == HOLD:
        return hold_request(entry).item
    return entry.item_barcode


class PushRequest(Wire):
    entries: list[WireEntry] = Field(max_length=MAX_PUSH)


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    EXCEPTION = "exception"  # applied, and recorded for staff to look at


class PushResult(Wire):
    id: str
    outcome: Outcome
    reason: str | None = None


class PushResponse(Wire):
    results: list[PushResult]


class Heartbeat(Wire):
    version: Annotated[str, AfterValidator(_storable_text)] = Field(max_length=32)
    journal_depth: int = Field(ge=0, le=INT32)
    oldest_pending: Annotated[datetime, AfterValidator(_local_time)] | None
    last_error: Annotated[str, AfterValidator(_storable_text)] | None = Field(max_length=400)
    scanners: list[
        Annotated[str, StringConstraints(max_length=100), AfterValidator(_storable_text)]
    ] = Field(max_length=20)
    disk_free_mb: int = Field(ge=0, le=INT32)


class HeartbeatReply(Wire):
    server_time: datetime
    cursor: int


class Problem(Wire):
    """An error answer: what went wrong, for the person who must fix it."""

    detail: str


# --- what the server holds safely beyond its own disk (docs/operations.md) ---------------
#
# Sent as HTTP headers rather than fields: every message above forbids unknown fields,
# so a field that a kiosk or server one version older does not know would make it refuse
# the whole message; a header it does not know, it ignores.

# On every answer to a kiosk: the database's epoch, new after each restore.
EPOCH_HEADER = "Kiosk-Server-Epoch"
# On every answer to a kiosk: the change log position the latest backup covers, "none"
# before the first, or "immediately" when every commit is kept elsewhere as it happens
# (PostgreSQL archiving or replication, central.toml's [backup] kiosks_forget).
BACKUP_HEADER = "Kiosk-Backup-Covers"
# On the answer to a push: the change log position once the push was committed, at or
# after the change of every entry it answers for.
APPLIED_HEADER = "Kiosk-Applied-Through"
# On a heartbeat: how many applied entries the kiosk keeps until a backup covers them.
HELD_HEADER = "Kiosk-Held-For-Backup"
# On a kiosk's pull: the version of the rows it knows (ROW_FIELDS_SINCE), ASCII digits.
ROW_FIELDS_HEADER = "Kiosk-Row-Fields"
NO_BACKUP = "none"
IMMEDIATELY = "immediately"
_EPOCH = re.compile(r"^[0-9a-f]{32}$")
# A position or count: ASCII digits alone (str.isdigit() also takes "²", which int()
# refuses), as many as a signed 64-bit number has.
_DIGITS = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True, slots=True)
class Durability:
    """The server's epoch, and how far its backups reach in that epoch's change log."""

    epoch: str
    covers: int | None  # None: no backup yet
    immediately: bool = False  # every commit is kept elsewhere at once

    def headers(self) -> dict[str, str]:
        if self.immediately:
            covers = IMMEDIATELY
        else:
            covers = NO_BACKUP if self.covers is None else str(self.covers)
        return {EPOCH_HEADER: self.epoch, BACKUP_HEADER: covers}

    def covered(self, position: int) -> bool:
        """Whether a change at ``position`` of this epoch's log is kept beyond the server."""
        return self.immediately or (self.covers is not None and position <= self.covers)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Durability | None:
        """What an answer says, or None from a server too old to say. Raises ValueError
        when it says something malformed."""
        epoch, covers = headers.get(EPOCH_HEADER), headers.get(BACKUP_HEADER)
        if epoch is None:
            return None
        if not _EPOCH.fullmatch(epoch):
            raise ValueError(f"{EPOCH_HEADER} is not an epoch: {epoch[:40]!r}")
        if covers is None or covers == NO_BACKUP:
            return cls(epoch, None)
        if covers == IMMEDIATELY:
            return cls(epoch, None, immediately=True)
        if not _DIGITS.fullmatch(covers):
            raise ValueError(f"{BACKUP_HEADER} is not a change log position: {covers[:40]!r}")
        return cls(epoch, int(covers))


def header_position(headers: Mapping[str, str], name: str) -> int | None:
    """A change log position or count sent in header ``name``; None when absent or
    malformed (a count is only ever shown, never trusted for a decision)."""
    value = headers.get(name, "")
    return int(value) if _DIGITS.fullmatch(value) else None


# --- branches (issue 21) -------------------------------------------------------------
#
# On the answers to /snapshot and /changes: the branch the kiosk stands in (a branch's
# code), absent when it has none. A header for the reason above: a kiosk one version
# older ignores it (and routes every return to the shelf, as before branches). The
# items' home branch is their ``home_location``; nothing else about branches is sent.
BRANCH_HEADER = "Kiosk-Branch"
BRANCH_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


def branch_from_headers(headers: Mapping[str, str]) -> str | None:
    """The kiosk's branch an answer names, or None (no branch, or a server from before
    branches). Raises ValueError when it names one malformed."""
    branch = headers.get(BRANCH_HEADER)
    if branch is None:
        return None
    if not BRANCH_CODE.fullmatch(branch):
        raise ValueError(f"{BRANCH_HEADER} is not a branch code: {branch[:40]!r}")
    return branch


# Beside it, the library's branch codes, comma-separated: a copy's home branch is its
# ``home_location`` only when that names one of them (items from before branches keep
# values like "Stacks", which are no branch, and go to the shelf where they come back).
# Sent whenever the library has branches; absent from a server from before it (the
# kiosk then takes any home_location for a branch, as it did).
BRANCHES_HEADER = "Kiosk-Branches"


def branches_from_headers(headers: Mapping[str, str]) -> frozenset[str] | None:
    """The library's branch codes an answer names, or None (a server from before the
    header, or a library with no branches). Raises ValueError when one is malformed."""
    value = headers.get(BRANCHES_HEADER)
    if value is None:
        return None
    codes = frozenset(code.strip() for code in value.split(","))
    for code in codes:
        if not BRANCH_CODE.fullmatch(code):
            raise ValueError(f"{BRANCHES_HEADER} names no branch code: {code[:40]!r}")
    return codes


# And the branches' names as patrons read them, for the kiosk to say where a hold ready
# for a patron waits when that is another branch ("at the hold shelf at Northside
# Library"): ``CODE=NAME`` pairs, comma-separated, each name percent-encoded as UTF-8
# (a header is ASCII). Sent whenever the library has branches; a kiosk from before it
# ignores it, and a server from before it sends none (the kiosk then names no branch).
# A name is only shown: the kiosk shows what it can of each and leaves out one it cannot
# read, and never fails a sync round for a name (every kiosk would stop syncing).
BRANCH_NAMES_HEADER = "Kiosk-Branch-Names"
BRANCH_NAME_LENGTH = 120


def branch_names_header(names: Mapping[str, str]) -> str:
    """The header's value for the branches ``names`` (by code)."""
    return ",".join(f"{code}={quote(name, safe='')}" for code, name in sorted(names.items()))


def shown_branch_name(name: str) -> str:
    """``name`` as a kiosk can show it: a space of any kind (a non-breaking space, as
    French typography puts before a colon, a tab, a line break) as one plain space, any
    other character with nothing to show (a soft hyphen, a control character) left out,
    and cut to BRANCH_NAME_LENGTH; "" when nothing is left to show."""
    kept = "".join(
        character if character.isprintable() else " " if character.isspace() else ""
        for character in name
    )
    return " ".join(kept.split())[:BRANCH_NAME_LENGTH].rstrip()


def branch_names_from_headers(
    headers: Mapping[str, str],
) -> tuple[dict[str, str] | None, list[str]]:
    """The branches' names an answer gives (by code), as a kiosk can show them
    (shown_branch_name), or None (a server from before the header, or a library with no
    branches); and what was left out, for the log. A name is only ever shown, so nothing
    in it is a reason to refuse the answer: a pair with no branch code, a name that is not
    UTF-8 or has nothing to show is left out, and the others are kept. What is left out
    names a branch's code or a pair's place in the header, never the text sent."""
    value = headers.get(BRANCH_NAMES_HEADER)
    if value is None:
        return None, []
    names: dict[str, str] = {}
    left_out = []
    for place, pair in enumerate(value.split(","), start=1):
        code, equals, quoted = pair.strip().partition("=")
        if not equals or not BRANCH_CODE.fullmatch(code):
            left_out.append(f"{BRANCH_NAMES_HEADER}: pair {place} names no branch code")
            continue
        try:
            name = shown_branch_name(unquote(quoted, errors="strict"))
        except UnicodeDecodeError:
            left_out.append(f"{BRANCH_NAMES_HEADER}: {code}'s name is not UTF-8")
            continue
        if not name:
            left_out.append(f"{BRANCH_NAMES_HEADER}: {code}'s name has nothing to show")
            continue
        names[code] = name
    return names, left_out
