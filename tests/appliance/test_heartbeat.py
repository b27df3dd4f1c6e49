"""The sync agent's heartbeat tells the server what staff need to know of the kiosk."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central.models import Kiosk
from kiosk.commands import main
from tests.central.conftest import Central


def test_the_heartbeat_tells_the_server_which_scanners_are_plugged_in(
    kiosk_toml: Path, central: Central
) -> None:
    primary, secondary = os.openpty()  # a real serial port stands in for the scanner
    port = os.ttyname(secondary)
    try:
        with kiosk_toml.open("a") as toml:
            toml.write(
                f"""
[[scanners.serial]]
port = "{port}"
name = "desk"

[[scanners.hid]]
device = "/dev/input/by-id/usb-Unplugged_Scanner-event-kbd"
name = "front"
"""
            )
        assert main(["sync", "--config", str(kiosk_toml), "--once"]) == 0
    finally:
        os.close(primary)
        os.close(secondary)
    with Session(central.engine) as session:
        kiosk = session.scalars(select(Kiosk).where(Kiosk.name == "kiosk-a")).one()
    assert kiosk.scanners == [
        "front /dev/input/by-id/usb-Unplugged_Scanner-event-kbd: absent",
        f"desk {port}: present",
    ]
    assert kiosk.journal_depth == 0
    assert kiosk.version
