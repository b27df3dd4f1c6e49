"""The patron's path through the kiosk: which screen comes next, and what it says.

``KioskFlow`` takes events (a scan, a button pressed, time passing) and answers with a
``Frame`` of immutable view data. Lending questions are the circulation service's;
this module only routes between screens, words the answers and forgets the patron
when they leave. It knows nothing of Kivy, so every flow is tested without a window.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol, TypeVar

from kiosk.circulation.service import Circulation
from kiosk.circulation.views import (
    AccountView as AccountAnswer,
)
from kiosk.circulation.views import (
    CheckoutStatus,
    Identification,
    IdentifyStatus,
    PatronSession,
    RenewStatus,
    RenewView,
    ReturnView,
    Unavailable,
)
from kiosk.common import pins
from kiosk.devices.printer import PrinterSettings, PrintOutcome, Receipt, ReceiptPrinter
from kiosk.devices.scan import Scan
from kiosk.session import wording
from kiosk.session.i18n import LANGUAGE_NAMES, Translator
from kiosk.session.viewdata import (
    AccountView,
    Banner,
    Button,
    CheckoutView,
    DropView,
    FinishView,
    Frame,
    Line,
    Look,
    MessageView,
    PinView,
    Screen,
    Sound,
    StaffView,
    Tone,
    View,
    WarningView,
    WelcomeView,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

Mode = Literal["checkout", "return", "both"]
MAX_PIN_DIGITS = 8
STAFF_REFRESH_SECONDS = 2.0


class UnknownButton(LookupError):
    """A script pressed a button the screen does not show."""


@dataclass(frozen=True, slots=True)
class Health:
    """Why the kiosk cannot serve now (None: it can), and how far a first load has got."""

    cause: str | None = None
    progress: int | None = None


@dataclass(frozen=True, slots=True)
class StaffStatus:
    rows: tuple[tuple[str, str], ...]
    faults: tuple[str, ...] = ()


class ReceiptPort(Protocol):
    """kiosk.devices.printer.ReceiptPrinter, or the app's background wrapper of it."""

    @property
    def available(self) -> bool: ...

    def print_receipt(self, receipt: Receipt) -> PrintOutcome: ...


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


@dataclass
class Ports:
    """What the flow drives; the composition root (kiosk.appliance.kiosk_run) builds the
    real ones."""

    circulation: Circulation
    translators: dict[str, Translator]
    monotonic: Callable[[], float]
    health: Callable[[], Health] = Health
    staff_status: Callable[[], StaffStatus] = lambda: StaffStatus(())
    sync_now: Callable[[], None] = lambda: None
    printer: ReceiptPort = field(default_factory=lambda: ReceiptPrinter(PrinterSettings()))
    quit: Callable[[], None] = lambda: None


@dataclass
class _Patron:
    """Everything known about the person at the kiosk; dropped whole when they leave."""

    session: PatronSession | None = None
    card: str | None = None  # only between the card scan and the PIN
    staff: bool = False
    pin: str = ""
    lines: list[Line] = field(default_factory=list)
    results: list[tuple[str, object]] = field(default_factory=list)  # (kind, answer)
    account: AccountAnswer | None = None
    renewed: dict[str, RenewView] = field(default_factory=dict)
    language: str = "en"
    look: Look = field(default_factory=Look)


