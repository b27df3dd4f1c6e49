"""``kiosk-central relay``: gateway mode's relay (kiosk.central.gateway), sending every
transaction decided here to the library's own system over SIP2, in the order decided,
until SIGTERM (kiosk-central-relay.service); ``--once`` sends what is waiting and stops
(exit 1 when the upstream could not be reached). Several may run against one
PostgreSQL database: one sends, the others wait to take over.
"""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy import Engine

from kiosk.central.commands import Command, stop_on_signals
from kiosk.central.config import UPSTREAM_PASSWORD
from kiosk.central.gateway.client import Login
from kiosk.central.gateway.outbox import set_relaying
from kiosk.central.gateway.relay import Relay
from kiosk.common.clock import SystemClock
from kiosk.common.secrets import read_secret


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--once", action="store_true", help="send what is waiting, then stop (exit 1: not all)"
    )


def _relay(args: argparse.Namespace, engine: Engine) -> int:
    config = args.config
    logging.basicConfig(
        level=config.central.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
        stream=sys.stderr,
    )
    settings = config.upstream
    if not settings.enabled:
        print(
            "kiosk-central relay: [upstream] enabled is false in central.toml: nothing to relay",
            file=sys.stderr,
        )
        return 2
    set_relaying(engine, True)
    password = (
        read_secret(settings.password_file, UPSTREAM_PASSWORD) if settings.password_file else ""
    )
    relay = Relay(
        engine, Login(settings, password), SystemClock().now, currency=config.library.currency
    )
    if args.once:
        try:
            report = relay.run_once()
        finally:
            relay.close()
        print(f"kiosk-central relay: {report.words()}", flush=True)
        return 1 if report.errors else 0
    stop = stop_on_signals()
    print("kiosk-central relay: running", flush=True)
    relay.run_forever(stop)
    return 0


COMMAND = Command(
    "relay",
    "gateway mode: send the transactions decided here to the library's system over SIP2",
    _arguments,
    _relay,
)
