"""The staff's scanner commands: ``kiosk scanners list | listen``."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import tomllib
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from kiosk.devices import (
    HidScannerSettings,
    InvalidScannerSettings,
    Scan,
    ScanBus,
    Scanners,
    ScannerSettings,
    SerialScannerSettings,
    SourceStatus,
    local_now,
    read_scanner_settings,
)
from kiosk.devices.hid import is_scanner_like

EXIT_OK = 0
EXIT_INVALID = 2


class ConfigFileError(Exception):
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


def load_settings(path: Path) -> ScannerSettings:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigFileError([f"{path}: cannot read the config file: {error.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigFileError([f"{path}: is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigFileError([f"{path}: not valid TOML: {error}"]) from None
    try:
        return read_scanner_settings(data)
    except InvalidScannerSettings as invalid:
        raise ConfigFileError([f"{path}: {problem}" for problem in invalid.problems]) from None


def _links(folder: str) -> dict[str, list[str]]:
    """Stable names (by-id links) for each real device path."""
    links: dict[str, list[str]] = {}
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return links
    for entry in entries:
        links.setdefault(os.path.realpath(entry.path), []).append(entry.path)
    return links


def _input_devices() -> list[dict[str, Any]]:
    try:
        import evdev  # noqa: PLC0415 - Linux only; elsewhere there are none to list
    except ImportError:
        return []
    by_id = _links("/dev/input/by-id")
    found = []
    for path in sorted(evdev.list_devices()):
        try:
            device = evdev.InputDevice(path)
        except OSError:
            continue
        try:
            found.append(
                {
                    "path": path,
                    "name": device.name,
                    "usb": f"{device.info.vendor:04x}:{device.info.product:04x}",
                    "links": by_id.get(os.path.realpath(path), []),
                    "keyboard": is_scanner_like(device),
                }
            )
        finally:
            device.close()
    return found


def _serial_ports() -> list[dict[str, Any]]:
    from serial.tools import list_ports  # noqa: PLC0415 - only this command needs it

    by_id = _links("/dev/serial/by-id")
    return [
        {
            "path": port.device,
            "description": port.description,
            "usb": f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None else "",
            "links": by_id.get(os.path.realpath(port.device), []),
        }
        for port in sorted(list_ports.comports(), key=lambda port: port.device)
    ]


def _hid_matches(entry: HidScannerSettings, device: dict[str, Any]) -> bool:
    spec = entry.device
    if spec.startswith("/"):
        return bool(os.path.realpath(spec) == os.path.realpath(device["path"]))
    return bool(device["keyboard"]) and spec.lower() in (device["usb"], device["name"].lower())


def _used(
    settings: ScannerSettings, devices: list[dict[str, Any]], ports: list[dict[str, Any]]
) -> dict[str, str]:
    """Device path -> the configured source that would read it."""
    used: dict[str, str] = {}
    for entry in settings.hid:
        match = next((d for d in devices if _hid_matches(entry, d) and d["path"] not in used), None)
        if match is not None:
            used[match["path"]] = entry.source
    for serial_entry in settings.serial:
        real = os.path.realpath(serial_entry.port)
        for port in ports:
            if os.path.realpath(port["path"]) == real:
                used.setdefault(port["path"], serial_entry.source)
    return used


def presence(settings: ScannerSettings) -> list[tuple[str, str, bool]]:
    """Each configured scanner: its source name, its device or port, whether it is here."""
    devices = _input_devices()
    found = [(e.source, e.device, any(_hid_matches(e, d) for d in devices)) for e in settings.hid]
    found += [(e.source, e.port, os.path.exists(e.port)) for e in settings.serial]
    return found


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
        except ConfigFileError as error:
            for line in error.lines:
                print(line, file=err)
            return EXIT_INVALID
    devices, ports = _input_devices(), _serial_ports()
    used = _used(settings, devices, ports) if settings is not None else {}
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
    except ConfigFileError as error:
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
    scanners = Scanners(settings, bus, local_now, on_status=show_status)
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
