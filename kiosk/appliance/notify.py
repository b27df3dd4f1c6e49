"""A tiny client of systemd's notify protocol (``sd_notify``), without dependencies.

A unit with ``Type=notify`` sets ``NOTIFY_SOCKET``; the service tells systemd it is
ready, that it is still alive (``WatchdogSec=``: systemd restarts it when the pings
stop) and what it is doing. Outside systemd every method does nothing.

In ``kiosk.service`` the main process is the ``cage`` compositor and the kiosk is its
child, so the unit says ``NotifyAccess=all``; for the same reason ``WATCHDOG_PID``
(cage's) is not compared with this process's id.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class SystemdNotifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is a socket in the abstract namespace.
        self._address: str | None = (
            "\0" + address[1:] if address.startswith("@") else address
        ) or None
        try:
            usec = int(env.get("WATCHDOG_USEC", ""))
        except ValueError:
            usec = 0
        self._watchdog_seconds = usec / 1_000_000 if usec > 0 else None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *fields: str) -> bool:
        """Send ``KEY=value`` lines; False when not under systemd or the send failed."""
        if self._address is None:
            return False
        message = "\n".join(fields).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                # Never wait, as sd_notify does not: a manager that has stopped reading
                # (its queue holds ten messages) must not stall the service, least of
                # all in the signal handler that stops it.
                sock.sendto(message, socket.MSG_DONTWAIT, self._address)
        except BlockingIOError:
            log.debug("systemd's notify queue is full; %s dropped", fields[0].split("=")[0])
            return False
        except OSError as error:
            log.warning("cannot notify systemd: %s", error)
            return False
        return True

    def ready(self) -> bool:
        return self.notify("READY=1")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """A line ``systemctl status`` shows; one line, so newlines become spaces."""
        return self.notify("STATUS=" + " ".join(text.split()))

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def watchdog_interval(self) -> float | None:
        """Seconds between two ``watchdog()`` calls: half of ``WatchdogSec=``, as systemd
        advises; None when the unit has no watchdog."""
        return None if self._watchdog_seconds is None else self._watchdog_seconds / 2
