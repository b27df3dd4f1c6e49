"""The audit log, for administrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kiosk.central.audit import entries
from kiosk.central.web.deps import Admin, Db, Settings
from kiosk.central.web.pages import render

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, signed_in: Admin, db: Db, config: Settings) -> HTMLResponse:
    return render(request, config, "audit.html", who=signed_in.who, rows=entries(db))
