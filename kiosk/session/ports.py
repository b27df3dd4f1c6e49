"""What the flow is given: its settings, and the ports it drives.

The composition root (kiosk.appliance.kiosk_run) builds the real ports; the tests build
them on a real data directory. Nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from kiosk.circulation.service import Circulation
from kiosk.session.i18n import Translator
from kiosk.session.viewdata import Look

Mode = Literal["checkout", "return", "both"]


@dataclass(frozen=True)
class FlowSettings:
    library_name: str = "Library"
    logo: str = ""
    mode: Mode = "both"
    languages: tuple[str, ...] = ("en", "es", "fr")
    default_language: str = "en"
    inactivity_seconds: float = 60.0
    warning_seconds: float = 15.0
    # A drop-station answer or a message on the welcome screen: long enough to read,
    # short enough that the next person does not see it.
    message_seconds: float = 10.0
    health_seconds: float = 5.0
    staff_cards: frozenset[str] = frozenset()
    staff_pin_verifier: str | None = None
    look: Look = field(default_factory=Look)
    demo: tuple[str, ...] = ()
    # The library's own message on Welcome, by language code (kiosk.toml).
    welcome_message: Mapping[str, str] = field(default_factory=dict)

    @property
    def lends(self) -> bool:
        return self.mode in ("checkout", "both")

    @property
    def takes_returns(self) -> bool:
        return self.mode in ("return", "both")


@dataclass(frozen=True, slots=True)
class Health:
    """Why the kiosk cannot serve now (None: it can), and how far a first load has got."""

    cause: str | None = None
    progress: int | None = None


@dataclass(frozen=True, slots=True)
class StaffStatus:
    """The facts of ``kiosk status`` for the staff page: (name, value) rows and faults."""

    rows: tuple[tuple[str, str], ...]
    faults: tuple[str, ...] = ()


class ReceiptPort(Protocol):
    """The receipt printer, as the composition root wraps it (kiosk.devices.printer)."""

    @property
    def available(self) -> bool: ...

    def print_receipt(self, heading: str, lines: tuple[str, ...], footer: str) -> bool:
        """Print (or start printing) the receipt; False when it certainly failed."""
        ...


class NoPrinter:
    """A kiosk without a receipt printer: the finish screen offers no receipt."""

    available = False

    def print_receipt(self, heading: str, lines: tuple[str, ...], footer: str) -> bool:
        del heading, lines, footer
        return False


@dataclass
class Ports:
    """What the flow drives."""

    circulation: Circulation
    translators: dict[str, Translator]
    monotonic: Callable[[], float]
    health: Callable[[], Health] = Health
    staff_status: Callable[[], StaffStatus] = lambda: StaffStatus(())
    sync_now: Callable[[], None] = lambda: None
    printer: ReceiptPort = field(default_factory=NoPrinter)
    quit: Callable[[], None] = lambda: None
