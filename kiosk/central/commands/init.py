"""``kiosk-central init``: create the database's schema, or bring it up to date."""

from __future__ import annotations

import argparse

from sqlalchemy import Engine

from kiosk.central import database
from kiosk.central.commands import Command


def _arguments(_parser: argparse.ArgumentParser) -> None:
    pass  # only the shared --db


def _run(_args: argparse.Namespace, engine: Engine) -> int:
    database.upgrade(engine)
    print(f"{engine.url.render_as_string(hide_password=True)}: schema up to date")
    return 0


COMMAND = Command(
    "init", "create or upgrade the database schema", _arguments, _run, needs_schema=False
)
