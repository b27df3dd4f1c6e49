"""What the circulation service answered, in the patron's words and language.

The service answers with facts (a status, refusals with their reason codes and figures,
due dates, amounts, the bin); this is the one place they are worded, through the
catalog: for the screens (a ``Line``, a ``Banner``, the drop station's parts) and for
``kiosk circ`` (one sentence per answer, the ``..._sentence`` functions), which share a
message wherever they say the same thing. Each English sentence is its own message id,
so translators see whole sentences, never fragments glued together.
"""

from __future__ import annotations

from decimal import Decimal

from kiosk.circulation.views import (
    CheckoutAnswer,
    CheckoutStatus,
    FeedbackReason,
    Greeting,
    HoldAnswer,
    HoldStatus,
    Identification,
    IdentifyStatus,
    MembershipAnswer,
    MembershipStatus,
    PatronSession,
    Refusal,
    RenewAnswer,
    RenewStatus,
    ReturnAnswer,
    ReturnStatus,
    SortingBin,
)
from kiosk.session.i18n import N_, Translator
from kiosk.session.viewdata import Banner, Button, Line, Tone

# Out-of-service causes, as kiosk.circulation.views.OutOfService and the app's own
# checks name them: a line for staff under the screen's heading.
OUT_OF_SERVICE_DETAIL = {
    "mirror_empty": N_("The library's records have not arrived at this kiosk yet."),
    "clock_untrusted": N_("This kiosk's clock is not right, so it cannot work out due dates."),
    "disk_full": N_("This kiosk's storage is full, so it cannot record loans."),
    "no_scanner": N_("No barcode scanner is connected."),
    "store_unusable": N_("This kiosk cannot open its records."),
}

# The shipped bins' names, marked for the catalog so each language has them. A library
# may name its bins otherwise in kiosk.toml; a name the catalog lacks shows as written.
DEFAULT_BIN_LABELS = (N_("Hold shelf"), N_("Shelf"), N_("Staff"), N_("Transfer"))
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


def out_of_service_sentence(tr: Translator) -> str:
    """Any Unavailable answer, for kiosk circ (which names the cause beside it)."""
    return tr("This kiosk is out of service. Please see a member of staff.")


# --- refusals -----------------------------------------------------------------------


def refusal(tr: Translator, refusal: Refusal) -> str:
    fields = {name: tr.field(value) for name, value in refusal.fields.items()}
    return tr(refusal.template, **fields)


def refusals(tr: Translator, answers: tuple[Refusal, ...]) -> str:
    return " ".join(refusal(tr, answer) for answer in answers)


def item_title(tr: Translator, title: str, barcode: str) -> str:
    return title or tr("Item {barcode}", barcode=barcode)


def fine_added(tr: Translator, amount: Decimal) -> str:
    return tr("A fine of {amount} has been added to your account.", amount=tr.money(amount))


# --- signing in ---------------------------------------------------------------------


def identification(tr: Translator, answer: Identification) -> Banner:
    """What a card (and PIN) brought: the welcome screen's banner, kiosk circ's line."""
    if answer.status is IdentifyStatus.IDENTIFIED and answer.session is not None:
        return Banner(tr("Hello {name}", name=answer.session.first_name), Tone.SUCCESS)
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


def barred_notice(tr: Translator) -> str:
    return tr("Your card can't be used to borrow at the moment. Please see a member of staff.")


def expired_notice(tr: Translator, session: PatronSession) -> str:
    """The checkout screen's notice that a membership has run out."""
    assert session.expired_on is not None
    return tr(
        "Your membership ended on {date}. You can see your account; "
        "please renew it at the desk to borrow.",
        date=tr.date(session.expired_on),
    )


def notice_sentences(tr: Translator, session: PatronSession) -> tuple[str, ...]:
    """kiosk circ's notes when a patron signs in: an ended membership, a barred card."""
    notes = []
    if session.expired_on is not None:
        notes.append(
            tr(
                "Your membership ended on {date}. You can see your account and return "
                "items; please renew at the desk to borrow.",
                date=tr.date(session.expired_on),
            )
        )
    if session.barred:
        notes.append(barred_notice(tr))
    return tuple(notes)


