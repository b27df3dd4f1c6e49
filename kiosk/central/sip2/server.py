"""The SIP2 server: one asyncio task per device connection, over TCP or TLS.

Each connection is a :class:`Connection`: it reads bytes up to a CR (a LF or CRLF is
taken too), checks and parses each message with ``codec`` and answers it, one at a
time, in the order sent. What the connection itself answers:

- 99 SC Status: 98 ACS Status, before login too (devices ask it first). Its supported
  messages (BX) are what the server answers: 93, 97, 99 and the handlers' ``SUPPORTED``.
- 93 Login: 94, ok when the account's password matches and it is not disabled
  (``accounts.login``). A failed login leaves the connection logged out; the third on
  one connection closes it.
- 97 Request ACS Resend: our last answer again, byte for byte (a 96 when there is none).
- anything else before a login succeeded: the connection is closed, unanswered (a 96
  would have the device send the same again, forever).
- a message whose AZ checksum is wrong, that cannot be read or that holds a NUL
  (NULs around it are dropped): 96 Request SC Resend.
- a message longer than ``max_message_bytes``: 96, and the connection closed.

Every other message goes to ``kiosk.central.sip2.handlers.answer`` in a thread of a
pool of ``[sip2] handler_threads`` (within the database's pool of connections), so
that any number of idle connections costs no thread and many busy ones wait for a
thread in turn rather than fail. A connection silent for ``idle_timeout`` is closed;
so is one whose device has not read its answers for as long (its writes would
otherwise pile up in memory).
A disconnect, a reset, noise or a handler's bug ends that connection alone, logged
with the peer and the account, never with a card, a name or a PIN.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import ssl
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from kiosk.central.circulation.policy import PolicyCache
from kiosk.central.config.model import CentralConfig
from kiosk.central.gateway.patrons import patron_check
from kiosk.central.models import Sip2Account
from kiosk.central.sip2 import accounts, codec, handlers
from kiosk.central.sip2.device import CHECKIN, CHECKOUT, RENEW, Device, Sip2Settings
from kiosk.common.pins import return_hash_memory_after_each_pin

log = logging.getLogger("kiosk.central.sip2")

Answer = Callable[
    [sessionmaker[Session], PolicyCache, Device, codec.Request, datetime], codec.Response
]
T = TypeVar("T")

# What the connection answers itself, whatever the handlers do.
OWN = frozenset({"93", "97", "99"})
MAX_FAILED_LOGINS = 3  # on one connection; then it is closed
RECHECK_SECONDS = 60.0  # how often a logged-in account is looked at again (disabled?)
# The 98's advice to a device: wait 10 s for an answer before sending again, 3 times.
TIMEOUT_PERIOD = 100  # tenths of a second
RETRIES_ALLOWED = 3
READ_CHUNK = 65536
CLOSE_SECONDS = 5.0  # for what is written to go out once a connection is closing


@dataclass(frozen=True, slots=True)
class Limits:
    idle_timeout: float = 600.0  # seconds without a message, or without reading ours
    max_message_bytes: int = 4096


def settings_of(config: CentralConfig) -> Sip2Settings:
    """What answers need of ``central.toml``."""
    sip2 = config.sip2
    return Sip2Settings(
        charset=sip2.charset,
        institution_id=sip2.institution_id,
        library_name=config.library.name,
        currency=config.library.currency,
        time_zone=config.library.zone(),
        hold_shelf_bin=sip2.hold_shelf_bin,
        shelf_bin=sip2.shelf_bin,
        staff_bin=sip2.staff_bin,
        patron_check=patron_check(config),
    )


def limits_of(config: CentralConfig) -> Limits:
    return Limits(
        idle_timeout=config.sip2.idle_timeout_seconds,
        max_message_bytes=config.sip2.max_message_bytes,
    )


def tls_context(certificate: Path, key: Path) -> ssl.SSLContext:
    """A server context for the certificate and its key (TLS 1.2 at least)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    return context


class Closing(Exception):
    """End this connection: after sending what was written, unless ``abort``."""

    def __init__(self, reason: str, *, abort: bool = False) -> None:
        super().__init__(reason)
        self.abort = abort


def _terminator(buffer: bytearray) -> int:
    """Where the first CR or LF in ``buffer`` is; -1 when there is none."""
    found = [at for at in (buffer.find(b"\r"), buffer.find(b"\n")) if at >= 0]
    return min(found, default=-1)


