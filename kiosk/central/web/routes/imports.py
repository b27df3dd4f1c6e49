"""*Imports*: an administrator loads catalogue records, stock items or patrons from a CSV
file. ``kiosk.central.circulation.importers`` checks every line first and imports nothing
on any error; this page lists every problem as ``kiosk-central import`` reports it
(``file:line: column: message``, never a PIN or a card number), or how many rows were
imported. Each import is audited there, in its own transaction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from kiosk.central.circulation.importers import COLUMNS, OPTIONAL, import_file
from kiosk.central.circulation.policy import policy_in_force
from kiosk.central.errors import ImportRejected
from kiosk.central.web.deps import Admin, Current, Db, Now, Origin, Settings
from kiosk.central.web.pages import render
from kiosk.central.web.settings import ConsoleSettings
from kiosk.central.web.uploads import MB, Upload, describe, uploaded

router = APIRouter(prefix="/staff", include_in_schema=False)

MAX_BYTES = 50 * MB
# The most problems one page lists; the rest are counted (a file of 50 MB could have a
# million bad lines, and no one reads past the first screens of them).
MAX_SHOWN = 1000
# What each kind of file holds, in words: the columns themselves are the importer's.
WORDS = {
    "catalogue": ("Catalogue records", "catalogue records", "catalogue record"),
    "items": ("Stock items", "items", "item"),
    "patrons": ("Patrons", "patrons", "patron"),
}
NOTES = {
    "catalogue": "publication_type is one of the policy's publication types.",
    "items": "brn is a catalogue record's; status is available, damaged, lost and so on.",
    "patrons": "member_type is one of the policy's member types; expires as YYYY-MM-DD; "
    "barred as yes or no; a PIN of 4 to 8 digits is kept only as a verifier.",
}
STATUS = {"too large": 413, "no length": 411}

Uploaded = Annotated[Upload, Depends(uploaded(MAX_BYTES, "upload.csv"))]


def columns(kind: str) -> str:
    """The columns a kind of file needs, from the importer itself."""
    return ", ".join(
        f"{name} (may be empty)" if name in OPTIONAL else name for name in COLUMNS[kind]
    )


def _kinds(chosen: str) -> list[dict[str, Any]]:
    return [
        {
            "value": kind,
            "text": WORDS.get(kind, (kind.capitalize(),))[0],
            "checked": kind == chosen,
            "hint": {"text": f"Columns: {columns(kind)}. {NOTES.get(kind, '')}".strip()},
        }
        for kind in COLUMNS
    ]


def _page(
    request: Request,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    kind: str = "",
    errors: dict[str, str] | None = None,
    rejected: ImportRejected | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    errors = errors or {}
    problems = rejected.problems if rejected else []
    return render(
        request,
        config,
        "imports.html",
        who=signed_in.who,
        status_code=status_code,
        kinds=_kinds(kind),
        errors=errors,
        error_list=[{"text": text, "href": f"#{field}"} for field, text in errors.items()],
        rejected=rejected,
        problems=problems[:MAX_SHOWN],
        more=max(0, len(problems) - MAX_SHOWN),
        no_policy=policy_in_force(db) is None,
        max_mb=MAX_BYTES // MB,
    )


@router.get("/imports", response_class=HTMLResponse)
def imports_page(request: Request, signed_in: Admin, db: Db, config: Settings) -> HTMLResponse:
    return _page(request, signed_in, db=db, config=config)


@router.post("/imports", response_class=HTMLResponse)
def import_upload(
    request: Request,
    *,
    signed_in: Admin,
    upload: Uploaded,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
) -> HTMLResponse:
    kind = upload.fields.get("kind", "")
    errors: dict[str, str] = {}
    if kind not in COLUMNS:
        kind = ""
        errors["kind"] = "Select what the file holds"
    problem = describe(upload, "a CSV file")
    if problem is not None:
        errors["file"] = problem
    if errors:
        return _page(
            request,
            signed_in,
            db=db,
            config=config,
            kind=kind,
            errors=errors,
            status_code=STATUS.get(upload.refused, 422),
        )
    with upload.saved() as path:
        try:
            count = import_file(
                db, kind, path, actor=signed_in.who.username, origin=origin, now=moment
            )
        except ImportRejected as rejected:
            db.rollback()
            return _page(
                request,
                signed_in,
                db=db,
                config=config,
                kind=kind,
                rejected=rejected,
                status_code=422,
            )
    words = WORDS.get(kind, (kind, kind, kind))
    return render(
        request,
        config,
        "import_done.html",
        who=signed_in.who,
        count=count,
        what=words[2] if count == 1 else words[1],
        name=upload.name,
    )
