"""The receipt printer through real parts: a pseudo-terminal stands in for a serial printer
(the test reads the master side, as the printer would), and a FIFO or a regular file for
a USB printer-class device such as /dev/usb/lp0."""

from __future__ import annotations

import logging
import os
import select
import threading
import time
import tomllib
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.common import KioskError
from kiosk.common.settings import read_section
from kiosk.devices import (
    InvalidPrinterSettings,
    PrinterSettings,
    PrintOutcome,
    Receipt,
    ReceiptPrinter,
    read_printer_settings,
)
from kiosk.devices.errors import DeviceError
from kiosk.devices.printer import PRINTER_SECTION, wrap

INIT = b"\x1b@" + b"\x1bt\x10"  # ESC @, then ESC t 16 (WPC1252)
HEADING_ON = b"\x1bE\x01" + b"\x1d!\x11"  # bold, double width and height
HEADING_OFF = b"\x1d!\x00" + b"\x1bE\x00"
CUT = b"\n" * 4 + b"\x1dVB\x00"  # feed, then GS V 66 0

SPANISH_FRENCH = Receipt(
    heading="Biblioteca Municipal",
    lines=(
        "Cien años de soledad",
        "Devolución: 07/12/2026",
        "Mémoires d'Hadrien — à rendre le 8 déc. 2026",
        "Ça, c'est l'été ! ¿Qué? ¡Sí! œuvre 5 €",
    ),
    footer="¡Gracias! Merci !",
)
SPANISH_FRENCH_BYTES = (
    INIT
    + HEADING_ON
    + b"Biblioteca Municipal\n"  # 21 double-width characters fit on 42-character paper
    + HEADING_OFF
    + b"\n"
    + b"Cien a\xf1os de soledad\n"
    + b"Devoluci\xf3n: 07/12/2026\n"
    + b"M\xe9moires d'Hadrien \x97 \xe0 rendre le 8 d\xe9c.\n"  # 39 characters, then
    + b"2026\n"  # the word that makes 44 wraps
    + b"\xc7a, c'est l'\xe9t\xe9 ! \xbfQu\xe9? \xa1S\xed! \x9cuvre 5 \x80\n"
    + b"\n"
    + b"\xa1Gracias! Merci !\n"
    + CUT
)
SECRET = "Cien años de soledad"  # patron data: never in a log line


def enabled(device: Path | str, **settings: object) -> PrinterSettings:
    return PrinterSettings(enabled=True, device=str(device), **settings)  # type: ignore[arg-type]


class Pty:
    """A pseudo-terminal whose slave side, reached through ``link``, is the printer port."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        temporary = link.with_suffix(".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(os.ttyname(self.slave))
        temporary.replace(link)
        self.open = True

    def read(self, count: int, timeout: float = 5.0) -> bytes:
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < count and (left := deadline - time.monotonic()) > 0:
            if select.select([self.master], [], [], left)[0]:
                data += os.read(self.master, count - len(data))
        return data

    def drain(self) -> None:
        while select.select([self.master], [], [], 0.05)[0]:
            os.read(self.master, 65536)

    def jam(self) -> None:
        """Fill the terminal's buffers, as a printer that stopped reading would."""
        os.set_blocking(self.slave, False)
        quiet_rounds = 0
        while quiet_rounds < 2:  # the kernel moves bytes between pty buffers in the background
            quiet_rounds = 0 if _fill(self.slave) else quiet_rounds + 1
            time.sleep(0.05)

    def unplug(self) -> None:
        if self.open:
            self.open = False
            os.close(self.master)
            os.close(self.slave)


def _fill(fd: int) -> int:
    written = 0
    for size in (4096, 1):
        try:
            while True:
                written += os.write(fd, b"x" * size)
        except BlockingIOError:
            pass
    return written


@pytest.fixture
def pty_factory(tmp_path: Path) -> Iterator[Callable[[], Pty]]:
    made: list[Pty] = []

    def make() -> Pty:
        made.append(Pty(tmp_path / "usb-Epson_TM-T20-if00-port0"))
        return made[-1]

    yield make
    for pty in made:
        pty.unplug()


def print_in_thread(printer: ReceiptPrinter, receipt: Receipt, bound: float) -> PrintOutcome:
    """Print on another thread, failing the test (not hanging it) after ``bound`` seconds."""
    outcome: list[PrintOutcome] = []
    thread = threading.Thread(target=lambda: outcome.append(printer.print_receipt(receipt)))
    thread.start()
    thread.join(bound)
    assert not thread.is_alive(), f"print_receipt still running after {bound} s"
    return outcome[0]


