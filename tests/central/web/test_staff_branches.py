"""Each staff account's branch (issue 21), on SQLite and PostgreSQL: given when the
account is added or later, checked against the library's branches (a mistyped one
refused with the nearest, nothing changed), audited, and carried by the account's
sessions; and the ``staff`` command's ``--branch`` and ``branch`` verb."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import cli, database
from kiosk.central.circulation.branches import add_branch
from kiosk.central.errors import CentralError
from kiosk.central.models import AuditEntry, StaffMember
from kiosk.central.web import sessions
from kiosk.central.web.accounts import SignedIn, add_staff, set_staff_branch
from kiosk.central.web.sessions import Lifetimes

NOW = datetime(2026, 12, 1, 9, 0)
PASSWORD = "a long enough password"
LIFETIMES = Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    engine = database.connect(database_url)
    database.upgrade(engine)
    with Session(engine) as session:
        for code, name in (("North", "Northside"), ("East", "East End")):
            add_branch(session, code, name, NOW, actor="test", origin="test")
        yield session
    engine.dispose()


def _branch(db: Session, username: str) -> str | None:
    db.expire_all()
    return db.scalar(select(StaffMember.branch).where(StaffMember.username == username))


def test_an_account_works_at_a_branch_its_sessions_know(db: Session) -> None:
    add_staff(db, "cyril", "circulation", PASSWORD, NOW, actor="ada", origin="x", branch="North")
    add_staff(db, "vera", "viewer", PASSWORD, NOW, actor="ada", origin="x")
    assert (_branch(db, "cyril"), _branch(db, "vera")) == ("North", None)
    member = db.scalars(select(StaffMember).where(StaffMember.username == "cyril")).one()
    session_id = sessions.start(db, SignedIn(member.id, "cyril", "circulation"), NOW, origin="x")
    found = sessions.find(db, session_id, NOW, LIFETIMES)
    assert found is not None
    assert found.branch == "North"

    set_staff_branch(db, "cyril", "East", NOW, actor="ada", origin="x")
    found = sessions.find(db, session_id, NOW + timedelta(minutes=1), LIFETIMES)
    assert found is not None
    assert found.branch == "East"  # at the next page, without signing in again
    set_staff_branch(db, "cyril", None, NOW, actor="ada", origin="x")
    assert _branch(db, "cyril") is None
    details = list(
        db.scalars(
            select(AuditEntry.detail)
            .where(
                AuditEntry.target == "cyril", AuditEntry.action.in_(("staff.add", "staff.branch"))
            )
            .order_by(AuditEntry.id)
        )
    )
    assert details == ["circulation; branch North", "East", "none"]


def test_a_branch_the_library_does_not_have_is_refused(db: Session) -> None:
    with pytest.raises(CentralError, match="no branch 'Nrth'; did you mean 'North'"):
        add_staff(db, "cyril", "circulation", PASSWORD, NOW, actor="x", origin="x", branch="Nrth")
    db.rollback()
    assert db.scalar(select(StaffMember.id).where(StaffMember.username == "cyril")) is None
    add_staff(db, "cyril", "circulation", PASSWORD, NOW, actor="x", origin="x", branch="North")
    with pytest.raises(CentralError, match="no branch 'West'"):
        set_staff_branch(db, "cyril", "West", NOW, actor="x", origin="x")
    db.rollback()
    assert _branch(db, "cyril") == "North"
    with pytest.raises(CentralError, match="no staff account is named 'nobody'"):
        set_staff_branch(db, "nobody", "North", NOW, actor="x", origin="x")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = cli.main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_the_staff_command_gives_and_changes_a_branch(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    assert _run(capsys, "--db", url, "init")[0] == 0
    assert _run(capsys, "--db", url, "branch", "add", "North", "Northside")[0] == 0
    secret = tmp_path / "password"
    secret.write_text("cyril's long password\n", encoding="utf-8")
    secret.chmod(0o600)
    add = ("--db", url, "staff", "add", "cyril", "--role", "circulation")
    status, _, err = _run(capsys, *add, "--password-file", str(secret), "--branch", "Nroth")
    assert status == 2
    assert "no branch 'Nroth'; did you mean 'North'" in err
    assert _run(capsys, *add, "--password-file", str(secret), "--branch", "North")[:2] == (
        0,
        "staff account cyril added (circulation, branch North)\n",
    )
    listed = json.loads(_run(capsys, "--db", url, "staff", "list", "--json")[1])
    assert [(row["username"], row["branch"]) for row in listed] == [("cyril", "North")]
    assert _run(capsys, "--db", url, "staff", "branch", "cyril", "none")[:2] == (
        0,
        "staff account cyril works at branch none\n",
    )
    status, _, err = _run(capsys, "--db", url, "staff", "branch", "cyril", "West")
    assert status == 2
    assert "no branch 'West'" in err
    listed = json.loads(_run(capsys, "--db", url, "staff", "list", "--json")[1])
    assert listed[0]["branch"] is None
