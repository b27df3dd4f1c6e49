"""``kiosk-central sip2``: the SIP2 server and its device accounts.

``sip2 serve [--host H] [--port P] [--processes N]`` listens for the library's other self-service
equipment (``[sip2]`` of central.toml: TLS, character set, timeouts, sort bins) until
SIGTERM. ``sip2 account add NAME --password-file FILE [--location CODE] [--may
checkout,checkin,renew,hold,pay,block | --patron-auth-only]``, ``sip2 account list`` and
``sip2 account disable NAME`` manage the accounts devices log in with (93). A password
is read from a file only its owner can read, never from the command line; every change
is audited as made by ``terminal:USER``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.commands import Command, Verbs, emit, in_session
from kiosk.central.commands.staff import terminal_actor
from kiosk.central.config.loading import SIP2_PROCESSES
from kiosk.central.gateway.outbox import set_relaying
from kiosk.central.latency import answer_waiting_threads_promptly, collect_only_what_requests_make
from kiosk.central.sip2 import accounts
from kiosk.central.sip2.device import PERMISSIONS
from kiosk.central.sip2.processes import Supervisor, listening_socket
from kiosk.central.sip2.server import (
    Sip2Server,
    limits_of,
    serve,
    settings_of,
    tls_context,
)
from kiosk.common.clock import SystemClock
from kiosk.common.secrets import SecretFile, SecretFileError, read_secret

PASSWORD_FILE = SecretFile(
    "password file",
    f"put the device's password (at least {accounts.MIN_PASSWORD} characters) in it",
)
ORIGIN = "terminal"


def _arguments(parser: argparse.ArgumentParser) -> None:
    verbs = Verbs(parser, "sip2_command", "ACTION")
    run = verbs.add("serve", "serve SIP2 to the library's self-checks, sorters and authenticators")
    run.add_argument("--host", help="the address to listen on (default: [sip2] host)")
    run.add_argument(
        "--port", type=int, help="the port to listen on; 0 for any free one (default: [sip2] port)"
    )
    run.add_argument(
        "--processes",
        type=int,
        help="server processes sharing the port (default: [sip2] processes)",
    )
    account = verbs.add("account", "the accounts SIP2 devices log in with")
    actions = Verbs(account, "account_command", "ACTION")
    add = actions.add("add", "add a device's account")
    add.add_argument("name", help="the login user id (CN) the device is set up with")
    add.add_argument(
        "--password-file",
        required=True,
        type=Path,
        metavar="FILE",
        help="a file holding the password (CO), readable by its owner alone (chmod 600)",
    )
    add.add_argument(
        "--location", default="", metavar="CODE", help="where the device stands (AN, AP)"
    )
    may = add.add_mutually_exclusive_group()
    may.add_argument(
        "--may",
        metavar="LIST",
        help=f"what it may do, some of {','.join(PERMISSIONS)} "
        f"(default: {accounts.describe(accounts.SELF_CHECK)}, a self-check's)",
    )
    may.add_argument(
        "--patron-auth-only",
        action="store_true",
        help="only check patrons' cards and PINs (an e-book or PC-booking authenticator)",
    )
    actions.add("list", "the accounts, what each may do and whether it can log in", json=True)
    disable = actions.add("disable", "stop an account logging in; its devices are dropped")
    disable.add_argument("name")


def _sip2(args: argparse.Namespace, engine: Engine) -> int:
    if args.sip2_command == "serve":
        return _serve(args, engine)
    return in_session(_account)(args, engine)


def _serve(args: argparse.Namespace, engine: Engine) -> int:
    config = args.config
    logging.basicConfig(
        level=config.central.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
        stream=sys.stderr,
    )
    # Gateway mode is the database's to know: every process queues alike (issue 19).
    set_relaying(engine, config.upstream.enabled)
    section = config.sip2
    host = args.host or section.host
    port = section.port if args.port is None else args.port
    count = section.processes if args.processes is None else args.processes
    low, high = SIP2_PROCESSES
    if not low <= count <= high:
        print(
            f"kiosk-central: --processes must be from {low} to {high}, not {count}",
            file=sys.stderr,
        )
        return 2
    tls = None
    if section.tls_certificate_file is not None and section.tls_key_file is not None:
        tls = tls_context(section.tls_certificate_file, section.tls_key_file)

    def run(sock: socket.socket | None, ready: Callable[[Sip2Server], None]) -> int:
        server = Sip2Server(
            database.sessions(engine),
            settings_of(config),
            limits=limits_of(config),
            now=SystemClock().now,
            workers=section.handler_threads,
            tls=tls,
        )
        answer_waiting_threads_promptly()
        collect_only_what_requests_make()
        asyncio.run(serve(server, host, port, ready=lambda: ready(server), sock=sock))
        return 0

    def listening(bound: tuple[str, int]) -> None:
        print(f"kiosk-central sip2: listening on {bound[0]}:{bound[1]}", flush=True)

    def alone(server: Sip2Server) -> None:
        listening(server.server.sockets[0].getsockname()[:2] if server.server else (host, port))

    try:
        if count == 1:
            return run(None, alone)
        sock = listening_socket(host, port)
    except OSError as error:
        print(f"kiosk-central: cannot listen on {host}:{port}: {error.strerror}", file=sys.stderr)
        return 2

    def work() -> int:
        # The pool's connections were opened before the fork: each process its own.
        engine.dispose(close=False)
        return run(sock, lambda _server: None)

    supervisor = Supervisor(count, work)
    code = supervisor.run(ready=lambda _pids: listening(sock.getsockname()[:2]))
    sock.close()
    return code


def _account(args: argparse.Namespace, session: Session, now: datetime) -> int:
    actor = terminal_actor()
    try:
        if args.account_command == "add":
            may = (
                frozenset()
                if args.patron_auth_only
                else accounts.SELF_CHECK
                if args.may is None
                else accounts.read_permissions(args.may)
            )
            password = read_secret(args.password_file, PASSWORD_FILE)
            accounts.add_account(
                session,
                args.name,
                password,
                now,
                location=args.location,
                may=may,
                actor=actor,
                origin=ORIGIN,
            )
            print(f"SIP2 account {args.name} added (may {accounts.describe(may)})")
        elif args.account_command == "disable":
            accounts.disable_account(session, args.name, now, actor=actor, origin=ORIGIN)
            print(f"SIP2 account {args.name} disabled; devices logged in with it are dropped")
        else:
            emit(
                [
                    {
                        "name": account.name,
                        "location": account.location,
                        "may": accounts.describe(accounts.permissions(account)),
                        "state": "disabled" if account.disabled else "active",
                        "created_at": account.created_at,
                    }
                    for account in accounts.accounts(session)
                ],
                args.json,
            )
    except SecretFileError as error:
        print(f"kiosk-central: {error}", file=sys.stderr)
        return 2
    return 0


COMMAND = Command(
    "sip2", "the SIP2 server and the accounts its devices log in with", _arguments, _sip2, json=True
)
