"""Reading [scanners] and [barcodes]: defaults, every error at once, with key paths."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from kiosk.common import KioskError
from kiosk.common.settings import read_section
from kiosk.devices import (
    SCANNERS_SECTION,
    BarcodeSettings,
    DeviceError,
    HidScannerSettings,
    InvalidScannerSettings,
    ScannerSettings,
    SerialScannerSettings,
    read_scanner_settings,
)

GOOD = """
[scanners]
keyboard = true
poll_seconds = 2

[[scanners.hid]]
device = "/dev/input/by-id/usb-Honeywell_Imaging-event-kbd"
layout = "de"
name = "front desk"

[[scanners.hid]]
device = "0c2e:0b61"

[[scanners.serial]]
port = "/dev/serial/by-id/usb-Datalogic-if00"
baud = 115200
parity = "even"
bytesize = 7
terminator = "none"
timeout = 0.08

[barcodes]
prefix = "@"
patron = ['P\\d{6}', '2\\d{13}']
debounce_seconds = 0.5
library_check_digit = "none"

[printer]
ignored = "another part's table"
"""


def test_a_complete_config_reads_into_plain_values() -> None:
    settings = read_scanner_settings(tomllib.loads(GOOD))
    assert settings == ScannerSettings(
        hid=(
            HidScannerSettings(
                device="/dev/input/by-id/usb-Honeywell_Imaging-event-kbd",
                layout="de",
                name="front desk",
            ),
            HidScannerSettings(device="0c2e:0b61"),
        ),
        serial=(
            SerialScannerSettings(
                port="/dev/serial/by-id/usb-Datalogic-if00",
                baud=115200,
                parity="even",
                bytesize=7,
                terminator="none",
                timeout=0.08,
            ),
        ),
        keyboard=True,
        poll_seconds=2.0,
        barcodes=BarcodeSettings(
            prefix="@",
            patron_patterns=(r"P\d{6}", r"2\d{13}"),
            debounce_seconds=0.5,
            library_check_digit="none",
        ),
    )
    assert [e.source for e in settings.hid] == ["front desk", "hid:0c2e:0b61"]
    assert settings.serial[0].line_timeout == 0.08


def test_an_empty_config_means_no_scanners_and_default_barcode_rules() -> None:
    settings = read_scanner_settings({})
    assert settings == ScannerSettings()
    assert settings.barcodes.debounce_seconds == 1.0


@pytest.mark.parametrize(
    ("terminator", "timeout"), [("none", 0.05), ("cr", 0.5), ("crlf", 0.5), ("lf", 0.5)]
)
def test_line_timeout_defaults_follow_the_terminator(terminator: str, timeout: float) -> None:
    entry = SerialScannerSettings(port="/dev/ttyUSB0", terminator=terminator)  # type: ignore[arg-type]
    assert entry.line_timeout == timeout


def test_every_problem_is_reported_with_its_key_path_and_a_suggestion() -> None:
    config = tomllib.loads(
        """
[scanners]
keybord = true
poll_seconds = -1

[[scanners.hid]]
layout = "german"
grab = "yes"

[[scanners.serial]]
port = "/dev/ttyUSB0"
baud = "fast"
parity = "evn"
terminator = "CRLF"
bytesize = 9
max_lenght = 10

