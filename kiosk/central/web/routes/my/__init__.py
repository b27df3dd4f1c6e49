"""The patron portal (issue 15), under ``/my/``: a patron signs in with their card and
PIN and sees and manages their own account. Built on the console's foundation (its
templates' assets, CSRF, security headers and form limits) with sessions of its own;
every lending question is put to ``kiosk.central.circulation``."""

from __future__ import annotations

from fastapi import APIRouter

from kiosk.central.web.routes.my import (
    account,
    catalogue,
    details,
    feedback,
    history,
    membership,
    privacy,
    register,
    signin,
)

ROUTERS: tuple[APIRouter, ...] = (
    signin.router,
    account.router,
    catalogue.router,
    details.router,
    membership.router,
    privacy.router,
    register.router,
    feedback.router,
    history.router,
)
