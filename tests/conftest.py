"""Suite-wide switches."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

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


# Folders whose test files share session fixtures too costly to make on two workers:
# tests/installed's files share one built wheel and the venv it is installed in.
TOGETHER = ("tests/installed/",)
# A few long tests each (builds, installs, benchmarks, kill loops): handed out first, so
# that none is left to the end for one worker while the others have finished.
LONG_FIRST = (
    "tests/installed/",
    "tests/test_benchmarks.py",
    "tests/appliance/test_disk_full.py",
    "tests/appliance/test_install.py",
    "tests/circulation/test_failures.py",
    "tests/store/test_privacy.py",
)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, absent without it
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` (scripts/test) as pytest-xdist does it, each test file's tests
    on one worker in their order (a module's server, browser or library is made once,
    and a module's later tests may read what its earlier ones did), but with the files
    of each folder in TOGETHER on one worker, and the files of LONG_FIRST handed out
    before the others (xdist hands out the files with the most tests first). Any other
    ``--dist`` is xdist's own."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped]  # noqa: PLC0415

    class LoadFileAndFolders(LoadFileScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return next((folder for folder in TOGETHER if path.startswith(folder)), path)

        def _assign_work_unit(self, node: Any) -> None:
            for scope in reversed(LONG_FIRST):
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return LoadFileAndFolders(config, log)
