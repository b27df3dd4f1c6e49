"""uvicorn's HTTP protocol with Nagle's algorithm off on every connection.

With ``--workers`` above 1, uvicorn makes the listening socket itself with protocol 0,
so asyncio, which turns Nagle off only for sockets it knows are TCP, leaves it on: an
answer on a reused connection then waits for the client's delayed ACK, about 40 ms,
every time (benchmarks/web.py found it; uvicorn's issue #3149). One worker's socket is
made by asyncio and never had the delay.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


def no_delay(transport: asyncio.BaseTransport) -> bool:
    """Turn Nagle's algorithm off on the transport's TCP socket; False where there is
    none (a Unix socket, a test's transport)."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        return False
    return True


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)
