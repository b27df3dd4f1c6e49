"""The Kiosk-Branch-Names header (issue 21): the branches' names, percent-encoded beside
their codes, read back as written; anything malformed is refused, so the agent stops
the sync rather than keep it (a name is only shown, but a server sending garbage is a
server to look at)."""

from __future__ import annotations

import pytest

from kiosk.sync.protocol import (
    BRANCH_NAMES_HEADER,
    branch_names_from_headers,
    branch_names_header,
)

NAMES = {"North": "Northside Library", "East": "Biblioteca del Este, Ñuñoa = 1%"}


def test_the_names_go_and_come_back_as_written() -> None:
    value = branch_names_header(NAMES)
    assert value.isascii()
    assert value.startswith("East=Biblioteca%20del%20Este%2C%20")
    assert branch_names_from_headers({BRANCH_NAMES_HEADER: value}) == NAMES
    assert branch_names_from_headers({}) is None


@pytest.mark.parametrize(
    "value",
    [
        "North",  # no name
        "=Northside",  # no code
        "No rth=Northside",  # not a code
        "North=%FF%FE",  # not UTF-8
        "North=",  # an empty name
        "North=%0A",  # a control character
        "North=" + "N" * 121,  # longer than a branch's name
    ],
)
def test_a_malformed_header_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=BRANCH_NAMES_HEADER):
        branch_names_from_headers({BRANCH_NAMES_HEADER: value})
