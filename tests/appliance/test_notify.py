"""sd_notify over a real unix datagram socket, and the sync agent's use of it under
a systemd-like parent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.appliance.notify import SystemdNotifier
from kiosk.sync import last_sync


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    yield sock, path
    sock.close()


def test_a_manager_that_stopped_reading_never_stalls_the_service(
    listener: tuple[socket.socket, str],
) -> None:
    _, path = listener  # bound, never read: its queue fills after a few messages
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    sent: list[bool] = []
    pinging = threading.Thread(target=lambda: sent.extend(notifier.watchdog() for _ in range(50)))
    pinging.start()
    pinging.join(timeout=5)
    assert not pinging.is_alive(), "a watchdog ping waited on a full notify queue"
    assert sent[0] is True
    assert sent[-1] is False  # dropped, as sd_notify drops it
    assert notifier.stopping() is False


def test_each_message_reaches_the_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000"})
    assert notifier.enabled
    assert notifier.ready()
    assert notifier.watchdog()
    assert notifier.status("online;\nlast success 10:00")
    assert notifier.stopping()
    received = [sock.recv(4096).decode() for _ in range(4)]
    assert received == ["READY=1", "WATCHDOG=1", "STATUS=online; last success 10:00", "STOPPING=1"]
    assert notifier.watchdog_interval() == 15.0


def test_an_abstract_socket_address() -> None:
    name = f"kiosk-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(100) == b"READY=1"


def test_without_systemd_every_method_does_nothing() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    assert [
        notifier.ready(),
        notifier.watchdog(),
        notifier.status("x"),
        notifier.stopping(),
    ] == [False] * 4
    assert notifier.watchdog_interval() is None
    assert SystemdNotifier({"WATCHDOG_USEC": "nonsense"}).watchdog_interval() is None


def test_a_vanished_socket_is_reported_not_raised(tmp_path: Path) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert notifier.ready() is False


def test_the_sync_agent_is_ready_then_feeds_the_watchdog_then_stops(
    listener: tuple[socket.socket, str], kiosk_toml: Path
) -> None:
    sock, path = listener
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"}
    agent = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "sync", "--config", str(kiosk_toml)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        messages: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            messages.append(sock.recv(4096).decode())
            if messages.count("WATCHDOG=1") >= 5 and any(
                m.startswith("STATUS=online") for m in messages
            ):
                break
        assert messages[0] == "READY=1"
        assert messages.count("WATCHDOG=1") >= 5
        assert any(m.startswith("STATUS=online; last success ") for m in messages)
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=20) == 0
        while (message := sock.recv(4096).decode()) != "STOPPING=1":
            assert message.startswith(("WATCHDOG=1", "STATUS="))
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
    assert agent.stderr is not None
    assert "snapshot: 527 rows" in agent.stderr.read().decode()
    saved = last_sync.load(kiosk_toml.parent / "kiosk")
    assert saved is not None
    assert saved.ok
    assert saved.cursor is not None
