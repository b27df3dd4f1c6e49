"""At most as many requests inside the app at once as the database pool has connections.

FastAPI runs a request's synchronous dependencies and its route in a pool of threads,
one hop each, and a request holds its database session from its first dependency to
its answer. With more requests in flight than connections, threads waiting for a
connection hold every thread the requests that have one need for their next hop: no
request can finish until the pool's wait times out, 30 s later, with an error. The
portal's benchmark found exactly that with 200 patrons at once: connections idle in
their transaction for 40 s, 80 answers of 500. Held back here, in the event loop, a
request waits holding neither a thread nor a connection, and every one admitted can
get its connection at once. A request may open a second session (the autocommit
reads): the limit is the pool's steady size, leaving its overflow for those.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

UNSIZED_POOL_LIMIT = 10  # a pool that does not say its size (SQLite's, some tests')


def pool_limit(engine: Engine) -> int:
    size = getattr(engine.pool, "size", None)
    return max(2, size()) if callable(size) else UNSIZED_POOL_LIMIT


class InFlightLimit:
    """Pure ASGI: HTTP requests beyond ``limit`` wait their turn, first come first in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._gate: asyncio.Semaphore | None = None  # made in the server's own loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.limit)
        async with self._gate:
            await self.app(scope, receive, send)
