"""The flow on a real data directory (tests/circulation's library), without a window."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

import pytest

from kiosk.circulation.service import Circulation
from kiosk.common.clock import FixedClock
from kiosk.common.pins import pin_verifier
from kiosk.devices.codes import ScanPipeline
from kiosk.devices.printer import Receipt
from kiosk.devices.settings import BarcodeSettings
from kiosk.session.flow import KioskFlow
from kiosk.session.i18n import load_translators
from kiosk.session.ports import FlowSettings, Health, Ports, StaffStatus
from kiosk.session.viewdata import Frame, Screen
from kiosk.store.store import Store
from tests.circulation.conftest import clock, store, verifier
from tests.circulation.library import PIN

__all__ = ["clock", "store", "verifier"]  # the circulation tests' real data directory

STAFF_CARD = "29999999999998"
STAFF_PIN = "7531"


class Receipts:
    """A printer that keeps what it printed (the ESC/POS printer has its own tests)."""

    def __init__(self, available: bool = True, works: bool = True) -> None:
        self.available = available
        self.works = works
        self.printed: list[Receipt] = []

    def print_receipt(self, heading: str, lines: tuple[str, ...], footer: str) -> bool:
        if not self.works:
            return False
        self.printed.append(Receipt(heading, lines, footer))
        return True


class Kiosk:
    """The flow with everything real but the window and the wall clock."""

    def __init__(
        self, store: Store, clock: FixedClock, *, pin_required: bool = True, **settings: Any
    ) -> None:
        self.clock = clock
        self.seconds = 0.0
        self.health = Health()
        self.synced = 0
        self.quit = 0
        self.receipts = Receipts()
        self.pipeline = ScanPipeline(
            BarcodeSettings(library_check_digit="none", debounce_seconds=0), clock.now
        )
        defaults: dict[str, Any] = {
            "staff_cards": frozenset({STAFF_CARD}),
            "staff_pin_verifier": STAFF_VERIFIER,
            "library_name": "Papyrus Library",
        }
        defaults.update(settings)
        self.ports = Ports(
            circulation=Circulation(store, clock, pin_required=pin_required),
            translators=TRANSLATORS,
            monotonic=lambda: self.seconds,
            health=lambda: self.health,
            staff_status=lambda: StaffStatus((("Journal waiting to send", "0"),), ("a fault",)),
            sync_now=self._sync_now,
            printer=self.receipts,
            quit=self._quit,
        )
        self.flow = KioskFlow(FlowSettings(**defaults), self.ports)

    def _sync_now(self) -> None:
        self.synced += 1

    def _quit(self) -> None:
        self.quit += 1

    def scan(self, code: str) -> Kiosk:
        scan = self.pipeline.process(code, "test")
        assert scan is not None, code
        self.flow.on_scan(scan)
        return self

    def press(self, *buttons: str) -> Kiosk:
        for button in buttons:
            self.flow.press(button)
        return self

    def pin(self, digits: str) -> Kiosk:
        return self.press(*(f"digit_{digit}" for digit in digits), "pin_ok")

    def sign_in(self, card: str, pin: str = PIN) -> Kiosk:
        return self.scan(card).pin(pin)

    def idle(self, seconds: float) -> Kiosk:
        self.seconds += seconds
        self.flow.tick()
        return self

    @property
    def frame(self) -> Frame:
        return self.flow.frame()

    def screen(self) -> Screen:
        return self.frame.screen

    def texts(self) -> list[str]:
        """Every string the screen would show, overlay included."""
        frame = self.frame
        return _strings(frame.view) + (_strings(frame.warning) if frame.warning else [])

    def says(self, fragment: str) -> bool:
        return any(fragment in text for text in self.texts())


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if is_dataclass(value):
        return [text for item in fields(value) for text in _strings(getattr(value, item.name))]
    if isinstance(value, tuple | list):
        return [text for item in value for text in _strings(item)]
    return []


STAFF_VERIFIER = pin_verifier(STAFF_PIN)
TRANSLATORS = load_translators(("en", "es", "fr"), "GBP")


@pytest.fixture
def kiosk(store: Store, clock: FixedClock) -> Kiosk:
    return Kiosk(store, clock)
