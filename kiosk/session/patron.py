"""Everything the kiosk knows about the person at it, dropped whole when they leave."""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.circulation.views import (
    AccountAnswer,
    CheckoutAnswer,
    FeedbackReason,
    Greeting,
    MembershipAnswer,
    PatronSession,
    RenewAnswer,
)
from kiosk.session.viewdata import Line, Look


@dataclass
class Patron:
    session: PatronSession | None = None
    card: str | None = None  # only between the card scan and the PIN
    staff: bool = False  # a staff card was scanned: the PIN asked for is the staff PIN
    pin: str = ""
    lines: list[Line] = field(default_factory=list)  # the checkout screen's, newest first
    results: list[CheckoutAnswer | RenewAnswer] = field(default_factory=list)  # lent, renewed
    account: AccountAnswer | None = None
    renewed: dict[str, RenewAnswer] = field(default_factory=dict)  # by barcode
    greeting: Greeting = field(default_factory=Greeting)  # what waited for them at sign-in
    membership: MembershipAnswer | None = None  # their renewal here, allowed or refused
    renew_offer: str | None = None  # the item just scanned again: one tap renews it
    hold_offer: str | None = None  # the copy just refused: one tap holds its title
    # Their rating of the kiosk on the finish screen (1-3) and its reason, journaled
    # (anonymous) as the session ends, however it ends.
    rating: int | None = None
    reason: FeedbackReason | None = None
    language: str = "en"
    look: Look = field(default_factory=Look)

    @property
    def lent(self) -> int:
        """How many items were lent in this session."""
        return sum(1 for answer in self.results if isinstance(answer, CheckoutAnswer))
