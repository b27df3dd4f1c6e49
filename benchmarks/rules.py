"""How long the lending rules take to decide one scan.

Prints decisions per second and microseconds per decision for a checkout, a return
and a renewal on the example policy, against a floor: a bare function doing the
least work any checkout needs (three dictionary look-ups, a quota count and a date
addition), so the figure shows what the full contract (every reason, calendar,
caps, patron sentences) costs on top of that.

    python benchmarks/rules.py [--json] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from kiosk.rules import (
    Due,
    Item,
    Loan,
    Patron,
    assess_return,
    decide_checkout,
    decide_renewal,
    read_policy,
)

EXAMPLE = Path(__file__).parents[1] / "kiosk" / "demo" / "policy.example.toml"


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``work``, measured over about ``seconds``."""
    calls, started = 0, time.perf_counter()
    deadline = started + seconds
    while (now := time.perf_counter()) < deadline:
        for _ in range(1000):
            work()
        calls += 1000
    return calls / (now - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()

    policy = read_policy(tomllib.loads(EXAMPLE.read_text(), parse_float=Decimal))
    now = datetime(2026, 11, 23, 10, 0)
    patron = Patron("P1", "STUDENT", expires=date(2027, 6, 30))
    held = ["NONFICTION", "FICTION"]
    item = Item("FICTION")
    loan = Loan("STUDENT", Due.end_of(date(2026, 11, 13)))
    quotas = {("STUDENT", "FICTION"): 3}
    days = {("STUDENT", "FICTION"): 14}

    def floor() -> object:
        pair = (patron.member_type, item.publication_type)
        if sum(1 for code in held if code == pair[1]) >= quotas[pair]:
            return None
        return now.date() + timedelta(days=days[pair])

    figures = {
        name: rate(work, args.seconds)
        for name, work in {
            "floor": floor,
            "checkout": lambda: decide_checkout(policy, patron, held, item, now),
            "return": lambda: assess_return(policy, loan, item, now),
            "renewal": lambda: decide_renewal(policy, patron, loan, item, now),
        }.items()
    }
    result = {
        name: {
            "per_second": round(per_second),
            "microseconds": round(1e6 / per_second, 2),
            "times_floor": round(figures["floor"] / per_second, 1),
        }
        for name, per_second in figures.items()
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'decision':<10} {'per second':>12} {'µs each':>9} {'x floor':>8}")
        for name, row in result.items():
            print(
                f"{name:<10} {row['per_second']:>12,} {row['microseconds']:>9} "
                f"{row['times_floor']:>8}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
