"""More than one SIP2 server process on one port (``[sip2] processes``).

Every handler in a process shares its interpreter lock: with fifty devices a request
waits for the others' Python as much as for the database. Several processes take turns
accepting from one listening socket, bound before they fork, so that ``--port 0`` means
one port and a connection waits in the backlog until one of them takes it. Each device
stays with the process that accepted it for the life of its connection, which is all a
SIP2 session needs: its login lives in the connection.

The first process only watches the others. A process that dies (a bug, the kernel's
out-of-memory killer) costs its own devices their connections, as a lost network
would, and is replaced; the devices reconnect and log in again, as they do after any
drop. Processes that keep dying end the server (exit 1) for systemd to restart and
report, rather than restarting for ever.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from types import FrameType

log = logging.getLogger(__name__)

BACKLOG = 1024  # devices reconnecting at once after the server restarts
RESTART_DELAY_S = 1.0
# More deaths than this within DEATH_WINDOW_S: something is wrong with every process.
MAX_DEATHS = 5
DEATH_WINDOW_S = 60.0


def listening_socket(host: str, port: int) -> socket.socket:
    """The one socket every process accepts from, on the first address ``host`` names."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _exit_code(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit {code}"


class Supervisor:
    """Forks ``count`` processes that each run ``work`` (returning an exit code) and
    replaces any that dies until SIGTERM or SIGINT, which it passes on to them."""

    def __init__(self, count: int, work: Callable[[], int]) -> None:
        self.count = count
        self.work = work
        self.children: set[int] = set()
        self.stopping = False
        self.deaths: deque[float] = deque()
        self.exit_code = 0

    def run(self, *, ready: Callable[[list[int]], None]) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        # What the processes share from here stays shared: the collector would otherwise
        # write to every object's header in each of them, copying the pages.
        gc.freeze()
        for _ in range(self.count):
            self._start()
        ready(sorted(self.children))
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            self.children.discard(pid)
            if self.stopping:
                continue
            log.warning(
                "SIP2 process %d ended (%s): its devices were dropped", pid, _exit_code(status)
            )
            if self._dying_too_often():
                log.error(
                    "SIP2 processes ended %d times within %.0f s: stopping the server",
                    len(self.deaths),
                    DEATH_WINDOW_S,
                )
                self.exit_code = 1
                self._stop(signal.SIGTERM, None)
                continue
            time.sleep(RESTART_DELAY_S)
            if not self.stopping:
                self._start()
        return self.exit_code

    def _start(self) -> None:
        pid = os.fork()
        if pid == 0:  # the new process: the server's own signal handling, then work
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                code = self.work()
            except BaseException:
                log.exception("SIP2 process %d failed", os.getpid())
            finally:
                logging.shutdown()
                os._exit(code)
        self.children.add(pid)
        log.info("SIP2 process %d started", pid)

    def _dying_too_often(self) -> bool:
        now = time.monotonic()
        self.deaths.append(now)
        while self.deaths and now - self.deaths[0] > DEATH_WINDOW_S:
            self.deaths.popleft()
        return len(self.deaths) > MAX_DEATHS

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        for pid in list(self.children):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
