"""What the screens of an installed kiosk learn from the sync agent, another process."""

from __future__ import annotations

from pathlib import Path

from kiosk.app import Kiosk, KioskOptions
from kiosk.screens.viewdata import MessageView
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