# --- serial printer (a pseudo-terminal) ------------------------------------------------


def test_a_receipt_arrives_as_exact_esc_pos_in_cp1252(pty_factory: Callable[[], Pty]) -> None:
    pty = pty_factory()
    printer = ReceiptPrinter(enabled(pty.link))
    assert printer.available
    assert printer.print_receipt(SPANISH_FRENCH) is PrintOutcome.PRINTED
    assert pty.read(len(SPANISH_FRENCH_BYTES)) == SPANISH_FRENCH_BYTES
    assert pty.read(1, timeout=0.05) == b""  # nothing after the cut
    assert printer.encode(SPANISH_FRENCH) == SPANISH_FRENCH_BYTES


def test_a_printer_that_stops_reading_fails_within_the_timeout_then_recovers(
    pty_factory: Callable[[], Pty],
) -> None:
    pty = pty_factory()
    printer = ReceiptPrinter(enabled(pty.link), write_timeout=0.3)
    pty.jam()
    assert print_in_thread(printer, SPANISH_FRENCH, bound=10) is PrintOutcome.FAILED
    pty.drain()  # the paper jam is cleared
    assert printer.print_receipt(SPANISH_FRENCH) is PrintOutcome.PRINTED
    assert pty.read(len(SPANISH_FRENCH_BYTES)) == SPANISH_FRENCH_BYTES


def test_an_unplug_mid_write_fails_and_the_next_receipt_prints_after_the_replug(
    pty_factory: Callable[[], Pty],
) -> None:
    pty = pty_factory()
    # A write timeout far above the bound: only the unplug can end this print in time.
    printer = ReceiptPrinter(enabled(pty.link), write_timeout=60)
    pty.jam()
    unplug = threading.Timer(0.5, pty.unplug)
    unplug.start()
    assert print_in_thread(printer, SPANISH_FRENCH, bound=20) is PrintOutcome.FAILED
    unplug.join()
    assert not printer.available
    assert printer.print_receipt(SPANISH_FRENCH) is PrintOutcome.ABSENT

    replugged = pty_factory()  # a new terminal behind the same by-id link
    assert printer.available
    assert printer.print_receipt(SPANISH_FRENCH) is PrintOutcome.PRINTED
    assert replugged.read(len(SPANISH_FRENCH_BYTES)) == SPANISH_FRENCH_BYTES


def test_a_terminal_whose_printer_end_hung_up_is_absent(pty_factory: Callable[[], Pty]) -> None:
    pty = pty_factory()
    printer = ReceiptPrinter(enabled(os.ttyname(pty.slave)), write_timeout=1)
    pty.open = False
    os.close(pty.master)  # Linux removes /dev/pts/N with its master, even with the slave open
    try:
        assert not printer.available
        assert print_in_thread(printer, SPANISH_FRENCH, bound=10) is PrintOutcome.ABSENT
    finally:
        os.close(pty.slave)


# --- USB printer-class device (a FIFO, a regular file) ---------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A FIFO at the printer's path, with its reading end open (the printer)."""
    path = tmp_path / "lp0"
    os.mkfifo(path)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    yield path, reader
    os.close(reader)


def read_fifo(reader: int) -> bytes:
    data = b""
    while select.select([reader], [], [], 0.05)[0]:
        chunk = os.read(reader, 65536)
        if not chunk:
            break
        data += chunk
    return data


def test_a_usb_printer_device_gets_the_bytes_as_a_plain_file(fifo: tuple[Path, int]) -> None:
    path, reader = fifo
    printer = ReceiptPrinter(enabled(path))
    assert printer.print_receipt(SPANISH_FRENCH) is PrintOutcome.PRINTED
    assert read_fifo(reader) == SPANISH_FRENCH_BYTES


def test_a_usb_printer_that_takes_no_data_fails_within_the_timeout_then_recovers(
    fifo: tuple[Path, int],
) -> None:
    path, reader = fifo
    printer = ReceiptPrinter(enabled(path), write_timeout=0.3)
    filler = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    try:
        _fill(filler)
        assert print_in_thread(printer, SPANISH_FRENCH, bound=10) is PrintOutcome.FAILED
    finally:
        os.close(filler)
    read_fifo(reader)  # the printer takes data again
    assert printer.print_receipt(SPANISH_FRENCH) is PrintOutcome.PRINTED
    assert read_fifo(reader) == SPANISH_FRENCH_BYTES


