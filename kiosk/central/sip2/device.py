"""Who is at the other end of a SIP2 connection, and the settings its answers use.

The server builds one ``Device`` when a connection's 93 Login succeeds and hands it,
with each request, to ``kiosk.central.sip2.handlers.answer``. A handler reads from it
what the account may do (``may``), where it stands (``location``) and how to answer
(``settings``: the institution id, the sort bins a sorter is told, the library's
currency and time zone); it never reads the config or the account itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

from kiosk.central.gateway.patrons import PatronCheck

# What an account may do, as ``Device.may`` names it: the words of
# ``kiosk-central sip2 account add --may``. An account with none of them is for patron
# authentication only (23, 63, 35: an EZproxy-style authenticator or a PC-booking
# system), which every logged-in account may do.
CHECKOUT = "checkout"
CHECKIN = "checkin"
RENEW = "renew"
HOLD = "hold"
PAY = "pay"
BLOCK = "block"
PERMISSIONS: tuple[str, ...] = (CHECKOUT, CHECKIN, RENEW, HOLD, PAY, BLOCK)


@dataclass(frozen=True, slots=True)
class Sip2Settings:
    """``central.toml``'s ``[sip2]`` (and the parts of ``[library]``) that shape answers."""

    charset: str = "utf-8"  # the codec's name for it: "utf-8", "cp850", "iso8859-1"
    institution_id: str = ""  # AO in what we send; "" echoes the device's
    library_name: str = "The Library"  # AM in the 98 ACS Status
    currency: str = ""  # BH, ISO 4217 ("GBP"); "" sends no currency type
    time_zone: tzinfo | None = None  # the library's; None: the server's own
    # The sort bins (CL) a 10 Checkin Response names, like the kiosk's [bins]:
    hold_shelf_bin: str = "1"  # someone is waiting for the item
    shelf_bin: str = "2"  # back on the shelf
    staff_bin: str = "3"  # staff must look at it (unknown, not on loan, a transfer)
    # Gateway mode: a PIN a device sends is checked by the library's own system first
    # (None: not in gateway mode, or the local verifier alone).
    patron_check: PatronCheck | None = None


@dataclass(frozen=True, slots=True)
class Device:
    """A logged-in SIP2 connection: the account it logged in as and what it may do."""

    account: str  # the Sip2Account's name: the source of its transactions, "sip2:NAME"
    location: str  # the account's location code ("" when none was set)
    may: frozenset[str]  # a subset of PERMISSIONS
    peer: str  # "192.0.2.7:51234", for the log
    settings: Sip2Settings = field(default_factory=Sip2Settings)

    @property
    def source(self) -> str:
        """How a transaction names where it came from: ``sip2:ACCOUNT``."""
        return f"sip2:{self.account}"
