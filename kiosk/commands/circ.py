"""``kiosk circ``: the circulation use cases from the kiosk's terminal, for staff.

A line of output (or a JSON object with ``--json``) means the transaction is
already durable in the journal. Exit status: 0 done, 1 refused or not done
(the line says why), 3 the kiosk is out of service.

Circulation answers with facts; each line (and each JSON ``message``) is worded by
kiosk.session.wording through the screens' catalogs, in English or in ``--lang``. The
status codes, the bin's figures and the account's listing around them are staff's, in
English like staff mode.

A checkout's JSON object has the answer's every field, in this order: ``status``,
``barcode``, ``title``, ``message``, ``due``, ``refusals`` (each ``reason`` and
``message``), ``hold_fulfilled``, ``entry_id``, ``offline_limit`` and ``hold_offered``:
true when the copy was refused because it waits for someone else or cannot be lent
now, and the patron could place a hold on its title (the kiosk's screen offers "Place a
hold on this title" then; ``kiosk circ hold`` places one: on the title of each copy
named, to collect at this kiosk's branch, journaled for the server to queue).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kiosk.circulation.views import (
    AccountAnswer,
    CheckoutStatus,
    Due,
    HoldStatus,
    IdentifyStatus,
    OutOfService,
    PatronSession,
    Refusal,
    RenewStatus,
    ReturnStatus,
    Unavailable,
)
from kiosk.commands.options import require, spread
from kiosk.session import wording
from kiosk.session.i18n import LANGUAGE_NAMES, Translator, load_translators

if TYPE_CHECKING:
    from kiosk.common.clock import Clock

DONE, NOT_DONE, OUT_OF_SERVICE = 0, 1, 3


def _plain(value: Any, tr: Translator) -> Any:  # noqa: PLR0911 - one case per kind of value
    """An answer's facts as JSON-ready values: amounts and dates as the contract writes
    them, refusals with their reason code and sentence."""
    if isinstance(value, Due):
        return value.isoformat()
    if isinstance(value, Refusal):
        return {"reason": value.reason.value, "message": wording.refusal(tr, value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):  # and datetime
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name), tr) for field in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item, tr) for item in value]
    return value


def _said(answer: Any, message: str, tr: Translator) -> dict[str, Any]:
    """The answer's facts with its sentence as ``message``, after the title (or the
    first field) where it has always been."""
    facts: dict[str, Any] = _plain(answer, tr)
    after = "title" if "title" in facts else next(iter(facts))
    said: dict[str, Any] = {}
    for key, value in facts.items():
        said[key] = value
        if key == after:
            said["message"] = message
    return said


class CircTool:
    def __init__(
        self,
        data: Path,
        clock: Clock,
        out: TextIO,
        err: TextIO,
        *,
        as_json: bool,
        tr: Translator | None = None,
    ) -> None:
        from kiosk.circulation.service import Circulation  # noqa: PLC0415 - SQLAlchemy
        from kiosk.store.store import Store  # noqa: PLC0415 - only when a command runs

        self.store = Store.open(data)
        self.circulation = Circulation(self.store, clock)
        self.out, self.err, self.as_json = out, err, as_json
        self.tr = tr or _translator("en")

    def close(self) -> None:
        self.store.close()

    def _emit(self, answer: Any, message: str, line: str) -> None:
        """One answer: ``line`` on the terminal, or its facts and ``message`` as JSON."""
        text = json.dumps(_said(answer, message, self.tr)) if self.as_json else line
        print(text, file=self.out, flush=True)

    def _unavailable(self, answer: Unavailable) -> int:
        return _out_of_service(answer, self.out, self.tr, as_json=self.as_json)

    def _sign_in(self, card: str, pin: str | None) -> PatronSession | int:
        identified = self.circulation.identify(card, pin)
        if isinstance(identified, Unavailable):
            return self._unavailable(identified)
        if identified.session is None or identified.status is not IdentifyStatus.IDENTIFIED:
            message = wording.identification(self.tr, identified).text
            self._emit(identified, message, f"{identified.status.value}: {message}")
            return NOT_DONE
        for notice in wording.notice_sentences(self.tr, identified.session):
            print(f"note: {notice}", file=self.err)
        return identified.session

    def checkout(self, card: str, pin: str | None, barcodes: Sequence[str]) -> int:
        return self._each_copy(
            card,
            pin,
            barcodes,
            act=self.circulation.checkout,
            sentence=wording.checkout_sentence,
            done=(CheckoutStatus.LENT, CheckoutStatus.ALREADY_YOURS),
        )

    def _each_copy(
        self,
        card: str,
        pin: str | None,
        barcodes: Sequence[str],
        *,
        act: Callable[[PatronSession, str], Any],
        sentence: Callable[[Translator, Any], str],
        done: tuple[Enum, ...],
    ) -> int:
        """The patron signed in, then ``act`` on each copy, each answer worded by
        ``sentence``: done when every answer's status is one of ``done``."""
        session = self._sign_in(card, pin)
        if isinstance(session, int):
            return session
        status = DONE
        for barcode in barcodes:
            view = act(session, barcode)
            if isinstance(view, Unavailable):
                return self._unavailable(view)
            message = sentence(self.tr, view)
            self._emit(
                view, message, f"{view.status.value}: {_named(barcode, view.title)}: {message}"
            )
            if view.status not in done:
                status = NOT_DONE
        return status

    def return_items(self, barcodes: Sequence[str]) -> int:
        status = DONE
        for barcode in barcodes:
            view = self.circulation.return_item(barcode)
            if isinstance(view, Unavailable):
                return self._unavailable(view)
            message = wording.return_sentence(self.tr, view)
            self._emit(
                view,
                message,
                f"{view.status.value}: {_named(barcode, view.title)}: {message} "
                f"[bin {view.bin.number} ({view.bin.name}, {view.bin.colour}), fine {view.fine}]",
            )
            if view.status not in (ReturnStatus.RETURNED, ReturnStatus.ALREADY_RETURNED):
                status = NOT_DONE
        return status

    def renew(self, card: str, pin: str | None, barcodes: Sequence[str]) -> int:
        session = self._sign_in(card, pin)
        if isinstance(session, int):
            return session
        if barcodes:
            views = [self.circulation.renew(session, barcode) for barcode in barcodes]
        else:
            every = self.circulation.renew_all(session)
            views = [every] if isinstance(every, Unavailable) else list(every)
        status = DONE
        for view in views:
            if isinstance(view, Unavailable):
                return self._unavailable(view)
            message = wording.renew_sentence(self.tr, view)
            self._emit(
                view, message, f"{view.status.value}: {_named(view.barcode, view.title)}: {message}"
            )
            if view.status is not RenewStatus.RENEWED:
                status = NOT_DONE
        return status

    def hold(self, card: str, pin: str | None, barcodes: Sequence[str]) -> int:
        """A hold on the title of each copy, as the kiosk's "Place a hold on this
        title" places it."""
        return self._each_copy(
            card,
            pin,
            barcodes,
            act=self.circulation.place_hold,
            sentence=wording.hold_sentence,
            done=(HoldStatus.PLACED,),
        )

    def account(self, card: str, pin: str | None) -> int:
        session = self._sign_in(card, pin)
        if isinstance(session, int):
            return session
        view = self.circulation.account(session)
        if isinstance(view, Unavailable):
            return self._unavailable(view)
        text = json.dumps(_plain(view, self.tr)) if self.as_json else _account_text(view, self.tr)
        print(text, file=self.out, flush=True)
        return DONE


