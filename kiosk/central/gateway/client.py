"""Our side of a SIP2 connection to the library's own system: the device's side, spoken
with the server's own codec (``sip2.codec``), one message at a time.

A connection is one object (as pyserial's ``serial.threaded`` keeps a protocol object per
connection): it opens, logs in (93) and asks; whatever ends it (a refused connection, a
reset, an answer that does not come within the timeout, garbage) is an ordinary event,
raised as :class:`UpstreamDown` and the connection is closed, never a crash. Nothing here
is logged: messages hold patrons' cards.
"""

from __future__ import annotations

import socket
import ssl
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from kiosk.central.config.model import UpstreamSection
from kiosk.central.errors import CentralError
from kiosk.central.sip2 import codec

_R = TypeVar("_R", bound=codec.Response)
RESENDS = 2  # how many times a message the upstream asks again for (96) is sent again
MAX_ANSWER_BYTES = 1 << 16  # an answer longer than this is garbage, not SIP2


class UpstreamDown(CentralError):
    """The upstream cannot be reached, or stopped answering as SIP2 should; the message
    says why, without anything a message carried."""


class Unsendable(CentralError):
    """A transaction SIP2 cannot carry as it is (a field the codec refuses): for staff,
    never a reason to stop the relay."""


@dataclass(frozen=True, slots=True)
class Login:
    """Who we are to the upstream: ``[upstream]``'s settings and the password read from
    its file."""

    settings: UpstreamSection
    password: str = ""

    def __repr__(self) -> str:  # the password never shows
        return f"Login({self.settings.user!r}@{self.settings.host}:{self.settings.port})"


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """The upstream's certificate checked against ``ca_file``, else this machine's own
    authorities."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


class Connection:
    """One logged-in connection to the upstream."""

    def __init__(
        self, login: Login, timeout: float | None = None, deadline: float | None = None
    ) -> None:
        self.login = login
        self.settings = login.settings
        self.timeout = self.settings.answer_timeout_seconds if timeout is None else timeout
        # time.monotonic() by which everything must be done (a patron waiting), or None.
        self.deadline = deadline
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.sequence = 0

    # --- lifetime ----------------------------------------------------------------------

    def open(self) -> None:
        """Connect and log in; raises :class:`UpstreamDown`, the connection closed."""
        settings = self.settings
        try:
            sock = socket.create_connection((settings.host, settings.port), timeout=self._wait())
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if settings.tls:
                sock = tls_context(settings.tls_ca_file).wrap_socket(
                    sock, server_hostname=settings.host
                )
        except (OSError, ssl.SSLError) as error:
            raise UpstreamDown(
                f"cannot connect to {settings.host}:{settings.port}: {error}"
            ) from None
        self.sock, self.buffer = sock, b""
        answer = self.ask(
            codec.Login(
                uid_algorithm="0",
                pwd_algorithm="0",
                login_user_id=settings.user,
                login_password=self.login.password,
                location_code=settings.location or None,
            ),
            codec.LoginResponse,
        )
        if not answer.ok:
            self.close()
            raise UpstreamDown(f"the login {settings.user!r} was refused (check [upstream])")

    @property
    def is_open(self) -> bool:
        return self.sock is not None

    def close(self) -> None:
        if self.sock is not None:
            with suppress(OSError):
                self.sock.close()
        self.sock = None
        self.buffer = b""

    def __enter__(self) -> Connection:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- one message ---------------------------------------------------------------------

    def ask(self, request: codec.Request, answer: type[_R]) -> _R:
        """Send ``request`` and read its answer, of type ``answer``."""
        if self.sock is None:
            raise UpstreamDown("not connected")
        sequence = self.sequence
        self.sequence = (self.sequence + 1) % 10
        charset = self.settings.charset
        try:
            data = codec.frame(request, sequence=sequence, charset=charset)
        except codec.Sip2Error as error:
            raise Unsendable(f"it cannot be written as a SIP2 {request.NAME}: {error}") from None
        for _ in range(RESENDS + 1):
            self._send(data)
            response = self._read()
            if isinstance(response, codec.RequestSCResend):
                continue
            if not isinstance(response, answer):
                raise self._lost(f"answered {request.NAME} with {response.NAME}")
            if response.sequence is not None and response.sequence != sequence:
                raise self._lost(f"answered {request.NAME} out of turn")
            return response
        raise self._lost(f"asked for {request.NAME} again {RESENDS + 1} times")

    def _wait(self) -> float:
        """How long the next step may wait: the timeout, or what is left of the deadline."""
        if self.deadline is None:
            return self.timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self._lost("past its time budget")
        return min(self.timeout, left)

    def _send(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.settimeout(self._wait())
        try:
            self.sock.sendall(data)
        except OSError as error:
            raise self._lost(f"the connection dropped: {error}") from None

    def _read(self) -> codec.Response:
        assert self.sock is not None
        while b"\r" not in self.buffer:
            self.sock.settimeout(self._wait())
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise self._lost(f"no answer within {self.timeout:g} s") from None
            except OSError as error:
                raise self._lost(f"the connection dropped: {error}") from None
            if not chunk:
                raise self._lost("the upstream closed the connection")
            self.buffer += chunk
            if len(self.buffer) > MAX_ANSWER_BYTES:
                raise self._lost("an answer too long to be SIP2")
        raw, _, self.buffer = self.buffer.partition(b"\r")
        raw = raw.strip(b"\n\x00")
        if raw[-6:-4] == b"AZ" and not codec.verify_checksum(raw):
            # Garbled on the way: whether it said done is unknown, as if it were lost
            # (the relay asks the item's state before sending again).
            raise self._lost("an answer garbled on the way (its checksum is wrong)")
        try:
            return codec.parse_response(raw.decode(self.settings.charset, errors="replace"))
        except codec.Sip2Error:
            # Not the codec's words: they may quote a field, and this goes to the log.
            raise self._lost("an answer that is not SIP2") from None

    def _lost(self, why: str) -> UpstreamDown:
        """The connection closed, and the error to raise."""
        self.close()
        return UpstreamDown(why)
