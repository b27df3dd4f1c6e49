"""The TOML settings reader: a value out of a table, checked; every mistake kept, said for
the person who edits the file, and the default used in its place."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from kiosk.common.settings import (
    Section,
    SettingsReader,
    as_flag,
    as_positive_int,
    as_positive_seconds,
    as_seconds,
    as_text,
    one_of,
    read_section,
)

TABLE = tomllib.loads(
    """
[screen]
colour = "Blue"
width = "wide"
pause = 0
patterns = ["2\\\\d{13}", "(unclosed"]
gird = true
"""
)["screen"]
KNOWN = ("colour", "width", "pause", "patterns", "grid")


def test_a_table_with_an_unknown_key_says_what_was_meant_and_what_is_known() -> None:
    reader = SettingsReader()
    assert reader.table(TABLE, "screen", KNOWN) is TABLE
    assert reader.problems == [
        "screen.gird: unknown key (did you mean 'grid'?); known keys: colour, width, pause, "
        "patterns, grid"
    ]
    assert reader.table([1], "screen", KNOWN) == {}
    assert reader.problems[-1] == "screen: must be a table, not a list"


def test_a_wrong_value_is_a_problem_and_gives_the_default() -> None:
    reader = SettingsReader()
    assert reader.get(TABLE, "screen", "width", 800, as_positive_int, "a whole number") == 800
    assert reader.get(TABLE, "screen", "pause", 1.0, as_positive_seconds, "seconds above 0") == 1.0
    assert reader.get(TABLE, "screen", "pause", 1.0, as_seconds, "seconds") == 0.0
    assert reader.get(TABLE, "screen", "absent", "x", as_text, "text") == "x"
    assert reader.problems == [
        "screen.width: must be a whole number, not 'wide'",
        "screen.pause: must be seconds above 0, not 0",
    ]


def test_a_choice_may_be_written_in_capitals_and_a_misspelt_one_is_named() -> None:
    reader = SettingsReader()
    colours = ("red", "blue")
    assert reader.choice(TABLE, "screen", "colour", "red", colours) == "blue"
    assert reader.choice({"colour": "bleu"}, "screen", "colour", "red", colours) == "red"
    assert reader.choice({"colour": 3}, "screen", "colour", "red", colours) == "red"
    assert reader.problems == [
        "screen.colour: must be one of red, blue, not 'bleu' (did you mean 'blue'?)",
        "screen.colour: must be one of red, blue, not 3",
    ]


def test_patterns_with_a_bad_one_give_the_default_and_name_it_by_index() -> None:
    reader = SettingsReader()
    assert reader.patterns(TABLE, "screen", "patterns", ("x",)) == ("x",)
    (problem,) = reader.problems
    assert problem.startswith("screen.patterns[1]: not a valid regular expression")
    assert reader.patterns({"patterns": "a+"}, "screen", "patterns", ()) == ("a+",)


def test_the_checks_refuse_what_only_looks_like_their_kind() -> None:
    assert as_flag("true") is None
    assert as_flag(False) is False
    assert as_positive_int(True) is None
    assert as_positive_int(0) is None
    assert as_seconds(3601) is None
    assert as_seconds(False) is None
    assert as_text(5) is None
    assert one_of(7, 8)(9) is None
    assert one_of(7, 8)(7) == 7


def test_a_section_reads_only_its_own_tables_and_keeps_its_mistakes() -> None:
    seen: list[Mapping[str, Any]] = []

    def read(reader: SettingsReader, tables: Mapping[str, Any]) -> int:
        seen.append(tables)
        table = reader.table(tables.get("screen", {}), "screen", ("width",))
        return reader.get(table, "screen", "width", 800, as_positive_int, "a whole number")

    section = Section(("screen", "sound"), read)
    value, problems = read_section(section, {"screen": {"width": 0}, "printer": {"x": 1}})
    assert value == 800
    assert problems == ["screen.width: must be a whole number, not 0"]
    assert seen == [{"screen": {"width": 0}}]
    assert repr(section) == "Section(screen, sound)"


def test_a_currency_is_a_three_letter_code_in_capitals_or_none() -> None:
    reader = SettingsReader()
    table = {"good": "eur", "none": " ", "bad": "EURO", "sign": "$", "number": 978}
    read = [reader.currency(table, "library", key) for key in (*table, "absent")]
    assert read == ["EUR", "", "", "", "", ""]
    assert reader.problems == [
        'library.bad: must be a three-letter currency code such as "USD", "EUR" or "GBP", '
        "or \"\" for none, not 'EURO'",
        'library.sign: must be a three-letter currency code such as "USD", "EUR" or "GBP", '
        "or \"\" for none, not '$'",
        "library.number: must be text, not 978",
    ]
