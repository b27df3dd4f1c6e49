"""kiosk sync on a data directory it cannot use says why, without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_damaged_journal_stops_kiosk_sync_with_the_reason(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "journal.db").write_bytes(b"this is not a database" * 100)
    token = tmp_path / "token"
    token.write_text("t" * 43 + "\n")
    token.chmod(0o600)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk",
            "sync",
            "--once",
            "--data",
            str(data),
            "--server",
            "http://127.0.0.1:9",
            "--token-file",
            str(token),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert run.returncode == 1
    assert run.stderr.startswith("kiosk sync: ")
    assert "journal.db" in run.stderr
    assert "Traceback" not in run.stderr
    assert (data / "journal.db").read_bytes().startswith(b"this is not a database")
