"""Staff mode: the staff PIN and its lockout, the status page, Sync now, the scanner
test and full screen.

A staff card and the staff PIN open it (the flow routes there); what it shows is in
English on purpose: its words are those of the manuals, and of ``kiosk status``.
"""

from __future__ import annotations

import logging
from enum import Enum

from kiosk.common import pins
from kiosk.devices.scan import Scan
from kiosk.session.ports import Ports
from kiosk.session.viewdata import Banner, Button, Sound, StaffView

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0
BUTTONS = frozenset({"sync_now", "scanner_test", "exit_fullscreen"})


class PinCheck(Enum):
    OPEN = "open"
    WRONG = "wrong"
    LOCKED = "locked"  # too many wrong PINs, now or a while ago


class StaffMode:
    def __init__(self, verifier: str | None, ports: Ports) -> None:
        self.verifier = verifier
        self.ports = ports
        self.failures = 0
        self.locked_until = 0.0
        self.scanner_test = False
        self.last_test_scan = ""
        self.fullscreen = True
        self.next_refresh = 0.0

    def check_pin(self, pin: str, now: float) -> PinCheck:
        if now < self.locked_until:
            return PinCheck.LOCKED
        if self.verifier is not None and pins.pin_matches(self.verifier, pin):
            self.failures = 0
            log.info("staff mode opened")
            return PinCheck.OPEN
        self.failures += 1
        log.warning("a wrong staff PIN was entered")
        if self.failures >= pins.MAX_WRONG_PINS:
            self.failures = 0
            self.locked_until = now + pins.LOCKOUT_MINUTES * 60
            return PinCheck.LOCKED
        return PinCheck.WRONG

    def leave(self) -> None:
        self.scanner_test = False

    def refresh_due(self, now: float) -> bool:
        """Whether the status page should be drawn again: it follows the sync agent and
        the scanners."""
        if now < self.next_refresh:
            return False
        self.next_refresh = now + REFRESH_SECONDS
        return True

    def scanned(self, scan: Scan) -> tuple[str, Sound | None]:
        """A scan in staff mode lends nothing: with the scanner test on it is shown,
        otherwise staff are told how to test. Returns a notice to show (or "") and the
        sound to play."""
        if not self.scanner_test:
            return "Scanner test is off: press Scanner test first.", None
        check = {True: "check digit right", False: "check digit WRONG", None: "no check digit"}
        self.last_test_scan = (
            f"{scan.masked()} from {scan.source} ({scan.symbology}, "
            f"{check[scan.valid_check_digit]})"
        )
        return "", Sound.SUCCESS if scan.valid_check_digit is not False else Sound.ERROR

    def press(self, button: str) -> str:
        """One of BUTTONS; returns a notice to show, or ""."""
        if button == "sync_now":
            self.ports.sync_now()
            return "Syncing now: the status below updates when it is done."
        if button == "scanner_test":
            self.scanner_test = not self.scanner_test
            self.last_test_scan = ""
        elif button == "exit_fullscreen":
            self.fullscreen = not self.fullscreen
            log.info("staff %s full screen", "left" if not self.fullscreen else "returned to")
        return ""

    def view(self, banner: Banner | None) -> StaffView:
        status = self.ports.staff_status()
        actions = (
            Button("sync_now", "Sync now"),
            Button("scanner_test", "Stop scanner test" if self.scanner_test else "Scanner test"),
            Button(
                "exit_fullscreen", "Leave full screen" if self.fullscreen else "Full screen again"
            ),
            Button("quit", "Close the kiosk app"),
            Button("close_staff", "Close staff mode", primary=True),
        )
        test = ""
        if self.scanner_test:
            test = self.last_test_scan or "Scanner test: scan any barcode."
        return StaffView("Staff mode", status.rows, status.faults, test, banner, actions)
