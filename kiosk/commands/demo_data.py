"""``kiosk demo-data``: a realistic demo library written straight into a data directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo-data",
        help="build a realistic demo library straight into a data directory",
        description="Writes the example policy, a catalogue, items, patrons, loans and holds "
        "into DIR's mirror.db (the journal is kept), and usable cards with their PINs to "
        "DIR/demo-cards.json. The same --seed gives the same library.",
    )
    demo.add_argument("--out", type=Path, required=True, metavar="DIR", help="the data directory")
    demo.add_argument("--items", type=int, default=2000, help="stock items (default 2000)")
    demo.add_argument("--patrons", type=int, default=300, help="patrons (default 300)")
    demo.add_argument("--loans", type=int, default=400, help="current loans (default 400)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.common.clock import SystemClock  # noqa: PLC0415 - SQLAlchemy only when needed
    from kiosk.demo.library import Scale, build_demo_library  # noqa: PLC0415

    for name in ("items", "patrons", "loans"):
        if getattr(args, name) < 0:
            print(f"kiosk demo-data: --{name} must be 0 or more", file=sys.stderr)
            return 2
    if args.items == 0 and args.loans > 0:
        print("kiosk demo-data: --loans needs --items above 0", file=sys.stderr)
        return 2
    scale = Scale(args.items, args.patrons, args.loans, args.seed)
    library = build_demo_library(args.out, scale, SystemClock().now())
    print(
        f"{args.out}: {library.records} titles, {library.items} items, {library.patrons} "
        f"patrons, {library.loans} loans, {library.holds} holds; cards in "
        f"{args.out / 'demo-cards.json'}"
    )
    return 0
