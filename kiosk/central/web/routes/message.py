"""*Kiosk message*: the library's own message on the kiosks' Welcome screen, one per
language ("Closed on Monday 25th"), for administrators to set or clear. Checking and
keeping it are ``kiosk.central.circulation.messages``'s: it is audited and enters the
change log, which takes it to every kiosk at its next sync. Where staff set any, it
stands in for each kiosk's own kiosk.toml ``[library.message]``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from kiosk.central.circulation.messages import messages, problems, set_messages
from kiosk.central.web.deps import Admin, CsrfChecked, Current, Db, Now, Origin, Settings
from kiosk.central.web.pages import render
from kiosk.central.web.settings import ConsoleSettings
from kiosk.common.catalogs import LANGUAGE_NAMES
from kiosk.sync.protocol import MESSAGE_LENGTH

router = APIRouter(prefix="/staff", include_in_schema=False)

Text = Annotated[str, Form(max_length=2000)]  # more than a message: said so, not cut


def _page(
    request: Request,
    signed_in: Current,
    *,
    db: Session,
    config: ConsoleSettings,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    saved: bool | None = None,
) -> HTMLResponse:
    return render(
        request,
        config,
        "message.html",
        who=signed_in.who,
        status_code=422 if errors else 200,
        languages=LANGUAGE_NAMES,
        texts=typed if typed is not None else messages(db),
        errors=errors or {},
        saved=saved,
        limit=MESSAGE_LENGTH,
    )


@router.get("/message", response_class=HTMLResponse)
def message_page(request: Request, signed_in: Admin, db: Db, config: Settings) -> HTMLResponse:
    return _page(request, signed_in, db=db, config=config)


@router.post("/message", dependencies=[CsrfChecked], response_class=HTMLResponse)
def set_message(
    request: Request,
    *,
    signed_in: Admin,
    db: Db,
    config: Settings,
    moment: Now,
    origin: Origin,
    message_en: Text = "",
    message_es: Text = "",
    message_fr: Text = "",
) -> HTMLResponse:
    typed = {"en": message_en, "es": message_es, "fr": message_fr}
    found = problems(typed)
    if found:
        return _page(request, signed_in, db=db, config=config, typed=typed, errors=found)
    changed = set_messages(db, typed, moment, actor=signed_in.who.username, origin=origin)
    return _page(request, signed_in, db=db, config=config, saved=changed)
