"""``kiosk-central serve`` as a child process on a loopback port: for the demo, tests and
benchmarks, which need a real server they can also kill."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class CentralProcess:
    def __init__(
        self,
        database_url: str,
        *,
        port: int | None = None,
        workers: int = 1,
        log: Path | None = None,
        config: Path | None = None,
    ) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.workers = workers
        self.log = log  # where the server's own log goes; nowhere when None
        self.config = config  # a central.toml; the shipped defaults alone when None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> CentralProcess:
        log = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiosk.central.cli",
                "--db",
                self.database_url,
                *(("--config", str(self.config)) if self.config else ()),
                "serve",
                "--host",  # the address self.url names, whatever central.toml says
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            stdout=log,
            stderr=log,
        )
        if not isinstance(log, int):
            log.close()  # the child has its own copy
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kiosk-central exited with status {self.process.returncode}")
            try:
                if requests.get(f"{self.url}/v1/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"kiosk-central did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        """Ask it to finish what it is doing, then exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def kill(self) -> None:
        """kill -9: no chance to finish anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
