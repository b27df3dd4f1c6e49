"""The view builders: what each patron's screen shows, from the flow's state.

Each function takes the state its screen needs and returns that screen's immutable view
data (kiosk.session.viewdata), every text worded through the patron's translator. They
decide nothing and change nothing; staff mode builds its own page (kiosk.session.staff).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from kiosk.circulation.views import RenewAnswer, ReturnAnswer
from kiosk.session import wording
from kiosk.session.i18n import LANGUAGE_NAMES, Translator
from kiosk.session.patron import Patron
from kiosk.session.ports import FlowSettings, Health
from kiosk.session.viewdata import (
    AccountView,
    Banner,
    Button,
    CheckoutView,
    DropView,
    FinishView,
    Line,
    MessageView,
    PinView,
    Tone,
    View,
    WarningView,
    WelcomeView,
)


def help_button(tr: Translator) -> Button:
    return Button("help", tr("Help"))


def welcome(
    tr: Translator,
    settings: FlowSettings,
    patron: Patron,
    banner: Banner | None,
    console_message: Mapping[str, str] | None = None,
) -> WelcomeView:
    """``console_message``: the library's message as staff set it in the console, by
    language. It outranks kiosk.toml's (a closure staff announce today outranks the
    kiosk's standing words) in the languages it has: the console's in the patron's
    language, else in the kiosk's default language, else kiosk.toml's in the patron's
    language, else in the default. A message staff set only in French hides no kiosk's
    own from a patron reading English or Spanish."""
    hints = []
    if settings.lends:
        heading = tr("Scan your library card to borrow")
        if settings.takes_returns:
            hints.append(tr("Returning? Just scan the book."))
    else:
        heading = tr("Scan a book to return it")
        hints.append(tr("No card needed. Scan each book, then put it in the bin shown."))
    languages = tuple(
        Button(f"lang_{code}", LANGUAGE_NAMES.get(code, code), code == patron.language)
        for code in settings.languages
    )
    contrast = (
        tr("Standard colours") if patron.look.theme == "high_contrast" else tr("High contrast")
    )
    larger = tr("Standard text") if patron.look.large_text else tr("Larger text")
    options = (Button("contrast", contrast), Button("larger_text", larger), help_button(tr))
    console, own = console_message or {}, settings.welcome_message
    languages_in_order = (patron.language, settings.default_language)
    message = next(
        (
            text
            for said in (console, own)
            for language in languages_in_order
            if (text := said.get(language))
        ),
        None,
    )
    return WelcomeView(
        settings.library_name,
        settings.logo,
        heading,
        tuple(hints),
        banner,
        languages,
        options,
        settings.demo,
        Banner(message, Tone.NOTICE) if message else None,
    )


def pin(tr: Translator, patron: Patron, banner: Banner | None) -> PinView:
    keys = tuple(Button(f"digit_{digit}", digit) for digit in "123456789")
    keys += (
        Button("pin_clear", tr("Clear")),
        Button("digit_0", "0"),
        Button("pin_ok", tr("OK"), primary=True),
    )
    heading = tr("Staff PIN") if patron.staff else tr("Enter your PIN")
    masked = " ".join("●" for _ in patron.pin) or " "
    actions = (Button("cancel", tr("Cancel")), help_button(tr))
    return PinView(heading, masked, banner, keys, actions)


def checkout(tr: Translator, patron: Patron, banner: Banner | None) -> CheckoutView:
    session = patron.session
    assert session is not None
    greeting = patron.greeting
    notices = []
    # A membership the patron may renew here is said once, in the list below, with its
    # Renew button; the notice sends them to the desk.
    if session.expired_on is not None and not greeting.renewable:
        notices.append(Banner(wording.expired_notice(tr, session), Tone.NOTICE))
    if session.barred:
        notices.append(Banner(wording.barred_notice(tr), Tone.NOTICE))
    instruction = (
        tr("Scan the barcode of each item you want to borrow.")
        if not patron.lines
        else tr.plural(
            "You have borrowed {count} item. Scan the next one, or press Done.",
            "You have borrowed {count} items. Scan the next one, or press Done.",
            patron.lent,
        )
    )
    waiting = wording.waiting_lines(
        tr, greeting, patron.membership, ended=session.expired_on is not None
    )
    return CheckoutView(
        tr("Hello {name}", name=session.first_name),
        instruction,
        tuple(notices),
        tuple(patron.lines),
        banner,
        (
            Button("account", tr("My account")),
            help_button(tr),
            Button("done", tr("Done"), primary=True),
        ),
        tr("Waiting for you") if waiting else "",
        waiting,
    )


def account(tr: Translator, patron: Patron, banner: Banner | None) -> AccountView:
    answer = patron.account
    assert answer is not None
    loans = []
    for number, loan in enumerate(answer.loans, start=1):
        renewed = patron.renewed.get(loan.barcode)
        if renewed is not None:
            line = wording.renew_line(tr, renewed)
        elif loan.overdue:
            overdue = tr("Overdue: it was due by {due}.", due=tr.due(loan.due))
            line = Line(loan.title, overdue, Tone.ERROR)
        else:
            line = Line(loan.title, tr("Due back by {due}.", due=tr.due(loan.due)))
        loans.append(replace(line, action=Button(f"renew_{number}", tr("Renew"))))
    ready = tuple(wording.ready_line(tr, hold.title, hold.where) for hold in answer.holds_ready)
    waiting = tuple(
        Line(hold.title, tr("You are number {position} in the queue.", position=hold.position))
        if hold.position
        # Placed at this kiosk: the server gives it its place at the next sync.
        else Line(
            hold.title, tr("Your hold is placed. We will tell you when a copy is ready for you.")
        )
        for hold in answer.holds_waiting
    )
    sections = [
        (tr.plural("{count} item on loan", "{count} items on loan", len(loans)), tuple(loans))
    ]
    if ready:
        sections.append((tr("Ready to collect"), ready))
    if waiting:
        sections.append((tr("Reserved for you"), waiting))
    owed = (
        tr("You owe {amount}.", amount=tr.money(answer.owed))
        if answer.owed > 0
        else tr("You owe nothing.")
    )
    actions: tuple[Button, ...] = (Button("back", tr("Back")), help_button(tr))
    if loans:
        actions += (Button("renew_all", tr("Renew all")),)
    actions += (Button("done", tr("Done"), primary=True),)
    return AccountView(
        tr("Your account, {name}", name=answer.first_name), owed, tuple(sections), banner, actions
    )


def drop(tr: Translator, answer: ReturnAnswer) -> DropView:
    return DropView(
        wording.return_heading(tr, answer),
        wording.item_title(tr, answer.title, answer.barcode),
        wording.return_fine(tr, answer),
        str(answer.bin.number),
        wording.bin_label(tr, answer.bin),
        answer.bin.colour,
        wording.return_instruction(tr, answer),
        (Button("done", tr("Done"), primary=True),),
    )


def summary_lines(tr: Translator, patron: Patron) -> tuple[Line, ...]:
    """What was lent and renewed in this session, in order: the finish screen's list and
    the receipt's."""
    return tuple(
        wording.renew_line(tr, answer)
        if isinstance(answer, RenewAnswer)
        else wording.checkout_line(tr, answer)
        for answer in patron.results
    )


