"""Reading the kiosk's token file, which must be readable by the kiosk alone."""

from __future__ import annotations

import stat
from pathlib import Path


class TokenFileError(Exception):
    """The token file cannot be used; the message says what to do."""


def read_token(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise TokenFileError(f"{path}: cannot read the token file: {error.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TokenFileError(
            f"{path}: readable by other users (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
        )
    if not text:
        raise TokenFileError(
            f"{path}: is empty; put the token from `kiosk-central kiosk add` in it"
        )
    return text
