"""``kiosk sync``: keep this kiosk's mirror and journal in step with kiosk-central."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sync = commands.add_parser(
        "sync",
        help="keep this kiosk's mirror and journal in step with kiosk-central",
        description="Pushes the journal, follows the server's changes into the mirror and "
        "purges what the mirror shows. Runs until stopped, or once with --once.",
    )
    sync.add_argument("--data", type=Path, help="the kiosk's data directory")
    sync.add_argument("--server", help="kiosk-central's URL, e.g. https://central:8443")
    sync.add_argument("--token-file", type=Path, help="file holding this kiosk's token")
    sync.add_argument("--ca-file", type=Path, help="a CA bundle to trust for the server's TLS")
    sync.add_argument("--once", action="store_true", help="sync once and exit")
    sync.add_argument("--interval", type=float, help="seconds between syncs (default 15)")
    sync.add_argument(
        "--config",
        type=Path,
        help="a kiosk.toml giving --data ([kiosk] data_dir) and the [server] settings; "
        "options given as well win",
    )
    sync.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # requests, pydantic and SQLAlchemy load only here
    from kiosk.appliance.kiosk_sync import run_sync, sync_settings  # noqa: PLC0415

    settings = sync_settings(
        config_path=args.config,
        data_dir=args.data,
        server=args.server,
        token_file=args.token_file,
        ca_file=args.ca_file,
        interval=args.interval,
        log_level_given=bool(args.log_level),
    )
    if isinstance(settings, str):
        print(f"kiosk sync: {settings}", file=sys.stderr)
        return 2
    return run_sync(settings, once=args.once, config_path=args.config)
