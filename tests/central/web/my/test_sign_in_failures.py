"""The per-address count of refused portal sign-ins under refusals at once, on SQLite
and PostgreSQL: the first refusals from a new address all count, none fails for the
row another made a moment before."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.models import PortalSignInFailures
from kiosk.central.web.routes.my import sessions

AT_ONCE = 8
NOW = datetime(2026, 12, 2, 10, 0)


def test_refusals_at_once_from_a_new_address_are_each_counted(database_url: str) -> None:
    engine = database.connect(database_url)
    database.upgrade(engine)
    start = threading.Barrier(AT_ONCE)
    failed: list[BaseException] = []

    def refuse() -> None:
        with Session(engine) as db:
            start.wait()
            try:
                sessions.count_failure(db, "192.0.2.44", NOW)
            except BaseException as error:  # what would be a 500 for that patron
                failed.append(error)

    threads = [threading.Thread(target=refuse) for _ in range(AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failed == []
    with Session(engine) as db:
        row = db.get(PortalSignInFailures, "192.0.2.44")
        assert row is not None
        assert row.failures == AT_ONCE
        assert sessions.address_blocked(db, "192.0.2.44", NOW) is None  # 8 of 10
    engine.dispose()
