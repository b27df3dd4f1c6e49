"""``kiosk-central status``: how the server's background work stands, for staff at a
terminal and for monitoring (``--json``): gateway mode's relay to the library's own
system (whether it relays, its backlog, the oldest waiting transaction's age, what it
relayed and the upstream refused, and the last upstream error)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kiosk.central.commands import Command, in_session
from kiosk.central.gateway.outbox import relay_status


def _arguments(_parser: argparse.ArgumentParser) -> None:
    pass


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def upstream_figures(db: Session, now: datetime) -> dict[str, Any]:
    relay = relay_status(db)
    age = relay.oldest_age_seconds(now)
    return {
        "relaying": relay.enabled,
        "backlog": relay.backlog,
        "oldest_waiting_seconds": None if age is None else round(age),
        "relayed": relay.relayed,
        "refused": relay.refused,
        "last_sent_at": _iso(relay.last_sent_at),
        "last_error": relay.last_error,
        "last_error_at": _iso(relay.last_error_at),
        "relay": relay.holder,
    }


def _status(args: argparse.Namespace, db: Session, now: datetime) -> int:
    figures = {"upstream": upstream_figures(db, now)}
    if args.json:
        print(json.dumps(figures))
        return 0
    upstream = figures["upstream"]
    if not upstream["relaying"] and not upstream["backlog"]:
        print("upstream: not relaying (gateway mode is off)")
        return 0
    print(
        f"upstream: {'relaying' if upstream['relaying'] else 'NOT relaying'}, "
        f"backlog {upstream['backlog']}"
        + (
            f", oldest waiting {upstream['oldest_waiting_seconds']} s"
            if upstream["oldest_waiting_seconds"] is not None
            else ""
        )
    )
    print(f"upstream: {upstream['relayed']} relayed, {upstream['refused']} refused (exceptions)")
    if upstream["last_sent_at"]:
        print(f"upstream: last sent at {upstream['last_sent_at']} by {upstream['relay']}")
    if upstream["last_error"]:
        print(f"upstream: last error at {upstream['last_error_at']}: {upstream['last_error']}")
    return 0


COMMAND = Command(
    "status",
    "how the server's background work stands (the upstream relay)",
    _arguments,
    in_session(_status),
    json=True,
)
