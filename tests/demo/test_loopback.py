"""The loopback demo: a central server with the demo library, this kiosk registered, and
the staff console with its demo account and the patron portal, built by function
calls."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from kiosk.demo.loopback import DEMO_CONSOLE_PASSWORD, DEMO_CONSOLE_USER, prepare_demo
from tests.central.web.conftest import Console, csrf_token


def test_the_demo_serves_its_library_to_the_kiosk_the_console_and_the_portal(
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
        # Issue 17's demo: the cards for what the kiosk says to a patron, on screen and
        # in the terminal, and a copy kept for another patron to place a hold through.
        said = "\n".join(library.lines())
        for label in ("email on file)", "(has a hold ready for pickup)", "(membership ends soon)"):
            assert label in said
        kept = library.kept_for_another()
        assert kept is not None
        assert f"held for another: {kept}" in said
        assert any(kept in kind.get("on_hold_shelf", []) for kind in cards["items"].values())
        assert any("email on file" in line for line in library.more_cards())
        line, portal_line = library.console_lines()
        assert f"{library.server_url}/staff/" in line
        assert DEMO_CONSOLE_USER in line
        assert f"{library.server_url}/my/" in portal_line
        # A demo card and its PIN sign in to the patron portal.
        card = next(card for card in cards["cards"] if card["situation"] == "has overdue loans")
        patron = requests.Session()
        token = csrf_token(patron, library.server_url, "/my/login")
        answer = patron.post(
            f"{library.server_url}/my/login",
            data={"card": card["card"], "pin": card["pin"], "csrf_token": token},
            timeout=30,
        )
        assert answer.status_code == 200
        assert answer.url == f"{library.server_url}/my/"
        assert "Overdue" in answer.text
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
