"""``kiosk-central serve``: serve the kiosks' API and the staff console with uvicorn, in
one or more workers.

Each worker builds its app from the environment this command sets: the database
(``$KIOSK_CENTRAL_DB``), the config file (``$KIOSK_CENTRAL_CONFIG``) and, when
``[web] secret_key_file`` names none, one key made here for all the workers (so a form
one worker gave is accepted by another).
"""

from __future__ import annotations

import argparse
import os
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from kiosk.central import database
from kiosk.central.commands import Command
from kiosk.central.config import CONFIG_ENV, DB_ENV, load_config
from kiosk.central.gateway.outbox import set_relaying
from kiosk.central.latency import answer_waiting_threads_promptly, collect_only_what_requests_make
from kiosk.common.clock import SystemClock

if TYPE_CHECKING:
    from fastapi import FastAPI

# uvicorn's HTTP protocol with Nagle's algorithm off (kiosk.central.http_protocol).
HTTP_PROTOCOL = "kiosk.central.http_protocol:NoDelayH11Protocol"
# The console's signing key for the workers, when central.toml names no key file.
WEB_KEY_ENV = "KIOSK_CENTRAL_WEB_KEY"


def app_from_env() -> FastAPI:
    """The API and the console for uvicorn's workers: the database comes from
    $KIOSK_CENTRAL_DB, the rest from the config file the command read."""
    from kiosk.central.api.app import create_app  # noqa: PLC0415 - FastAPI only when serving
    from kiosk.central.web.console import count_subjects_ahead  # noqa: PLC0415
    from kiosk.central.web.pages import compile_every_template  # noqa: PLC0415
    from kiosk.central.web.settings import console_settings  # noqa: PLC0415

    answer_waiting_threads_promptly()
    config = load_config()
    console = console_settings(config, os.environ.get(WEB_KEY_ENV))
    engine = database.connect(os.environ[DB_ENV])
    app = create_app(
        engine,
        SystemClock().now,
        console,
        kiosks_forget_immediately=config.backup.kiosks_forget == "immediately",
    )
    app.state.on_start.append(count_subjects_ahead)
    compile_every_template()
    collect_only_what_requests_make()
    return app


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="the address to listen on (default: [web] host)")
    parser.add_argument("--port", type=int, help="the port to listen on (default: [web] port)")
    parser.add_argument("--workers", type=int, default=1)


def _serve(args: argparse.Namespace, engine: Engine) -> int:
    import uvicorn  # noqa: PLC0415

    # Gateway mode is the database's to know: every process queues alike (issue 19).
    set_relaying(engine, args.config.upstream.enabled)
    os.environ[DB_ENV] = args.db
    if args.config_file is not None:
        os.environ[CONFIG_ENV] = str(args.config_file.resolve())
    if args.config.web.secret_key_file is None:
        os.environ[WEB_KEY_ENV] = secrets.token_urlsafe(48)
    uvicorn.run(
        "kiosk.central.commands.serve:app_from_env",
        factory=True,
        host=args.host or args.config.web.host,
        port=args.config.web.port if args.port is None else args.port,
        workers=args.workers,
        log_level=args.config.central.log_level,
        http=HTTP_PROTOCOL,
    )
    return 0


COMMAND = Command("serve", "serve the kiosks' API and the staff console", _arguments, _serve)
