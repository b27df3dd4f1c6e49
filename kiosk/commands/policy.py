"""``kiosk policy check | table | evaluate``: check, show and try out a lending policy."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from kiosk.commands.errors import UnusableFile
from kiosk.rules import InvalidPolicy, Policy, Privilege, advisories, read_policy
from kiosk.rules.scenario import evaluate, load_scenario

EXIT_OK = 0
EXIT_INVALID = 2


def counted(count: int, what: str) -> str:
    return f"{count} {what}{'' if count == 1 else 's'}"


def load_policy_file(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UnusableFile([f"{path}: cannot read the policy file: {error.strerror}"]) from None
    except UnicodeDecodeError:
        raise UnusableFile([f"{path}: is not UTF-8 text"]) from None
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise UnusableFile([f"{path}: not valid TOML: {error}"]) from None
    try:
        return read_policy(data)
    except InvalidPolicy as invalid:
        raise UnusableFile([f"{path}: {problem}" for problem in invalid.problems]) from None


def check(path: Path, out: TextIO, err: TextIO) -> int:
    try:
        policy = load_policy_file(path)
    except UnusableFile as error:
        for line in error.lines:
            print(line, file=err)
        count = len(error.lines)
        print(
            f"{path}: {count} error{'s' if count != 1 else ''}; the policy was not accepted",
            file=err,
        )
        return EXIT_INVALID
    for note in advisories(policy):
        print(f"{path}: note: {note}", file=err)
    calendar = policy.calendar
    counts = ", ".join(
        counted(len(things), what)
        for things, what in (
            (policy.member_types, "member type"),
            (policy.publication_types, "publication type"),
            (policy.privileges, "privilege"),
            (policy.fault_charges, "fault charge"),
            (calendar.closed_weekdays, "closed weekday"),
            (calendar.closed_dates, "closed date"),
        )
    )
    print(f"{path}: valid: {counts}", file=out)
    return EXIT_OK


def table(path: Path, out: TextIO, err: TextIO) -> int:
    try:
        policy = load_policy_file(path)
    except UnusableFile as error:
        for line in error.lines:
            print(line, file=err)
        return EXIT_INVALID
    out.write(render_policy(policy))
    return EXIT_OK


def evaluate_command(source: str, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    try:
        text = stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        print(f"kiosk policy evaluate: {source}: cannot read: {error.strerror}", file=err)
        return EXIT_INVALID
    try:
        answer = evaluate(load_scenario(text))
    except InvalidPolicy as invalid:
        print(f"kiosk policy evaluate: {invalid}", file=err)
        return EXIT_INVALID
    print(json.dumps(answer), file=out)
    return EXIT_OK


# --- the privilege matrix -------------------------------------------------------------


def _limit(quota: int | None) -> str:
    if quota is None:
        return "no limit"
    return "none" if quota == 0 else f"up to {quota}"


def _money_or(amount: Decimal | None, otherwise: str) -> str:
    return otherwise if amount is None else str(amount)


def _privilege_cell(privilege: Privilege | None) -> list[str]:
    if privilege is None:
        return ["-"]
    period = f"{privilege.hours} hours" if privilege.is_short_loan else f"{privilege.days} days"
    if privilege.fine == 0:
        fine = "no fine"
    elif privilege.days_per_fine == 1:
        fine = f"{privilege.fine} a day"
    else:
        fine = f"{privilege.fine} per {privilege.days_per_fine} days"
    if privilege.renewals is None:
        renewals = "renew: no limit"
    elif privilege.renewals == 0:
        renewals = "no renewals"
    else:
        renewals = f"renew {privilege.renewals}x"
    return [
        _limit(privilege.quota),
        period,
        f"grace {privilege.days_grace} d",
        fine,
        renewals,
    ]


def _grid(rows: list[list[list[str]]]) -> str:
    """Rows of cells, each cell a list of lines, drawn as a plain-text grid."""
    columns = len(rows[0])
    widths = [max(len(line) for row in rows for line in row[col]) for col in range(columns)]
    rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+\n"
    text = rule
    for row in rows:
        height = max(len(cell) for cell in row)
        for index in range(height):
            text += (
                "|"
                + "|".join(
                    f" {(cell[index] if index < len(cell) else ''):<{width}} "
                    for cell, width in zip(row, widths, strict=True)
                )
                + "|\n"
            )
        text += rule
    return text


def render_policy(policy: Policy) -> str:
    """The privilege matrix, then the limits of each type, the charges and the calendar."""
    publications = list(policy.publication_types.values())
    header = [["member type", "(quota)"]] + [
        [publication.name, f"({publication.code})"] for publication in publications
    ]
    rows = [header]
    for member in policy.member_types.values():
        rows.append(
            [[member.name, f"({member.code})", f"quota: {_limit(member.quota)}"]]
            + [
                _privilege_cell(policy.privilege(member.code, publication.code))
                for publication in publications
            ]
        )
    text = (
        "Privileges: items at once, loan period, grace and fine, renewals ('-' = may not borrow)\n"
    )
    text += _grid(rows)

    text += "\nMember types\n"
    member_rows = [[["code"], ["quota"], ["no issue after"], ["max fine"], ["fine limit"]]]
    for member in policy.member_types.values():
        member_rows.append(
            [
                [member.code],
                [_limit(member.quota)],
                [str(member.no_issue_after or "-")],
                [_money_or(member.max_fine, "no cap")],
                [_money_or(member.fine_limit, "never refused")],
            ]
        )
    text += _grid(member_rows)

    text += "\nPublication types\n"
    publication_rows = [[["code"], ["quota"], ["no issue after"], ["max fine"], ["text book"]]]
    for publication in publications:
        publication_rows.append(
            [
                [publication.code],
                [_limit(publication.quota)],
                [str(publication.no_issue_after or "-")],
                [_money_or(publication.max_fine, "no cap")],
                ["yes" if publication.text_book else "no"],
            ]
        )
    text += _grid(publication_rows)

    if policy.fault_charges:
        text += "\nFault charges (reduced to the item's price when it has one)\n"
        charge_rows = [[["code"], ["name"], ["amount"], ["item becomes"]]]
        for charge in policy.fault_charges.values():
            charge_rows.append(
                [[charge.code], [charge.name], [str(charge.amount)], [charge.status]]
            )
        text += _grid(charge_rows)

    calendar = policy.calendar
    weekdays = ", ".join(
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[day]
        for day in sorted(calendar.closed_weekdays)
    )
    dates = ", ".join(day.isoformat() for day in sorted(calendar.closed_dates))
    text += f"\nClosed every: {weekdays or 'no weekday'}\nClosed on: {dates or 'no dates'}\n"
    return text


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = commands.add_parser("policy", help="check, show and try out a lending policy")
    actions = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    checking = actions.add_parser(
        "check", help="validate a policy file and report every error in it"
    )
    checking.add_argument("file", type=Path, help="the policy file (TOML)")
    tabling = actions.add_parser("table", help="print the privilege matrix of a policy file")
    tabling.add_argument("file", type=Path, help="the policy file (TOML)")
    evaluating = actions.add_parser(
        "evaluate",
        help="decide one what-if scenario (JSON) and print the answer as JSON",
        description="Reads a scenario as in docs/lending-rules.md and prints one JSON object. "
        "Exit 0 for any valid scenario, 2 for an invalid one.",
    )
    evaluating.add_argument("scenario", help="a scenario JSON file, or - for standard input")
    policy.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.policy_command == "check":
        return check(args.file, sys.stdout, sys.stderr)
    if args.policy_command == "table":
        return table(args.file, sys.stdout, sys.stderr)
    return evaluate_command(args.scenario, sys.stdin, sys.stdout, sys.stderr)
