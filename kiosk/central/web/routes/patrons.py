"""*Patrons*: find a patron, see what they have and owe, and change their record. Every
decision and check is ``kiosk.central.circulation``'s (``patrons`` and ``ledger``); this
module reads the forms, calls it and renders what it says.

A search is POSTed: the card or name typed is never in a URL. A patron's pages are
addressed by their opaque patron id. A change is answered with a redirect to the
patron's page saying what was done (``?done=``, a word, never a value); a refusal is
answered with the form again and every problem. A one-time PIN is shown once, on the
answer to its POST; a PIN typed at the desk is never sent back.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.circulation import ledger, loan_history, patrons
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.branches import branch_names
from kiosk.central.circulation.desk import new_transaction_id
from kiosk.central.circulation.patrons import PatronRefused, UnknownPatron
from kiosk.central.notices import preferences
from kiosk.central.web.accounts import RANK
from kiosk.central.web.deps import (
    Circulation,
    CsrfChecked,
    Current,
    Db,
    Now,
    OfferedSubjects,
    Origin,
    Settings,
    Viewer,
)
from kiosk.central.web.pages import not_found, render
from kiosk.central.web.settings import ConsoleSettings

router = APIRouter(prefix="/staff/patrons", include_in_schema=False)

SHOWN = 50  # search results on one page
HISTORY_SHOWN = 20  # the latest loans of a patron who keeps their history
# Any text: an id no patron has (too long, made up) is answered "No such patron".
PatronId = Annotated[str, Path()]
Text = Annotated[str, Form(max_length=1000)]  # bounded before anything reads it
Secret = Annotated[str, Form(max_length=100)]
Done = Annotated[str, Query(max_length=16)]
# The ticked boxes of a list (kinds of notice, publication types), each a short code.
Codes = Annotated[list[str], Form(max_length=64)]
# The ticked subjects of new arrivals: each a subject as the catalogue spells it.
Subjects = Annotated[list[str], Form(max_length=200)]
_NONE: list[str] = []

# What each change's redirect says on the patron's page.
DONE = {
    "edit": "Details saved",
    "unchanged": "Nothing was changed",
    "bar": "Patron barred: no kiosk lends to them",
    "unbar": "Bar lifted",
    "pin": "New PIN set",
    "renew": "Membership renewed",
    "payment": "Payment taken",
    "waiver": "Charge waived",
}
# Where each field's error summary entry takes the focus.
ANCHORS = {
    "first_name": "first_name",
    "surname": "surname",
    "email": "email",
    "phone": "phone",
    "language": "language",
    "home_branch": "home_branch",
    "member_type": "member_type",
    "expires": "expires",
    "arrival_subjects": "arrival_subjects",
    "reason": "reason",
    "pin": "pin",
    "pin_again": "pin_again",
    "amount": "amount",
    "charge": "charge",
}


def _actor(signed_in: Current, origin: str) -> Actor:
    return Actor(signed_in.who.username, origin)


def _url(patron_id: str, page: str = "") -> str:
    return f"/staff/patrons/{quote(patron_id, safe='')}{page}"


def _done(patron_id: str, done: str, *, again: bool = False) -> RedirectResponse:
    return RedirectResponse(
        f"{_url(patron_id)}?done={done}{'&again=1' if again else ''}", status_code=303
    )


# A problem said in other words when its code says why (PatronRefused.codes).
CODED_PROBLEMS = {
    patrons.TOO_MANY_SUBJECTS: (
        f"Choose at most {preferences.MAX_SUBJECTS} subjects of new arrivals"
    ),
}


def _worded(refused: PatronRefused) -> PatronRefused:
    """The refusal with each coded problem in the console's words."""
    problems = {
        field: CODED_PROBLEMS.get(refused.codes.get(field, ""), message)
        for field, message in refused.problems.items()
    }
    return PatronRefused(problems, refused.codes)


def _errors(refused: PatronRefused | None) -> list[dict[str, str]]:
    """A refusal's problems as GOV.UK's error summary lists them."""
    if refused is None:
        return []
    return [
        {"text": message, **({"href": f"#{ANCHORS[field]}"} if field in ANCHORS else {})}
        for field, message in refused.problems.items()
    ]


def _options(words: dict[str, str], chosen: str) -> list[dict[str, object]]:
    return [
        {"value": value, "text": text, "selected": value == chosen} for value, text in words.items()
    ]


# --- finding a patron -----------------------------------------------------------------


