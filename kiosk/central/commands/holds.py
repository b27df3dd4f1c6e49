"""``kiosk-central holds``: put patrons in items' hold queues."""

from __future__ import annotations

import argparse
from datetime import datetime

from sqlalchemy.orm import Session

from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.holds import place_hold_by_card
from kiosk.central.commands import Command, Verbs, in_session
from kiosk.central.commands.staff import terminal_actor


def _arguments(parser: argparse.ArgumentParser) -> None:
    verbs = Verbs(parser, "holds_command", "ACTION")
    place = verbs.add("place", "put a patron in an item's hold queue")
    place.add_argument("--card", required=True)
    place.add_argument("--item", required=True)


def _holds(args: argparse.Namespace, session: Session, now: datetime) -> int:
    actor = Actor(terminal_actor(), "terminal", "terminal")
    hold = place_hold_by_card(session, args.card, args.item, now, actor)
    shelf = " (ready on the hold shelf)" if hold.ready else ""
    print(f"hold placed: position {hold.position}{shelf}")
    return 0


COMMAND = Command("holds", "place holds", _arguments, in_session(_holds))
