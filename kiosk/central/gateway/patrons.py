"""A patron confirmed by the library's own system (63 Patron Information) within a time
budget (``[upstream] patron_check_seconds``, 1.5 s by default).

In gateway mode the other system keeps the patrons' PINs and blocks; asked first, its
answer decides a sign-in when it comes in time. When it does not (the system down, slow,
or refusing our login), the answer is None and the local verifier and rules decide, as
they would without gateway mode: a patron is never kept waiting longer than the budget.
Each check is a connection of its own (connect, 93, 63), all within the budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kiosk.central.config.model import UPSTREAM_PASSWORD, CentralConfig
from kiosk.central.gateway.client import Connection, Login, UpstreamDown
from kiosk.central.sip2 import codec
from kiosk.central.sip2.fields import PatronFlag
from kiosk.common.clock import Clock, SystemClock
from kiosk.common.secrets import read_secret

# What makes a patron unable to borrow or sign in, as the other system flags it.
BLOCKING = frozenset({PatronFlag.CHARGE_PRIVILEGES_DENIED, PatronFlag.CARD_REPORTED_LOST})


@dataclass(frozen=True, slots=True)
class Confirmed:
    """What the other system said of a card and PIN."""

    known: bool  # BL: a patron of theirs
    pin_right: bool  # CQ: the PIN is theirs (False when not sent back)
    blocked: bool  # charge privileges denied, or the card reported lost
    message: str  # their screen message (AF), for staff and logs never

    @property
    def may_sign_in(self) -> bool:
        return self.known and self.pin_right and not self.blocked


class PatronCheck:
    """Patron checks against the other system, on the one injectable clock."""

    def __init__(self, login: Login, clock: Clock) -> None:
        self.login = login
        self.settings = login.settings
        self.clock = clock

    def pace(self, card: str, pin: str | None) -> None:
        """Ask the other system as :meth:`confirm` does and forget its answer: a refusal
        made here (a card unknown, a lock in force) takes as long as one it decides."""
        self._ask(card, pin)

    def confirm(self, card: str, pin: str) -> Confirmed | None:
        """The other system's answer for ``card`` and ``pin``; None past the budget or
        when it cannot be asked."""
        return self._ask(card, pin)

    def _ask(self, card: str, pin: str | None) -> Confirmed | None:
        budget = self.settings.patron_check_seconds
        connection = Connection(self.login, budget, deadline=time.monotonic() + budget)
        try:
            connection.open()
            answer = connection.ask(
                codec.PatronInformation(
                    language="000",
                    transaction_date=self.clock.now().replace(microsecond=0),
                    summary=None,
                    institution_id=self.settings.institution_id,
                    patron_id=card,
                    patron_password=pin,
                ),
                codec.PatronInformationResponse,
            )
        except UpstreamDown:
            return None
        finally:
            connection.close()
        return Confirmed(
            known=bool(answer.valid_patron),
            pin_right=bool(answer.valid_patron_password),
            blocked=bool(BLOCKING & answer.patron_status),
            message=" ".join(answer.screen_message),
        )


def patron_check(config: CentralConfig) -> PatronCheck | None:
    """Gateway mode's patron check for a server process (the portal, SIP2), with the
    password read from its file; None when the library is not in gateway mode."""
    upstream = config.upstream
    if not upstream.enabled:
        return None
    password = (
        read_secret(upstream.password_file, UPSTREAM_PASSWORD) if upstream.password_file else ""
    )
    return PatronCheck(Login(upstream, password), SystemClock())
