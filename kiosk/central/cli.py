"""``kiosk-central``: run and administer the library's central circulation server."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kiosk.central import admin, db
from kiosk.central.errors import CentralError, ImportRejected
from kiosk.central.importers import import_file
from kiosk.central.koc import export_koc
from kiosk.common.clock import SystemClock

DB_ENV = "KIOSK_CENTRAL_DB"


def app_from_env() -> FastAPI:
    """The API for uvicorn's workers: the database comes from $KIOSK_CENTRAL_DB."""
    from kiosk.central.api import create_app  # noqa: PLC0415 - FastAPI only when serving

    engine = db.connect(os.environ[DB_ENV])
    return create_app(engine, SystemClock().now)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk-central", description="The library's central circulation server."
    )
    parser.add_argument(
        "--db",
        default=os.environ.get(DB_ENV, "sqlite:///central.db"),
        help="database URL: sqlite:///central.db (default) or postgresql://user@host/db",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("init", help="create or upgrade the database schema")

    importing = commands.add_parser("import", help="load data from staff files")
    what = importing.add_subparsers(dest="what", required=True, metavar="WHAT")
    policy = what.add_parser("policy", help="make a policy file (TOML) the policy in force")
    policy.add_argument("file", type=Path)
    for kind, text in (
        ("catalogue", "catalogue records: brn, title, author, isbn, publication_type"),
        ("items", "stock items: barcode, brn, price, status, home_location"),
        (
            "patrons",
            "patrons: patron_id, card, first_name, surname, member_type, expires, barred, pin",
        ),
    ):
        table = what.add_parser(kind, help=f"{text} (CSV with a header row)")
        table.add_argument("file", type=Path)

    demo = commands.add_parser("demo-data", help="fill a new database with the demo library")
    demo.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="where demo-cards.json goes"
    )
    demo.add_argument("--items", type=int, default=2000)
    demo.add_argument("--patrons", type=int, default=300)
    demo.add_argument("--loans", type=int, default=400)
    demo.add_argument("--seed", type=int, default=1)

    kiosk = commands.add_parser("kiosk", help="register and list kiosks")
    kiosk_commands = kiosk.add_subparsers(dest="kiosk_command", required=True, metavar="ACTION")
    add = kiosk_commands.add_parser("add", help="register a kiosk and print its token once")
    add.add_argument("name")
    add.add_argument("--json", action="store_true")
    listing = kiosk_commands.add_parser("list", help="kiosks with last contact and health")
    listing.add_argument("--json", action="store_true")

    holds = commands.add_parser("holds", help="place holds")
    holds_commands = holds.add_subparsers(dest="holds_command", required=True, metavar="ACTION")
    place = holds_commands.add_parser("place", help="put a patron in an item's hold queue")
    place.add_argument("--card", required=True)
    place.add_argument("--item", required=True)

    transactions = commands.add_parser("transactions", help="the latest applied transactions")
    transactions.add_argument("--json", action="store_true")
    exceptions = commands.add_parser("exceptions", help="list or resolve exceptions for staff")
    exceptions.add_argument("--json", action="store_true")
    exceptions.add_argument("--resolve", type=int, metavar="N", help="mark exception N resolved")
    exceptions.add_argument("--note", default="resolved", help="what was done about it")

    export = commands.add_parser("export", help="write transactions for another system")
    formats = export.add_subparsers(dest="format", required=True, metavar="FORMAT")
    koc = formats.add_parser("koc", help="Koha's offline circulation file (.koc)")
    koc.add_argument("--since", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    koc.add_argument("--out", type=Path, required=True, help="the .koc file to write")

    serve = commands.add_parser("serve", help="serve the kiosks' API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1)
    return parser


def _emit(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, default=str))
        return
    for row in rows:
        print("  ".join(f"{key}={value}" for key, value in row.items()))


def _import(args: argparse.Namespace, session: Session, now: datetime) -> int:
    if args.what != "policy":
        count = import_file(session, args.what, args.file)
        print(f"{args.file}: {count} rows imported")
        return 0
    version = admin.import_policy(session, args.file, now)
    print(f"{args.file}: policy version {version} is in force")
    return 0


def _demo_data(args: argparse.Namespace, session: Session, now: datetime) -> int:
    from kiosk.demo.library import Scale, generate_library  # noqa: PLC0415

    library = generate_library(Scale(args.items, args.patrons, args.loans, args.seed), now)
    admin.put_policy(session, library.document, now)
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with engine.begin() as connection:
        admin.load_library(connection, library, now)
    library.write_cards(args.out)
    print(
        f"{len(library.items)} items, {len(library.patrons)} patrons, "
        f"{len(library.loans)} loans; cards in {args.out / 'demo-cards.json'}"
    )
    return 0


def _kiosk(args: argparse.Namespace, session: Session, now: datetime) -> int:
    if args.kiosk_command == "add":
        token = admin.add_kiosk(session, args.name, now)
        if args.json:
            print(json.dumps({"name": args.name, "token": token}))
        else:
            print(f"kiosk {args.name} registered; its token (shown only now): {token}")
        return 0
    _emit(
        [
            {
                "name": kiosk.name,
                "last_seen": kiosk.last_seen,
                "version": kiosk.version,
                "journal_depth": kiosk.journal_depth,
                "last_error": kiosk.last_error,
            }
            for kiosk in admin.kiosks(session)
        ],
        args.json,
    )
    return 0


def _holds(args: argparse.Namespace, session: Session, now: datetime) -> int:
    hold = admin.place_hold(session, args.card, args.item, now)
    shelf = " (ready on the hold shelf)" if hold.ready else ""
    print(f"hold placed: position {hold.position}{shelf}")
    return 0


def _transactions(args: argparse.Namespace, session: Session, _now: datetime) -> int:
    _emit(
        [
            {
                "id": row.id,
                "kind": row.kind,
                "item": row.item_barcode,
                "decided_at": row.decided_at,
                "outcome": row.outcome,
            }
            for row in admin.transactions(session)
        ],
        args.json,
    )
    return 0


def _exceptions(args: argparse.Namespace, session: Session, now: datetime) -> int:
    if args.resolve is not None:
        admin.resolve_exception(session, args.resolve, args.note, now)
        print(f"exception {args.resolve} resolved")
        return 0
    _emit(
        [
            {
                "number": row.id,
                "entry": row.entry_id,
                "reason": row.reason,
                "detail": row.detail,
                "created_at": row.created_at,
            }
            for row in admin.open_exceptions(session)
        ],
        args.json,
    )
    return 0


def _export(args: argparse.Namespace, session: Session, _now: datetime) -> int:
    written = export_koc(session, datetime.combine(args.since, time.min), args.out)
    print(
        f"{args.out}: {written.written} operations since {args.since}"
        + (
            f"; {written.left_out} fault charges left out (Koha has no such operation)"
            if written.left_out
            else ""
        )
    )
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Session, datetime], int]] = {
    "import": _import,
    "demo-data": _demo_data,
    "kiosk": _kiosk,
    "holds": _holds,
    "transactions": _transactions,
    "exceptions": _exceptions,
    "export": _export,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    engine = db.connect(args.db)
    try:
        if args.command == "init":
            db.upgrade(engine)
            print(f"{engine.url.render_as_string(hide_password=True)}: schema up to date")
            return 0
        if not db.is_current(engine):
            print(
                "kiosk-central: the database schema is missing or old; run `kiosk-central init`",
                file=sys.stderr,
            )
            return 2
        if args.command == "serve":
            return _serve(args)
        with Session(engine) as session:
            return COMMANDS[args.command](args, session, SystemClock().now())
    except ImportRejected as rejected:
        for problem in rejected.problems:
            print(problem, file=sys.stderr)
        print(f"kiosk-central: {rejected}", file=sys.stderr)
        return 2
    except CentralError as error:
        print(f"kiosk-central: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415

    os.environ[DB_ENV] = args.db
    uvicorn.run(
        "kiosk.central.cli:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