# --- what waits for the patron ------------------------------------------------------


def ready_line(tr: Translator, title: str, library: str) -> Line:
    """A hold ready for the patron: on the hold shelf here, or at branch ``library``'s
    (its name) when it waits at another branch."""
    if library:
        detail = tr("Ready for you at the hold shelf at {library}.", library=library)
    else:
        detail = tr("Ready for you at the hold shelf.")
    return Line(title, detail, Tone.SUCCESS)


def waiting_lines(
    tr: Translator, greeting: Greeting, membership: MembershipAnswer | None, *, ended: bool
) -> tuple[Line, ...]:
    """The greeting's short list: holds ready, loans overdue and due soon, money owed,
    the membership's end (with its Renew button while a patron may renew it here)."""
    lines = []
    if greeting.offline_limit is not None:
        lines.append(
            Line(
                tr("This kiosk has been offline for a while."),
                tr.plural(
                    "You can borrow up to {count} item here this time.",
                    "You can borrow up to {count} items here this time.",
                    greeting.offline_limit,
                ),
                Tone.NOTICE,
            )
        )
    where = greeting.ready_where or ("",) * len(greeting.holds_ready)
    lines += [
        ready_line(tr, title, library)
        for title, library in zip(greeting.holds_ready, where, strict=True)
    ]
    if greeting.overdue:
        lines.append(
            Line(
                tr.plural(
                    "{count} item is overdue.", "{count} items are overdue.", greeting.overdue
                ),
                tr("You can renew in My account."),
                Tone.ERROR,
            )
        )
    if greeting.due_soon and greeting.next_due is not None:
        lines.append(
            Line(
                tr.plural(
                    "{count} item is due back soon.",
                    "{count} items are due back soon.",
                    greeting.due_soon,
                ),
                tr("Due back by {due}.", due=tr.due(greeting.next_due)),
                Tone.NOTICE,
            )
        )
    if greeting.owed > 0:
        lines.append(
            Line(
                tr("You owe {amount}.", amount=tr.money(greeting.owed)),
                tr("You can pay at the desk."),
                Tone.NOTICE,
            )
        )
    if membership is not None or greeting.membership_ends is not None:
        lines.append(membership_line(tr, greeting, membership, ended=ended))
    return tuple(lines)


def membership_line(
    tr: Translator, greeting: Greeting, membership: MembershipAnswer | None, *, ended: bool
) -> Line:
    if membership is not None and membership.status is MembershipStatus.RENEWED:
        assert membership.expires is not None
        return Line(
            tr("Your membership is renewed."),
            tr("It now runs until {date}.", date=tr.date(membership.expires)),
            Tone.SUCCESS,
        )
    ends = greeting.membership_ends
    assert ends is not None
    title = (
        tr("Your membership ended on {date}.", date=tr.date(ends))
        if ended
        else tr("Your membership ends on {date}.", date=tr.date(ends))
    )
    if membership is not None:
        detail = refusals(tr, membership.refusals) or tr(
            "It can't be renewed here. Please ask at the desk."
        )
        return Line(title, detail, Tone.ERROR)
    if greeting.renewable:
        return Line(
            title,
            tr("You can renew it here."),
            Tone.NOTICE,
            Button("renew_membership", tr("Renew")),
        )
    return Line(title, tr("Please renew it at the desk."), Tone.NOTICE)


def membership_sentence(tr: Translator, answer: MembershipAnswer) -> str:
    """A membership renewal's answer in one sentence (the banner, kiosk circ)."""
    if answer.status is MembershipStatus.RENEWED and answer.expires is not None:
        return tr("Your membership is renewed until {date}.", date=tr.date(answer.expires))
    return refusals(tr, answer.refusals) or tr("It can't be renewed here. Please ask at the desk.")


# --- checkout -----------------------------------------------------------------------


def _due_back(tr: Translator, answer: CheckoutAnswer | RenewAnswer) -> str:
    assert answer.due is not None
    return tr("Due back by {due}.", due=tr.due(answer.due))


def _already_yours(tr: Translator, answer: CheckoutAnswer) -> str:
    assert answer.due is not None
    return tr("This item is already on your card, due back by {due}.", due=tr.due(answer.due))


