"""The staff's scanner commands: ``kiosk scanners list | listen``."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import tomllib
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from kiosk.commands.errors import UnusableFile
from kiosk.devices import (
    HidScannerSettings,
    InvalidScannerSettings,
    Scan,
    ScanBus,
    Scanners,
    ScannerSettings,
    SerialScannerSettings,
    SourceStatus,
    read_scanner_settings,
)
from kiosk.devices.inventory import devices_in_use, input_devices, serial_ports

EXIT_OK = 0
EXIT_INVALID = 2


def load_settings(path: Path) -> ScannerSettings:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UnusableFile([f"{path}: cannot read the config file: {error.strerror}"]) from None
    except UnicodeDecodeError:
        raise UnusableFile([f"{path}: is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as error:
        raise UnusableFile([f"{path}: not valid TOML: {error}"]) from None
    try:
        return read_scanner_settings(data)
    except InvalidScannerSettings as invalid:
        raise UnusableFile([f"{path}: {problem}" for problem in invalid.problems]) from None


def _print_found(
    title: str, found: list[dict[str, Any]], used: dict[str, str], out: TextIO
) -> None:
    print(f"{title}:" if found else f"{title}: none found", file=out)
    for thing in found:
        mark = f"  <- used as {used[thing['path']]}" if thing["path"] in used else ""
        if "keyboard" in thing:
            about = f"{thing['name']!r}" + ("" if thing["keyboard"] else " (not a keyboard)")
        else:
            about = thing["description"]
        print(f"  {thing['path']}  {thing['usb'] or '-'}  {about}{mark}", file=out)
        for link in thing["links"]:
            print(f"      {link}", file=out)


def list_command(config: Path | None, out: TextIO, err: TextIO) -> int:
    settings: ScannerSettings | None = None
    if config is not None:
        try:
            settings = load_settings(config)
        except UnusableFile as error:
            for line in error.lines:
                print(line, file=err)
            return EXIT_INVALID
    devices, ports = input_devices(), serial_ports()
    used = devices_in_use(settings, devices, ports) if settings is not None else {}
    _print_found("Input devices", devices, used, out)
    _print_found("Serial ports", ports, used, out)
    if settings is not None:
        wanted = [(e.source, e.device) for e in settings.hid]
        wanted += [(e.source, e.port) for e in settings.serial]
        for source, what in wanted:
            if source not in used.values():
                print(f"Configured but not present: {source} ({what})", file=out)
        if not wanted:
            print("The config names no scanners.", file=out)
    return EXIT_OK


def format_scan(scan: Scan, as_json: bool) -> str:
    if as_json:
        return json.dumps(scan.as_json(), ensure_ascii=False)
    check = {True: "check digit ok", False: "CHECK DIGIT WRONG", None: "no check digit"}
    return (
        f"{scan.at:%H:%M:%S}  {scan.kind:<7}  {scan.code}  {scan.symbology}  "
        f"{check[scan.valid_check_digit]}  from {scan.source}"
    )


def listen_command(
    *,
    config: Path | None,
    serial_port: str | None,
    baud: int | None,
    terminator: str | None,
    evdev_device: str | None,
    layout: str,
    keyboard: bool,
    as_json: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    """Print every scan until SIGINT or SIGTERM, then exit 0."""
    try:
        settings = load_settings(config) if config is not None else ScannerSettings()
    except UnusableFile as error:
        for line in error.lines:
            print(line, file=err)
        return EXIT_INVALID
    if serial_port is not None:
        entry = SerialScannerSettings(port=serial_port)
        entry = replace(
            entry,
            baud=baud or entry.baud,
            terminator=terminator or entry.terminator,  # type: ignore[arg-type]
        )
        settings = replace(settings, serial=(*settings.serial, entry))
    if evdev_device is not None:
        hid = HidScannerSettings(device=evdev_device, layout=layout)  # type: ignore[arg-type]
        settings = replace(settings, hid=(*settings.hid, hid))
    if keyboard:
        settings = replace(settings, keyboard=True)
    if not (settings.hid or settings.serial or settings.keyboard):
        print(
            "kiosk scanners listen: nothing to listen to; give --config, --serial, --evdev "
            "or --keyboard",
            file=err,
        )
        return EXIT_INVALID

    logging.basicConfig(stream=err, level=logging.WARNING, format="%(message)s")
    stopping = threading.Event()

    def stop(_signal: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def show_status(status: SourceStatus) -> None:
        detail = f" ({status.detail})" if status.detail else ""
        print(f"{status.source}: {status.state}{detail}", file=err, flush=True)

    bus = ScanBus()
    from kiosk.common.clock import SystemClock  # noqa: PLC0415

    scanners = Scanners(settings, bus, SystemClock().now, on_status=show_status)
    try:
        scanners.start()
        if scanners.keyboard is not None:
            reader = threading.Thread(
                target=scanners.keyboard.read_lines, args=(sys.stdin,), daemon=True
            )
            reader.start()
        while not stopping.is_set():
            # The timeout only bounds how late a signal is noticed; a scan wakes it at once.
            scan = bus.get(timeout=0.2)
            if scan is not None:
                print(format_scan(scan, as_json), file=out, flush=True)
    finally:
        scanners.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scanners = commands.add_parser("scanners", help="find barcode scanners and watch their scans")
    actions = scanners.add_subparsers(dest="scanners_command", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", help="the input devices and serial ports present, and which the config uses"
    )
    listing.add_argument("--config", type=Path, help="a kiosk.toml with [scanners]")
    listen = actions.add_parser(
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
    scanners.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.scanners_command == "list":
        return list_command(args.config, sys.stdout, sys.stderr)
    return listen_command(
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
