"""The server's connections never wait on Nagle's algorithm, however uvicorn made the
listening socket (with several workers it makes it with protocol 0, and asyncio then
leaves Nagle on)."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from kiosk.central.commands.serve import HTTP_PROTOCOL
from kiosk.central.http_protocol import NoDelayH11Protocol, no_delay


def test_a_connection_on_a_socket_asyncio_left_alone_gets_nagle_turned_off() -> None:
    seen: list[tuple[int, int]] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            before = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            no_delay(transport)
            seen.append((before, sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
            transport.close()

    async def accept_one() -> None:
        # As uvicorn makes it for several workers: protocol 0, not IPPROTO_TCP.
        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
        listening.bind(("127.0.0.1", 0))
        server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
        port = listening.getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(accept_one())
    assert seen == [(0, 1)]  # off as accepted, on after


def test_kiosk_central_serve_hands_uvicorn_that_protocol() -> None:
    async def app(_scope: object, _receive: object, _send: object) -> None:
        return None

    config = uvicorn.Config(app, http=HTTP_PROTOCOL)
    config.load()
    assert config.http_protocol_class is NoDelayH11Protocol


def test_a_transport_without_a_tcp_socket_is_left_alone() -> None:
    class Bare(asyncio.BaseTransport):
        pass

    assert no_delay(Bare()) is False