def receipt_lines(tr: Translator, patron: Patron) -> tuple[str, ...]:
    lines: list[str] = []
    for line in summary_lines(tr, patron):
        lines += [line.title, "  " + line.detail, ""]
    return tuple(lines)


def finish(tr: Translator, patron: Patron, banner: Banner | None, *, can_print: bool) -> FinishView:
    lines = summary_lines(tr, patron)
    summary = (
        tr.plural(
            "You borrowed {count} item today.", "You borrowed {count} items today.", patron.lent
        )
        if patron.lent
        else tr("You didn't borrow anything this time.")
    )
    actions: tuple[Button, ...] = ()
    if lines and can_print:
        actions += (Button("print_receipt", tr("Print a receipt")),)
    if lines and patron.session is not None and patron.session.has_email:
        # Sent by the library to the address it has: the kiosk never holds one.
        actions += (Button("email_receipt", tr("Email me a receipt")),)
    label = tr("No receipt, thanks") if actions else tr("Finish")
    actions += (Button("no_receipt", label, primary=True),)
    name = patron.session.first_name if patron.session else ""
    faces, reasons = wording.feedback_buttons(tr, patron.rating, patron.reason)
    return FinishView(
        tr("Thank you, {name}", name=name),
        summary,
        lines,
        banner,
        actions,
        tr("How was the kiosk today? (optional)"),
        faces,
        tr("Anything to add? (optional)") if reasons else "",
        reasons,
    )


def help_page(tr: Translator) -> MessageView:
    return MessageView(
        tr("Need help?"),
        tr(
            "Please ask a member of staff at the desk. They can help with your card, "
            "your PIN, items that won't scan and anything else."
        ),
        tr("To borrow: scan your card, then each item. To return: scan the item."),
        (Button("back", tr("Back"), primary=True),),
    )


def out_of_service(tr: Translator, health: Health) -> MessageView:
    cause = health.cause or ""
    detail = tr(wording.OUT_OF_SERVICE_DETAIL.get(cause, cause))
    if cause == "mirror_empty" and health.progress is not None:
        detail += " " + tr("Loading: {percent} %", percent=health.progress)
    return MessageView(
        tr("Sorry, this kiosk is not working right now"),
        tr("Please see a member of staff. It will start again by itself."),
        detail,
    )


def warning(tr: Translator, seconds_left: float) -> WarningView:
    """The inactivity countdown shown over any screen."""
    return WarningView(
        tr("Are you still there?"),
        tr.plural(
            "For your privacy, this session ends in {count} second.",
            "For your privacy, this session ends in {count} seconds.",
            max(1, math.ceil(seconds_left)),
        ),
        Button("still_here", tr("I'm still here"), primary=True),
    )


def buttons(view: View) -> list[Button]:
    """Every button ``view`` shows: the ids a touch or a script may press."""
    found: list[Button] = []
    for name in ("languages", "options", "keys", "faces", "reasons", "actions"):
        found += getattr(view, name, ())
    for line in (*getattr(view, "waiting", ()), *getattr(view, "lines", ())):
        if line.action is not None:
            found.append(line.action)
    for _, lines in getattr(view, "sections", ()):
        found += [line.action for line in lines if line.action is not None]
    return found
