"""What is plugged in: the input devices and serial ports present, and which of them
the configured scanners would read. For ``kiosk scanners list``, ``kiosk status`` and
the sync agent's heartbeat."""

from __future__ import annotations

import os
from typing import Any

from kiosk.devices.hid import is_scanner_like
from kiosk.devices.settings import HidScannerSettings, ScannerSettings


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


def input_devices() -> list[dict[str, Any]]:
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


def serial_ports() -> list[dict[str, Any]]:
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


def hid_matches(entry: HidScannerSettings, device: dict[str, Any]) -> bool:
    spec = entry.device
    if spec.startswith("/"):
        return bool(os.path.realpath(spec) == os.path.realpath(device["path"]))
    return bool(device["keyboard"]) and spec.lower() in (device["usb"], device["name"].lower())


def devices_in_use(
    settings: ScannerSettings, devices: list[dict[str, Any]], ports: list[dict[str, Any]]
) -> dict[str, str]:
    """Device path -> the configured source that would read it."""
    used: dict[str, str] = {}
    for entry in settings.hid:
        match = next((d for d in devices if hid_matches(entry, d) and d["path"] not in used), None)
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
    devices = input_devices()
    found = [(e.source, e.device, any(hid_matches(e, d) for d in devices)) for e in settings.hid]
    found += [(e.source, e.port, os.path.exists(e.port)) for e in settings.serial]
    return found
