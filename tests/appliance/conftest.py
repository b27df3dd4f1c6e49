"""A real central server (SQLite, loopback) and a kiosk's config and data beside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.central.conftest import Central, running_central


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    with running_central(f"sqlite:///{tmp_path / 'central.db'}") as running:
        yield running


@pytest.fixture
def kiosk_toml(tmp_path: Path, central: Central) -> Path:
    """A site's kiosk.toml for kiosk-a of ``central``: data folder, private token."""
    (tmp_path / "kiosk").mkdir()
    token = tmp_path / "token"
    token.write_text(central.tokens["kiosk-a"] + "\n")
    token.chmod(0o600)
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f"""\
[kiosk]
name = "kiosk-a"
data_dir = "kiosk"

[server]
url = "{central.url}"
token_file = "token"
"""
    )
    return path