def checkout_line(tr: Translator, answer: CheckoutAnswer) -> Line:
    title = item_title(tr, answer.title, answer.barcode)
    if answer.status is CheckoutStatus.LENT and answer.due is not None:
        detail = _due_back(tr, answer)
        if answer.hold_fulfilled:
            detail += " " + tr("You had reserved this item.")
        return Line(title, detail, Tone.SUCCESS)
    if answer.status is CheckoutStatus.ALREADY_YOURS and answer.due is not None:
        return Line(title, _already_yours(tr, answer), Tone.NOTICE)
    if answer.status is CheckoutStatus.REFUSED:
        return Line(title, refusals(tr, answer.refusals), Tone.ERROR)
    if answer.status is CheckoutStatus.OFFLINE_LIMIT:
        return Line(title, _offline_limit(tr, answer), Tone.ERROR)
    return Line(tr("We don't know this item"), tr("Please take it to the desk."), Tone.ERROR)


def _offline_limit(tr: Translator, answer: CheckoutAnswer) -> str:
    return tr.plural(
        "This kiosk has been offline for a while, so it lends only {count} item a visit. "
        "Please borrow the rest at the desk.",
        "This kiosk has been offline for a while, so it lends only {count} items a visit. "
        "Please borrow the rest at the desk.",
        answer.offline_limit or 0,
    )


def checkout_sentence(tr: Translator, answer: CheckoutAnswer) -> str:
    if answer.status is CheckoutStatus.LENT and answer.due is not None:
        return _due_back(tr, answer)
    if answer.status is CheckoutStatus.ALREADY_YOURS and answer.due is not None:
        return _already_yours(tr, answer)
    if answer.status is CheckoutStatus.REFUSED:
        return refusals(tr, answer.refusals)
    if answer.status is CheckoutStatus.OFFLINE_LIMIT:
        return _offline_limit(tr, answer)
    return tr("We don't know this item. Please take it to the desk.")


# --- renew --------------------------------------------------------------------------


def _renewed(tr: Translator, answer: RenewAnswer) -> str:
    assert answer.due is not None
    return tr("Renewed: now due back by {due}.", due=tr.due(answer.due))


def renew_line(tr: Translator, answer: RenewAnswer) -> Line:
    title = item_title(tr, answer.title, answer.barcode)
    if answer.status is RenewStatus.RENEWED and answer.due is not None:
        detail = _renewed(tr, answer)
        if answer.fine > 0:
            detail += " " + fine_added(tr, answer.fine)
        return Line(title, detail, Tone.SUCCESS)
    if answer.status is RenewStatus.REFUSED:
        return Line(title, refusals(tr, answer.refusals), Tone.ERROR)
    return Line(title, tr("This item is not on your card."), Tone.ERROR)


def renew_sentence(tr: Translator, answer: RenewAnswer) -> str:
    if answer.status is RenewStatus.RENEWED and answer.due is not None:
        sentence = _renewed(tr, answer)
        if answer.fine > 0:
            sentence += " " + tr(
                "A fine of {amount} for the days it was late has been added.",
                amount=tr.money(answer.fine),
            )
        return sentence
    return renew_line(tr, answer).detail


# --- title hold ---------------------------------------------------------------------

HOLD_REFUSED = {
    HoldStatus.WAITING: N_("You are already waiting for this title."),
    HoldStatus.ON_LOAN: N_("You have a copy of this title on loan already."),
    HoldStatus.CARD: N_(
        "Your card can't be used to place holds at the moment. Please see a member of staff."
    ),
    HoldStatus.UNHOLDABLE: N_("This title can't be held here. Please ask at the desk."),
}


def hold_sentence(tr: Translator, answer: HoldAnswer) -> str:
    if answer.status is HoldStatus.PLACED:
        return tr("Your hold is placed. We will tell you when a copy is ready for you.")
    if answer.status is HoldStatus.NOT_LENDABLE:  # the rules' own sentences
        return refusals(tr, answer.refusals)
    return tr(HOLD_REFUSED[answer.status])


