"""Logs hold no patron names, card numbers or PINs, even at debug level.

The kiosk's terminal commands and its sync agent run against a real central server
with every logger at DEBUG, as ``log_level = "debug"`` would have them; everything
logged (by the kiosk, SQLAlchemy, urllib3, the server) is searched for each demo
patron's name and card number and the PINs typed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.commands import main
from tests.central.conftest import Central


@pytest.fixture
def quiet_again() -> Iterator[None]:
    """Put the root logger back as it was: --log-level changes it for the process."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("quiet_again")
def test_a_session_at_debug_level_logs_no_patron_data(
    kiosk_toml: Path,
    central: Central,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    data = str(kiosk_toml.parent / "kiosk")
    debug = ["--log-level", "debug"]
    adult = next(c for c in central.library.cards if c["situation"] == "adult, nothing on loan")
    other = next(c for c in central.library.cards if c["situation"] == "has loans")
    wrong_pin = "0000" if adult["pin"] != "0000" else "1111"
    book = central.library.samples["FICTION"]["available"][0]
    circ = [*debug, "circ", "--data", data]

    assert main([*debug, "sync", "--config", str(kiosk_toml), "--once"]) == 0
    assert (
        main([*circ, "checkout", "--card", adult["card"], "--pin", adult["pin"], "--item", book])
        == 0
    )
    assert main([*circ, "account", "--card", adult["card"], "--pin", adult["pin"]]) == 0
    assert main([*circ, "account", "--card", other["card"], "--pin", wrong_pin]) == 1
    assert main([*circ, "account", "--card", "29999999999990", "--pin", "1234"]) == 1
    assert main([*circ, "return", "--item", book]) == 0
    assert main([*debug, "sync", "--config", str(kiosk_toml), "--once"]) == 0
    screen = capsys.readouterr()

    logs = caplog.text + screen.err
    # The search is over real logs: debug lines of several libraries and the agent's own.
    assert len(caplog.records) > 20
    assert {"urllib3.connectionpool", "kiosk.sync.agent"} <= {r.name for r in caplog.records}
    # The checkout, its return, and the wrong PIN (journaled for the server to count).
    assert "synced: pushed 3 (0 already there, 0 for staff)" in logs
    assert f"{adult['first_name']}: 1 on loan" in screen.out  # the screen may name; logs may not

    leaks = []
    for patron in central.library.patrons:
        for secret in (patron["card"], f"{patron['first_name']} {patron['surname']}"):
            if secret in logs:
                leaks.append(secret)
        if re.search(rf"\b{re.escape(patron['surname'])}\b", logs):
            leaks.append(patron["surname"])
    for word in (adult["first_name"], other["first_name"]):
        if re.search(rf"\b{re.escape(word)}\b", logs):
            leaks.append(word)
    for pin in {adult["pin"], wrong_pin, "1234", "29999999999990"}:
        if re.search(rf"(?<![\d.]){pin}(?![\d.])", logs):
            leaks.append(pin)
    assert leaks == []
