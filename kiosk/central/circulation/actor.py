"""Who made a change on the server, for the audit log and the transaction's record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Channel = Literal["desk", "terminal", "portal", "sip2", "kiosk"]


@dataclass(frozen=True, slots=True)
class Actor:
    """A member of staff at the console or a terminal (``username``), a patron in the
    portal or at a kiosk, or a SIP2 device, with where the request came from (``origin``:
    an address, "terminal", or the kiosk) and ``branch``: the branch where they are (the
    member of staff's, a SIP2 device's location; None: none known), which a loan or a
    return they make is recorded at."""

    username: str
    origin: str
    channel: Channel = "desk"
    branch: str | None = None
