"""``kiosk-central forget``: the day's forgetting at once (``circulation.forgetting``),
which ``kiosk-central notices run`` does in its daily pass: for a library that sends no
notices, from a daily timer, so that loans nobody chose to keep are forgotten all the
same."""

from __future__ import annotations

import argparse

from sqlalchemy import Engine

from kiosk.central.circulation.forgetting import forget_daily
from kiosk.central.commands import Command
from kiosk.common.clock import SystemClock


def _arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options of its own: [library] forget_loans_after_days says how long


def _forget(args: argparse.Namespace, engine: Engine) -> int:
    days = args.config.library.forget_loans_after_days
    forgotten = forget_daily(
        engine,
        SystemClock().now(),
        days,
        registrations_after_days=args.config.registration.expire_after_days,
    )
    print(
        f"loans ended more than {days} days ago no longer naming their patron: "
        f"{forgotten.loans}; feedback senders of days gone: {forgotten.feedback_senders}; "
        f"addresses' refused sign-in counts: {forgotten.addresses}; "
        f"registrations not decided on: {forgotten.registrations}; "
        f"relayed transactions no longer naming their patron: {forgotten.relayed}; "
        f"holds placed and PINs typed at kiosks no longer naming their patron: "
        f"{forgotten.holds_and_pins}; audit entries of holds no longer naming their "
        f"patron: {forgotten.hold_audits}"
    )
    return 0


COMMAND = Command(
    "forget", "forget what the library keeps no longer (also in notices run)", _arguments, _forget
)