def _search_page(
    request: Request,
    config: ConsoleSettings,
    signed_in: Current,
    *,
    db: Session | None = None,
    text: str = "",
) -> HTMLResponse:
    matches = None if db is None else patrons.search_patrons(db, text, limit=SHOWN + 1)
    return render(
        request,
        config,
        "patrons.html",
        who=signed_in.who,
        text=text,
        matches=None if matches is None else matches[:SHOWN],
        more=matches is not None and len(matches) > SHOWN,
        type_names={} if db is None else patrons.member_types(db),
        shown=SHOWN,
        may_change=RANK[signed_in.who.role] >= RANK["circulation"],
    )


@router.get("", response_class=HTMLResponse)
def search_page(request: Request, signed_in: Viewer, config: Settings) -> HTMLResponse:
    return _search_page(request, config, signed_in)


@router.post("/search", dependencies=[CsrfChecked], response_class=HTMLResponse)
def search(
    request: Request, *, signed_in: Viewer, db: Db, config: Settings, text: Text = ""
) -> HTMLResponse:
    # The answer to the POST itself: what was typed goes in no URL.
    return _search_page(request, config, signed_in, db=db, text=text)


# --- a patron's page ------------------------------------------------------------------


def _patron_page(
    request: Request,
    patron_id: str,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    done: str = "",
    again: bool = False,
    refused: PatronRefused | None = None,
) -> HTMLResponse:
    try:
        view = patrons.patron_view(db, patron_id, moment)
    except UnknownPatron:
        return not_found(request, config, signed_in.who, "patron")
    types = patrons.member_types(db)
    return render(
        request,
        config,
        "patron.html",
        who=signed_in.who,
        status_code=200 if refused is None else 409,
        view=view,
        patron=view.patron,
        member_type_name=types.get(view.patron.member_type, view.patron.member_type),
        language_name=patrons.LANGUAGES.get(view.patron.language or "", view.patron.language),
        home_branch_text=_home_branch_text(db, view.patron.home_branch),
        renewal_days=patrons.renewal_period(db, view.patron.member_type),
        may_change=RANK[signed_in.who.role] >= RANK["circulation"],
        done=DONE.get(done),
        again=again,
        errors=_errors(refused),
        charges=[entry for entry in view.ledger if entry.kind in ledger.CHARGES],
        notices_words=preferences.described(view.patron.preferences),
        # Past loans only of a patron who chose to keep them (None: keeps none).
        history=loan_history.history(db, patron_id, 1, HISTORY_SHOWN)[0]
        if view.patron.keep_loan_history
        else None,
        forget_days=config.forget_loans_after_days,
    )


@router.get("/{patron_id}", response_class=HTMLResponse)
def patron_page(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    moment: Now,
    done: Done = "",
    again: Done = "",
) -> HTMLResponse:
    return _patron_page(
        request,
        patron_id,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        done=done,
        again=again == "1",
    )


# --- details ----------------------------------------------------------------------------


def _edit_page(
    request: Request,
    patron_id: str,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    offered: patrons.SubjectsOffered,
    typed: dict[str, str] | None = None,
    refused: PatronRefused | None = None,
) -> HTMLResponse:
    try:
        view = patrons.patron_view(db, patron_id, moment)
    except UnknownPatron:
        return not_found(request, config, signed_in.who, "patron")
    patron = view.patron
    refused = None if refused is None else _worded(refused)
    types = {code: f"{name} ({code})" for code, name in patrons.member_types(db).items()}
    values = {
        "first_name": patron.first_name,
        "surname": patron.surname,
        "email": patron.email or "",
        "phone": patron.phone or "",
        "language": patron.language or "",
        "home_branch": patron.home_branch or "",
        "member_type": patron.member_type,
        "expires": patron.expires.isoformat() if patron.expires else "",
        **_preference_values(patron.preferences),
        **(typed or {}),  # a refused form shows what was typed
    }
    if values["member_type"] not in types:  # shown as it is, to be changed
        types = {values["member_type"]: f"{values['member_type']} (not in the policy)", **types}
    return render(
        request,
        config,
        "patron_edit.html",
        who=signed_in.who,
        status_code=200 if refused is None else 400,
        patron=patron,
        values=values,
        problems={} if refused is None else refused.problems,
        errors=_errors(refused),
        language_options=_options({"": "The kiosk's own", **patrons.LANGUAGES}, values["language"]),
        type_options=_options(types, values["member_type"]),
        branch_options=_home_branch_options(db, values["home_branch"]),
        renewal_days=patrons.renewal_period(db, patron.member_type),
        channel_options=_options(preferences.CHANNEL_NAMES, values["notify_by"]),
        kind_items=_checkboxes(preferences.KIND_NAMES, values["notices"]),
        arrival_items=_checkboxes(
            {code: f"{name} ({code})" for code, name in patrons.publication_types(db).items()},
            values["arrivals"],
        ),
        subject_items=_subject_items(
            patrons.subject_choices(db, moment.date(), _subjects_text(patron.preferences), offered),
            values["arrival_subjects"],
        ),
    )