def hold_line(tr: Translator, answer: HoldAnswer) -> Line:
    placed = answer.status is HoldStatus.PLACED
    return Line(
        item_title(tr, answer.title, answer.barcode),
        hold_sentence(tr, answer),
        Tone.SUCCESS if placed else Tone.ERROR,
    )


# --- return -------------------------------------------------------------------------


def bin_label(tr: Translator, bin_: SortingBin) -> str:
    return tr(bin_.name)


def bin_colour(tr: Translator, bin_: SortingBin) -> str:
    return tr(BIN_COLOURS.get(bin_.colour, bin_.colour))


def return_heading(tr: Translator, answer: ReturnAnswer) -> str:
    if answer.status is ReturnStatus.ALREADY_RETURNED:
        return tr("Thank you, this item is already returned")
    return tr("Thank you")


def return_fine(tr: Translator, answer: ReturnAnswer) -> str:
    if answer.fine <= 0:
        return ""
    late = tr.plural(
        "This item was {count} day late.", "This item was {count} days late.", answer.overdue_days
    )
    return f"{late} {fine_added(tr, answer.fine)}"


def return_instruction(tr: Translator, answer: ReturnAnswer) -> str:
    if answer.status in (ReturnStatus.NOT_ON_LOAN, ReturnStatus.UNKNOWN_ITEM):
        return tr(
            "Please put this item in the staff bin, number {number}.", number=answer.bin.number
        )
    return tr(
        "Please put it in bin {number}, the {colour} one.",
        number=answer.bin.number,
        colour=bin_colour(tr, answer.bin),
    ) + _goes_to(tr, answer)


def _goes_to(tr: Translator, answer: ReturnAnswer) -> str:
    """Where a copy in the transfer bin is sent, after the sentence that names the bin."""
    if answer.destination is None:
        return ""
    return " " + tr("It goes back to its home branch, {branch}.", branch=answer.destination)


def return_sentence(tr: Translator, answer: ReturnAnswer) -> str:
    """The drop station's answer in one sentence, for kiosk circ (which shows the bin's
    number, name and colour beside it)."""
    number = answer.bin.number
    if answer.status in (ReturnStatus.NOT_ON_LOAN, ReturnStatus.UNKNOWN_ITEM):
        return tr("Thank you. Please put this item in the staff bin.")
    if answer.status is ReturnStatus.ALREADY_RETURNED:
        return tr(
            "Thank you, this item is already returned. Please put it in bin {number}.",
            number=number,
        ) + _goes_to(tr, answer)
    if answer.fine > 0:
        return tr.plural(
            "Thank you. This item was {count} day late: a fine of {amount} has been added "
            "to your account. Please put it in bin {number}.",
            "Thank you. This item was {count} days late: a fine of {amount} has been added "
            "to your account. Please put it in bin {number}.",
            answer.overdue_days,
            amount=tr.money(answer.fine),
            number=number,
        ) + _goes_to(tr, answer)
    return tr("Thank you. Please put it in bin {number}.", number=number) + _goes_to(tr, answer)


# The faces' words, worst to best: what a patron reads under each and a screen reader
# says.
FEEDBACK_FACES = (N_("Not good"), N_("It was OK"), N_("Good"))
FEEDBACK_REASONS = {
    FeedbackReason.NOT_FOUND: N_("I could not find a book"),
    FeedbackReason.SLOW: N_("The kiosk was slow"),
    FeedbackReason.ERROR: N_("There was an error"),
    FeedbackReason.HARD_TO_USE: N_("It was hard to use"),
}


def feedback_buttons(
    tr: Translator, rating: int | None, reason: FeedbackReason | None
) -> tuple[tuple[Button, ...], tuple[Button, ...]]:
    """The faces (the chosen one marked), and the reasons once a face is chosen."""
    faces = tuple(
        Button(f"feedback_{number}", tr(words), primary=number == rating)
        for number, words in enumerate(FEEDBACK_FACES, start=1)
    )
    if rating is None:
        return faces, ()
    reasons = tuple(
        Button(f"reason_{code.value}", tr(words), primary=code is reason)
        for code, words in FEEDBACK_REASONS.items()
    )
    return faces, reasons
