"""SIP2 device accounts on both databases (add, list, disable, login, audited) and the
``kiosk-central sip2 account`` command."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import cli, database
from kiosk.central.models import AuditEntry, Sip2Account
from kiosk.central.sip2 import accounts
from kiosk.central.sip2.accounts import Sip2AccountError
from kiosk.central.sip2.device import PERMISSIONS

NOW = datetime(2026, 12, 2, 9, 30)
PASSWORD = "a device's password"


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    engine = database.connect(database_url)
    database.upgrade(engine)
    session = Session(engine)
    yield session
    session.close()
    engine.dispose()


def _add(
    db: Session, name: str = "sc-01", *, location: str = "", may: Iterable[str] | None = None
) -> Sip2Account:
    return accounts.add_account(
        db,
        name,
        PASSWORD,
        NOW,
        location=location,
        may=accounts.SELF_CHECK if may is None else may,
        actor="terminal:ada",
        origin="terminal",
    )


def _audit(db: Session) -> list[tuple[str, str, str, str]]:
    return [
        (entry.actor, entry.action, entry.target, entry.detail)
        for entry in db.scalars(select(AuditEntry).order_by(AuditEntry.id))
    ]


def test_add_keeps_a_verifier_and_what_the_device_may_do(db: Session) -> None:
    _add(db)  # a self-check's permissions by default
    _add(db, "Sorter.2", location="Returns hall", may={"checkin"})
    _add(db, "ezproxy", may=())
    found = {account.name: account for account in accounts.accounts(db)}
    assert list(found) == ["Sorter.2", "ezproxy", "sc-01"]
    assert accounts.permissions(found["sc-01"]) == {"checkout", "checkin", "renew"}
    assert accounts.permissions(found["Sorter.2"]) == {"checkin"}
    assert accounts.permissions(found["ezproxy"]) == frozenset()
    assert accounts.describe(accounts.permissions(found["ezproxy"])) == "patron-auth-only"
    assert found["Sorter.2"].location == "Returns hall"
    for account in found.values():
        assert account.password_verifier.startswith("$argon2id$")
        assert PASSWORD not in account.password_verifier
        assert not account.disabled
        assert account.created_at == NOW
    assert _audit(db) == [
        (
            "terminal:ada",
            "sip2.account.add",
            "sip2 sc-01",
            "may checkout,checkin,renew; location -",
        ),
        ("terminal:ada", "sip2.account.add", "sip2 Sorter.2", "may checkin; location Returns hall"),
        ("terminal:ada", "sip2.account.add", "sip2 ezproxy", "may patron-auth-only; location -"),
    ]


def test_login_right_wrong_unknown_and_disabled(db: Session) -> None:
    _add(db, may=PERMISSIONS)
    account = accounts.login(db, "sc-01", PASSWORD, NOW)
    assert account is not None
    assert account.name == "sc-01"
    assert accounts.permissions(account) == set(PERMISSIONS)
    assert (
        accounts.login(db, "sc-01", "not the password", NOW, origin="sip2 192.0.2.7:5000") is None
    )
    assert accounts.login(db, "SC-01", PASSWORD, NOW) is None  # names are exact
    assert accounts.login(db, "nobody", PASSWORD, NOW) is None
    assert accounts.is_enabled(db, "sc-01")
    accounts.disable_account(db, "sc-01", NOW, actor="terminal:ada", origin="terminal")
    assert accounts.login(db, "sc-01", PASSWORD, NOW) is None  # the right password, disabled
    assert not accounts.is_enabled(db, "sc-01")
    assert not accounts.is_enabled(db, "nobody")
    assert accounts.login(db, "sc-01", PASSWORD) is None  # without a time: not audited
    assert _audit(db)[1:] == [
        ("sc-01", "sip2.login.refused", "sip2 sc-01", "wrong password"),
        ("-", "sip2.login.refused", "unknown account", ""),  # the name typed is not kept
        ("-", "sip2.login.refused", "unknown account", ""),
        ("terminal:ada", "sip2.account.disable", "sip2 sc-01", ""),
        ("sc-01", "sip2.login.refused", "sip2 sc-01", "disabled"),
    ]
    origins = list(db.scalars(select(AuditEntry.origin).order_by(AuditEntry.id)))
    assert origins[1] == "sip2 192.0.2.7:5000"


@pytest.mark.parametrize(
    ("name", "password", "options", "message"),
    [
        ("sc 01", PASSWORD, {}, "an account name is 1 to 64 letters"),
        ("-sc", PASSWORD, {}, "starting with a letter or digit"),
        ("x" * 65, PASSWORD, {}, "1 to 64"),
        ("sc", "short", {}, "at least 8 characters"),
        ("sc", "x" * 256, {}, "at most 255 characters"),
        ("sc", "pass|word!", {}, "cannot hold a '|'"),
        ("sc", PASSWORD, {"location": "Main|Hall"}, "location code cannot hold a '|'"),
        ("sc", PASSWORD, {"may": {"checkout", "lend"}}, "'lend' is not a permission"),
    ],
)
def test_what_add_refuses(
    db: Session, name: str, password: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(Sip2AccountError, match=message):
        accounts.add_account(db, name, password, NOW, actor="t", origin="t", **options)  # type: ignore[arg-type]
    assert accounts.accounts(db) == []


def test_a_name_is_taken_once_and_disable_names_an_account(db: Session) -> None:
    _add(db)
    with pytest.raises(Sip2AccountError, match="a SIP2 account named 'sc-01' exists already"):
        _add(db)
    db.rollback()
    with pytest.raises(Sip2AccountError, match="no SIP2 account is named 'sc-02'"):
        accounts.disable_account(db, "sc-02", NOW, actor="t", origin="t")


def test_read_permissions() -> None:
    assert accounts.read_permissions("checkout, CHECKIN,renew") == {"checkout", "checkin", "renew"}
    with pytest.raises(
        Sip2AccountError, match=r"'chekin' is not a permission \(did you mean 'checkin'\?\)"
    ):
        accounts.read_permissions("checkout,chekin")
    with pytest.raises(Sip2AccountError, match="use --patron-auth-only"):
        accounts.read_permissions(" , ")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = cli.main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_the_sip2_account_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    assert _run(capsys, "--db", url, "init")[0] == 0
    secret = tmp_path / "password"
    secret.write_text("the self-check's password\n", encoding="utf-8")
    secret.chmod(0o644)
    add = ("sip2", "account", "add", "sc-01", "--password-file", str(secret))
    status, _, err = _run(capsys, "--db", url, *add)
    assert status == 2
    assert f"{secret}: readable by other users (mode 644); run: chmod 600 {secret}" in err
    secret.chmod(0o600)
    assert _run(capsys, "--db", url, *add, "--location", "Main") == (
        0,
        "SIP2 account sc-01 added (may checkout,checkin,renew)\n",
        "",
    )
    assert _run(
        capsys, *add[:3], "sorter", "--password-file", str(secret), "--may", "checkin", "--db", url
    )[:2] == (0, "SIP2 account sorter added (may checkin)\n")
    assert _run(
        capsys,
        "--db",
        url,
        *add[:3],
        "ezproxy",
        "--password-file",
        str(secret),
        "--patron-auth-only",
    )[:2] == (0, "SIP2 account ezproxy added (may patron-auth-only)\n")
    status, _, err = _run(
        capsys, "--db", url, *add[:3], "x", "--password-file", str(secret), "--may", "checkot"
    )
    assert status == 2
    assert "'checkot' is not a permission (did you mean 'checkout'?)" in err
    status, _, err = _run(capsys, "--db", url, *add, "--may", "checkin", "--patron-auth-only")
    assert status == 2
    assert "not allowed with argument" in err
    status, _, err = _run(capsys, "--db", url, *add)
    assert (status, err) == (2, "kiosk-central: a SIP2 account named 'sc-01' exists already\n")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    status, _, err = _run(capsys, "--db", url, *add[:3], "y", "--password-file", str(empty))
    assert status == 2
    assert "is empty; put the device's password (at least 8 characters) in it" in err

    assert _run(capsys, "--db", url, "sip2", "account", "disable", "sorter")[:2] == (
        0,
        "SIP2 account sorter disabled; devices logged in with it are dropped\n",
    )
    status, out, _ = _run(capsys, "--db", url, "sip2", "account", "list")
    lines = out.splitlines()
    assert [line.split("  created_at=")[0] for line in lines] == [
        "name=ezproxy  location=  may=patron-auth-only  state=active",
        "name=sc-01  location=Main  may=checkout,checkin,renew  state=active",
        "name=sorter  location=  may=checkin  state=disabled",
    ]
    status, out, _ = _run(capsys, "sip2", "account", "list", "--json", "--db", url)
    assert status == 0
    assert '"name": "sc-01", "location": "Main", "may": "checkout,checkin,renew"' in out
    status, _, err = _run(capsys, "--db", url, "sip2", "account", "disable", "nobody")
    assert (status, err) == (
        2,
        "kiosk-central: no SIP2 account is named 'nobody'; see `kiosk-central sip2 account list`\n",
    )
    assert "the self-check's password" not in out
