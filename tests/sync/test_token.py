"""The kiosk's token file: one of sync's errors when it cannot be used."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.common import KioskError
from kiosk.sync.agent import SyncError as AgentSyncError
from kiosk.sync.errors import SyncError
from kiosk.sync.token import TokenFileError, read_token


def test_the_token_is_read_from_a_private_file(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("abc123\n")
    token.chmod(0o600)
    assert read_token(token) == "abc123"


def test_a_token_file_others_may_read_is_a_sync_error_saying_the_fix(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("abc123\n")
    token.chmod(0o644)
    with pytest.raises(TokenFileError) as refused:
        read_token(token)
    assert isinstance(refused.value, SyncError)
    assert isinstance(refused.value, KioskError)
    assert str(refused.value) == (
        f"{token}: readable by other users (mode 644); run: chmod 600 {token}"
    )


def test_the_agents_errors_are_under_syncs_one_root() -> None:
    assert AgentSyncError is SyncError
    assert issubclass(SyncError, KioskError)