def _home_branch_text(db: Session, code: str | None) -> str | None:
    """The patron's home branch as their page names it (None: a library without
    branches, where the row is not shown)."""
    names = branch_names(db)
    if not names:
        return None
    if code in names:
        return f"{names[code]} ({code})"
    return "None chosen: holds are collected where each is placed for"


def _home_branch_options(db: Session, chosen: str) -> list[dict[str, Any]] | None:
    """The edit form's choices of home branch (None: a library without branches, whose
    form has no such field)."""
    names = branch_names(db)
    if not names:
        return None
    words = {"": "None chosen", **{code: f"{name} ({code})" for code, name in names.items()}}
    if chosen and chosen not in words:  # shown as it is, to be changed
        words[chosen] = f"{chosen} (not a branch)"
    return _options(words, chosen)


def _preference_values(chosen: preferences.Preferences) -> dict[str, str]:
    """The messaging preferences as the form holds them: lists comma-separated."""
    return {
        "notify_by": chosen.notify_by,
        "notices": preferences.joined(chosen.kinds, preferences.KINDS),
        "due_soon_days": str(chosen.due_soon_days),
        "digest": "yes" if chosen.digest else "no",
        "arrivals": ",".join(sorted(chosen.arrivals)),
        "arrival_subjects": _subjects_text(chosen),
    }


def _subjects_text(chosen: preferences.Preferences) -> str:
    """The subjects chosen, as ``patrons.arrival_subjects`` holds them."""
    return preferences.SUBJECT_SEPARATOR.join(sorted(chosen.subjects, key=str.casefold))


def _subject_items(choices: list[str], chosen: str) -> list[dict[str, object]]:
    """The subjects' checkboxes, those ``chosen`` (stored or posted) ticked."""
    ticked = {subject.casefold() for subject in preferences.headings(chosen)}
    return [
        {"value": subject, "text": subject, "checked": subject.casefold() in ticked}
        for subject in choices
    ]


def _checkboxes(words: dict[str, str], chosen: str) -> list[dict[str, object]]:
    ticked = set(preferences.codes(chosen))
    return [
        {"value": code, "text": text, "checked": code in ticked} for code, text in words.items()
    ]


@router.get("/{patron_id}/edit", response_class=HTMLResponse)
def edit_page(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    offered: OfferedSubjects,
) -> HTMLResponse:
    return _edit_page(
        request, patron_id, signed_in, db=db, config=config, moment=moment, offered=offered
    )


@router.post("/{patron_id}/edit", dependencies=[CsrfChecked], response_model=None)
def edit(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    offered: OfferedSubjects,
    first_name: Text = "",
    surname: Text = "",
    email: Text = "",
    phone: Text = "",
    language: Text = "",
    home_branch: Annotated[str | None, Form(max_length=40)] = None,
    member_type: Text = "",
    expires: Text = "",
    notify_by: Text = "email",
    notices: Codes = _NONE,
    due_soon_days: Text = "",
    digest: Text = "no",
    arrivals: Codes = _NONE,
    arrival_subjects: Subjects = _NONE,
    with_notices: Text = "",
) -> Response:
    typed = {
        "first_name": first_name,
        "surname": surname,
        "email": email,
        "phone": phone,
        "language": language,
        "member_type": member_type,
        "expires": expires,
    }
    # A library without branches shows no such field: nothing sent, nothing changed.
    if home_branch is not None:
        typed["home_branch"] = home_branch
    # Unticked boxes send nothing: only a form that showed the notices (its hidden
    # with_notices) may clear them, never a post of the details alone.
    if with_notices:
        typed |= {
            "notify_by": notify_by,
            "notices": ",".join(notices),
            "due_soon_days": due_soon_days,
            "digest": digest,
            "arrivals": ",".join(arrivals),
            # A subject may hold a comma ("Cookery, Vegetarian"): joined as stored.
            "arrival_subjects": preferences.SUBJECT_SEPARATOR.join(arrival_subjects),
        }
    try:
        changed = patrons.update_patron(
            db, patron_id, typed, moment, _actor(signed_in, origin), subjects=offered
        )
    except UnknownPatron:
        return not_found(request, config, signed_in.who, "patron")
    except PatronRefused as refused:
        return _edit_page(
            request,
            patron_id,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            offered=offered,
            typed=typed,
            refused=refused,
        )
    return _done(patron_id, "edit" if changed else "unchanged")


