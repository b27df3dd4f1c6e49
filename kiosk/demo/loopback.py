"""The loopback demo: a central server with the demo library on 127.0.0.1, this kiosk
registered with it, and the options of a kiosk that syncs with it in its own process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.appliance.kiosk_run import KioskOptions
from kiosk.common.check_digits import luhn_digit
from kiosk.common.pins import pin_verifier

DEMO_STAFF_CARD = "2999999999999" + luhn_digit("2999999999999")
DEMO_STAFF_PIN = "2468"
# The staff console's demo account (an admin), made with the demo library.
DEMO_CONSOLE_USER = "demo-staff"
DEMO_CONSOLE_PASSWORD = "papyrus-demo-desk"
DEMO_CENTRAL_TOML = """\
# The demo's central.toml, written by kiosk run --demo at each start.
[library]
name = "Papyrus Public Library (demo)"

[web]
# The demo serves plain HTTP on loopback: a Secure cookie would never come back.
secure_cookies = false
"""


@dataclass(frozen=True)
class LoopbackLibrary:
    server_url: str
    token: str
    cards: dict[str, Any]
    central: Any  # kiosk.central.process.CentralProcess

    def lines(self) -> tuple[str, ...]:
        """What to try, for the screen and the terminal (as many as the Pi's 800x480
        Welcome screen has room for; ``more_cards`` are for the terminal only): a card
        with nothing on loan (every demo card has an email on file: Finish offers a
        receipt by email), one with a hold ready, one whose membership ends soon, books
        on the shelf and a copy kept for another patron (a hold on its title is
        offered)."""
        lines = ["Demo: type a barcode and press Enter; the keyboard is the scanner."]
        lines += self._cards(
            ("adult, nothing on loan", "adult, email on file"),
            ("has overdue loans", "has overdue loans"),
            ("has a hold ready for pickup", "has a hold ready for pickup"),
            ("membership ends soon", "membership ends soon"),
        )
        books = [
            code for kind in self.cards["items"].values() for code in kind.get("available", [])[:1]
        ]
        kept = self.kept_for_another()
        shown = "  ".join(books[: 3 if kept else 4])
        lines.append(f"Books: {shown}" + (f"  held for another: {kept}" if kept else ""))
        lines.append(f"Staff card {DEMO_STAFF_CARD}  PIN {DEMO_STAFF_PIN}")
        return tuple(lines)

    def kept_for_another(self) -> str | None:
        """A copy on the hold shelf for a patron: scanned with another card, it is
        refused and a hold on its title is offered."""
        return next(
            (
                codes[0]
                for kind in self.cards["items"].values()
                if (codes := kind.get("on_hold_shelf"))
            ),
            None,
        )

    def more_cards(self) -> tuple[str, ...]:
        """More cards to try, and what the demo shows with them, for the terminal."""
        return (
            *self._cards(
                ("owes money", "owes money"),
                ("membership ends soon, owes too much", "membership ends soon, owes too much"),
            ),
            "Every demo card has an email on file: Finish offers 'Email me a receipt', "
            "sent by kiosk-central notices.",
        )

    def _cards(self, *situations: tuple[str, str]) -> list[str]:
        """A card of each situation, said as its label."""
        by_situation: dict[str, dict[str, Any]] = {}
        for card in self.cards["cards"]:
            by_situation.setdefault(card["situation"], card)
        return [
            f"Card {card['card']}  PIN {card['pin']}  ({label})"
            for situation, label in situations
            if (card := by_situation.get(situation))
        ]

    def console_lines(self) -> tuple[str, ...]:
        """Where the staff console and the patron portal are, for the terminal (the
        patrons' screen has no use for them)."""
        return (
            f"Staff console: {self.server_url}/staff/  "
            f"(sign in as {DEMO_CONSOLE_USER}, password {DEMO_CONSOLE_PASSWORD})",
            f"Patron portal: {self.server_url}/my/  (sign in with a card and PIN above)",
        )


def prepare_demo(directory: Path) -> LoopbackLibrary:
    """A central server with a demo library on loopback, and this kiosk registered."""
    # only the demo runs a server
    from sqlalchemy.orm import Session  # noqa: PLC0415

    from kiosk.central.api.kiosks import add_kiosk  # noqa: PLC0415
    from kiosk.central.database import connect, upgrade  # noqa: PLC0415
    from kiosk.central.process import CentralProcess  # noqa: PLC0415
    from kiosk.common.clock import SystemClock  # noqa: PLC0415
    from kiosk.demo.central_command import load_demo_data  # noqa: PLC0415
    from kiosk.demo.library import Scale  # noqa: PLC0415

    directory.mkdir(parents=True, exist_ok=True)
    database = f"sqlite:///{directory / 'central.db'}"
    token_file = directory / "token"
    if not token_file.exists():
        print("demo: building a demo library (a few seconds, the first time only)")
        (directory / "central.db").unlink(missing_ok=True)  # a build that did not finish
        now = SystemClock().now()
        engine = connect(database)
        try:
            upgrade(engine)
            load_demo_data(engine, Scale(), directory, now)
            with Session(engine) as session:
                token = add_kiosk(session, "demo-kiosk", now)
        finally:
            engine.dispose()
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
    _ensure_console_account(database)
    config = directory / "central.toml"
    config.write_text(DEMO_CENTRAL_TOML)
    central = CentralProcess(database, config=config).start()
    cards = json.loads((directory / "demo-cards.json").read_text())
    return LoopbackLibrary(central.url, token_file.read_text().strip(), cards, central)


def demo_options(directory: Path, library: LoopbackLibrary, **overrides: Any) -> KioskOptions:
    values: dict[str, Any] = {
        "data_dir": directory / "kiosk",
        "name": "demo-kiosk",
        "library_name": "Papyrus Public Library (demo)",
        "server_url": library.server_url,
        "token": library.token,
        "staff_cards": frozenset({DEMO_STAFF_CARD}),
        "staff_pin_verifier": pin_verifier(DEMO_STAFF_PIN),
        "sync_interval": 10.0,
        "demo": library.lines(),
        "fullscreen": False,
    }
    values.update(overrides)
    return KioskOptions(**values)


def _ensure_console_account(database: str) -> None:
    """The demo's staff account, also in a demo folder built before the console existed."""
    from sqlalchemy.orm import Session  # noqa: PLC0415

    from kiosk.central.database import connect, upgrade  # noqa: PLC0415
    from kiosk.central.web.accounts import add_staff, staff  # noqa: PLC0415
    from kiosk.common.clock import SystemClock  # noqa: PLC0415

    engine = connect(database)
    try:
        upgrade(engine)  # a folder from an older version lacks the staff tables
        with Session(engine) as session:
            if all(member.username != DEMO_CONSOLE_USER for member in staff(session)):
                add_staff(
                    session,
                    DEMO_CONSOLE_USER,
                    "admin",
                    DEMO_CONSOLE_PASSWORD,
                    SystemClock().now(),
                    actor="demo",
                    origin="demo",
                )
    finally:
        engine.dispose()
