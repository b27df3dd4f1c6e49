"""The wire schemas refuse what a database could not store, before the server sees it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kiosk.sync.protocol import Heartbeat

GOOD = {
    "version": "1.0",
    "journal_depth": 0,
    "oldest_pending": None,
    "last_error": None,
    "scanners": [],
    "disk_free_mb": 1,
}


@pytest.mark.parametrize(
    ("field", "value"),
    [("version", "1\x00"), ("last_error", "bad\x00text"), ("scanners", ["usb\x00"])],
)
def test_a_heartbeat_with_a_nul_character_is_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match="NUL"):
        Heartbeat.model_validate({**GOOD, field: value})


def test_an_ordinary_heartbeat_is_taken() -> None:
    beat = Heartbeat.model_validate({**GOOD, "last_error": "cannot reach the server"})
    assert beat.last_error == "cannot reach the server"
