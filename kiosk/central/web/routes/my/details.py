"""*Your details* (``/my/details``): the patron's email address, phone number and
language, their home library (where a library has branches: their holds are collected
there unless they choose another), and their messaging preferences: which notices, by
which channel, how many days before a due date, one daily digest or not, and the kinds
and subjects of new arrivals (the subjects: the broad subjects of the catalogue's new
records of the year, ``patrons.arrival_subjects``, and those the patron chose before).

Written by ``circulation.patrons.update_patron``, as the staff console's patron edit and
the CSV import write them, and checked there the same way (every problem at once,
nothing changed then); the notices read them from the patron's row. This module only
says each problem in the patron's words, by the field the check names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.circulation.branches import choosable_branches
from kiosk.central.circulation.patrons import (
    TOO_MANY_SUBJECTS,
    PatronRefused,
    SubjectsOffered,
    publication_types,
    subject_choices,
    update_patron,
)
from kiosk.central.notices import preferences
from kiosk.central.web.deps import CsrfChecked, Db, Now, OfferedSubjects, Origin, Settings
from kiosk.central.web.routes.my.account import patron_actor
from kiosk.central.web.routes.my.deps import SignedIn, SignedInPatron, page
from kiosk.central.web.routes.my.words import N_
from kiosk.central.web.settings import ConsoleSettings
from kiosk.common.catalogs import LANGUAGE_NAMES

router = APIRouter(prefix="/my", include_in_schema=False)

Text = Annotated[str, Form(max_length=300)]  # the checks set the real limits
Codes = Annotated[list[str], Form(max_length=64)]
Subjects = Annotated[list[str], Form(max_length=200)]
_NONE: list[str] = []

# The order of the form, each field's problem as the patron reads it.
PROBLEMS = {
    "email": N_("Enter an email address like name@example.org, or leave it empty."),
    "phone": N_(
        "Enter a phone number of 6 to 15 digits, like 01632 960 001 or +44 1632 960001, "
        "or leave it empty."
    ),
    "language": N_("Choose one of the languages shown."),
    "home_branch": N_("Choose one of the libraries shown."),
    "notify_by": N_("Choose how the library sends you notices."),
    "notices": N_("Choose notices from the list shown."),
    "due_soon_days": N_("Enter a number of days from 1 to {most}."),
    "digest": N_("Choose yes or no for one message a day."),
    "arrivals": N_("Choose kinds of new arrivals from the list shown."),
    "arrival_subjects": N_("Choose subjects of new arrivals from the list shown."),
}
# A field's other problems (PatronRefused.codes), each in its own words.
CODED_PROBLEMS = {
    TOO_MANY_SUBJECTS: N_("Choose at most {most_subjects} subjects of new arrivals."),
}
KIND_WORDS = {
    "due_soon": N_("Before an item is due back"),
    "overdue": N_("When an item is overdue"),
    "hold_ready": N_("When a hold is ready to collect"),
    "hold_expiring": N_("When a hold is about to stop being kept"),
    "membership_expiring": N_("When your membership is about to end"),
    "receipt": N_("A receipt of what you borrow and renew"),
    "new_arrivals": N_("New arrivals, once a week"),
}
CHANNEL_WORDS = {
    "email": N_("Email"),
    "sms": N_("Text message (SMS)"),
    "none": N_("Neither: the library prints them"),
}


def _values(signed_in: SignedInPatron) -> dict[str, str]:
    patron = signed_in.patron
    chosen = preferences.of_patron(patron)
    return {
        "email": patron.email or "",
        "phone": patron.phone or "",
        "language": patron.language or "",
        "home_branch": patron.home_branch or "",
        "notify_by": chosen.notify_by,
        "notices": preferences.joined(chosen.kinds, preferences.KINDS),
        "due_soon_days": str(chosen.due_soon_days),
        "digest": "yes" if chosen.digest else "no",
        "arrivals": ",".join(sorted(chosen.arrivals)),
        "arrival_subjects": patron.arrival_subjects,
    }


def _details_page(
    request: Request,
    signed_in: SignedInPatron,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    offered: SubjectsOffered,
    typed: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    saved: bool = False,
) -> HTMLResponse:
    values = {**_values(signed_in), **(typed or {})}
    ticked = {name: set(preferences.codes(values[name])) for name in ("notices", "arrivals")}
    ticked["arrival_subjects"] = set(preferences.headings(values["arrival_subjects"]))
    return page(
        request,
        config,
        "my/details.html",
        patron=signed_in.patron,
        values=values,
        ticked=ticked,
        problems=problems or {},
        most_days=preferences.MAX_DUE_SOON_DAYS,
        most_subjects=preferences.MAX_SUBJECTS,
        language_names=LANGUAGE_NAMES,
        branch_names=choosable_branches(db),
        kind_words=KIND_WORDS,
        channel_words=CHANNEL_WORDS,
        arrival_names=publication_types(db),
        subject_names=subject_choices(
            db, moment.date(), signed_in.patron.arrival_subjects, offered
        ),
        saved=saved,
        status_code=400 if problems else 200,
    )


@router.get("/details", response_class=HTMLResponse)
def details_page(
    request: Request,
    *,
    signed_in: SignedIn,
    db: Db,
    config: Settings,
    moment: Now,
    offered: OfferedSubjects,
) -> HTMLResponse:
    return _details_page(request, signed_in, db=db, config=config, moment=moment, offered=offered)


@router.post("/details", dependencies=[CsrfChecked], response_model=None)
def save_details(
    request: Request,
    *,
    signed_in: SignedIn,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    offered: OfferedSubjects,
    email: Text = "",
    phone: Text = "",
    language: Text = "",
    home_branch: Text = "",
    notify_by: Text = "",
    notices: Codes = _NONE,
    due_soon_days: Text = "",
    digest: Text = "",
    arrivals: Codes = _NONE,
    arrival_subjects: Subjects = _NONE,
) -> Response:
    """Save the form's fields; unticked boxes send nothing, so an empty list is none
    chosen (the form always shows every box)."""
    changes = {
        "email": email,
        "phone": phone,
        # The kiosk's own language is not one to choose here: the portal speaks one.
        "language": language or (signed_in.patron.language or ""),
        # No library ticked (the form shows none ticked to a patron who has none): as it is.
        "home_branch": home_branch or (signed_in.patron.home_branch or ""),
        "notify_by": notify_by,
        "notices": ",".join(notices),
        "due_soon_days": due_soon_days,
        "digest": digest or "no",
        "arrivals": ",".join(arrivals),
        # A subject may hold a comma ("Cookery, Vegetarian"): joined as they are stored.
        "arrival_subjects": preferences.SUBJECT_SEPARATOR.join(arrival_subjects),
    }
    try:
        actor = patron_actor(signed_in, origin)
        update_patron(db, signed_in.patron_id, changes, moment, actor, subjects=offered)
    except PatronRefused as refused:
        problems = {
            name: CODED_PROBLEMS.get(refused.codes.get(name, ""), PROBLEMS[name])
            for name in PROBLEMS
            if name in refused.problems
        }
        return _details_page(
            request,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            offered=offered,
            typed=changes,
            problems=problems,
        )
    db.refresh(signed_in.patron)
    return _details_page(
        request, signed_in, db=db, config=config, moment=moment, offered=offered, saved=True
    )