def test_a_regular_file_collects_one_receipt_after_another(tmp_path: Path) -> None:
    path = tmp_path / "lp0"
    path.write_bytes(b"")
    printer = ReceiptPrinter(enabled(path, width=32))
    short = Receipt("Bibliothèque", ("Le Petit Prince",))
    assert printer.print_receipt(short) is PrintOutcome.PRINTED
    assert printer.print_receipt(short) is PrintOutcome.PRINTED
    one = (
        INIT
        + HEADING_ON
        + b"Biblioth\xe8que\n"
        + HEADING_OFF
        + b"\n"
        + b"Le Petit Prince\n"
        + CUT  # no footer: no blank line for it
    )
    assert path.read_bytes() == one + one


# --- absent, disabled, broken ---------------------------------------------------------


def test_no_device_at_the_path_is_absent(tmp_path: Path) -> None:
    printer = ReceiptPrinter(enabled(tmp_path / "lp0"))
    assert not printer.available
    assert printer.print_receipt(SPANISH_FRENCH) is PrintOutcome.ABSENT
    assert not (tmp_path / "lp0").exists()  # never created by printing


def test_a_fifo_nobody_reads_is_absent(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "lp0")
    assert ReceiptPrinter(enabled(tmp_path / "lp0")).print_receipt(SPANISH_FRENCH) is (
        PrintOutcome.ABSENT
    )


def test_enabled_without_a_device_is_absent() -> None:
    printer = ReceiptPrinter(PrinterSettings(enabled=True))
    assert not printer.available
    assert printer.print_receipt(SPANISH_FRENCH) is PrintOutcome.ABSENT


def test_disabled_prints_nothing_even_with_a_device(tmp_path: Path) -> None:
    path = tmp_path / "lp0"
    path.write_bytes(b"")
    printer = ReceiptPrinter(PrinterSettings(enabled=False, device=str(path)))
    assert not printer.available
    assert printer.print_receipt(SPANISH_FRENCH) is PrintOutcome.DISABLED
    assert path.read_bytes() == b""


def test_a_device_that_cannot_be_written_fails(tmp_path: Path) -> None:
    printer = ReceiptPrinter(enabled(tmp_path))  # a directory: EISDIR
    assert printer.available  # the path exists...
    assert printer.print_receipt(SPANISH_FRENCH) is PrintOutcome.FAILED  # ...but no printer


def test_logs_say_what_happened_and_never_what_was_printed(
    tmp_path: Path, fifo: tuple[Path, int], caplog: pytest.LogCaptureFixture
) -> None:
    path, reader = fifo
    caplog.set_level(logging.DEBUG, logger="kiosk.devices.printer")
    assert ReceiptPrinter(enabled(path)).print_receipt(SPANISH_FRENCH) is PrintOutcome.PRINTED
    read_fifo(reader)
    absent = ReceiptPrinter(enabled(tmp_path / "nothing"))
    assert absent.print_receipt(SPANISH_FRENCH) is PrintOutcome.ABSENT
    failed = ReceiptPrinter(enabled(tmp_path))
    assert failed.print_receipt(SPANISH_FRENCH) is PrintOutcome.FAILED
    assert [record.levelname for record in caplog.records] == ["INFO", "WARNING", "WARNING"]
    assert "printed" in caplog.records[0].getMessage()
    assert "absent" in caplog.records[1].getMessage()
    assert "failed" in caplog.records[2].getMessage()
    for record in caplog.records:
        for text in (SPANISH_FRENCH.heading, SECRET, "Hadrien", "Gracias"):
            assert text not in record.getMessage()
    assert SECRET not in repr(SPANISH_FRENCH)


# --- encoding and wrapping -------------------------------------------------------------


def test_text_cp1252_cannot_hold_and_control_characters_print_as_question_marks() -> None:
    printer = ReceiptPrinter(PrinterSettings(width=42))
    receipt = Receipt("", ("Дон Кихот 中文 e\u0301", "reset\x1b@ cut\x1dVB"))
    assert printer.encode(receipt) == (
        INIT  # no heading: no heading styles
        + b"??? ????? ?? \xe9\n"  # a decomposed accent is composed first
        + b"reset?@ cut\n"  # GS breaks the line, as any line separator would
        + b"VB\n"
        + CUT
    )