def _without_value(message: str) -> str:
    """What the codec refused in a handler's answer, without the value it quotes (which
    may be a patron's name): "the language must be 3 printable ASCII characters"."""
    detail = message.split(": ", 1)[-1]  # after "message 24 (Patron Status Response)"
    for cut in (", not ", " not ", ": "):
        detail = detail.split(cut, 1)[0]
    return detail


def _where(error: BaseException) -> str:
    """The traceback's frames alone: an exception's message may quote a patron's data."""
    return "".join(traceback.format_tb(error.__traceback__))


class Sip2Server:
    """The SIP2 service: the settings, the database and the threads every connection
    shares. ``now`` is the library's clock (as the web app's ``state.now``)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Sip2Settings,
        *,
        limits: Limits | None = None,
        now: Callable[[], datetime],
        workers: int = 4,
        answer: Answer | None = handlers.answer,
        supported: frozenset[str] = handlers.SUPPORTED,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.limits = limits or Limits()
        self.now = now
        self.tls = tls
        self.policies = PolicyCache()
        self.workers = workers
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sip2")
        self.answer = answer  # None: every other message is answered 96
        self.supported = OWN | (supported & frozenset(codec.SUPPORTED_ORDER))
        self.connections: dict[asyncio.Task[None], Connection] = {}
        self.server: asyncio.Server | None = None

    async def run_in_thread(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, function, *args)

    async def start(
        self, host: str, port: int, *, sock: socket.socket | None = None
    ) -> asyncio.Server:
        """Listen on ``host`` and ``port``, or accept from ``sock``, bound already (the
        socket several processes share)."""
        if sock is not None:
            self.server = await asyncio.start_server(
                self.connected, sock=sock, ssl=self.tls, limit=READ_CHUNK
            )
        else:
            self.server = await asyncio.start_server(
                self.connected, host, port, ssl=self.tls, limit=READ_CHUNK
            )
        return self.server

    async def connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        connection = Connection(self, reader, writer)
        if task is not None:
            self.connections[task] = connection
        try:
            await connection.run()
        finally:
            if task is not None:
                self.connections.pop(task, None)

    async def close(self) -> None:
        """Stop listening, end every connection, wait for handlers that are running."""
        if self.server is not None:
            self.server.close()
        # Each connection is ended by cutting its transport, so that it finishes as any
        # lost connection does. Cancelling its task instead was not enough on Python
        # 3.11: wait_for can swallow a cancel, and the connection then outlived the
        # server's close by its idle timeout. A task still running after that is
        # cancelled all the same.
        for connection in list(self.connections.values()):
            connection.stopping = True
            connection.writer.transport.abort()
        if self.connections:
            _done, pending = await asyncio.wait(list(self.connections), timeout=CLOSE_SECONDS)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()
        await asyncio.get_running_loop().run_in_executor(None, self.executor.shutdown, True)


def _peer(writer: asyncio.StreamWriter) -> str:
    name = writer.get_extra_info("peername")
    if isinstance(name, tuple) and len(name) >= 2:
        host, port = name[0], name[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(name)


class Connection:
    """One device's connection: read, check, answer, until either side ends it."""

    def __init__(
        self, server: Sip2Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.peer = _peer(writer)
        self.charset = server.settings.charset
        self.device: Device | None = None
        self.last: bytes | None = None  # our last answer, for a 97
        self.error_detection = False  # the device has sent a checksum
        self.failed_logins = 0
        self.checked_at = 0.0
        self.messages = 0
        self.buffer = bytearray()
        self.stopping = False  # the server is ending this connection

    @property
    def who(self) -> str:
        account = self.device.account if self.device else "-"
        return f"{self.peer} (account {account})"

    async def run(self) -> None:
        log.info("%s: connected%s", self.peer, " over TLS" if self.server.tls else "")
        reason = "closed by the device"
        abort = False  # drop what is unsent: the device is gone or does not read
        try:
            while True:
                raw = await self.read_message()
                if raw is None:
                    if self.stopping:
                        reason = "the server is stopping"
                    break
                self.messages += 1
                await self.handle(raw)
        except Closing as closing:
            reason, abort = str(closing), closing.abort
        except asyncio.CancelledError:
            reason, abort = "the server is stopping", True
            raise
        except OSError as error:  # ConnectionResetError, BrokenPipeError, ssl.SSLError...
            reason, abort = f"connection lost ({type(error).__name__})", True
        except Exception as error:  # a bug must end this connection alone
            reason, abort = f"error {type(error).__name__}", True
            log.error("%s: %s\n%s", self.who, reason, _where(error))
        finally:
            await self.close(abort=abort)
            log.info("%s: %s after %d messages", self.who, reason, self.messages)

    async def close(self, *, abort: bool) -> None:
        """Close the connection: after sending what is written, unless ``abort``; a
        device that does not take it within a few seconds is cut off all the same."""
        if abort:
            self.writer.transport.abort()
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), CLOSE_SECONDS)
        except (TimeoutError, OSError):
            self.writer.transport.abort()
        except asyncio.CancelledError:
            self.writer.transport.abort()
            raise

    # --- reading ---------------------------------------------------------------------

    async def read_message(self) -> bytes | None:
        """The next message without its terminator; None at the end of the stream."""
        limit = self.server.limits.max_message_bytes
        while True:
            cut = _terminator(self.buffer)
            if cut >= 0:
                raw = bytes(self.buffer[:cut])
                del self.buffer[: cut + 1]
                if len(raw) > limit:
                    await self.too_long()
                if raw.strip(b"\x00 "):
                    return raw
                continue  # the LF of a CRLF, or a blank line
            if len(self.buffer) > limit:
                await self.too_long()
            try:
                # A timeout, not wait_for: that is a task more for every read.
                async with asyncio.timeout(self.server.limits.idle_timeout):
                    chunk = await self.reader.read(READ_CHUNK)
            except TimeoutError:
                raise Closing(f"idle for {self.server.limits.idle_timeout:g} s: closed") from None
            if not chunk:
                if self.buffer.strip(b"\x00 \r\n"):
                    raise Closing("closed by the device in the middle of a message")
                return None
            self.buffer += chunk

    async def too_long(self) -> None:
        limit = self.server.limits.max_message_bytes
        log.warning("%s: a message over %d bytes: answered 96, closing", self.who, limit)
        await self.send(self.resend_request())
        raise Closing(f"a message over {limit} bytes")

    # --- answering -------------------------------------------------------------------

    def resend_request(self) -> bytes:
        """96, with a checksum when the device uses them."""
        sequence = 0 if self.error_detection else None
        return codec.frame(codec.RequestSCResend(), sequence=sequence, charset=self.charset)

    async def send(self, data: bytes, *, remember: bool = True) -> None:
        """Write ``data`` and wait until the device has taken it; one that does not read
        it within the idle timeout is dropped."""
        if remember:
            self.last = data
        self.writer.write(data)
        try:
            async with asyncio.timeout(self.server.limits.idle_timeout):
                await self.writer.drain()
        except TimeoutError:
            raise Closing(
                f"has not read its answers for {self.server.limits.idle_timeout:g} s: dropped",
                abort=True,
            ) from None

    async def reply(self, request: codec.Request, response: codec.Response) -> None:
        sequence = request.sequence
        if sequence is None and request.error_detection:
            sequence = 0
        try:
            data = codec.frame(response, sequence=sequence, charset=self.charset)
        except codec.Sip2Error as error:
            # A handler's bug: logged by the field it got wrong, the value left out.
            log.error(
                "%s: the answer to %s could not be sent: %s",
                self.who,
                request.COMMAND,
                _without_value(str(error)),
            )
            data = self.resend_request()
        await self.send(data)

    async def handle(self, raw: bytes) -> None:
        if len(raw) >= 6 and raw[-6:-4] == b"AZ":
            self.error_detection = True
            if not codec.verify_checksum(raw):
                log.warning("%s: a message with a wrong checksum: answered 96", self.who)
                await self.send(self.resend_request())
                return
        if b"\x00" in raw.strip(b"\x00"):
            # No field holds a NUL (PostgreSQL cannot even compare one): noise, not SIP2.
            log.warning("%s: a NUL inside a message: answered 96", self.who)
            await self.send(self.resend_request())
            return
        text = raw.decode(self.charset, errors="replace")
        try:
            request = codec.parse(text, local_zone=self.server.settings.time_zone)
        except codec.Sip2Error as error:
            log.warning("%s: unreadable (%s): answered 96", self.who, str(error)[:200])
            await self.send(self.resend_request())
            return
        if isinstance(request, codec.RequestACSResend):
            await self.send(self.last or self.resend_request(), remember=False)
        elif isinstance(request, codec.SCStatus):
            await self.reply(request, self.status())
        elif isinstance(request, codec.Login):
            await self.login(request)
        elif self.device is None:
            log.warning("%s: a %s before logging in: closing", self.who, request.COMMAND)
            raise Closing(f"refused a {request.COMMAND} before a login")
        else:
            await self.dispatch(self.device, request)

    def status(self) -> codec.ACSStatus:
        supported = self.server.supported
        may = self.device.may if self.device else frozenset({CHECKIN, CHECKOUT, RENEW})
        return codec.ACSStatus(
            online_status=True,
            checkin_ok="09" in supported and CHECKIN in may,
            checkout_ok="11" in supported and CHECKOUT in may,
            acs_renewal_policy="29" in supported and RENEW in may,
            status_update_ok="19" in supported,
            offline_ok="11" in supported or "09" in supported,
            timeout_period=TIMEOUT_PERIOD,
            retries_allowed=RETRIES_ALLOWED,
            date_time_sync=self.server.now(),
            protocol_version="2.00",
            institution_id=self.server.settings.institution_id,
            library_name=self.server.settings.library_name or None,
            supported_messages=frozenset(supported),
            terminal_location=(self.device.location or None) if self.device else None,
        )

    async def login(self, request: codec.Login) -> None:
        server = self.server
        account = await server.run_in_thread(
            _login,
            server.sessions,
            request.login_user_id,
            request.login_password,
            server.now(),
            self.peer,
        )
        if account is None:
            self.device = None
            self.failed_logins += 1
            log.warning("%s: login refused (%d on this connection)", self.peer, self.failed_logins)
            await self.reply(request, codec.LoginResponse(ok=False))
            if self.failed_logins >= MAX_FAILED_LOGINS:
                raise Closing(f"{MAX_FAILED_LOGINS} logins refused")
            return
        self.device = Device(
            account=account.name,
            location=account.location or (request.location_code or ""),
            may=accounts.permissions(account),
            peer=self.peer,
            settings=server.settings,
        )
        self.checked_at = time.monotonic()
        log.info("%s: logged in", self.who)
        await self.reply(request, codec.LoginResponse(ok=True))

    async def dispatch(self, device: Device, request: codec.Request) -> None:
        server = self.server
        if time.monotonic() - self.checked_at > RECHECK_SECONDS:
            if not await server.run_in_thread(_enabled, server.sessions, device.account):
                log.warning("%s: the account is disabled: closing", self.who)
                raise Closing("the account was disabled")
            self.checked_at = time.monotonic()
        if server.answer is None:
            log.info("%s: a %s, which is not answered yet: answered 96", self.who, request.COMMAND)
            await self.send(self.resend_request())
            return
        try:
            response = await server.run_in_thread(
                server.answer, server.sessions, server.policies, device, request, server.now()
            )
        except Exception as error:  # a handler's bug: this message fails, not the server
            log.error(
                "%s: the handler of %s raised %s\n%s",
                self.who,
                request.COMMAND,
                type(error).__name__,
                _where(error),
            )
            await self.send(self.resend_request())
            return
        await self.reply(request, response)


def _login(
    sessions: sessionmaker[Session], name: str, password: str, now: datetime, peer: str
) -> Sip2Account | None:
    with sessions() as db:
        return accounts.login(db, name, password, now, origin=f"sip2 {peer}")


def _enabled(sessions: sessionmaker[Session], name: str) -> bool:
    with sessions() as db:
        return accounts.is_enabled(db, name)


async def serve(
    server: Sip2Server,
    host: str,
    port: int,
    *,
    ready: Callable[[], None],
    sock: socket.socket | None = None,
) -> None:
    """Listen until SIGTERM or SIGINT, then end every connection and return."""
    return_hash_memory_after_each_pin()
    listening = await server.start(host, port, sock=sock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    addresses = ", ".join(_address(s.getsockname()) for s in listening.sockets)
    log.info(
        "listening on %s (%s, %s; %d handler threads)",
        addresses,
        "TLS" if server.tls else "plain TCP",
        server.settings.charset,
        server.workers,
    )
    ready()
    await stop.wait()
    log.info("stopping: %d connections open", len(server.connections))
    await server.close()


def _address(name: object) -> str:
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    return str(name)