class KioskFlow:
    def __init__(self, settings: FlowSettings, ports: Ports) -> None:
        self.settings = settings
        self.ports = ports
        self.screen = Screen.WELCOME
        self.patron = self._fresh_patron()
        self.banner: Banner | None = None
        self.banner_until = 0.0
        self.drop: ReturnView | None = None
        self.help_from = Screen.WELCOME
        self.warning_shown = False
        self.last_activity = ports.monotonic()
        self.next_health = 0.0
        self.health = Health()
        self.serial = 0
        self.sound: Sound | None = None
        self.fullscreen = True
        self.scanner_test = False
        self.last_test_scan = ""
        self.staff_failures = 0
        self.staff_locked_until = 0.0
        self.next_staff_refresh = 0.0
        self.check_health(force=True)

    # --- state helpers ------------------------------------------------------------------

    def _fresh_patron(self) -> _Patron:
        return _Patron(language=self.settings.default_language, look=self.settings.look)

    @property
    def tr(self) -> Translator:
        return self.ports.translators[self.patron.language]

    def _now(self) -> float:
        return self.ports.monotonic()

    def _changed(self, sound: Sound | None = None) -> None:
        self.serial += 1
        self.sound = sound

    def _say(self, text: str, tone: Tone = Tone.NEUTRAL, sound: Sound | None = None) -> None:
        self.banner = Banner(text, tone)
        self.banner_until = self._now() + self.settings.message_seconds
        self._changed(sound)

    def _go(self, screen: Screen, sound: Sound | None = None) -> None:
        if screen is not self.screen:
            self.banner = None
        self.screen = screen
        self._changed(sound)

    def end_session(self) -> None:
        """The patron has gone: nothing about them stays on any screen or in memory."""
        self.patron = self._fresh_patron()
        self.drop = None
        self.banner = None
        self.warning_shown = False
        self.scanner_test = False
        self._go(Screen.WELCOME)

    def fail_safe(self) -> None:
        """After an unexpected error: start afresh, and say so without detail."""
        tr = self.tr
        self.end_session()
        self._say(
            tr("Sorry, something went wrong. Please try again, or see a member of staff."),
            Tone.ERROR,
            Sound.ERROR,
        )

    @property
    def lends(self) -> bool:
        return self.settings.mode in ("checkout", "both")

    @property
    def takes_returns(self) -> bool:
        return self.settings.mode in ("return", "both")

    # --- events -------------------------------------------------------------------------

    def activity(self) -> None:
        self.last_activity = self._now()
        if self.warning_shown:
            self.warning_shown = False
            self._changed()

    def on_scan(self, scan: Scan) -> None:
        self.activity()
        if self.screen is Screen.STAFF:
            self._staff_scan(scan)
            return
        if self.screen is Screen.HELP:
            self.screen = self.help_from
        if self.screen is Screen.DROP:
            # The last return's answer gives way to whatever this scan brings.
            self.drop = None
            self.screen = Screen.WELCOME
        if scan.valid_check_digit is False:
            self._say(
                self.tr("That barcode didn't scan properly. Please try again."),
                Tone.ERROR,
                Sound.ERROR,
            )
            return
        if scan.code in self.settings.staff_cards:
            self._ask_pin(scan.code, staff=True)
            return
        if self.screen is Screen.OUT_OF_SERVICE:
            return  # scans wait for the kiosk to recover; the screen already says why
        if self.screen is Screen.PIN and self._typed_pin(scan):
            return
        if scan.kind == "item" or (scan.kind == "unknown" and self.patron.session is not None):
            self._item_scanned(scan.code)
        else:
            self._card_scanned(scan.code)

    def _typed_pin(self, scan: Scan) -> bool:
        """A keyboard standing in for the keypad types the PIN and presses Enter."""
        if scan.kind != "unknown" or not scan.code.isdigit() or len(scan.code) > MAX_PIN_DIGITS:
            return False
        self.patron.pin = scan.code
        self._submit_pin()
        return True

    def _card_scanned(self, card: str) -> None:
        if not self.lends:
            self._say(
                self.tr("This is a returns station. To borrow, please use a checkout kiosk."),
                Tone.NOTICE,
                Sound.ERROR,
            )
            return
        if self.patron.session is not None or self.patron.staff:
            # Someone new: the last patron walked away without pressing Done.
            self.end_session()
        self._identify(card, None)

    def _item_scanned(self, barcode: str) -> None:
        if self.patron.session is not None and self.lends:
            self._checkout(barcode)
            return
        if self.takes_returns:
            self._return(barcode)
            return
        self._say(self.tr("Please scan your library card first."), Tone.NOTICE, Sound.ERROR)

    def press(self, button: str) -> None:
        """A touch on ``button``; ids of buttons not on screen now are refused."""
        if button not in self.buttons():
            raise UnknownButton(
                f"there is no button {button!r} on the {self.screen.value} screen "
                f"(buttons here: {', '.join(sorted(self.buttons()))})"
            )
        self.activity()
        if button == "still_here":
            return
        action = self._actions().get(button)
        if action is not None:
            action()
        elif button.startswith("lang_"):
            self.patron.language = button.removeprefix("lang_")
            self._changed()
        elif button.startswith("digit_"):
            if len(self.patron.pin) < MAX_PIN_DIGITS:
                self.patron.pin += button.removeprefix("digit_")
            self._changed()
        elif button.startswith("renew_"):
            self._renew(int(button.removeprefix("renew_")) - 1)

    def _actions(self) -> dict[str, Callable[[], None]]:
        return {
            "help": self._help,
            "back": self._back,
            "contrast": lambda: self._look(
                theme="standard" if self.patron.look.theme == "high_contrast" else "high_contrast"
            ),
            "larger_text": lambda: self._look(large_text=not self.patron.look.large_text),
            "pin_clear": self._clear_pin,
            "pin_ok": self._submit_pin,
            "cancel": self.end_session,
            "account": self._show_account,
            "renew_all": self._renew_all,
            "done": self._done,
            "print_receipt": lambda: self._finish(receipt=True),
            "no_receipt": lambda: self._finish(receipt=False),
            "sync_now": self._sync_now,
            "scanner_test": self._toggle_scanner_test,
            "exit_fullscreen": self._exit_fullscreen,
            "quit": self.ports.quit,
            "close_staff": self.end_session,
        }

    def tick(self) -> None:
        """Time passing: banners fade, idle sessions end, health is checked."""
        now = self._now()
        self.check_health()
        if (
            self.banner is not None
            and now >= self.banner_until
            and self.screen
            in (
                Screen.WELCOME,
                Screen.CHECKOUT,
                Screen.ACCOUNT,
            )
        ):
            self.banner = None
            self._changed()
        if self.screen is Screen.STAFF and now >= self.next_staff_refresh:
            self.next_staff_refresh = now + STAFF_REFRESH_SECONDS
            self._changed()  # the status page follows the sync agent and the scanners
        idle = now - self.last_activity
        if self.screen is Screen.DROP and idle >= self.settings.message_seconds:
            self.end_session()
            return
        if self.screen in (Screen.WELCOME, Screen.OUT_OF_SERVICE, Screen.DROP):
            return
        limit = self.settings.inactivity_seconds
        if idle >= limit + self.settings.warning_seconds:
            log.info("session ended after %.0f s without a touch or scan", idle)
            self.end_session()
        elif idle >= limit:
            self.warning_shown = True
            self._changed()

    def check_health(self, *, force: bool = False) -> None:
        now = self._now()
        if not force and now < self.next_health:
            return
        self.next_health = now + self.settings.health_seconds
        health = self.ports.health()
        if health == self.health and not force:
            return
        self.health = health
        if health.cause is not None and self.screen is not Screen.STAFF:
            self._out_of_service(health.cause, end=self.screen is not Screen.OUT_OF_SERVICE)
        elif health.cause is None and self.screen is Screen.OUT_OF_SERVICE:
            log.info("the kiosk is back in service")
            self.end_session()
        else:
            self._changed()

    def _out_of_service(self, cause: str, *, end: bool = True) -> None:
        log.warning("out of service: %s", cause)
        if end:
            self.patron = self._fresh_patron()
            self.drop = None
        self.health = replace(self.health, cause=cause)
        self._go(Screen.OUT_OF_SERVICE, Sound.ERROR if end else None)

    def _served(self, answer: T | Unavailable) -> T | None:
        if isinstance(answer, Unavailable):
            self._out_of_service(answer.cause.value)
            return None
        return answer

    # --- identify -----------------------------------------------------------------------

    def _ask_pin(self, card: str, *, staff: bool) -> None:
        self.end_session()
        self.patron.card = card
        self.patron.staff = staff
        self._go(Screen.PIN)

    def _identify(self, card: str, pin: str | None) -> None:
        answer = self._served(self.ports.circulation.identify(card, pin))
        if answer is None:
            return
        self._identified(card, answer)

    def _identified(self, card: str, answer: Identification) -> None:
        status = answer.status
        if status is IdentifyStatus.IDENTIFIED and answer.session is not None:
            self.patron.session = answer.session
            self.patron.card = None
            self.patron.pin = ""
            self._go(Screen.CHECKOUT, Sound.SUCCESS)
        elif status is IdentifyStatus.PIN_NEEDED:
            self.patron.card = card
            self.patron.pin = ""
            self._go(Screen.PIN)
        elif status is IdentifyStatus.WRONG_PIN:
            self.patron.pin = ""
            self._say(wording.identification_banner(self.tr, answer).text, Tone.ERROR, Sound.ERROR)
        else:
            banner = wording.identification_banner(self.tr, answer)
            language, look = self.patron.language, self.patron.look
            self.end_session()
            self.patron.language, self.patron.look = language, look
            self._say(banner.text, banner.tone, Sound.ERROR)

    def _clear_pin(self) -> None:
        self.patron.pin = ""
        self._changed()

    def _submit_pin(self) -> None:
        if not self.patron.pin:
            self._say(self.tr("Please enter your PIN."), Tone.NOTICE)
            return
        pin, card = self.patron.pin, self.patron.card
        self.patron.pin = ""
        if self.patron.staff:
            self._staff_pin(pin)
        elif card is not None:
            self._identify(card, pin)

    # --- lending ------------------------------------------------------------------------

    def _checkout(self, barcode: str) -> None:
        session = self.patron.session
        assert session is not None
        answer = self._served(self.ports.circulation.checkout(session, barcode))
        if answer is None:
            return
        line = wording.checkout_line(self.tr, answer)
        self.patron.lines.insert(0, line)
        if answer.status is CheckoutStatus.LENT:
            self.patron.results.append(("lent", answer))
        self.patron.account = None
        self.screen = Screen.CHECKOUT
        self.banner = None
        ok = answer.status in (CheckoutStatus.LENT, CheckoutStatus.ALREADY_YOURS)
        self._changed(Sound.SUCCESS if ok else Sound.ERROR)

    def _return(self, barcode: str) -> None:
        answer = self._served(self.ports.circulation.return_item(barcode))
        if answer is None:
            return
        self.drop = answer
        self.banner = None
        self.screen = Screen.DROP
        self._changed(Sound.SUCCESS)

    def _show_account(self) -> None:
        session = self.patron.session
        if session is None:
            return
        answer = self._served(self.ports.circulation.account(session))
        if answer is None:
            return
        self.patron.account = answer
        self._go(Screen.ACCOUNT)

    def _renew(self, index: int) -> None:
        account, session = self.patron.account, self.patron.session
        if account is None or session is None or not 0 <= index < len(account.loans):
            return
        answer = self._served(self.ports.circulation.renew(session, account.loans[index].barcode))
        if answer is not None:
            self._renewed((answer,))

    def _renew_all(self) -> None:
        session = self.patron.session
        if session is None:
            return
        answers = self._served(self.ports.circulation.renew_all(session))
        if answers is not None:
            self._renewed(answers)

    def _renewed(self, answers: tuple[RenewView, ...]) -> None:
        for answer in answers:
            self.patron.renewed[answer.barcode] = answer
            if answer.status is RenewStatus.RENEWED:
                self.patron.results.append(("renewed", answer))
        ok = all(answer.status is RenewStatus.RENEWED for answer in answers)
        session = self.patron.session
        if session is not None:
            refreshed = self._served(self.ports.circulation.account(session))
            if refreshed is None:
                return
            self.patron.account = refreshed
        self._changed(Sound.SUCCESS if ok else Sound.ERROR)

    def _done(self) -> None:
        if self.screen is Screen.DROP:
            self.end_session()
        else:
            self._go(Screen.FINISH)

    def _finish(self, *, receipt: bool) -> None:
        tr = self.tr
        printed = None
        if receipt:
            outcome = self.ports.printer.print_receipt(
                Receipt(
                    self.settings.library_name,
                    self._receipt_lines(),
                    tr("Thank you for using the library."),
                )
            )
            printed = outcome is PrintOutcome.PRINTED
        self.end_session()
        # The goodbye is said in the patron's language (tr was taken before the reset);
        # the next person starts in the kiosk's default language.
        if printed is None:
            self._say(tr("Thank you. Goodbye!"), Tone.SUCCESS)
        elif printed:
            self._say(tr("Your receipt is printing. Goodbye!"), Tone.SUCCESS)
        else:
            self._say(
                tr("Sorry, the receipt printer is not working. Your loans are on your account."),
                Tone.NOTICE,
            )

    def _receipt_lines(self) -> tuple[str, ...]:
        lines: list[str] = []
        for line in self._summary_lines():
            lines += [line.title, "  " + line.detail, ""]
        return tuple(lines)

    def _summary_lines(self) -> tuple[Line, ...]:
        tr = self.tr
        lines = []
        for kind, answer in self.patron.results:
            if kind == "lent":
                lines.append(wording.checkout_line(tr, answer))  # type: ignore[arg-type]
            else:
                lines.append(wording.renew_line(tr, answer))  # type: ignore[arg-type]
        return tuple(lines)

    # --- help, look -----------------------------------------------------------------------

    def _help(self) -> None:
        self.help_from = self.screen
        self._go(Screen.HELP)

    def _back(self) -> None:
        if self.screen is Screen.HELP:
            self._go(self.help_from)
        elif self.screen is Screen.ACCOUNT:
            self._go(Screen.CHECKOUT)

    def _look(self, **changes: object) -> None:
        self.patron.look = replace(self.patron.look, **changes)  # type: ignore[arg-type]
        self._changed()

    # --- staff --------------------------------------------------------------------------

    def _staff_pin(self, pin: str) -> None:
        now = self._now()
        verifier = self.settings.staff_pin_verifier
        if now < self.staff_locked_until:
            self.end_session()
            self._say(self.tr("Staff mode is locked for a while. Please try later."), Tone.ERROR)
            return
        if verifier is not None and pins.pin_matches(verifier, pin):
            self.staff_failures = 0
            log.info("staff mode opened")
            self._go(Screen.STAFF, Sound.SUCCESS)
            return
        self.staff_failures += 1
        log.warning("a wrong staff PIN was entered")
        if self.staff_failures >= pins.MAX_WRONG_PINS:
            self.staff_failures = 0
            self.staff_locked_until = now + pins.LOCKOUT_MINUTES * 60
            self.end_session()
            self._say(self.tr("Staff mode is locked for a while. Please try later."), Tone.ERROR)
            return
        self._say(self.tr("That PIN is not right. Please try again."), Tone.ERROR, Sound.ERROR)

    def _staff_scan(self, scan: Scan) -> None:
        if not self.scanner_test:
            self._say("Scanner test is off: press Scanner test first.", Tone.NOTICE)
            return
        check = {True: "check digit right", False: "check digit WRONG", None: "no check digit"}
        self.last_test_scan = (
            f"{scan.masked()} from {scan.source} ({scan.symbology}, "
            f"{check[scan.valid_check_digit]})"
        )
        self._changed(Sound.SUCCESS if scan.valid_check_digit is not False else Sound.ERROR)

    def _sync_now(self) -> None:
        self.ports.sync_now()
        self._say("Syncing now: the status below updates when it is done.", Tone.NOTICE)

    def _toggle_scanner_test(self) -> None:
        self.scanner_test = not self.scanner_test
        self.last_test_scan = ""
        self._changed()

    def _exit_fullscreen(self) -> None:
        self.fullscreen = not self.fullscreen
        log.info("staff %s full screen", "left" if not self.fullscreen else "returned to")
        self._changed()

    # --- what the window shows -----------------------------------------------------------

    def frame(self) -> Frame:
        tr = self.tr
        warning = None
        if self.warning_shown:
            left = self.settings.inactivity_seconds + self.settings.warning_seconds
            left -= self._now() - self.last_activity
            warning = WarningView(
                tr("Are you still there?"),
                tr.plural(
                    "For your privacy, this session ends in {count} second.",
                    "For your privacy, this session ends in {count} seconds.",
                    max(1, math.ceil(left)),
                ),
                Button("still_here", tr("I'm still here"), primary=True),
            )
        return Frame(
            self.screen,
            self._view(tr),
            self.patron.language,
            self.patron.look,
            warning,
            self.sound,
            self.serial,
            self.fullscreen,
        )

    def buttons(self) -> set[str]:
        frame = self.frame()
        ids = {button.id for button in _buttons(frame.view)}
        if frame.warning is not None:
            ids.add(frame.warning.action.id)
        return ids

    def _view(self, tr: Translator) -> View:
        render: dict[Screen, Callable[[Translator], View]] = {
            Screen.WELCOME: self._welcome_view,
            Screen.PIN: self._pin_view,
            Screen.CHECKOUT: self._checkout_view,
            Screen.ACCOUNT: self._account_view,
            Screen.DROP: self._drop_view,
            Screen.FINISH: self._finish_view,
            Screen.HELP: self._help_view,
            Screen.OUT_OF_SERVICE: self._out_of_service_view,
            Screen.STAFF: self._staff_view,
        }
        return render[self.screen](tr)

    def _help_button(self, tr: Translator) -> Button:
        return Button("help", tr("Help"))

    def _welcome_view(self, tr: Translator) -> WelcomeView:
        hints = []
        if self.lends:
            heading = tr("Scan your library card to borrow")
            if self.takes_returns:
                hints.append(tr("Returning? Just scan the book."))
        else:
            heading = tr("Scan a book to return it")
            hints.append(tr("No card needed. Scan each book, then put it in the bin shown."))
        languages = tuple(
            Button(f"lang_{code}", LANGUAGE_NAMES.get(code, code), code == self.patron.language)
            for code in self.settings.languages
        )
        contrast = (
            tr("Standard colours")
            if self.patron.look.theme == "high_contrast"
            else tr("High contrast")
        )
        larger = tr("Standard text") if self.patron.look.large_text else tr("Larger text")
        options = (
            Button("contrast", contrast),
            Button("larger_text", larger),
            self._help_button(tr),
        )
        return WelcomeView(
            self.settings.library_name,
            self.settings.logo,
            heading,
            tuple(hints),
            self.banner,
            languages,
            options,
            self.settings.demo,
        )

    def _pin_view(self, tr: Translator) -> PinView:
        keys = tuple(Button(f"digit_{digit}", digit) for digit in "123456789")
        keys += (
            Button("pin_clear", tr("Clear")),
            Button("digit_0", "0"),
            Button("pin_ok", tr("OK"), primary=True),
        )
        heading = tr("Staff PIN") if self.patron.staff else tr("Enter your PIN")
        masked = " ".join("●" for _ in self.patron.pin) or " "
        return PinView(
            heading,
            masked,
            self.banner,
            keys,
            (Button("cancel", tr("Cancel")), self._help_button(tr)),
        )

    def _checkout_view(self, tr: Translator) -> CheckoutView:
        session = self.patron.session
        assert session is not None
        notices = []
        if session.expired_on is not None:
            notices.append(
                Banner(
                    tr(
                        "Your membership ended on {date}. You can see your account; "
                        "please renew it at the desk to borrow.",
                        date=tr.date(session.expired_on),
                    ),
                    Tone.NOTICE,
                )
            )
        if session.barred:
            notices.append(
                Banner(
                    tr(
                        "Your card can't be used to borrow at the moment. "
                        "Please see a member of staff."
                    ),
                    Tone.NOTICE,
                )
            )
        count = sum(1 for kind, _ in self.patron.results if kind == "lent")
        instruction = (
            tr("Scan the barcode of each item you want to borrow.")
            if not self.patron.lines
            else tr.plural(
                "You have borrowed {count} item. Scan the next one, or press Done.",
                "You have borrowed {count} items. Scan the next one, or press Done.",
                count,
            )
        )
        return CheckoutView(
            tr("Hello {name}", name=session.first_name),
            instruction,
            tuple(notices),
            tuple(self.patron.lines),
            self.banner,
            (
                Button("account", tr("My account")),
                self._help_button(tr),
                Button("done", tr("Done"), primary=True),
            ),
        )

    def _account_view(self, tr: Translator) -> AccountView:
        account = self.patron.account
        assert account is not None
        loans = []
        for number, loan in enumerate(account.loans, start=1):
            renewed = self.patron.renewed.get(loan.barcode)
            if renewed is not None:
                line = wording.renew_line(tr, renewed)
            elif loan.overdue:
                overdue = tr("Overdue: it was due by {due}.", due=tr.due(loan.due))
                line = Line(loan.title, overdue, Tone.ERROR)
            else:
                line = Line(loan.title, tr("Due back by {due}.", due=tr.due(loan.due)))
            loans.append(replace(line, action=Button(f"renew_{number}", tr("Renew"))))
        ready = tuple(
            Line(hold.title, tr("Ready for you at the hold shelf."), Tone.SUCCESS)
            for hold in account.holds_ready
        )
        waiting = tuple(
            Line(hold.title, tr("You are number {position} in the queue.", position=hold.position))
            for hold in account.holds_waiting
        )
        sections = [
            (
                tr.plural("{count} item on loan", "{count} items on loan", len(loans)),
                tuple(loans),
            )
        ]
        if ready:
            sections.append((tr("Ready to collect"), ready))
        if waiting:
            sections.append((tr("Reserved for you"), waiting))
        owed = (
            tr("You owe {amount}.", amount=tr.money(account.owed))
            if account.owed > 0
            else tr("You owe nothing.")
        )
        actions: tuple[Button, ...] = (Button("back", tr("Back")), self._help_button(tr))
        if loans:
            actions += (Button("renew_all", tr("Renew all")),)
        actions += (Button("done", tr("Done"), primary=True),)
        return AccountView(
            tr("Your account, {name}", name=account.first_name),
            owed,
            tuple(sections),
            self.banner,
            actions,
        )

    def _drop_view(self, tr: Translator) -> DropView:
        drop = self.drop
        assert drop is not None
        return DropView(
            wording.return_heading(tr, drop),
            wording.item_title(tr, drop.title, drop.barcode),
            wording.return_fine(tr, drop),
            str(drop.bin.number),
            wording.bin_label(tr, drop.bin),
            drop.bin.colour,
            wording.return_instruction(tr, drop),
            (Button("done", tr("Done"), primary=True),),
        )

    def _finish_view(self, tr: Translator) -> FinishView:
        session = self.patron.session
        lines = self._summary_lines()
        lent = sum(1 for kind, _ in self.patron.results if kind == "lent")
        summary = (
            tr.plural("You borrowed {count} item today.", "You borrowed {count} items today.", lent)
            if lent
            else tr("You didn't borrow anything this time.")
        )
        actions: tuple[Button, ...] = ()
        if lines and self.ports.printer.available:
            actions += (Button("print_receipt", tr("Print a receipt")),)
        label = tr("No receipt, thanks") if actions else tr("Finish")
        actions += (Button("no_receipt", label, primary=True),)
        return FinishView(
            tr("Thank you, {name}", name=session.first_name if session else ""),
            summary,
            lines,
            self.banner,
            actions,
        )

    def _help_view(self, tr: Translator) -> MessageView:
        return MessageView(
            tr("Need help?"),
            tr(
                "Please ask a member of staff at the desk. They can help with your card, "
                "your PIN, items that won't scan and anything else."
            ),
            tr("To borrow: scan your card, then each item. To return: scan the item."),
            (Button("back", tr("Back"), primary=True),),
        )

    def _out_of_service_view(self, tr: Translator) -> MessageView:
        cause = self.health.cause or ""
        detail = tr(wording.OUT_OF_SERVICE_DETAIL.get(cause, cause))
        if cause == "mirror_empty" and self.health.progress is not None:
            detail += " " + tr("Loading: {percent} %", percent=self.health.progress)
        return MessageView(
            tr("Sorry, this kiosk is not working right now"),
            tr("Please see a member of staff. It will start again by itself."),
            detail,
        )

    def _staff_view(self, _tr: Translator) -> StaffView:
        # Staff read English: the words of the status page are those of the manuals.
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
        return StaffView(
            "Staff mode",
            status.rows,
            status.faults,
            test,
            self.banner,
            actions,
        )


def _buttons(view: View) -> list[Button]:
    found: list[Button] = []
    for name in ("languages", "options", "keys", "actions"):
        found += getattr(view, name, ())
    for line in getattr(view, "lines", ()):
        if line.action is not None:
            found.append(line.action)
    for _, lines in getattr(view, "sections", ()):
        found += [line.action for line in lines if line.action is not None]
    return found
