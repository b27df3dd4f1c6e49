"""The agent verifies the server's certificate: by the system's CAs, or by a CA file
staff configure for a library's own certificate authority; never not at all."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from kiosk.central.api.app import create_app
from kiosk.central.process import free_port
from kiosk.store.store import Store
from kiosk.sync.agent import SyncAgent, SyncError
from tests.central.conftest import Central


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, as a library's own CA would issue."""
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_url(central: Central, certificate: tuple[Path, Path]) -> Iterator[str]:
    cert, key = certificate
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(central.engine, central.clock.now),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the HTTPS test server did not start"
        time.sleep(0.02)
    yield f"https://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_a_certificate_no_trusted_authority_signed_is_refused(
    central: Central, https_url: str, tmp_path: Path
) -> None:
    agent = SyncAgent(
        Store.open(tmp_path / "k"), https_url, central.tokens["kiosk-a"], central.clock
    )
    with pytest.raises(SyncError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        agent.sync_once()
    assert agent.status.connectivity == "offline"


def test_the_librarys_own_ca_file_is_trusted(
    central: Central, https_url: str, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    agent = SyncAgent(
        Store.open(tmp_path / "k"),
        https_url,
        central.tokens["kiosk-a"],
        central.clock,
        ca_file=certificate[0],
    )
    report = agent.sync_once()
    assert report.snapshot_rows > 300
    assert agent.status.connectivity == "online"
