"""kiosk.toml's tables whose types belong to other parts, as the kiosk's programs read them.

``kiosk.config`` reads the file and its own tables; these sections read the others
into their owners' types, and every program that reads kiosk.toml hands them to it:
``load_config(path, sections=KIOSK_SECTIONS)``, then ``config[PRINTER_SECTION]`` is a
``PrinterSettings``. The printer's and the scanners' readers are devices' own; the
sorting bins, a circulation type with no reader of its own, are read here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kiosk.circulation.views import SortingBin, SortingBins
from kiosk.common.settings import Section, SettingsReader, as_positive_int, as_text
from kiosk.common.suggest import did_you_mean
from kiosk.devices.printer import PRINTER_SECTION
from kiosk.devices.settings import SCANNERS_SECTION

# The colours a bin may be painted, by name (the catalogs word them for patrons), or
# "#rrggbb".
COLOURS: tuple[str, ...] = (
    "yellow",
    "green",
    "red",
    "blue",
    "orange",
    "purple",
    "white",
    "black",
    "grey",
)
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_BIN_NAMES = ("hold_shelf", "shelf", "staff", "transfer")


def read_bins(reader: SettingsReader, config: Mapping[str, Any]) -> SortingBins:
    """The sorting bins of ``[bins.hold_shelf]``, ``[bins.shelf]``, ``[bins.staff]`` and
    ``[bins.transfer]`` (copies going to another branch): a label, a number and a colour
    each, every mistake kept in ``reader``."""
    tables = reader.table(config.get("bins", {}), "bins", _BIN_NAMES)
    defaults = SortingBins()
    bins = {}
    for name in _BIN_NAMES:
        path = f"bins.{name}"
        default: SortingBin = getattr(defaults, name)
        table = reader.table(tables.get(name, {}), path, ("label", "number", "colour"))
        label = reader.get(table, path, "label", default.name, as_text, "text").strip()
        if not label:
            reader.problem(f"{path}.label", "missing: the name painted on the bin")
        colour = reader.get(table, path, "colour", default.colour, as_text, "a colour in quotes")
        if colour.lower() not in COLOURS and not _HEX_COLOUR.fullmatch(colour):
            reader.problem(
                f"{path}.colour",
                f'must be one of {", ".join(COLOURS)} or "#rrggbb", not {colour!r}'
                f"{did_you_mean(colour.lower(), COLOURS, bracketed=True)}",
            )
        bins[name] = SortingBin(
            name=label or default.name,
            number=reader.get(
                table, path, "number", default.number, as_positive_int, "a whole number above 0"
            ),
            colour=colour.lower(),
        )
    return SortingBins(**bins)


BINS_SECTION: Section[SortingBins] = Section(("bins",), read_bins)

# Every table of kiosk.toml that config does not read itself, each by its owner's reader.
KIOSK_SECTIONS: tuple[Section[Any], ...] = (BINS_SECTION, PRINTER_SECTION, SCANNERS_SECTION)

__all__ = ["BINS_SECTION", "COLOURS", "KIOSK_SECTIONS", "PRINTER_SECTION", "SCANNERS_SECTION"]