[barcodes]
patron = ["2\\\\d{13", 5]
item = ["(unclosed"]
debounce_seconds = "1s"
library_check_digit = "luhm"
"""
    )
    with pytest.raises(InvalidScannerSettings) as raised:
        read_scanner_settings(config)
    problems = raised.value.problems
    expected_starts = [
        "scanners.keybord: unknown key (did you mean 'keyboard'?)",
        "scanners.hid[0].device: missing",
        "scanners.hid[0].layout: must be one of us, uk, de, fr, not 'german'",
        "scanners.hid[0].grab: must be true or false, not 'yes'",
        "scanners.serial[0].max_lenght: unknown key (did you mean 'max_length'?)",
        "scanners.serial[0].baud: must be a whole number above 0, not 'fast'",
        "scanners.serial[0].parity: must be one of none, even, odd, mark, space, not 'evn' "
        "(did you mean 'even'?)",
        "scanners.serial[0].bytesize: must be 7 or 8, not 9",
        "scanners.poll_seconds: must be a number of seconds above 0, not -1",
        "barcodes.patron: must be a list of regular expressions",
        "barcodes.item[0]: not a valid regular expression",
        "barcodes.library_check_digit: must be one of luhn, none, not 'luhm' "
        "(did you mean 'luhn'?)",
        "barcodes.debounce_seconds: must be a number of seconds from 0 to 3600, not '1s'",
    ]
    for start in expected_starts:
        assert any(problem.startswith(start) for problem in problems), (start, problems)
    assert len(problems) == len(expected_starts)  # CRLF in capitals is fine, nothing else
    assert "scanners.serial[0].terminator" not in str(raised.value)


def test_tables_of_the_wrong_shape_are_reported_not_crashed_on() -> None:
    with pytest.raises(InvalidScannerSettings) as raised:
        read_scanner_settings({"scanners": {"hid": "front", "serial": [3]}, "barcodes": []})
    assert raised.value.problems == [
        "barcodes: must be a table, not a list",
        "scanners.hid: must be a list of tables, not 'front'",
        "scanners.serial[0]: must be a table, not 3",
        "scanners.serial[0].port: missing: the serial port, preferably /dev/serial/by-id/...",
    ]


def test_a_single_table_counts_as_one_scanner_and_names_must_be_unique() -> None:
    settings = read_scanner_settings({"scanners": {"serial": {"port": "/dev/ttyACM0"}}})
    assert settings.serial == (SerialScannerSettings(port="/dev/ttyACM0"),)
    with pytest.raises(InvalidScannerSettings, match="share the source name 'desk'"):
        read_scanner_settings(
            {
                "scanners": {
                    "hid": [{"device": "a", "name": "desk"}],
                    "serial": [{"port": "/dev/ttyS0", "name": "desk"}],
                }
            }
        )


def test_the_scanners_section_leaves_out_a_scanner_with_a_mistake_and_keeps_the_rest() -> None:
    config = tomllib.loads(
        """
[scanners]
keyboard = true
poll_seconds = "often"

[[scanners.hid]]
device = "0c2e:0b61"
layout = "qwerty"

[[scanners.hid]]
device = "05e0:1200"

[[scanners.serial]]
baud = 9600

[barcodes]
prefix = "]"
item = ["(unclosed"]
"""
    )
    settings, problems = read_section(SCANNERS_SECTION, config)
    assert settings == ScannerSettings(
        hid=(HidScannerSettings(device="05e0:1200"),),
        keyboard=True,
        barcodes=BarcodeSettings(prefix="]"),
    )
    with pytest.raises(InvalidScannerSettings) as raised:
        read_scanner_settings(config)
    assert problems == raised.value.problems  # the same mistakes, whichever reads them
    assert [problem.partition(":")[0] for problem in problems] == [
        "scanners.hid[0].layout",
        "scanners.serial[0].port",
        "scanners.poll_seconds",
        "barcodes.item[0]",
    ]


def test_the_scanners_section_uses_none_of_two_scanners_sharing_a_name() -> None:
    scanners: dict[str, Any] = {
        "keyboard": True,
        "hid": [{"device": "a", "name": "desk"}, {"device": "b"}],
        "serial": [{"port": "/dev/ttyS0", "name": "desk"}],
    }
    config = {"scanners": scanners, "barcodes": {"suffix": "\r"}}
    settings, problems = read_section(SCANNERS_SECTION, config)
    assert settings == ScannerSettings(barcodes=BarcodeSettings(suffix="\r"))
    assert problems == ["scanners: two scanners share the source name 'desk'"]
    # A bad scanner left out clears the clash; the good one is used.
    scanners["serial"] = [{"port": "/dev/ttyS0", "name": "desk", "baud": 0}]
    settings, problems = read_section(SCANNERS_SECTION, config)
    assert [entry.source for entry in settings.hid] == ["desk", "hid:b"]
    assert settings.serial == ()
    assert len(problems) == 2


def test_invalid_scanner_settings_are_a_device_error() -> None:
    with pytest.raises(DeviceError) as raised:
        read_scanner_settings({"barcodes": {"prefix": 1}})
    assert isinstance(raised.value, KioskError)
    assert str(raised.value) == "barcodes.prefix: must be text, not 1"
