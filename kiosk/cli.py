"""The ``kiosk`` command: the staff's entry point to every part of the kiosk."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kiosk import __version__, appliance_cli, policy_tool, scanners_tool


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk", description="Self-service library kiosk: staff commands."
    )
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    policy = commands.add_parser("policy", help="check, show and try out a lending policy")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = policy_commands.add_parser(
        "check", help="validate a policy file and report every error in it"
    )
    check.add_argument("file", type=Path, help="the policy file (TOML)")
    table = policy_commands.add_parser("table", help="print the privilege matrix of a policy file")
    table.add_argument("file", type=Path, help="the policy file (TOML)")
    evaluate = policy_commands.add_parser(
        "evaluate",
        help="decide one what-if scenario (JSON) and print the answer as JSON",
        description="Reads a scenario as in docs/lending-rules.md and prints one JSON object. "
        "Exit 0 for any valid scenario, 2 for an invalid one.",
    )
    evaluate.add_argument("scenario", help="a scenario JSON file, or - for standard input")

    circ = commands.add_parser(
        "circ",
        help="check out, return, renew and show accounts from the terminal",
        description="Each line printed (or JSON object, with --json) is already durable in "
        "the journal. Exit status: 0 done, 1 refused or not done, 3 out of service.",
    )
    circ.add_argument("--data", type=Path, required=True, help="the kiosk's data directory")
    circ.add_argument("--json", action="store_true", help="one JSON object per answer")
    circ_commands = circ.add_subparsers(dest="circ_command", required=True, metavar="ACTION")
    for name, text in (
        ("checkout", "lend items to a patron"),
        ("renew", "renew a patron's loans (all of them when no --item is given)"),
        ("account", "show a patron's loans, holds and money owed"),
    ):
        action = circ_commands.add_parser(name, help=text)
        action.add_argument("--card", required=True, help="the patron's card barcode")
        action.add_argument("--pin", help="the patron's PIN (asked for by the kiosk's policy)")
        if name != "account":
            action.add_argument(
                "--item",
                action="append",
                default=[],
                required=name == "checkout",
                help="an item barcode; repeat for several",
            )
    returning = circ_commands.add_parser("return", help="take items back (no patron needed)")
    returning.add_argument("--item", action="append", required=True, help="an item barcode")

    demo = commands.add_parser(
        "demo-data",
        help="build a realistic demo library straight into a data directory",
        description="Writes the example policy, a catalogue, items, patrons, loans and holds "
        "into DIR's mirror.db (the journal is kept), and usable cards with their PINs to "
        "DIR/demo-cards.json. The same --seed gives the same library.",
    )
    demo.add_argument("--out", type=Path, required=True, metavar="DIR", help="the data directory")
    demo.add_argument("--items", type=int, default=2000, help="stock items (default 2000)")
    demo.add_argument("--patrons", type=int, default=300, help="patrons (default 300)")
    demo.add_argument("--loans", type=int, default=400, help="current loans (default 400)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")

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

    _add_run_parser(commands)

    scanners = commands.add_parser("scanners", help="find barcode scanners and watch their scans")
    scanners_commands = scanners.add_subparsers(
        dest="scanners_command", required=True, metavar="ACTION"
    )
    scanners_list = scanners_commands.add_parser(
        "list", help="the input devices and serial ports present, and which the config uses"
    )
    scanners_list.add_argument("--config", type=Path, help="a kiosk.toml with [scanners]")
    listen = scanners_commands.add_parser(
        "listen",
        help="print one line per scan until interrupted",
        description="Prints one line per scan (with --json one JSON object per line), "
        "flushed at once. Exits 0 on SIGINT or SIGTERM, 2 for a bad config.",
    )
    listen.add_argument("--config", type=Path, help="a kiosk.toml with [scanners], [barcodes]")
    listen.add_argument("--serial", metavar="PORT", help="a serial scanner's port")
    listen.add_argument("--baud", type=int, help="its speed (default 9600)")
    listen.add_argument(
        "--terminator", choices=["cr", "lf", "crlf", "none"], help="its line end (default cr)"
    )
    listen.add_argument(
        "--evdev", metavar="DEVICE", help="a HID scanner: /dev/input path, vendor:product or name"
    )
    listen.add_argument(
        "--layout", choices=["us", "uk", "de", "fr"], default="us", help="its keyboard layout"
    )
    listen.add_argument(
        "--keyboard", action="store_true", help="also take scans typed as lines on standard input"
    )
    listen.add_argument("--json", action="store_true", help="one JSON object per scan")
    appliance_cli.add_commands(parser, commands)
    return parser


def _scanners(args: argparse.Namespace) -> int:
    if args.scanners_command == "list":
        return scanners_tool.list_command(args.config, sys.stdout, sys.stderr)
    return scanners_tool.listen_command(
        config=args.config,
        serial_port=args.serial,
        baud=args.baud,
        terminator=args.terminator,
        evdev_device=args.evdev,
        layout=args.layout,
        keyboard=args.keyboard,
        as_json=args.json,
        out=sys.stdout,
        err=sys.stderr,
    )


def _policy(args: argparse.Namespace) -> int:
    if args.policy_command == "check":
        return policy_tool.check(args.file, sys.stdout, sys.stderr)
    if args.policy_command == "table":
        return policy_tool.table(args.file, sys.stdout, sys.stderr)
    return policy_tool.evaluate_command(args.scenario, sys.stdin, sys.stdout, sys.stderr)


def _add_run_parser(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="the full-screen kiosk for patrons",
        description="Runs the patrons' kiosk. With --demo and nothing else: builds a demo "
        "library, starts a central server on loopback and the sync agent, and takes the "
        "keyboard as the scanner. Exit status: 0 normal, 1 a script step failed, 2 bad input.",
    )
    run.add_argument("--demo", action="store_true", help="run on a demo library on loopback")
    run.add_argument(
        "--demo-dir", type=Path, default=Path("demo"), help="where the demo keeps its files"
    )
    run.add_argument(
        "--config",
        type=Path,
        help="kiosk.toml (default: $KIOSK_CONFIG, else /etc/kiosk/kiosk.toml over the defaults)",
    )
    run.add_argument("--data", type=Path, help="the kiosk's data directory (over the config's)")
    run.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], help="over the config's"
    )
    run.add_argument("--script", type=Path, help="drive the app from a script, then exit")
    run.add_argument("--trace", type=Path, help="write what each screen showed (JSON lines)")
    run.add_argument("--screenshots", type=Path, help="directory for the script's shots")
    run.add_argument("--size", help="a window of WIDTHxHEIGHT instead of full screen")
    run.add_argument("--mode", choices=["checkout", "return", "both"], help="override the mode")
    run.add_argument("--theme", choices=["standard", "high_contrast"], help="override the theme")
    run.add_argument(
        "--inactivity", type=float, help="seconds without a touch or scan before the warning"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.log_level:
        from kiosk.logs import setup_logging  # noqa: PLC0415

        setup_logging(args.log_level)
    commands = {
        "policy": _policy,
        "circ": _circ,
        "demo-data": _demo_data,
        "scanners": _scanners,
        "sync": _sync,
        "run": _run,
    }
    return {**commands, **appliance_cli.COMMANDS}[args.command](args)


def _circ(args: argparse.Namespace) -> int:
    from kiosk.circ_tool import CircTool  # noqa: PLC0415 - SQLAlchemy only when needed
    from kiosk.common.clock import SystemClock  # noqa: PLC0415

    tool = CircTool(args.data, SystemClock(), sys.stdout, sys.stderr, as_json=args.json)
    try:
        if args.circ_command == "checkout":
            return tool.checkout(args.card, args.pin, args.item)
        if args.circ_command == "return":
            return tool.return_items(args.item)
        if args.circ_command == "renew":
            return tool.renew(args.card, args.pin, args.item)
        return tool.account(args.card, args.pin)
    finally:
        tool.close()


def _sync(args: argparse.Namespace) -> int:
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from kiosk.common.clock import SystemClock  # noqa: PLC0415 - requests and SQLAlchemy only here
    from kiosk.notify import SystemdNotifier  # noqa: PLC0415
    from kiosk.store.store import Store  # noqa: PLC0415
    from kiosk.sync.agent import SyncAgent, SyncError  # noqa: PLC0415
    from kiosk.sync.token import TokenFileError, read_token  # noqa: PLC0415

    settings = appliance_cli.sync_settings(args)
    if isinstance(settings, str):
        print(f"kiosk sync: {settings}", file=sys.stderr)
        return 2
    data, server, token_file, ca_file, interval, timeouts = settings
    try:
        token = read_token(token_file)
    except TokenFileError as error:
        print(f"kiosk sync: {error}", file=sys.stderr)
        return 2
    notifier = SystemdNotifier()

    def progress(done: int, total: int) -> None:
        notifier.watchdog()  # a long first snapshot is progress, not a hang
        if not sys.stderr.isatty():  # the journal wants no progress bar
            if done >= total:
                print(f"snapshot: {total} rows", file=sys.stderr)
            return
        bar = "#" * (30 * done // total)
        print(
            f"\rsnapshot [{bar:<30}] {100 * done // total:3d}% ({done}/{total} rows)",
            end="",
            file=sys.stderr,
        )
        if done >= total:
            print(file=sys.stderr)

    store = Store.open(data)
    agent = SyncAgent(
        store,
        server,
        token,
        SystemClock(),
        ca_file=ca_file,
        connect_timeout=timeouts[0],
        read_timeout=timeouts[1],
        on_progress=progress,
        scanners=appliance_cli.scanner_report(args.config),
    )
    try:
        if args.once:
            try:
                report = agent.sync_once()
            except SyncError as error:
                print(f"kiosk sync: {error}", file=sys.stderr)
                return 1
            print(
                f"pushed {report.pushed} ({report.duplicates} already there, "
                f"{report.exceptions} for staff), {report.changes} changes, "
                f"{report.purged} entries purged"
            )
            return 0
        stop = threading.Event()

        def stopping(*_: object) -> None:
            notifier.stopping()
            stop.set()

        def alive() -> None:
            notifier.watchdog()
            status = agent.status
            notifier.status(
                f"{status.connectivity.value}; last success "
                f"{status.last_success.isoformat() if status.last_success else 'never'}"
                + (f"; {status.last_error}" if status.last_error else "")
            )

        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, stopping)
        notifier.ready()
        agent.run(stop, interval=interval, alive=alive, alive_every=notifier.watchdog_interval())
        return 0
    finally:
        store.close()


def _run(args: argparse.Namespace) -> int:
    from kiosk import app  # noqa: PLC0415 - the UI's dependencies only for `kiosk run`
    from kiosk.logs import setup_logging  # noqa: PLC0415

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
    request = app.RunRequest(args.script, args.trace, args.screenshots)
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
        return app.run_app(options, request)
    library = app.prepare_demo(args.demo_dir)
    try:
        options = app.demo_options(args.demo_dir, library, **overrides)
        for line in options.demo:
            print(line)
        return app.run_app(options, request)
    finally:
        library.central.stop()


def _run_options(args: argparse.Namespace, overrides: dict[str, object]) -> Any:
    """kiosk.toml's settings (or only a data directory), with the command line's over them.
    None, with the reasons printed, when the config cannot run a kiosk."""
    from kiosk import app  # noqa: PLC0415
    from kiosk.config import ConfigError, load_config  # noqa: PLC0415
    from kiosk.logs import setup_logging  # noqa: PLC0415

    if args.data is not None and args.config is None:
        return app.KioskOptions(data_dir=args.data, **overrides)  # type: ignore[arg-type]
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return None
    setup_logging(args.log_level or config.kiosk.log_level)
    for fault in config.faults:
        print(f"kiosk run: lending without it: {fault}", file=sys.stderr)
    if args.data is not None:
        overrides["data_dir"] = args.data
    return app.options_from_config(config, **overrides)


def _demo_data(args: argparse.Namespace) -> int:
    from kiosk.common.clock import SystemClock  # noqa: PLC0415 - SQLAlchemy only when needed
    from kiosk.demo.library import Scale, build_demo_library  # noqa: PLC0415

    for name in ("items", "patrons", "loans"):
        if getattr(args, name) < 0:
            print(f"kiosk demo-data: --{name} must be 0 or more", file=sys.stderr)
            return 2
    if args.items == 0 and args.loans > 0:
        print("kiosk demo-data: --loans needs --items above 0", file=sys.stderr)
        return 2
    scale = Scale(args.items, args.patrons, args.loans, args.seed)
    library = build_demo_library(args.out, scale, SystemClock().now())
    print(
        f"{args.out}: {library.records} titles, {library.items} items, {library.patrons} "
        f"patrons, {library.loans} loans, {library.holds} holds; cards in "
        f"{args.out / 'demo-cards.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
