"""The console's routes, one module per resource; each thin: it takes who is asking from
``kiosk.central.web.deps``, asks the module that decides, and renders the answer."""

from __future__ import annotations

from fastapi import APIRouter

from kiosk.central.web.routes import (
    audit,
    exceptions,
    home,
    imports,
    items,
    kiosks,
    patrons,
    policy,
    reports,
    signin,
)

ROUTERS: tuple[APIRouter, ...] = (
    signin.router,
    home.router,
    patrons.router,
    items.router,
    kiosks.router,
    exceptions.router,
    policy.router,
    imports.router,
    reports.router,
    audit.router,
)
