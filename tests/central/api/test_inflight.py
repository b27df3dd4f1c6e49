"""The app admits at most as many requests at once as its database pool has connections
(``kiosk.central.api.inflight``); the rest wait, and every one is answered."""

from __future__ import annotations

import asyncio

from sqlalchemy import create_engine
from starlette.types import Receive, Scope, Send

from kiosk.central import database
from kiosk.central.api.inflight import UNSIZED_POOL_LIMIT, InFlightLimit, pool_limit


def test_requests_beyond_the_limit_wait_their_turn_and_all_are_answered() -> None:
    inside = 0
    most = 0
    answered: list[int] = []

    async def slow_app(scope: Scope, _receive: Receive, _send: Send) -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.01)  # a route waiting for its database
        inside -= 1
        answered.append(scope["number"])

    limited = InFlightLimit(slow_app, limit=3)

    async def nothing() -> dict[str, object]:
        return {"type": "http.request"}

    async def ignore(_message: object) -> None:
        return None

    async def many() -> None:
        await asyncio.gather(
            *(limited({"type": "http", "number": n}, nothing, ignore) for n in range(40))
        )

    asyncio.run(many())
    assert most == 3
    assert sorted(answered) == list(range(40))
    # First come, first in: the first three were admitted before any later one.
    assert set(answered[:3]) == {0, 1, 2}


def test_the_limit_is_the_pools_steady_size() -> None:
    sized = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_size=7)
    assert pool_limit(sized) == 7
    sized.dispose()
    served = database.connect("postgresql://postgres@127.0.0.1:5432/test")
    assert pool_limit(served) == 10  # database.connect's pool: 10, and 10 more for bursts
    served.dispose()
    unsized = create_engine("sqlite://")
    assert pool_limit(unsized) == UNSIZED_POOL_LIMIT  # SingletonThreadPool says no size
    unsized.dispose()
