"""``[sip2] processes = 2`` (each with one handler thread): the real ``kiosk-central sip2
serve`` as a watching process
and two server processes taking turns at one port, on SQLite and PostgreSQL.

Devices connecting at once are spread over both (each connection's socket is found in
the process holding it, through /proc); one killed with SIGKILL drops only its own
devices, the others go on, and a new process takes its place; SIGTERM to the first ends
them all with exit 0 (the fixture checks it, and that the log holds no error)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.demo.library import GeneratedLibrary
from tests.central.sip2.conftest import ACCOUNT, PASSWORD, RunningSip2, Sip2Client, start_sip2

SC_STATUS = b"9900302.00\r"
DEVICES = 40


@pytest.fixture
def two_processes(
    database_url: str, tmp_path: Path, sip2_library: GeneratedLibrary
) -> Iterator[RunningSip2]:
    with start_sip2(
        database_url, tmp_path / "sip2", sip2_library, config="processes = 2\nhandler_threads = 1"
    ) as running:
        yield running


def server_processes(running: RunningSip2, count: int, timeout: float = 30) -> set[int]:
    """The watching process's children, once there are ``count`` of them."""
    path = Path(f"/proc/{running.process.pid}/task/{running.process.pid}/children")
    deadline = time.monotonic() + timeout
    while True:
        children = {int(pid) for pid in path.read_text().split()}
        if len(children) == count or time.monotonic() > deadline:
            return children
        time.sleep(0.05)


def established_on(pid: int, port: int) -> int:
    """How many of the server's TCP connections on ``port`` process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    held = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:
                held += 1
    return held


async def _log_in(host: str, port: int, count: int) -> list[Sip2Client]:
    def one() -> Sip2Client:
        client = Sip2Client(socket.create_connection((host, port), timeout=30))
        assert client.login(ACCOUNT, PASSWORD) == b"941\r"
        return client

    return list(await asyncio.gather(*(asyncio.to_thread(one) for _ in range(count))))


def test_two_processes_share_the_port_and_a_dead_one_is_replaced(
    two_processes: RunningSip2,
) -> None:
    running = two_processes
    first, second = sorted(server_processes(running, 2))
    devices = asyncio.run(_log_in(running.host, running.port, DEVICES))
    try:
        held = {pid: established_on(pid, running.port) for pid in (first, second)}
        assert sum(held.values()) == DEVICES, held
        assert all(held.values()), f"every device went to one process: {held}"
        assert all(device.ask(SC_STATUS).startswith(b"98") for device in devices)

        os.kill(first, signal.SIGKILL)
        # The killed process's devices find their connections closed, as after any
        # dropped connection; the other's are answered as before.
        dropped = [device for device in devices if device.is_closed(timeout=0.2)]
        for device in devices:
            device.sock.settimeout(30)
        assert len(dropped) == held[first]
        for device in devices:
            if device not in dropped:
                assert device.ask(SC_STATUS).startswith(b"98")

        replaced = server_processes(running, 2)
        assert second in replaced
        assert first not in replaced
        assert len(replaced) == 2
        # Those dropped reconnect and log in again, as devices do.
        again = asyncio.run(_log_in(running.host, running.port, len(dropped)))
        assert all(device.ask(SC_STATUS).startswith(b"98") for device in again)
        for device in again:
            device.close()
    finally:
        for device in devices:
            device.close()
    assert running.alive()
    assert f"SIP2 process {first} ended (killed by SIGKILL)" in running.log_text()
