"""The circulation service's answers: facts, not sentences.

Each answer is a status with the facts behind it: refusals with their reason codes and
figures, due dates, amounts (``Decimal``), the bin a return goes in. The session words
them through the catalogs (kiosk.session.wording), for the screens and for ``kiosk
circ`` alike. ``Due`` and ``Refusal`` are the lending rules' values, named here too as
the answers' own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from kiosk.rules import Due, Refusal

__all__ = [
    "AccountAnswer",
    "CheckoutAnswer",
    "CheckoutStatus",
    "Due",
    "FaultAnswer",
    "FeedbackReason",
    "Greeting",
    "HoldAnswer",
    "HoldLine",
    "HoldStatus",
    "Identification",
    "IdentifyStatus",
    "LoanLine",
    "MembershipAnswer",
    "MembershipStatus",
    "OutOfService",
    "PatronSession",
    "Refusal",
    "RenewAnswer",
    "RenewStatus",
    "ReturnAnswer",
    "ReturnStatus",
    "SortingBin",
    "SortingBins",
    "Unavailable",
]


@dataclass(frozen=True, slots=True)
class SortingBin:
    """Where a returned item goes: a number and colour staff have painted on a bin."""

    name: str
    number: int
    colour: str


@dataclass(frozen=True, slots=True)
class SortingBins:
    hold_shelf: SortingBin = SortingBin("Hold shelf", 1, "yellow")
    shelf: SortingBin = SortingBin("Shelf", 2, "green")
    staff: SortingBin = SortingBin("Staff", 3, "red")
    # Copies going to another branch (their home): the screen names the branch.
    transfer: SortingBin = SortingBin("Transfer", 4, "blue")


# A patron's rating of the kiosk at the end of a session: 1 to 3, worst to best.
FEEDBACK_RATINGS = (1, 2, 3)


class FeedbackReason(StrEnum):
    """What a patron may add to their rating (the wire protocol names the same)."""

    NOT_FOUND = "not_found"  # could not find a book
    SLOW = "slow"  # the kiosk was slow
    ERROR = "error"  # an error
    HARD_TO_USE = "hard_to_use"


class OutOfService(StrEnum):
    """Why the kiosk cannot lend now; each clears by itself when its cause goes away."""

    MIRROR_EMPTY = "mirror_empty"
    CLOCK_UNTRUSTED = "clock_untrusted"
    DISK_FULL = "disk_full"


@dataclass(frozen=True, slots=True)
class Unavailable:
    """The kiosk cannot take this transaction now; nothing was recorded."""

    cause: OutOfService


class IdentifyStatus(StrEnum):
    IDENTIFIED = "identified"
    UNKNOWN_CARD = "unknown_card"
    PIN_NEEDED = "pin_needed"
    WRONG_PIN = "wrong_pin"
    LOCKED = "locked"
    NO_PIN_SET = "no_pin_set"


@dataclass(frozen=True, slots=True)
class PatronSession:
    """Who is at the kiosk. Holds no card number and no PIN."""

    patron_id: str
    first_name: str
    member_type: str
    # Said at once when the patron signs in, not at their first scan.
    expired_on: date | None = None
    barred: bool = False
    # The library has an email address for them (the kiosk never holds it): the Finish
    # screen may offer to email a receipt.
    has_email: bool = False


@dataclass(frozen=True, slots=True)
class Greeting:
    """What waits for the patron, read as they sign in: holds ready on the hold shelf
    (their titles), loans overdue and due within ``DUE_SOON_DAYS`` (the soonest such
    due date), what they owe, and their membership's end when it is near enough to
    say (``renewable``: a patron may renew it here, the policy's window being open)."""

    holds_ready: tuple[str, ...] = ()
    # Beside each of holds_ready, the name of the branch whose hold shelf it waits on
    # when that is not this kiosk's ("": here, or not known): where to collect it.
    ready_where: tuple[str, ...] = ()
    overdue: int = 0
    due_soon: int = 0
    next_due: Due | None = None
    owed: Decimal = Decimal("0.00")
    membership_ends: date | None = None
    renewable: bool = False
    # The mirror is older than kiosk.toml's [offline] max_mirror_age_hours: at most
    # this many items a session.
    offline_limit: int | None = None


@dataclass(frozen=True, slots=True)
class Identification:
    status: IdentifyStatus
    session: PatronSession | None = None
    attempts_left: int | None = None
    locked_until: datetime | None = None
    greeting: Greeting = Greeting()


class CheckoutStatus(StrEnum):
    LENT = "lent"
    ALREADY_YOURS = "already_yours"
    REFUSED = "refused"
    UNKNOWN_ITEM = "unknown_item"
    # The mirror is old (kiosk.toml's [offline]): this session has had its items.
    OFFLINE_LIMIT = "offline_limit"


@dataclass(frozen=True, slots=True)
class CheckoutAnswer:
    status: CheckoutStatus
    barcode: str
    title: str
    due: Due | None = None
    refusals: tuple[Refusal, ...] = ()
    hold_fulfilled: bool = False
    entry_id: str | None = None
    offline_limit: int | None = None  # OFFLINE_LIMIT: the items a session may have
    # REFUSED because the copy waits for someone else or cannot be lent now: the patron
    # may place a hold on its title here (Circulation.place_hold).
    hold_offered: bool = False


class HoldStatus(StrEnum):
    PLACED = "placed"
    # Refused, and why: a hold of theirs on the title already, a copy of it on loan to
    # them, a card that cannot place holds (barred, expired), a copy the kiosk does not
    # know or no copy that could come back to be lent.
    WAITING = "waiting"
    ON_LOAN = "on_loan"
    CARD = "card"
    UNHOLDABLE = "unholdable"
    # The patron's member type may never borrow the title's publication type while the
    # policy stands (kiosk.rules.lending_closed): ``refusals`` say why.
    NOT_LENDABLE = "not_lendable"


@dataclass(frozen=True, slots=True)
class HoldAnswer:
    """A title hold asked for at the kiosk: placed (journaled; the server queues it) or
    refused. ``pickup``: the branch to collect it at (the kiosk's; None: the library's
    default, which the server chooses)."""

    status: HoldStatus
    barcode: str
    title: str
    pickup: str | None = None
    entry_id: str | None = None
    refusals: tuple[Refusal, ...] = ()  # NOT_LENDABLE: the rules' reasons


class ReturnStatus(StrEnum):
    RETURNED = "returned"
    NOT_ON_LOAN = "not_on_loan"
    UNKNOWN_ITEM = "unknown_item"
    ALREADY_RETURNED = "already_returned"


@dataclass(frozen=True, slots=True)
class ReturnAnswer:
    status: ReturnStatus
    barcode: str
    title: str
    bin: SortingBin
    fine: Decimal = Decimal("0.00")
    overdue_days: int = 0
    entry_id: str | None = None
    destination: str | None = None  # the branch a copy in the transfer bin goes to


class RenewStatus(StrEnum):
    RENEWED = "renewed"
    REFUSED = "refused"
    NOT_YOUR_LOAN = "not_your_loan"


@dataclass(frozen=True, slots=True)
class RenewAnswer:
    status: RenewStatus
    barcode: str
    title: str
    due: Due | None = None
    fine: Decimal = Decimal("0.00")
    refusals: tuple[Refusal, ...] = ()
    entry_id: str | None = None


class MembershipStatus(StrEnum):
    RENEWED = "renewed"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class MembershipAnswer:
    status: MembershipStatus
    expires: date | None = None  # the new expiry, once renewed
    refusals: tuple[Refusal, ...] = ()
    entry_id: str | None = None


@dataclass(frozen=True, slots=True)
class LoanLine:
    barcode: str
    title: str
    due: Due
    overdue: bool
    renewals: int


@dataclass(frozen=True, slots=True)
class HoldLine:
    title: str
    ready: bool
    position: int
    # A ready one's branch by name when it waits on another branch's hold shelf than
    # this kiosk's ("": here, or not known).
    where: str = ""


@dataclass(frozen=True, slots=True)
class AccountAnswer:
    first_name: str
    loans: tuple[LoanLine, ...]
    owed: Decimal
    holds_waiting: tuple[HoldLine, ...] = ()
    holds_ready: tuple[HoldLine, ...] = ()


@dataclass(frozen=True, slots=True)
class FaultAnswer:
    barcode: str
    title: str
    charge: Decimal
    item_status: str
    charged_to_borrower: bool
    entry_id: str = field(default="")
