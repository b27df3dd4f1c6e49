"""The Kiosk-Branch-Names header (issue 21): the branches' names, percent-encoded beside
their codes, read back as written. A name is only shown, so nothing in one fails the
kiosk's sync round (it would stop every kiosk syncing): the kiosk shows what it can of
each name, and leaves out a pair it cannot read, keeping the others."""

from __future__ import annotations

import pytest

from kiosk.sync.protocol import (
    BRANCH_NAMES_HEADER,
    branch_names_from_headers,
    branch_names_header,
    shown_branch_name,
)

NAMES = {"North": "Northside Library", "East": "Biblioteca del Este, Ñuñoa = 1%"}


def test_the_names_go_and_come_back_as_written() -> None:
    value = branch_names_header(NAMES)
    assert value.isascii()
    assert value.startswith("East=Biblioteca%20del%20Este%2C%20")
    assert branch_names_from_headers({BRANCH_NAMES_HEADER: value}) == (NAMES, [])
    assert branch_names_from_headers({}) == (None, [])


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        # French typography: a non-breaking space before the colon, narrow before "!".
        ("Médiathèque\u00a0: Nord", "Médiathèque : Nord"),
        ("Bibliothèque\u202f!", "Bibliothèque !"),
        ("Média\u00adthèque", "Médiathèque"),  # a soft hyphen: nothing to show
        ("North\tside", "North side"),
        ("Two\nlines\r\n", "Two lines"),
        ("Bell\x07 Branch\u200b", "Bell Branch"),
        ("N" * 121, "N" * 120),  # longer than a name: cut
    ],
)
def test_a_name_is_shown_as_the_kiosk_can(name: str, shown: str) -> None:
    assert shown_branch_name(name) == shown
    value = branch_names_header({"North": name, "East": "East End"})
    assert branch_names_from_headers({BRANCH_NAMES_HEADER: value}) == (
        {"North": shown, "East": "East End"},
        [],
    )


@pytest.mark.parametrize(
    ("pair", "said"),
    [
        ("North", "pair 1 names no branch code"),  # no name
        ("=Northside", "pair 1 names no branch code"),  # no code
        ("No rth=Northside", "pair 1 names no branch code"),  # not a code
        ("North=%FF%FE", "North's name is not UTF-8"),
        ("North=", "North's name has nothing to show"),
        ("North=%0A%C2%AD", "North's name has nothing to show"),
    ],
)
def test_a_pair_the_kiosk_cannot_read_is_left_out_and_the_others_kept(pair: str, said: str) -> None:
    """Left out, not refused: one name must not stop the round. What is said of it
    names the code or the pair's place, never the text sent."""
    names, left_out = branch_names_from_headers({BRANCH_NAMES_HEADER: f"{pair},East=East%20End"})
    assert names == {"East": "East End"}
    assert left_out == [f"{BRANCH_NAMES_HEADER}: {said}"]
    assert "Northside" not in left_out[0]
