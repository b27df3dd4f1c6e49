"""Secret files: read only when no one but their owner can read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.common import KioskError
from kiosk.common.secrets import KIOSK_TOKEN, SecretFile, SecretFileError, read_secret

MAIL = SecretFile("password file", "put the mail server's password in it")


def secret(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "secret"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_secret_without_its_surrounding_blanks(tmp_path: Path) -> None:
    assert read_secret(secret(tmp_path, "  s3cret\n"), KIOSK_TOKEN) == "s3cret"
    assert read_secret(secret(tmp_path, "pw\n", 0o400), MAIL) == "pw"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o610])
def test_a_file_others_may_read_is_refused_with_the_command_that_fixes_it(
    tmp_path: Path, mode: int
) -> None:
    path = secret(tmp_path, "s3cret\n", mode)
    with pytest.raises(SecretFileError) as refused:
        read_secret(path, KIOSK_TOKEN)
    assert str(refused.value) == (
        f"{path}: readable by other users (mode {mode:o}); run: chmod 600 {path}"
    )
    assert "s3cret" not in str(refused.value)


def test_an_empty_or_missing_file_says_what_to_put_there(tmp_path: Path) -> None:
    path = secret(tmp_path, " \n")
    with pytest.raises(KioskError, match=r"is empty; put the mail server's password in it$"):
        read_secret(path, MAIL)
    path.unlink()
    with pytest.raises(SecretFileError) as refused:
        read_secret(path, KIOSK_TOKEN)
    assert str(refused.value) == f"{path}: cannot read the token file: No such file or directory"


def test_a_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"\xff\xfe\x00")
    path.chmod(0o600)
    with pytest.raises(SecretFileError, match="is not text"):
        read_secret(path, KIOSK_TOKEN)