# --- barring ----------------------------------------------------------------------------


def _bar_page(
    request: Request,
    patron_id: str,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    reason: str = "",
    refused: PatronRefused | None = None,
) -> HTMLResponse:
    try:
        view = patrons.patron_view(db, patron_id, moment)
    except UnknownPatron:
        return not_found(request, config, signed_in.who, "patron")
    return render(
        request,
        config,
        "patron_bar.html",
        who=signed_in.who,
        status_code=200 if refused is None else 400,
        patron=view.patron,
        reason=reason,
        problems={} if refused is None else refused.problems,
        errors=_errors(refused),
        max_reason=patrons.MAX_REASON,
    )


@router.get("/{patron_id}/bar", response_class=HTMLResponse)
def bar_page(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
) -> HTMLResponse:
    return _bar_page(request, patron_id, signed_in, db=db, config=config, moment=moment)


def _barring(
    request: Request,
    patron_id: str,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    origin: str,
    reason: str,
    barring: bool,
) -> Response:
    change = patrons.bar if barring else patrons.unbar
    try:
        change(db, patron_id, reason, moment, _actor(signed_in, origin))
    except UnknownPatron:
        return not_found(request, config, signed_in.who, "patron")
    except PatronRefused as refused:
        return _bar_page(
            request,
            patron_id,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            reason=reason,
            refused=refused,
        )
    return _done(patron_id, "bar" if barring else "unbar")


@router.post("/{patron_id}/bar", dependencies=[CsrfChecked], response_model=None)
def bar(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    reason: Text = "",
) -> Response:
    return _barring(
        request,
        patron_id,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        origin=origin,
        reason=reason,
        barring=True,
    )


@router.post("/{patron_id}/unbar", dependencies=[CsrfChecked], response_model=None)
def unbar(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    reason: Text = "",
) -> Response:
    return _barring(
        request,
        patron_id,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        origin=origin,
        reason=reason,
        barring=False,
    )


# --- PINs -------------------------------------------------------------------------------


def _pin_page(
    request: Request,
    patron_id: str,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    refused: PatronRefused | None = None,
) -> HTMLResponse:
    try:
        view = patrons.patron_view(db, patron_id, moment)
    except UnknownPatron:
        return not_found(request, config, signed_in.who, "patron")
    return render(
        request,
        config,
        "patron_pin.html",
        who=signed_in.who,
        status_code=200 if refused is None else 400,
        patron=view.patron,
        problems={} if refused is None else refused.problems,
        errors=_errors(refused),
    )


@router.get("/{patron_id}/pin", response_class=HTMLResponse)
def pin_page(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
) -> HTMLResponse:
    return _pin_page(request, patron_id, signed_in, db=db, config=config, moment=moment)


@router.post("/{patron_id}/pin", dependencies=[CsrfChecked], response_model=None)
def set_pin(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    pin: Secret = "",
    pin_again: Secret = "",
    version: Secret = "",
) -> Response:
    try:
        patrons.set_pin(
            db,
            patron_id,
            pin,
            moment,
            _actor(signed_in, origin),
            again=pin_again,
            version=version,
        )
    except UnknownPatron:
        return not_found(request, config, signed_in.who, "patron")
    except PatronRefused as refused:
        # The PINs typed are never sent back: the fields come back empty.
        return _pin_page(
            request, patron_id, signed_in, db=db, config=config, moment=moment, refused=refused
        )
    return _done(patron_id, "pin")


@router.post("/{patron_id}/one-time-pin", dependencies=[CsrfChecked], response_model=None)
def one_time_pin(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    version: Secret = "",
) -> Response:
    try:
        pin = patrons.one_time_pin(
            db, patron_id, moment, _actor(signed_in, origin), version=version
        )
    except UnknownPatron:
        return not_found(request, config, signed_in.who, "patron")
    except PatronRefused as refused:
        # Sent again (a reload, a double click): the PIN was shown once, and is not again.
        return _patron_page(
            request,
            patron_id,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            refused=refused,
        )
    view = patrons.patron_view(db, patron_id, moment)
    # The answer to the POST itself, never a redirect: the PIN is in no URL, and
    # no-store keeps it out of the browser's cache.
    return render(
        request, config, "patron_pin_shown.html", who=signed_in.who, patron=view.patron, pin=pin
    )


