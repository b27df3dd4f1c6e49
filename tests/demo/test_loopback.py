"""The loopback demo: a central server with the demo library, this kiosk registered, and
the staff console with its demo account, built by function calls."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from kiosk.demo.loopback import DEMO_CONSOLE_PASSWORD, DEMO_CONSOLE_USER, prepare_demo
from tests.central.web.conftest import Console


def test_the_demo_serves_its_library_to_the_kiosk_and_the_console_to_staff(
    tmp_path: Path,
) -> None:
    library = prepare_demo(tmp_path)
    try:
        assert (tmp_path / "token").stat().st_mode & 0o777 == 0o600
        cards = json.loads((tmp_path / "demo-cards.json").read_text())
        assert any(card["situation"] == "has overdue loans" for card in cards["cards"])
        snapshot = requests.get(
            f"{library.server_url}/v1/snapshot",
            headers={"Authorization": f"Bearer {library.token}"},
            timeout=30,
        )
        assert snapshot.status_code == 200, snapshot.text[:200]
        (line,) = library.console_lines()
        assert f"{library.server_url}/staff/" in line
        assert DEMO_CONSOLE_USER in line
        console = Console(library.server_url, "", tmp_path / "unused.log")
        staff = console.login(DEMO_CONSOLE_USER, DEMO_CONSOLE_PASSWORD)
        kiosks = staff.get(f"{library.server_url}/staff/kiosks", timeout=10)
        assert kiosks.status_code == 200
        assert "demo-kiosk" in kiosks.text
    finally:
        library.central.stop()


def test_a_demo_folder_is_built_once_and_its_account_made_once(tmp_path: Path) -> None:
    first = prepare_demo(tmp_path)
    first.central.stop()
    token = (tmp_path / "token").read_text()
    again = prepare_demo(tmp_path)
    try:
        assert (tmp_path / "token").read_text() == token
        assert again.token == token.strip()
    finally:
        again.central.stop()
