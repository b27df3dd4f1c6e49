"""*Feedback* (``/my/feedback``): the signed-in patron rates the library from 1 to 5 and
may say why; anonymous unless they tick that staff may contact them about it. Kept by
``circulation.feedback``, which also limits how many a day a patron or an address sends;
a refused form is shown again as typed, with what to change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiosk.central.circulation import feedback
from kiosk.central.web.deps import CsrfChecked, Db, Now, Origin, Settings
from kiosk.central.web.routes.my.deps import SignedIn, page
from kiosk.central.web.routes.my.words import N_

router = APIRouter(prefix="/my", include_in_schema=False)

# Longer than the comment may be, so that a long one is answered in words with what was
# typed kept, not refused by the form's parser; the form limits bound the request.
Text = Annotated[str, Form(max_length=20 * feedback.MAX_COMMENT)]
Short = Annotated[str, Form(max_length=8)]

PROBLEMS = {
    "rating": N_("Choose how good the library is for you, from 1 to 5."),
    "comment": N_("Write your comment in {most} characters or fewer."),
}
RATING_WORDS = {
    1: N_("1: Very poor"),
    2: N_("2: Poor"),
    3: N_("3: All right"),
    4: N_("4: Good"),
    5: N_("5: Very good"),
}


def _form(
    request: Request,
    signed_in: SignedIn,
    config: Settings,
    *,
    typed: dict[str, str] | None = None,
    problems: set[str] | None = None,
    limited: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        config,
        "my/feedback.html",
        patron=signed_in.patron,
        values=typed or {"rating": "", "comment": "", "contact": ""},
        problems={name: PROBLEMS[name] for name in PROBLEMS if name in (problems or set())},
        rating_words=RATING_WORDS,
        most=feedback.MAX_COMMENT,
        limited=limited,
        per_day=feedback.PER_PATRON,
        status_code=status_code,
    )


@router.get("/feedback", response_class=HTMLResponse)
def feedback_form(request: Request, signed_in: SignedIn, config: Settings) -> HTMLResponse:
    return _form(request, signed_in, config)


@router.post("/feedback", dependencies=[CsrfChecked], response_model=None)
def send(
    request: Request,
    *,
    signed_in: SignedIn,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    rating: Short = "",
    comment: Text = "",
    contact: Short = "",
) -> Response:
    typed = {"rating": rating, "comment": comment, "contact": contact}
    try:
        feedback.send_feedback(
            db,
            patron_id=signed_in.patron_id,
            address=origin,
            rating=rating,
            comment=comment,
            contact=contact == "yes",
            now=moment,
        )
    except feedback.FeedbackRefused as refused:
        return _form(
            request, signed_in, config, typed=typed, problems=refused.problems, status_code=400
        )
    except feedback.TooMuchFeedback:
        return _form(request, signed_in, config, typed=typed, limited=True, status_code=429)
    return RedirectResponse("/my/feedback/thanks", status_code=303)


@router.get("/feedback/thanks", response_class=HTMLResponse)
def thanks(request: Request, signed_in: SignedIn, config: Settings) -> HTMLResponse:
    return page(request, config, "my/feedback_thanks.html", patron=signed_in.patron)
