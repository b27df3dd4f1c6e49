"""The patron's path through the kiosk: the state machine.

``KioskFlow`` takes events (a scan, a button pressed, time passing), asks the
circulation service the lending questions, and decides which screen comes next; its
``frame()`` is what the window shows now, built by kiosk.session.views (staff mode's page
by kiosk.session.staff). It forgets the patron when they leave, and knows nothing of
Kivy, so every flow is tested without a window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from kiosk.circulation.views import (
    CheckoutStatus,
    FeedbackReason,
    HoldStatus,
    Identification,
    IdentifyStatus,
    MembershipStatus,
    RenewAnswer,
    RenewStatus,
    ReturnAnswer,
    Unavailable,
)
from kiosk.devices.scan import Scan
from kiosk.session import views, wording
from kiosk.session.errors import SessionError
from kiosk.session.i18n import Translator
from kiosk.session.patron import Patron
from kiosk.session.ports import FlowSettings, Health, Ports
from kiosk.session.staff import BUTTONS as STAFF_BUTTONS
from kiosk.session.staff import PinCheck, StaffMode
from kiosk.session.viewdata import Banner, Button, Frame, Look, Screen, Sound, Tone, View

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_PIN_DIGITS = 8


class UnknownButton(SessionError):
    """A script pressed a button the screen does not show."""


class KioskFlow:
    def __init__(self, settings: FlowSettings, ports: Ports) -> None:
        self.settings = settings
        self.ports = ports
        self.screen = Screen.WELCOME
        self.patron = self._fresh_patron()
        self.banner: Banner | None = None
        self.banner_until = 0.0
        self.drop: ReturnAnswer | None = None
        self.help_from = Screen.WELCOME
        self.warning_shown = False
        self.last_activity = ports.monotonic()
        self.next_health = 0.0
        self.health = Health()
        self.serial = 0
        self.sound: Sound | None = None
        self.staff = StaffMode(settings.staff_pin_verifier, ports)
        # The library's message as staff set it in the console, read with the health.
        self.library_message: dict[str, str] = {}
        self.check_health(force=True)

    # --- state helpers ------------------------------------------------------------------

    def _fresh_patron(self) -> Patron:
        return Patron(language=self.settings.default_language, look=self.settings.look)

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
        self._send_feedback()
        self.patron = self._fresh_patron()
        self.drop = None
        self.banner = None
        self.warning_shown = False
        self.staff.leave()
        self._go(Screen.WELCOME)

    def fail_safe(self) -> None:
        """After an unexpected error: start afresh, and say so without detail."""
        tr = self.tr
        self.patron.rating = None  # asking the service again could fail again
        self.end_session()
        self._say(
            tr("Sorry, something went wrong. Please try again, or see a member of staff."),
            Tone.ERROR,
            Sound.ERROR,
        )

    # --- events -------------------------------------------------------------------------

    def activity(self) -> None:
        self.last_activity = self._now()
        if self.warning_shown:
            self.warning_shown = False
            self._changed()

    def on_scan(self, scan: Scan) -> None:
        self.activity()
        if self.screen is Screen.STAFF:
            notice, sound = self.staff.scanned(scan)
            if notice:
                self._say(notice, Tone.NOTICE)
            else:
                self._changed(sound)
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
        if not self.settings.lends:
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
        if self.patron.session is not None and self.settings.lends:
            self._checkout(barcode)
            return
        if self.settings.takes_returns:
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
        elif button in STAFF_BUTTONS:
            notice = self.staff.press(button)
            if notice:
                self._say(notice, Tone.NOTICE)
            else:
                self._changed()
        elif button.startswith("lang_"):
            self.patron.language = button.removeprefix("lang_")
            self._changed()
        elif button.startswith("digit_"):
            if len(self.patron.pin) < MAX_PIN_DIGITS:
                self.patron.pin += button.removeprefix("digit_")
            self._changed()
        elif button.startswith("renew_"):
            self._renew(int(button.removeprefix("renew_")) - 1)
        elif button.startswith("feedback_"):
            self.patron.rating = int(button.removeprefix("feedback_"))
            self._changed()
        elif button.startswith("reason_"):
            reason = FeedbackReason(button.removeprefix("reason_"))
            # A second tap on the chosen reason takes it back.
            self.patron.reason = None if self.patron.reason is reason else reason
            self._changed()

    def _actions(self) -> dict[str, Callable[[], None]]:
        look = self.patron.look
        return {
            "help": self._help,
            "back": self._back,
            "contrast": lambda: self._look(
                replace(
                    look, theme="standard" if look.theme == "high_contrast" else "high_contrast"
                )
            ),
            "larger_text": lambda: self._look(replace(look, large_text=not look.large_text)),
            "pin_clear": self._clear_pin,
            "pin_ok": self._submit_pin,
            "cancel": self.end_session,
            "account": self._show_account,
            "renew_all": self._renew_all,
            "renew_membership": self._renew_membership,
            "renew_scanned": self._renew_scanned,
            "place_hold": self._place_hold,
            "done": self._done,
            "print_receipt": lambda: self._finish(receipt=True),
            "email_receipt": self._email_receipt,
            "no_receipt": lambda: self._finish(receipt=False),
            "quit": self.ports.quit,  # read at each press: the window sets it after we start
            "close_staff": self.end_session,
        }

    def tick(self) -> None:
        """Time passing: banners fade, idle sessions end, health is checked."""
        now = self._now()
        self.check_health()
        if (
            self.banner is not None
            and now >= self.banner_until
            and self.screen in (Screen.WELCOME, Screen.CHECKOUT, Screen.ACCOUNT)
        ):
            self.banner = None
            self._changed()
        if self.screen is Screen.STAFF and self.staff.refresh_due(now):
            self._changed()
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
        # Read only while the kiosk serves: out of service there may be no store to read
        # (and the Welcome screen is not shown).
        message = self.ports.circulation.library_message() if health.cause is None else {}
        if message != self.library_message:
            self.library_message = message
            self._changed()
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

    # --- signing in ---------------------------------------------------------------------

    def _ask_pin(self, card: str, *, staff: bool) -> None:
        self.end_session()
        self.patron.card = card
        self.patron.staff = staff
        self._go(Screen.PIN)

    def _identify(self, card: str, pin: str | None) -> None:
        answer = self._served(self.ports.circulation.identify(card, pin))
        if answer is not None:
            self._identified(card, answer)

    def _identified(self, card: str, answer: Identification) -> None:
        status = answer.status
        if status is IdentifyStatus.IDENTIFIED and answer.session is not None:
            self.patron.session = answer.session
            self.patron.greeting = answer.greeting
            self.patron.card = None
            self.patron.pin = ""
            self._go(Screen.CHECKOUT, Sound.SUCCESS)
        elif status is IdentifyStatus.PIN_NEEDED:
            self.patron.card = card
            self.patron.pin = ""
            self._go(Screen.PIN)
        elif status is IdentifyStatus.WRONG_PIN:
            self.patron.pin = ""
            self._say(wording.identification(self.tr, answer).text, Tone.ERROR, Sound.ERROR)
        else:
            banner = wording.identification(self.tr, answer)
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

    def _staff_pin(self, pin: str) -> None:
        check = self.staff.check_pin(pin, self._now())
        if check is PinCheck.OPEN:
            self._go(Screen.STAFF, Sound.SUCCESS)
        elif check is PinCheck.LOCKED:
            self.end_session()
            self._say(self.tr("Staff mode is locked for a while. Please try later."), Tone.ERROR)
        else:
            self._say(self.tr("That PIN is not right. Please try again."), Tone.ERROR, Sound.ERROR)

    # --- lending ------------------------------------------------------------------------

    def _checkout(self, barcode: str) -> None:
        session = self.patron.session
        assert session is not None
        answer = self._served(
            self.ports.circulation.checkout(session, barcode, lent_in_session=self.patron.lent)
        )
        if answer is None:
            return
        line = wording.checkout_line(self.tr, answer)
        self._withdraw_renew_offer()
        if answer.status is CheckoutStatus.ALREADY_YOURS:
            # An item scanned again is asked about, as Koha and Evergreen do: one tap
            # renews it (the newest line only, so the button is never for another item).
            self.patron.renew_offer = barcode
            line = replace(line, action=Button("renew_scanned", self.tr("Renew")))
        elif answer.status is CheckoutStatus.REFUSED and answer.hold_offered:
            # It waits for someone else, or cannot be lent now: one tap puts the patron
            # in the queue for the title (the newest line only, as for a renewal).
            self.patron.hold_offer = barcode
            line = replace(line, action=Button("place_hold", self.tr("Place a hold on this title")))
        self.patron.lines.insert(0, line)
        if answer.status is CheckoutStatus.LENT:
            self.patron.results.append(answer)
        self.patron.account = None
        self.screen = Screen.CHECKOUT
        self.banner = None
        ok = answer.status in (CheckoutStatus.LENT, CheckoutStatus.ALREADY_YOURS)
        self._changed(Sound.SUCCESS if ok else Sound.ERROR)

    def _withdraw_renew_offer(self) -> None:
        """The offers on the lines (renew, place a hold) go with the next scan or tap."""
        self.patron.renew_offer = self.patron.hold_offer = None
        self.patron.lines = [replace(line, action=None) for line in self.patron.lines]

    def _place_hold(self) -> None:
        session, barcode = self.patron.session, self.patron.hold_offer
        if session is None or barcode is None:
            return
        answer = self._served(self.ports.circulation.place_hold(session, barcode))
        if answer is None:
            return
        self._withdraw_renew_offer()
        self.patron.lines.insert(0, wording.hold_line(self.tr, answer))
        self.patron.account = None
        placed = answer.status is HoldStatus.PLACED
        self._changed(Sound.SUCCESS if placed else Sound.ERROR)

    def _renew_scanned(self) -> None:
        session, barcode = self.patron.session, self.patron.renew_offer
        if session is None or barcode is None:
            return
        answer = self._served(self.ports.circulation.renew(session, barcode))
        if answer is None:
            return
        self._withdraw_renew_offer()
        self.patron.lines.insert(0, wording.renew_line(self.tr, answer))
        self._renewed((answer,))

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

    def _renewed(self, answers: tuple[RenewAnswer, ...]) -> None:
        for answer in answers:
            self.patron.renewed[answer.barcode] = answer
            if answer.status is RenewStatus.RENEWED:
                self.patron.results.append(answer)
        ok = all(answer.status is RenewStatus.RENEWED for answer in answers)
        session = self.patron.session
        if session is not None:
            refreshed = self._served(self.ports.circulation.account(session))
            if refreshed is None:
                return
            self.patron.account = refreshed
        self._changed(Sound.SUCCESS if ok else Sound.ERROR)

    def _renew_membership(self) -> None:
        session = self.patron.session
        if session is None:
            return
        answer = self._served(self.ports.circulation.renew_membership(session))
        if answer is None:
            return
        self.patron.membership = answer
        renewed = answer.status is MembershipStatus.RENEWED
        if renewed:
            # The new expiry holds at once: the card lends again in this session.
            self.patron.session = replace(session, expired_on=None)
        self._say(
            wording.membership_sentence(self.tr, answer),
            Tone.SUCCESS if renewed else Tone.ERROR,
            Sound.SUCCESS if renewed else Sound.ERROR,
        )

    def _done(self) -> None:
        if self.screen is Screen.DROP:
            self.end_session()
        else:
            self._go(Screen.FINISH)

    def _send_feedback(self) -> None:
        """Journal the patron's rating, if they gave one: whether they pressed Finish,
        scanned the next card or walked away. The next patron never waits on it, and a
        kiosk that cannot record it now loses only this rating."""
        rating, reason = self.patron.rating, self.patron.reason
        if rating is None:
            return
        self.patron.rating = self.patron.reason = None
        answer = self.ports.circulation.feedback(rating, reason)
        if isinstance(answer, Unavailable):
            log.warning("a patron's feedback was not recorded: %s", answer.cause.value)

    def _email_receipt(self) -> None:
        tr, session = self.tr, self.patron.session
        if session is None:
            return
        asked = self.ports.circulation.email_receipt(session, self.patron.results)
        self.end_session()
        if isinstance(asked, Unavailable):
            self._say(
                tr("Sorry, the receipt could not be sent. Your loans are on your account."),
                Tone.NOTICE,
            )
        else:
            self._say(tr("Your receipt will be emailed to you. Goodbye!"), Tone.SUCCESS)

    def _finish(self, *, receipt: bool) -> None:
        tr = self.tr
        rated = self.patron.rating is not None
        printed = None
        if receipt:
            printed = self.ports.printer.print_receipt(
                self.settings.library_name,
                views.receipt_lines(tr, self.patron),
                tr("Thank you for using the library."),
            )
        self.end_session()
        # The goodbye is said in the patron's language (tr was taken before the reset);
        # the next person starts in the kiosk's default language.
        if printed is None:
            self._say(
                tr("Thank you for your feedback. Goodbye!") if rated else tr("Thank you. Goodbye!"),
                Tone.SUCCESS,
            )
        elif printed:
            self._say(tr("Your receipt is printing. Goodbye!"), Tone.SUCCESS)
        else:
            self._say(
                tr("Sorry, the receipt printer is not working. Your loans are on your account."),
                Tone.NOTICE,
            )

    # --- help, look -----------------------------------------------------------------------

    def _help(self) -> None:
        self.help_from = self.screen
        self._go(Screen.HELP)

    def _back(self) -> None:
        if self.screen is Screen.HELP:
            self._go(self.help_from)
        elif self.screen is Screen.ACCOUNT:
            self._go(Screen.CHECKOUT)

    def _look(self, look: Look) -> None:
        self.patron.look = look
        self._changed()

    # --- what the window shows -----------------------------------------------------------

    def frame(self) -> Frame:
        tr = self.tr
        warning = None
        if self.warning_shown:
            left = self.settings.inactivity_seconds + self.settings.warning_seconds
            warning = views.warning(tr, left - (self._now() - self.last_activity))
        return Frame(
            self.screen,
            self._view(tr),
            self.patron.language,
            self.patron.look,
            warning,
            self.sound,
            self.serial,
            self.staff.fullscreen,
        )

    def buttons(self) -> set[str]:
        frame = self.frame()
        ids = {button.id for button in views.buttons(frame.view)}
        if frame.warning is not None:
            ids.add(frame.warning.action.id)
        return ids

    def _view(self, tr: Translator) -> View:
        patron, banner = self.patron, self.banner
        build: dict[Screen, Callable[[], View]] = {
            Screen.WELCOME: lambda: views.welcome(
                tr, self.settings, patron, banner, self.library_message
            ),
            Screen.PIN: lambda: views.pin(tr, patron, banner),
            Screen.CHECKOUT: lambda: views.checkout(tr, patron, banner),
            Screen.ACCOUNT: lambda: views.account(tr, patron, banner),
            Screen.DROP: lambda: views.drop(tr, self._drop()),
            Screen.FINISH: lambda: views.finish(
                tr, patron, banner, can_print=self.ports.printer.available
            ),
            Screen.HELP: lambda: views.help_page(tr),
            Screen.OUT_OF_SERVICE: lambda: views.out_of_service(tr, self.health),
            Screen.STAFF: lambda: self.staff.view(banner),
        }
        return build[self.screen]()

    def _drop(self) -> ReturnAnswer:
        assert self.drop is not None
        return self.drop
