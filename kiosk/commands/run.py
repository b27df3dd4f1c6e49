"""``kiosk run``: the full-screen kiosk for patrons, or the loopback demo with --demo."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.common.clock import StartedClock

if TYPE_CHECKING:
    from kiosk.appliance.kiosk_run import KioskOptions


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run_ = commands.add_parser(
        "run",
        help="the full-screen kiosk for patrons",
        description="Runs the patrons' kiosk. With --demo and nothing else: builds a demo "
        "library, starts a central server on loopback and the sync agent, and takes the "
        "keyboard as the scanner. Exit status: 0 normal, 1 a script step failed, 2 bad input.",
    )
    run_.add_argument("--demo", action="store_true", help="run on a demo library on loopback")
    run_.add_argument(
        "--demo-dir", type=Path, default=Path("demo"), help="where the demo keeps its files"
    )
    run_.add_argument(
        "--config",
        type=Path,
        help="kiosk.toml (default: $KIOSK_CONFIG, else /etc/kiosk/kiosk.toml over the defaults)",
    )
    run_.add_argument("--data", type=Path, help="the kiosk's data directory (over the config's)")
    run_.add_argument("--script", type=Path, help="drive the app from a script, then exit")
    run_.add_argument("--trace", type=Path, help="write what each screen showed (JSON lines)")
    run_.add_argument("--screenshots", type=Path, help="directory for the script's shots")
    run_.add_argument("--size", help="a window of WIDTHxHEIGHT instead of full screen")
    run_.add_argument("--mode", choices=["checkout", "return", "both"], help="override the mode")
    run_.add_argument("--theme", choices=["standard", "high_contrast"], help="override the theme")
    run_.add_argument(
        "--inactivity", type=float, help="seconds without a touch or scan before the warning"
    )
    run_.add_argument(
        "--now",
        type=_local_time,
        help="start the kiosk's clock at this local time, YYYY-MM-DDTHH:MM (to try a date "
        "out: due dates, a mirror a day old); it runs on from there",
    )
    run_.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # the UI's dependencies load only for `kiosk run`
    from kiosk.appliance import kiosk_run  # noqa: PLC0415
    from kiosk.appliance.logs import setup_logging  # noqa: PLC0415

    setup_logging(args.log_level or "info")
    overrides: dict[str, object] = {}
    if args.size:
        try:
            width, height = (int(part) for part in args.size.lower().split("x"))
        except ValueError:
            print(f"kiosk run: --size takes WIDTHxHEIGHT, e.g. 800x480, not {args.size!r}")
            return 2
        overrides.update(size=(width, height), fullscreen=False)
    for name in ("mode", "theme"):
        if getattr(args, name):
            overrides[name] = getattr(args, name)
    if args.inactivity is not None:
        overrides["inactivity_seconds"] = args.inactivity
    request = kiosk_run.RunRequest(args.script, args.trace, args.screenshots)
    clock = StartedClock(args.now) if args.now is not None else None
    if args.script is not None:
        from kiosk.session.scripting import ScriptError, read_script  # noqa: PLC0415

        try:
            read_script(args.script)  # every mistake before anything starts
        except ScriptError as error:
            print(f"kiosk run: {error}", file=sys.stderr)
            return 2
    if not args.demo:
        options = _run_options(args, overrides)
        if options is None:
            return 2
        return kiosk_run.run_app(options, request, clock=clock)
    from kiosk.demo import loopback  # noqa: PLC0415 - only the demo runs a server

    library = loopback.prepare_demo(args.demo_dir)
    try:
        options = loopback.demo_options(args.demo_dir, library, **overrides)
        for line in (*options.demo, *library.more_cards(), *library.console_lines()):
            print(line)
        return kiosk_run.run_app(options, request, clock=clock)
    finally:
        library.central.stop()


def _local_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"takes a local time, YYYY-MM-DDTHH:MM, not {text!r}"
        ) from None
    if moment.tzinfo is not None:
        raise argparse.ArgumentTypeError("takes the library's local time, without a time zone")
    return moment


def _run_options(args: argparse.Namespace, overrides: dict[str, Any]) -> KioskOptions | None:
    """kiosk.toml's settings (or only a data directory), with the command line's over them.
    None, with the reasons printed, when the config cannot run a kiosk."""
    from kiosk.appliance import kiosk_run  # noqa: PLC0415
    from kiosk.appliance.logs import setup_logging  # noqa: PLC0415
    from kiosk.appliance.sections import KIOSK_SECTIONS  # noqa: PLC0415
    from kiosk.config import ConfigError, load_config  # noqa: PLC0415

    if args.data is not None and args.config is None:
        return kiosk_run.KioskOptions(data_dir=args.data, **overrides)
    try:
        config = load_config(args.config, sections=KIOSK_SECTIONS)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return None
    setup_logging(args.log_level or config.kiosk.log_level)
    for fault in config.faults:
        print(f"kiosk run: lending without it: {fault}", file=sys.stderr)
    if args.data is not None:
        overrides["data_dir"] = args.data
    return kiosk_run.options_from_config(config, **overrides)