# --- membership -------------------------------------------------------------------------


@router.post("/{patron_id}/renew", dependencies=[CsrfChecked], response_model=None)
def renew(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    seen: Secret = "",
) -> Response:
    try:
        patrons.renew_membership(db, patron_id, moment, _actor(signed_in, origin), seen=seen)
    except UnknownPatron:
        return not_found(request, config, signed_in.who, "patron")
    except PatronRefused as refused:
        return _patron_page(
            request,
            patron_id,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            refused=refused,
        )
    return _done(patron_id, "renew")


# --- money ------------------------------------------------------------------------------


def _money_page(
    request: Request,
    patron_id: str,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    kind: ledger.Kind,
    typed: dict[str, Any] | None = None,
    refused: PatronRefused | None = None,
) -> HTMLResponse:
    try:
        view = patrons.patron_view(db, patron_id, moment)
    except UnknownPatron:
        return not_found(request, config, signed_in.who, "patron")
    return render(
        request,
        config,
        "patron_pay.html",
        who=signed_in.who,
        status_code=200 if refused is None else 400,
        kind=kind,
        patron=view.patron,
        charges=[entry for entry in view.ledger if entry.kind in ledger.CHARGES],
        values=typed or {"amount": "", "reason": "", "charge": ""},
        # A form sent again after a refusal keeps its id: it was not applied.
        transaction_id=(typed or {}).get("transaction_id") or new_transaction_id(),
        problems={} if refused is None else refused.problems,
        errors=_errors(refused),
        max_reason=patrons.MAX_REASON,
    )


@router.get("/{patron_id}/pay", response_class=HTMLResponse)
def pay_page(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
) -> HTMLResponse:
    return _money_page(
        request, patron_id, signed_in, db=db, config=config, moment=moment, kind="payment"
    )


@router.get("/{patron_id}/waive", response_class=HTMLResponse)
def waive_page(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
) -> HTMLResponse:
    return _money_page(
        request, patron_id, signed_in, db=db, config=config, moment=moment, kind="waiver"
    )


def _money(
    request: Request,
    patron_id: str,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    moment: datetime,
    origin: str,
    kind: ledger.Kind,
    typed: dict[str, str],
) -> Response:
    actor = _actor(signed_in, origin)
    try:
        amount: Decimal = ledger.read_form(kind, typed["amount"], typed["reason"])
        if kind == "payment":
            result = ledger.pay(
                db,
                patron_id,
                amount,
                typed["reason"],
                moment,
                actor,
                transaction_id=typed["transaction_id"] or None,
            )
        else:
            charge = typed["charge"]
            if charge and not charge.isdigit():
                raise PatronRefused({"charge": "Choose one of the patron's charges"})
            result = ledger.waive(
                db,
                patron_id,
                amount,
                typed["reason"],
                moment,
                actor,
                ledger_entry_id=int(charge) if charge else None,
                transaction_id=typed["transaction_id"] or None,
            )
    except UnknownPatron:
        return not_found(request, config, signed_in.who, "patron")
    except PatronRefused as refused:
        return _money_page(
            request,
            patron_id,
            signed_in,
            db=db,
            config=config,
            moment=moment,
            kind=kind,
            typed=typed,
            refused=refused,
        )
    return _done(patron_id, kind, again=result.repeated)


@router.post("/{patron_id}/pay", dependencies=[CsrfChecked], response_model=None)
def pay(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    amount: Text = "",
    reason: Text = "",
    transaction_id: Secret = "",
) -> Response:
    typed = {"amount": amount, "reason": reason, "charge": "", "transaction_id": transaction_id}
    return _money(
        request,
        patron_id,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        origin=origin,
        kind="payment",
        typed=typed,
    )


@router.post("/{patron_id}/waive", dependencies=[CsrfChecked], response_model=None)
def waive(
    request: Request,
    patron_id: PatronId,
    *,
    signed_in: Circulation,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    amount: Text = "",
    reason: Text = "",
    charge: Secret = "",
    transaction_id: Secret = "",
) -> Response:
    typed = {
        "amount": amount,
        "reason": reason,
        "charge": charge,
        "transaction_id": transaction_id,
    }
    return _money(
        request,
        patron_id,
        signed_in,
        db=db,
        config=config,
        moment=moment,
        origin=origin,
        kind="waiver",
        typed=typed,
    )
