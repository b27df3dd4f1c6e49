"""*Branches*: the library's branches with their kiosks and home items counted, for every
role, and, for administrators, a form to add one. Checking and keeping a branch are
``kiosk.central.circulation.branches``'s (``add_branch``: audited); the same as
``kiosk-central branch add CODE NAME`` on the server's terminal."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kiosk.central.circulation.branches import (
    MAX_NAME,
    BranchRefused,
    add_branch,
    branch_counts,
    homeless,
)
from kiosk.central.web.deps import Admin, CsrfChecked, Current, Db, Now, Origin, Settings, Viewer
from kiosk.central.web.pages import render
from kiosk.central.web.settings import ConsoleSettings

router = APIRouter(prefix="/staff", include_in_schema=False)

# More than a code or a name may be: a longer one is refused in words, not cut.
Typed = Annotated[str, Form(max_length=1000)]


def _page(
    request: Request,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    typed: dict[str, str] | None = None,
    refused: BranchRefused | None = None,
    added: str = "",
) -> HTMLResponse:
    rows = branch_counts(db)
    problems = {}
    if refused is not None:
        said = str(refused)  # add_branch's words, as the terminal prints them: a capital here
        problems[refused.field] = said[:1].upper() + said[1:]
    return render(
        request,
        config,
        "branches.html",
        who=signed_in.who,
        status_code=400 if refused is not None else 200,
        rows=rows,
        homeless=homeless(db).message(),
        values=typed or {},
        problems=problems,
        added=next((row for row in rows if row.code == added), None),
        max_name=MAX_NAME,
    )


@router.get("/branches", response_class=HTMLResponse)
def branches_page(
    request: Request,
    *,
    signed_in: Viewer,
    db: Db,
    config: Settings,
    added: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """``added``: the code of the branch just added, for the banner that names it."""
    return _page(request, signed_in, db=db, config=config, added=added)


@router.post("/branches", dependencies=[CsrfChecked], response_model=None)
def add(
    request: Request,
    *,
    signed_in: Admin,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    code: Typed = "",
    name: Typed = "",
) -> Response:
    try:
        added = add_branch(db, code, name, moment, actor=signed_in.who.username, origin=origin)
    except BranchRefused as refused:
        typed = {"code": code, "name": name}
        return _page(request, signed_in, db=db, config=config, typed=typed, refused=refused)
    # POST/redirect/GET: a reload does not send the form again.
    return RedirectResponse(f"/staff/branches?added={quote(added.code)}", status_code=303)
