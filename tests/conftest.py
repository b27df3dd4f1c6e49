"""Suite-wide switches."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from tests.screens.xvfb import display

__all__ = ["display"]  # a real X server (Xvfb) for the tests that open a Kivy window


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``uinput`` need a writable /dev/uinput (real virtual input devices).

    Where there is none (containers, CI machines without the module) they are
    deselected, not skipped: the run reports them as not collected, and a machine
    that has /dev/uinput runs them with the rest.
    """
    if os.access("/dev/uinput", os.W_OK):
        return
    kept = [item for item in items if item.get_closest_marker("uinput") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture(autouse=True)
def root_logger_as_it_was() -> Iterator[None]:
    """A test that runs a command in this process may set up logging (a handler on the
    root logger, its level); it must not leak into the tests after it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
