"""Secret files: a token or a password kept in a file of its own that only its owner reads.

A secret stays out of the settings file (which staff show, copy and paste into
tickets): the settings name the file, and :func:`read_secret` reads it, refusing a
file other users could read with the command that fixes it. The kiosk keeps its token
for kiosk-central this way; kiosk-central keeps its mail server's password the same way.
A secret held in memory is a :class:`Secret`, which shows itself only as :data:`MASK`.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.common import KioskError


@dataclass(frozen=True, slots=True)
class SecretFile:
    """A kind of secret file, as the messages about it name it."""

    name: str  # "token file"
    filling: str  # what to do with an empty one: "put the token from ... in it"


KIOSK_TOKEN = SecretFile("token file", "put the token from `kiosk-central kiosk add` in it")

# How a secret is shown anywhere a person reads it (``config show``, a repr, a log line).
MASK = "********"


@dataclass(frozen=True, slots=True)
class Secret:
    """A value that is never shown: ``str()`` and ``repr()`` give ``********``."""

    value: str = field(repr=False)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __str__(self) -> str:
        return MASK if self.value else ""

    def __repr__(self) -> str:
        return f"Secret({MASK!r})" if self.value else "Secret('')"


class SecretFileError(KioskError):
    """A secret file cannot be used; the message names the file and says what to do."""


def read_secret(path: Path, kind: SecretFile) -> str:
    """The secret in ``path``, without surrounding blanks.

    Raises :class:`SecretFileError` when the file cannot be read, when anyone but its
    owner may read it (the message gives the ``chmod`` that fixes it) or when it is empty.
    """
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise SecretFileError(f"{path}: cannot read the {kind.name}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise SecretFileError(f"{path}: is not text; {kind.filling}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretFileError(
            f"{path}: readable by other users (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
        )
    if not text:
        raise SecretFileError(f"{path}: is empty; {kind.filling}")
    return text


__all__ = ["KIOSK_TOKEN", "MASK", "Secret", "SecretFile", "SecretFileError", "read_secret"]
