"""``kiosk-central serve``: serve the kiosks' API with uvicorn, in one or more workers."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from kiosk.central import database
from kiosk.central.commands import Command
from kiosk.central.config import DB_ENV
from kiosk.common.clock import SystemClock

if TYPE_CHECKING:
    from fastapi import FastAPI


def app_from_env() -> FastAPI:
    """The API for uvicorn's workers: the database comes from $KIOSK_CENTRAL_DB."""
    from kiosk.central.api.app import create_app  # noqa: PLC0415 - FastAPI only when serving

    engine = database.connect(os.environ[DB_ENV])
    return create_app(engine, SystemClock().now)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="the address to listen on (default: [web] host)")
    parser.add_argument("--port", type=int, help="the port to listen on (default: [web] port)")
    parser.add_argument("--workers", type=int, default=1)


def _serve(args: argparse.Namespace, _engine: Engine) -> int:
    import uvicorn  # noqa: PLC0415

    os.environ[DB_ENV] = args.db
    uvicorn.run(
        "kiosk.central.commands.serve:app_from_env",
        factory=True,
        host=args.host or args.config.web.host,
        port=args.config.web.port if args.port is None else args.port,
        workers=args.workers,
        log_level=args.config.central.log_level,
    )
    return 0


COMMAND = Command("serve", "serve the kiosks' API", _arguments, _serve)
