"""``kiosk-central serve``: serve the kiosks' API with uvicorn, in one or more workers."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from kiosk.central import database
from kiosk.central.commands import DB_ENV, Command
from kiosk.common.clock import SystemClock

if TYPE_CHECKING:
    from fastapi import FastAPI


def app_from_env() -> FastAPI:
    """The API for uvicorn's workers: the database comes from $KIOSK_CENTRAL_DB."""
    from kiosk.central.api.app import create_app  # noqa: PLC0415 - FastAPI only when serving

    engine = database.connect(os.environ[DB_ENV])
    return create_app(engine, SystemClock().now)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1)


def _serve(args: argparse.Namespace, _engine: Engine) -> int:
    import uvicorn  # noqa: PLC0415

    os.environ[DB_ENV] = args.db
    uvicorn.run(
        "kiosk.central.commands.serve:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
    )
    return 0


COMMAND = Command("serve", "serve the kiosks' API", _arguments, _serve)
