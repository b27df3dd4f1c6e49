"""The window's settings, made before Kivy is first imported: Kivy reads its
environment and its Config once, at import."""

from __future__ import annotations

import os
from pathlib import Path


def prepare_kivy(size: tuple[int, int], *, fullscreen: bool, home: Path) -> None:
    """Kivy reads its settings when first imported: set them all before that."""
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_HOME", str(home))
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    # Kivy keeps to its own logger and leaves standard error (the journal) to ours.
    os.environ.setdefault("KIVY_LOG_MODE", "MIXED")
    from kivy.config import Config  # noqa: PLC0415

    width, height = size
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "0" if fullscreen else "1")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,multitouch_on_demand")
