"""Barcode sources (evdev HID, pyserial, keyboard) emitting plain ``Scan`` values, and the
receipt printer (:class:`ReceiptPrinter`).

The app builds one :class:`Scanners` from :class:`ScannerSettings` with a :class:`ScanBus`
and its clock, starts it, and takes :class:`Scan` values off the bus on its own thread.
Nothing here imports Kivy.
"""

from kiosk.devices.codes import ScanPipeline
from kiosk.devices.errors import DeviceError, InvalidSettings
from kiosk.devices.printer import (
    PRINTER_SECTION,
    InvalidPrinterSettings,
    PrinterSettings,
    PrintOutcome,
    Receipt,
    ReceiptPrinter,
    read_printer_settings,
)
from kiosk.devices.reader import SourceStatus
from kiosk.devices.scan import Kind, Now, Scan, ScanBus, Symbology
from kiosk.devices.settings import (
    SCANNERS_SECTION,
    BarcodeSettings,
    HidScannerSettings,
    InvalidScannerSettings,
    ScannerSettings,
    SerialScannerSettings,
    read_scanner_settings,
)
from kiosk.devices.sources import Scanners

__all__ = [
    "PRINTER_SECTION",
    "SCANNERS_SECTION",
    "BarcodeSettings",
    "DeviceError",
    "HidScannerSettings",
    "InvalidPrinterSettings",
    "InvalidScannerSettings",
    "InvalidSettings",
    "Kind",
    "Now",
    "PrintOutcome",
    "PrinterSettings",
    "Receipt",
    "ReceiptPrinter",
    "Scan",
    "ScanBus",
    "ScanPipeline",
    "ScannerSettings",
    "Scanners",
    "SerialScannerSettings",
    "SourceStatus",
    "Symbology",
    "read_printer_settings",
    "read_scanner_settings",
]
