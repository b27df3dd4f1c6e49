"""The console's routes, one module per resource; each thin: it takes who is asking from
``kiosk.central.web.deps``, asks the module that decides, and renders the answer."""

from __future__ import annotations

from fastapi import APIRouter

from kiosk.central.web.routes import (
    audit,
    branches,
    desk,
    exceptions,
    feedback,
    holds,
    home,
    imports,
    items,
    kiosks,
    message,
    notices,
    patrons,
    policy,
    registrations,
    reports,
    signin,
)

ROUTERS: tuple[APIRouter, ...] = (
    signin.router,
    home.router,
    desk.router,
    patrons.router,
    registrations.router,
    holds.router,
    items.router,
    kiosks.router,
    message.router,
    branches.router,
    exceptions.router,
    notices.router,
    policy.router,
    imports.router,
    reports.router,
    feedback.router,
    audit.router,
)