def test_a_heading_wraps_at_half_the_width_and_a_blank_footer_is_left_out() -> None:
    printer = ReceiptPrinter(PrinterSettings(width=32))
    receipt = Receipt("Médiathèque François Mitterrand", ("x",), footer="   ")
    assert printer.encode(receipt) == (
        INIT
        + HEADING_ON
        + b"M\xe9diath\xe8que\nFran\xe7ois\nMitterrand\n"
        + HEADING_OFF
        + b"\nx\n"
        + CUT
    )


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        ("", 10, [""]),
        ("   ", 10, [""]),
        ("short", 10, ["short"]),
        ("exactly 10", 10, ["exactly 10"]),
        ("the quick brown fox", 10, ["the quick", "brown fox"]),
        ("the  quick   brown fox ", 9, ["the", "quick", "brown fox"]),
        ("abcdefghijkl", 5, ["abcde", "fghij", "kl"]),
        ("due 9781234567897 today", 8, ["due", "97812345", "67897", "today"]),
        ("due 2026-12-07 back", 10, ["due", "2026-12-07", "back"]),  # no break at hyphens
        ("well-known-author-name", 8, ["well-kno", "wn-autho", "r-name"]),
        ("line one\nline two", 20, ["line one", "line two"]),
        ("a\n\nb", 5, ["a", "", "b"]),
        ("a\r\nb", 5, ["a", "b"]),
        ("  indented item", 20, ["  indented item"]),
        ("  indented item", 10, ["  indented", "item"]),
        ("col\tumn", 20, ["col     umn"]),
        ("élève à l'école", 7, ["élève à", "l'école"]),
        ("e\u0301le\u0300ve", 5, ["élève"]),
        ("bell\x07 here", 20, ["bell? here"]),
        ("Merci\xa0! Total\xa05\xa0€", 9, ["Merci\xa0!", "Total\xa05\xa0€"]),  # no-break spaces
        ("anything", 0, ["a", "n", "y", "t", "h", "i", "n", "g"]),
    ],
)
def test_word_wrap(text: str, width: int, lines: list[str]) -> None:
    assert wrap(text, width) == lines


# --- configuration ---------------------------------------------------------------------


def test_the_printer_table_reads_into_settings() -> None:
    config = tomllib.loads(
        '[printer]\nenabled = true\ndevice = " /dev/usb/lp0 "\nbaud = 38400\nwidth = 48\n'
        "[scanners]\nkeyboard = true\n"
    )
    assert read_printer_settings(config) == PrinterSettings(
        enabled=True, device="/dev/usb/lp0", baud=38400, width=48
    )


def test_no_printer_table_means_no_printer() -> None:
    assert read_printer_settings({}) == PrinterSettings()


def test_every_problem_in_the_printer_table_is_reported_at_once() -> None:
    config = tomllib.loads('[printer]\nenabled = "yes"\ndevise = "/dev/usb/lp0"\nwidth = 8\n')
    with pytest.raises(InvalidPrinterSettings) as raised:
        read_printer_settings(config)
    assert raised.value.problems == [
        "printer.devise: unknown key (did you mean 'device'?); known keys: enabled, device, baud, width",
        "printer.enabled: must be true or false, not 'yes'",
        "printer.width: must be a whole number of characters from 16, not 8",
    ]
    with pytest.raises(InvalidPrinterSettings, match=r"printer\.device: missing"):
        read_printer_settings({"printer": {"enabled": True, "device": " "}})


def test_the_printer_section_gives_no_printer_for_a_table_with_a_mistake() -> None:
    """What a kiosk starts with: a mistake disables printing, the rest still lends."""
    config = {"printer": {"enabled": True, "device": "/dev/null", "width": 8}}
    settings, problems = read_section(PRINTER_SECTION, config)
    assert settings == PrinterSettings()
    assert problems == ["printer.width: must be a whole number of characters from 16, not 8"]


def test_the_printer_section_keeps_a_printer_that_is_not_there_yet(tmp_path: Path) -> None:
    device = tmp_path / "lp0"
    config = {"printer": {"enabled": True, "device": str(device)}}
    settings, problems = read_section(PRINTER_SECTION, config)
    assert settings == PrinterSettings(enabled=True, device=str(device))
    assert problems == [
        f"printer.device: {device} does not exist: is the printer plugged in and on?"
    ]
    assert read_printer_settings(config) == settings  # the table itself is right
    device.touch()
    assert read_section(PRINTER_SECTION, config) == (settings, [])


def test_invalid_printer_settings_are_a_device_error() -> None:
    with pytest.raises(DeviceError) as raised:
        read_printer_settings({"printer": {"enabled": "yes"}})
    assert isinstance(raised.value, InvalidPrinterSettings)
    assert isinstance(raised.value, KioskError)
    assert not isinstance(raised.value, ValueError)
    assert str(raised.value) == "printer.enabled: must be true or false, not 'yes'"
