"""What the screens of an installed kiosk learn from the sync agent, another process."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kiosk.appliance.kiosk_run import Kiosk, KioskOptions
from kiosk.devices.settings import ScannerSettings, SerialScannerSettings
from kiosk.session.viewdata import MessageView
from kiosk.store.store import Store
from kiosk.sync import last_sync


def test_the_out_of_service_screen_shows_the_agents_snapshot_percentage(tmp_path: Path) -> None:
    kiosk = Kiosk(KioskOptions(data_dir=tmp_path, size=(800, 480), fullscreen=False))
    assert kiosk.sync is None  # installed: kiosk-sync runs in its own service
    assert kiosk.health().progress is None
    last_sync.save_progress(tmp_path, 37, kiosk.clock.now())
    health = kiosk.health()
    assert (health.cause, health.progress) == ("mirror_empty", 37)
    kiosk.flow.check_health(force=True)
    view = kiosk.flow.frame().view
    assert isinstance(view, MessageView)
    assert view.detail.endswith("Loading: 37 %")
    last_sync.clear_progress(tmp_path)
    assert kiosk.health().progress is None


def test_with_no_scanner_plugged_in_the_kiosk_is_out_of_service_until_one_is(
    store: Store, tmp_path: Path
) -> None:
    port = tmp_path / "scanner"  # where udev's by-id link would appear
    scanner = SerialScannerSettings(port=str(port), name="desk")
    kiosk = Kiosk(
        KioskOptions(
            data_dir=store.directory,
            size=(800, 480),
            fullscreen=False,
            scanners=ScannerSettings(serial=(scanner,), reopen_max_seconds=0.2),
        )
    )
    kiosk.start()
    primary, secondary = os.openpty()  # a real serial port, plugged in below
    try:
        assert kiosk.health().cause == "no_scanner"
        port.symlink_to(os.ttyname(secondary))
        deadline = time.monotonic() + 10
        while kiosk.health().cause is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert kiosk.health().cause is None  # back in service by itself
    finally:
        kiosk.stop()
        os.close(primary)
        os.close(secondary)
