"""What the circulation service decided, in the patron's words and language.

The service returns structured answers (a status, refusals with a reason code, a due
date); this module words them through the catalog. Each English sentence is its own
message id, so translators see whole sentences, never fragments glued together.
"""

from __future__ import annotations

from decimal import Decimal

from kiosk.circulation.views import (
    CheckoutStatus,
    CheckoutView,
    Identification,
    IdentifyStatus,
    RenewStatus,
    RenewView,
    ReturnStatus,
    ReturnView,
    SortingBin,
)
from kiosk.rules import Refusal
from kiosk.session.i18n import N_, Translator
from kiosk.session.viewdata import Banner, Line, Tone

# Out-of-service causes, as kiosk.circulation.views.OutOfService and the app's own
# checks name them: a heading for the patron, a line for staff.
OUT_OF_SERVICE_DETAIL = {
    "mirror_empty": N_("The library's records have not arrived at this kiosk yet."),
    "clock_untrusted": N_("This kiosk's clock is not right, so it cannot work out due dates."),
    "disk_full": N_("This kiosk's storage is full, so it cannot record loans."),
    "no_scanner": N_("No barcode scanner is connected."),
    "store_unusable": N_("This kiosk cannot open its records."),
}

# The shipped bins' names, marked for the catalog so each language has them. A library
# may name its bins otherwise in kiosk.toml; a name the catalog lacks shows as written.
DEFAULT_BIN_LABELS = (N_("Hold shelf"), N_("Shelf"), N_("Staff"))
BIN_COLOURS = {
    "yellow": N_("yellow"),
    "green": N_("green"),
    "red": N_("red"),
    "blue": N_("blue"),
    "orange": N_("orange"),
    "purple": N_("purple"),
    "white": N_("white"),
    "black": N_("black"),
}


# Item statuses a refusal may name ("it is recorded as lost"), marked for the catalog.
# A library's own status word that the catalog lacks shows as written.
ITEM_STATUSES = (
    N_("on loan"),
    N_("lost"),
    N_("damaged"),
    N_("missing"),
    N_("withdrawn"),
    N_("on hold shelf"),
    N_("in transit"),
)


def refusal(tr: Translator, refusal: Refusal) -> str:
    fields = {name: tr.field(value) for name, value in refusal.fields.items()}
    return tr(refusal.template, **fields)


def refusals(tr: Translator, answers: tuple[Refusal, ...]) -> str:
    return " ".join(refusal(tr, answer) for answer in answers)


def item_title(tr: Translator, title: str, barcode: str) -> str:
    return title or tr("Item {barcode}", barcode=barcode)


def checkout_line(tr: Translator, view: CheckoutView) -> Line:
    title = item_title(tr, view.title, view.barcode)
    if view.status is CheckoutStatus.LENT and view.due is not None:
        detail = tr("Due back by {due}.", due=tr.due(view.due))
        if view.hold_fulfilled:
            detail += " " + tr("You had reserved this item.")
        return Line(title, detail, Tone.SUCCESS)
    if view.status is CheckoutStatus.ALREADY_YOURS and view.due is not None:
        return Line(
            title,
            tr("This item is already on your card, due back by {due}.", due=tr.due(view.due)),
            Tone.NOTICE,
        )
    if view.status is CheckoutStatus.REFUSED:
        return Line(title, refusals(tr, view.refusals), Tone.ERROR)
    return Line(
        tr("We don't know this item"),
        tr("Please take it to the desk."),
        Tone.ERROR,
    )


def renew_line(tr: Translator, view: RenewView) -> Line:
    title = item_title(tr, view.title, view.barcode)
    if view.status is RenewStatus.RENEWED and view.due is not None:
        detail = tr("Renewed: now due back by {due}.", due=tr.due(view.due))
        if view.fine > 0:
            detail += " " + fine_added(tr, view.fine)
        return Line(title, detail, Tone.SUCCESS)
    if view.status is RenewStatus.REFUSED:
        return Line(title, refusals(tr, view.refusals), Tone.ERROR)
    return Line(title, tr("This item is not on your card."), Tone.ERROR)


def fine_added(tr: Translator, amount: Decimal) -> str:
    return tr("A fine of {amount} has been added to your account.", amount=tr.money(amount))


def bin_label(tr: Translator, bin_: SortingBin) -> str:
    return tr(bin_.name)


def bin_colour(tr: Translator, bin_: SortingBin) -> str:
    return tr(BIN_COLOURS.get(bin_.colour, bin_.colour))


def return_heading(tr: Translator, view: ReturnView) -> str:
    if view.status is ReturnStatus.ALREADY_RETURNED:
        return tr("Thank you, this item is already returned")
    return tr("Thank you")


def return_fine(tr: Translator, view: ReturnView) -> str:
    if view.fine <= 0:
        return ""
    late = tr.plural(
        "This item was {count} day late.", "This item was {count} days late.", view.overdue_days
    )
    return f"{late} {fine_added(tr, view.fine)}"


def return_instruction(tr: Translator, view: ReturnView) -> str:
    if view.status in (ReturnStatus.NOT_ON_LOAN, ReturnStatus.UNKNOWN_ITEM):
        return tr("Please put this item in the staff bin, number {number}.", number=view.bin.number)
    return tr(
        "Please put it in bin {number}, the {colour} one.",
        number=view.bin.number,
        colour=bin_colour(tr, view.bin),
    )


def identification_banner(tr: Translator, answer: Identification) -> Banner:
    if answer.status is IdentifyStatus.WRONG_PIN:
        left = answer.attempts_left or 0
        return Banner(
            tr.plural(
                "That PIN is not right. Please try again ({count} try left).",
                "That PIN is not right. Please try again ({count} tries left).",
                left,
            ),
            Tone.ERROR,
        )
    if answer.status is IdentifyStatus.LOCKED and answer.locked_until is not None:
        return Banner(
            tr(
                "Too many wrong PINs: this card is locked on this kiosk until {time}. "
                "Please see a member of staff.",
                time=tr.time(answer.locked_until),
            ),
            Tone.ERROR,
        )
    if answer.status is IdentifyStatus.NO_PIN_SET:
        return Banner(
            tr("Your card has no PIN yet. Please ask at the desk to set one."), Tone.ERROR
        )
    if answer.status is IdentifyStatus.PIN_NEEDED:
        return Banner(tr("Please enter your PIN."))
    return Banner(tr("We don't recognise this card. Please see a member of staff."), Tone.ERROR)
