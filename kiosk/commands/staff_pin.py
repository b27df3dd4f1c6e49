"""``kiosk staff-pin``: the verifier of a new staff PIN, for kiosk.toml's [staff]."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

from kiosk.commands.check_config import EXIT_NOT_DONE, EXIT_OK
from kiosk.common.layered import toml_value

STAFF_PIN_DIGITS = (4, 12)


def staff_pin_command(read_pin: Callable[[str], str], out: TextIO, err: TextIO) -> int:
    """Ask for the staff PIN twice (``read_pin`` does not echo) and print the line to
    paste into ``[staff]``: the PIN's argon2id verifier, never the PIN."""
    from kiosk.common.pins import pin_verifier  # noqa: PLC0415 - argon2 only here

    shortest, longest = STAFF_PIN_DIGITS
    try:
        first = read_pin("New staff PIN: ")
        if not (first.isdigit() and shortest <= len(first) <= longest):
            print(
                f"kiosk staff-pin: a staff PIN is {shortest} to {longest} digits "
                "(the kiosk's keypad has digits only); nothing was made",
                file=err,
            )
            return EXIT_NOT_DONE
        second = read_pin("The same PIN again: ")
    except (EOFError, KeyboardInterrupt):
        print("\nkiosk staff-pin: cancelled; nothing was made", file=err)
        return EXIT_NOT_DONE
    if first != second:
        print("kiosk staff-pin: the two PINs differ; nothing was made", file=err)
        return EXIT_NOT_DONE
    print(f"pin_verifier = {toml_value(pin_verifier(first))}", file=out)
    print("Put this line in the [staff] table of /etc/kiosk/kiosk.toml.", file=err)
    return EXIT_OK


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff_pin = commands.add_parser(
        "staff-pin",
        help="make the verifier of a new staff PIN for [staff] pin_verifier",
        description="Reads the PIN twice without echo and prints the line to paste into "
        "kiosk.toml. The PIN itself is never stored.",
    )
    staff_pin.set_defaults(handler=run)


def run(_args: argparse.Namespace) -> int:
    import getpass  # noqa: PLC0415

    return staff_pin_command(getpass.getpass, sys.stdout, sys.stderr)
