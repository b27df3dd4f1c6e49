"""The staff home after sign-in: the pages this role may open."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kiosk.central.api.kiosks import kiosks
from kiosk.central.circulation.staff import open_count
from kiosk.central.web.deps import Db, Now, Settings, Viewer
from kiosk.central.web.health import LIGHTS, light
from kiosk.central.web.pages import render

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, signed_in: Viewer, db: Db, config: Settings, moment: Now
) -> HTMLResponse:
    lights = Counter(light(kiosk, moment).colour for kiosk in kiosks(db))
    counts = [(colour, lights[colour]) for colour in LIGHTS if lights[colour]]
    return render(
        request,
        config,
        "home.html",
        who=signed_in.who,
        counts=counts,
        open_exceptions=open_count(db),
    )
