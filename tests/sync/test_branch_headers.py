"""The Kiosk-Branches header (issue 21): the library's branch codes as a kiosk reads them."""

from __future__ import annotations

import pytest

from kiosk.sync.protocol import BRANCHES_HEADER, branches_from_headers


def test_the_codes_are_read_and_an_absent_header_is_none() -> None:
    assert branches_from_headers({BRANCHES_HEADER: "EAST,Main,NORTH"}) == frozenset(
        {"EAST", "Main", "NORTH"}
    )
    assert branches_from_headers({}) is None  # a server from before the header


@pytest.mark.parametrize("value", ["", "Main,", "Main,North side", "Main,Nörth"])
def test_a_malformed_code_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="Kiosk-Branches names no branch code"):
        branches_from_headers({BRANCHES_HEADER: value})
