"""Options accepted where people type them: before or after a command's verb.

argparse reads an option only at the level that defines it, so ``kiosk circ checkout
--json`` was refused while ``kiosk circ --json checkout`` was taken. :func:`spread` gives
an option to a parser and to every parser below it; below, its default is SUPPRESS, so a
value given after the verb wins and one given before it is not overwritten.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any


def _below(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its sub-commands only here
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases share a parser
                yield child
                yield from _below(child)


def spread(parser: argparse.ArgumentParser, *flags: str, **settings: Any) -> None:
    """Add an option to ``parser`` and to each of its sub-commands, at any depth. Add
    the sub-commands first. argparse's ``required`` would refuse the option after the
    verb: check it with :func:`require` instead."""
    parser.add_argument(*flags, **settings)
    below = {**settings, "default": argparse.SUPPRESS}
    for child in _below(parser):
        child.add_argument(*flags, **below)


def require(parser: argparse.ArgumentParser, args: argparse.Namespace, flag: str) -> None:
    """Exit 2 with argparse's own message when ``flag`` was given nowhere."""
    if getattr(args, flag.lstrip("-").replace("-", "_"), None) is None:
        parser.error(f"the following arguments are required: {flag}")
