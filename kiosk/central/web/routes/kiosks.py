"""*Kiosks*: every kiosk at a glance, green, amber or red from its heartbeats."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kiosk.central.api.kiosks import kiosks
from kiosk.central.web.deps import Db, Now, Settings, Viewer
from kiosk.central.web.health import AMBER_AFTER, HEARTBEAT_SECONDS, RED_AFTER, row
from kiosk.central.web.pages import render

router = APIRouter(prefix="/staff", include_in_schema=False)

TAGS = {"green": "govuk-tag--green", "amber": "govuk-tag--yellow", "red": "govuk-tag--red"}


@router.get("/kiosks", response_class=HTMLResponse)
def kiosks_page(
    request: Request, signed_in: Viewer, db: Db, config: Settings, moment: Now
) -> HTMLResponse:
    return render(
        request,
        config,
        "kiosks.html",
        who=signed_in.who,
        rows=[row(kiosk, moment) for kiosk in kiosks(db)],
        now=moment,
        tag_classes=TAGS,
        interval=HEARTBEAT_SECONDS,
        amber_after=int(AMBER_AFTER.total_seconds() // 60),
        red_after=int(RED_AFTER.total_seconds() // 60),
    )
