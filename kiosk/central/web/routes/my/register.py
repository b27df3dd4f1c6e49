"""*Join the library* (``/my/register``, no sign-in): the form asks only what
``[registration]`` says the library needs, and the patron's consent to the privacy
notice; ``circulation.registrations.register`` checks it, refuses a person the library
may know already (without saying whose record it is), and makes the pending patron
with a temporary card, shown once on the answer and queued for their email. Sendings
are counted per address in the refused sign-ins' table (``sessions.count_sending``),
under a key of their own and before anything else is done: one connection cannot fill
the pending list, not even with requests sent at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import choosable_branches
from kiosk.central.circulation.registrations import (
    MaybeKnown,
    RegistrationForm,
    RegistrationRefused,
    register,
)
from kiosk.central.web.deps import CsrfChecked, Db, Now, Origin, Settings
from kiosk.central.web.routes.my import sessions
from kiosk.central.web.routes.my.deps import chosen_language, page
from kiosk.central.web.routes.my.words import N_
from kiosk.central.web.settings import ConsoleSettings

router = APIRouter(prefix="/my", include_in_schema=False)

Text = Annotated[str, Form(max_length=300)]  # the checks set the real limits
WINDOW = timedelta(hours=1)

# Each field's problem as the patron reads it, in the form's order.
PROBLEMS = {
    "first_name": N_("Enter your first name, in 64 characters at most."),
    "surname": N_("Enter your surname, in 64 characters at most."),
    "email": N_("Enter an email address like name@example.org."),
    "phone": N_("Enter a phone number of 6 to 15 digits, like 01632 960 001 or +44 1632 960001."),
    "date_of_birth": N_("Enter your date of birth as a real date in the past, like 31 3 1990."),
    "home_branch": N_("Choose one of the libraries shown."),
    "pin": N_("Choose a PIN of 4 to 8 digits."),
    "pin_again": N_("Type the same PIN in both boxes."),
    "consent": N_(
        "To register, agree to the library keeping your details as its privacy notice says."
    ),
}
# The library needs a way to reach the patron: what to say when none was given.
NO_CONTACT = {
    "email": N_("Enter your email address, so the library can reach you."),
    "phone": N_("Enter your phone number, so the library can reach you."),
    "email_or_phone": N_("Enter an email address or a phone number, so the library can reach you."),
}
KNOWN = N_(
    "The library may already know you: a member or a registration has some of the same "
    "details. Please ask library staff, who will help you with your card."
)
SLOWED = N_(
    "Too many registrations were sent from this connection. Please wait {minutes} minutes "
    "and try again."
)
# Where each problem's link in the summary goes: the field it is about.
ANCHORS = {"date_of_birth": "dob_day"}


def _limit_key(origin: str) -> str:
    return f"register {origin}"


def _date(day: str, month: str, year: str) -> str:
    """The three boxes as year-month-day; what is not three numbers stays as it is, for
    the check to refuse."""
    parts = (day.strip(), month.strip(), year.strip())
    if not any(parts):
        return ""
    if not all(part.isdigit() and part.isascii() for part in parts):
        return "-".join(parts)
    return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"


def _form_page(
    request: Request,
    config: ConsoleSettings,
    db: Session,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    refused: str | None = None,
    fields: dict[str, int] | None = None,
    status: int = 200,
) -> HTMLResponse:
    settings = config.registration
    return page(
        request,
        config,
        "my/register.html",
        settings=settings,
        branch_names=choosable_branches(db),
        values=typed or {},
        problems=problems or {},
        anchors=ANCHORS,
        refused=refused,
        fields=fields or {},
        status_code=status,
    )


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request, config: Settings, db: Db) -> HTMLResponse:
    return _form_page(request, config, db)


def _slowed(until: datetime, moment: datetime) -> dict[str, int]:
    return {"minutes": max(1, -(-int((until - moment).total_seconds()) // 60))}


@router.post("/register", dependencies=[CsrfChecked], response_model=None)
def send_registration(
    request: Request,
    *,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    first_name: Text = "",
    surname: Text = "",
    email: Text = "",
    phone: Text = "",
    dob_day: Text = "",
    dob_month: Text = "",
    dob_year: Text = "",
    pin: Text = "",
    pin_again: Text = "",
    consent: Text = "",
    home_branch: Text = "",
) -> Response:
    settings = config.registration
    # What was typed comes back with a problem; never the PINs.
    typed = {
        "first_name": first_name,
        "surname": surname,
        "email": email,
        "phone": phone,
        "dob_day": dob_day,
        "dob_month": dob_month,
        "dob_year": dob_year,
        "home_branch": home_branch,
        "consent": consent,
    }
    if not settings.open:
        return _form_page(request, config, db, status=403)
    key = _limit_key(origin)
    blocked = sessions.count_sending(
        db, key, moment, most=settings.per_address_per_hour, window=WINDOW
    )
    if blocked is not None:
        return _form_page(
            request,
            config,
            db,
            typed=typed,
            refused=SLOWED,
            fields=_slowed(blocked, moment),
            status=429,
        )
    form = RegistrationForm(
        first_name=first_name,
        surname=surname,
        email=email,
        phone=phone,
        date_of_birth=_date(dob_day, dob_month, dob_year),
        pin=pin,
        pin_again=pin_again,
        consent=consent == "yes",
        language=chosen_language(request),
        home_branch=home_branch,
    )
    try:
        made = register(db, form, settings, moment, Actor("portal", origin, "portal"))
    except RegistrationRefused as refused:
        # A form with mistakes kept nothing: it is not one of the address's sendings.
        sessions.uncount_sending(db, key)
        problems = {
            name: NO_CONTACT[settings.contact] if name == "contact" else PROBLEMS[name]
            for name in ("contact", *PROBLEMS)
            if name in refused.problems
        }
        return _form_page(request, config, db, typed=typed, problems=problems, status=400)
    except MaybeKnown:
        return _form_page(request, config, db, typed=typed, refused=KNOWN, status=409)
    return page(
        request,
        config,
        "my/registered.html",
        card=made.card,
        emailed=made.emailed,
        pending_loans=settings.pending_loans,
    )