def _named(barcode: str, title: str) -> str:
    return f"{barcode} {title}" if title else barcode


def _account_text(view: AccountAnswer, tr: Translator) -> str:
    lines = [f"{view.first_name}: {len(view.loans)} on loan, owes {view.owed}"]
    for loan in view.loans:
        mark = " OVERDUE" if loan.overdue else ""
        lines.append(f"  {loan.barcode} {loan.title}: due {tr.due(loan.due)}{mark}")
    for hold in view.holds_ready:
        lines.append(f"  ready for pickup: {hold.title}")
    for hold in view.holds_waiting:
        lines.append(f"  waiting (place {hold.position}): {hold.title}")
    return "\n".join(lines)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    circ = commands.add_parser(
        "circ",
        help="check out, return, renew and show accounts from the terminal",
        description="Each line printed (or JSON object, with --json) is already durable in "
        "the journal. Exit status: 0 done, 1 refused or not done, 3 out of service.",
    )
    actions = circ.add_subparsers(dest="circ_command", required=True, metavar="ACTION")
    for name, text in (
        ("checkout", "lend items to a patron"),
        ("renew", "renew a patron's loans (all of them when no --item is given)"),
        ("hold", "place a hold on the title of each copy, collected at this kiosk's branch"),
        ("account", "show a patron's loans, holds and money owed"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--card", required=True, help="the patron's card barcode")
        action.add_argument("--pin", help="the patron's PIN (asked for by the kiosk's policy)")
        if name != "account":
            action.add_argument(
                "--item",
                action="append",
                default=[],
                required=name in ("checkout", "hold"),
                help="an item barcode; repeat for several",
            )
    returning = actions.add_parser("return", help="take items back (no patron needed)")
    returning.add_argument("--item", action="append", required=True, help="an item barcode")
    spread(circ, "--data", type=Path, help="the kiosk's data directory (required)")
    spread(circ, "--json", action="store_true", help="one JSON object per answer")
    spread(
        circ,
        "--lang",
        choices=sorted(LANGUAGE_NAMES),
        default="en",
        help="the language of the answers' sentences, from the screens' catalogs (default en)",
    )
    circ.set_defaults(handler=run, parser=circ)


def _translator(code: str) -> Translator:
    return load_translators((code,))[code]


def _out_of_service(answer: Unavailable, out: TextIO, tr: Translator, *, as_json: bool) -> int:
    message = wording.out_of_service_sentence(tr)
    line = f"out of service ({answer.cause.value}): {message}"
    print(json.dumps(_said(answer, message, tr)) if as_json else line, file=out, flush=True)
    return OUT_OF_SERVICE


def run(args: argparse.Namespace) -> int:
    from kiosk.common.clock import SystemClock  # noqa: PLC0415
    from kiosk.store.errors import StoreFull  # noqa: PLC0415

    require(args.parser, args, "--data")
    tr = _translator(args.lang)
    try:
        tool = CircTool(args.data, SystemClock(), sys.stdout, sys.stderr, as_json=args.json, tr=tr)
    except StoreFull as error:  # no room even to open the journal: out of service, not damage
        print(f"kiosk circ: {error}", file=sys.stderr)
        unavailable = Unavailable(OutOfService.DISK_FULL)
        return _out_of_service(unavailable, sys.stdout, tr, as_json=args.json)
    try:
        if args.circ_command == "checkout":
            return tool.checkout(args.card, args.pin, args.item)
        if args.circ_command == "return":
            return tool.return_items(args.item)
        if args.circ_command == "renew":
            return tool.renew(args.card, args.pin, args.item)
        if args.circ_command == "hold":
            return tool.hold(args.card, args.pin, args.item)
        return tool.account(args.card, args.pin)
    finally:
        tool.close()
