"""A file uploaded through a console form (the Imports and Policy pages), read without
ever holding an unbounded body.

The order is the point: the role is checked before a byte of the body is read; the
length the browser declares is checked next, and a body too long is read and thrown
away (never kept, in memory or on disk) so that the browser gets the page that says so
rather than a broken connection; only then is the form parsed, its file spooled by
Starlette (in memory up to 1 MB, then to a temporary file), and its CSRF token checked.
A browser always declares the length of a form it posts; a body without one is refused.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Annotated

from fastapi import Depends, Request
from fastapi_csrf_protect import CsrfProtect
from starlette.datastructures import UploadFile

from kiosk.central.web.deps import Admin, csrf_checked, csrf_protect

MB = 1024 * 1024
# Room in a body for the form's other fields and the multipart boundaries.
SLACK = 64 * 1024
_NAME_BYTES = 120


@dataclass(frozen=True, slots=True)
class Upload:
    """What a form with one file brought: its text fields, and the file spooled by
    Starlette (``None`` when none was chosen). ``refused`` says why nothing was read:
    ``"too large"`` (over ``limit`` bytes) or ``"no length"``."""

    limit: int
    fields: dict[str, str] = field(default_factory=dict)
    file: UploadFile | None = None
    name: str = ""
    refused: str = ""

    @property
    def empty(self) -> bool:
        return self.file is None or not self.file.size

    @contextmanager
    def saved(self) -> Iterator[Path]:
        """The file copied to a private temporary folder under its own (safe) name, so
        that what reads it reports problems as ``name:line``; removed afterwards."""
        if self.file is None:
            raise ValueError("no file was uploaded")
        with tempfile.TemporaryDirectory(prefix="kiosk-upload-") as folder:
            path = Path(folder) / self.name
            self.file.file.seek(0)
            with path.open("xb") as out:
                shutil.copyfileobj(self.file.file, out)
            yield path


def safe_name(filename: str | None, fallback: str) -> str:
    """The name a browser gave the file, without any folder, control character or
    excess length: a name to show and to put in a private folder, never a path."""
    name = PureWindowsPath(filename or "").name  # either kind of slash
    name = "".join(character for character in name if character.isprintable()).strip()
    name = name.encode()[:_NAME_BYTES].decode(errors="ignore")
    return fallback if name in ("", ".", "..") else name


async def _drain(request: Request) -> None:
    """Read the body to its end and keep none of it."""
    async for _chunk in request.stream():
        pass


def uploaded(limit: int, fallback: str) -> Callable[..., AsyncIterator[Upload]]:
    """A dependency reading an administrator's form with one file of at most ``limit``
    bytes; the form's CSRF token is checked (``CsrfRefused``) unless the body was
    refused unread. ``fallback`` names a file the browser sent without a name."""

    async def read(
        request: Request,
        _signed_in: Admin,
        csrf: Annotated[CsrfProtect, Depends(csrf_protect)],
    ) -> AsyncIterator[Upload]:
        length = request.headers.get("content-length", "")
        if not (length.isascii() and length.isdigit()):  # not "²", which int() refuses
            yield Upload(limit, refused="no length")
            return
        if int(length) > limit + SLACK:
            await _drain(request)
            yield Upload(limit, refused="too large")
            return
        form = await request.form(max_files=1, max_fields=8)
        try:
            await csrf_checked(request, csrf)
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
            sent = form.get("file")
            file = sent if isinstance(sent, UploadFile) and sent.filename else None
            if file is not None and file.size is not None and file.size > limit:
                yield Upload(limit, fields, refused="too large")
                return
            name = safe_name(file.filename if file else None, fallback)
            yield Upload(limit, fields, file, name)
        finally:
            await form.close()

    return read


def too_large_text(limit: int) -> str:
    return f"The selected file must be smaller than {limit // MB} MB"


def describe(upload: Upload, what: str) -> str | None:
    """What is wrong with the upload before its content is read, in the Design System's
    words, or None when there is a file to read."""
    if upload.refused == "too large":
        return too_large_text(upload.limit)
    if upload.refused:
        return "The file could not be read: upload it again from this page"
    if upload.file is None:
        return f"Select {what}"
    if upload.empty:
        return "The selected file is empty"
    return None
