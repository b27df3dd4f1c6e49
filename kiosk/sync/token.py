"""Reading the kiosk's token file, which must be readable by the kiosk alone."""

from __future__ import annotations

from pathlib import Path

from kiosk.common.secrets import KIOSK_TOKEN, SecretFileError, read_secret
from kiosk.sync.errors import SyncError


class TokenFileError(SyncError):
    """The token file cannot be used; the message says what to do."""


def read_token(path: Path) -> str:
    """The kiosk's token for kiosk-central, from a file only the kiosk user may read."""
    try:
        return read_secret(path, KIOSK_TOKEN)
    except SecretFileError as error:
        raise TokenFileError(str(error)) from None
