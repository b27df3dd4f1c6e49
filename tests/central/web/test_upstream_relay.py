"""The Kiosks page shows gateway mode's relay to a viewer: what waits to be sent, how old
the oldest is, what was sent and refused, and the upstream's last error; nothing when the
library is not in gateway mode. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.gateway.outbox import WAITING, set_relaying
from kiosk.central.models import UpstreamOutbox, UpstreamRelay, table

from .conftest import in_process


def test_a_viewer_sees_the_relays_backlog_oldest_and_last_error(database_url: str) -> None:
    with in_process(database_url) as console:
        vera = console.login("vera")
        before = vera.get(console.url + "/staff/kiosks", timeout=10)
        assert before.status_code == 200
        assert 'id="upstream"' not in before.text  # not in gateway mode
        now = datetime.now().replace(microsecond=0)
        engine = database.connect(console.database_url)
        set_relaying(engine, True)
        with Session(engine) as db:
            db.execute(
                insert(table(UpstreamOutbox)),
                [
                    {
                        "change_seq": seq,
                        "transaction_id": f"desk-{seq}",
                        "kind": "checkout",
                        "item_barcode": f"3000{seq}",
                        "patron_id": "P1",
                        "decided_at": now - timedelta(minutes=minutes),
                        "status": WAITING,
                        "attempts": 0,
                    }
                    for seq, minutes in ((1, 95), (2, 3))
                ],
            )
            db.execute(
                update(UpstreamRelay)
                .where(UpstreamRelay.id == 1)
                .values(
                    relayed=7,
                    refused=1,
                    last_sent_at=now - timedelta(hours=2),
                    last_error="cannot connect to koha.example:6001: refused",
                    last_error_at=now - timedelta(minutes=1),
                )
            )
            db.commit()
        engine.dispose()
        page = vera.get(console.url + "/staff/kiosks", timeout=10).text
    assert 'id="upstream"' in page
    assert '<dd class="govuk-summary-list__value" id="upstream-backlog">2</dd>' in page
    assert "decided 95 minutes ago" in page
    assert "cannot connect to koha.example:6001: refused" in page
    assert 'href="/staff/exceptions?kind=upstream_refused">1</a>' in page
