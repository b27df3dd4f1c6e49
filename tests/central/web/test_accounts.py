"""Staff accounts, sessions and the audit log on both databases; the ``staff`` command."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kiosk.central import audit, cli, database
from kiosk.central.audit import AuditFilter
from kiosk.central.models import AuditEntry, Kiosk, StaffMember
from kiosk.central.web import sessions
from kiosk.central.web.accounts import (
    AccountError,
    add_staff,
    authenticate,
    disable_staff,
    set_password,
)
from kiosk.central.web.health import light
from kiosk.central.web.sessions import Lifetimes

NOW = datetime(2026, 11, 23, 10, 0)
PASSWORD = "a long enough password"
LIFETIMES = Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    engine = database.connect(database_url)
    database.upgrade(engine)
    with Session(engine) as session:
        add_staff(session, "ada", "admin", PASSWORD, NOW, actor="test", origin="test")
        yield session
    engine.dispose()


def _audit(db: Session, action: str) -> int:
    return (
        db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))
        or 0
    )


def test_the_verifier_is_argon2id_and_the_password_is_nowhere(db: Session) -> None:
    member = db.scalars(select(StaffMember)).one()
    assert member.password_verifier.startswith("$argon2id$")
    assert PASSWORD not in member.password_verifier
    assert authenticate(db, "ada", PASSWORD, NOW, origin="192.0.2.1") is not None


def test_the_fifth_wrong_password_locks_for_fifteen_minutes_then_it_opens(db: Session) -> None:
    for attempt in range(5):
        assert (
            authenticate(db, "ada", "wrong", NOW + timedelta(seconds=attempt), origin="x") is None
        )
    assert authenticate(db, "ada", PASSWORD, NOW + timedelta(minutes=14), origin="x") is None
    assert (
        authenticate(db, "ada", PASSWORD, NOW + timedelta(minutes=15, seconds=5), origin="x")
        is not None
    )
    # A success clears the count: four more wrong ones do not lock.
    for _ in range(4):
        assert authenticate(db, "ada", "wrong", NOW + timedelta(minutes=16), origin="x") is None
    assert authenticate(db, "ada", PASSWORD, NOW + timedelta(minutes=16), origin="x") is not None


def test_a_new_password_lifts_the_lock_and_ends_every_session(db: Session) -> None:
    who = authenticate(db, "ada", PASSWORD, NOW, origin="x")
    assert who is not None
    session_id = sessions.start(db, who, NOW, origin="x")
    for _ in range(5):
        authenticate(db, "ada", "wrong", NOW, origin="x")
    set_password(db, "ada", "another long password", NOW, actor="terminal:root", origin="terminal")
    assert sessions.find(db, session_id, NOW, LIFETIMES) is None
    assert authenticate(db, "ada", "another long password", NOW, origin="x") is not None
    assert _audit(db, "staff.password") == 1


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(db: Session) -> None:
    who = authenticate(db, "ada", PASSWORD, NOW, origin="x")
    assert who is not None
    session_id = sessions.start(db, who, NOW, origin="x")
    disable_staff(db, "ada", NOW, actor="terminal:root", origin="terminal")
    assert sessions.find(db, session_id, NOW, LIFETIMES) is None
    assert authenticate(db, "ada", PASSWORD, NOW, origin="x") is None


def test_sessions_end_when_idle_or_too_old(db: Session) -> None:
    who = authenticate(db, "ada", PASSWORD, NOW, origin="x")
    assert who is not None
    idle = sessions.start(db, who, NOW, origin="x")
    assert sessions.find(db, idle, NOW + timedelta(minutes=29), LIFETIMES) == who
    assert sessions.find(db, idle, NOW + timedelta(minutes=29 + 31), LIFETIMES) is None
    assert sessions.find(db, idle, NOW + timedelta(minutes=29), LIFETIMES) is None  # deleted
    busy = sessions.start(db, who, NOW, origin="x")
    moment = NOW
    while moment < NOW + timedelta(hours=11, minutes=50):
        moment += timedelta(minutes=20)
        assert sessions.find(db, busy, moment, LIFETIMES) == who
    assert sessions.find(db, busy, NOW + timedelta(hours=12, minutes=1), LIFETIMES) is None


def test_each_change_is_audited_in_its_own_transaction(db: Session) -> None:
    assert _audit(db, "staff.add") == 1
    with pytest.raises(AccountError, match="exists already"):
        add_staff(db, "ada", "viewer", PASSWORD, NOW, actor="test", origin="test")
    with pytest.raises(AccountError, match="at least 12"):
        add_staff(db, "bob", "viewer", "short", NOW, actor="test", origin="test")
    assert _audit(db, "staff.add") == 1  # a refused change leaves no entry
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "staff.add")).one()
    assert (entry.actor, entry.target, entry.origin, entry.detail, entry.at) == (
        "test",
        "ada",
        "test",
        "admin",
        NOW,
    )


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = cli.main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_the_staff_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    assert _run(capsys, "--db", url, "init")[0] == 0
    secret = tmp_path / "password"
    secret.write_text("cyril's long password\n", encoding="utf-8")
    secret.chmod(0o644)
    status, _, err = _run(
        capsys,
        "staff",
        "add",
        "cyril",
        "--role",
        "circulation",
        "--password-file",
        str(secret),
        "--db",
        url,
    )
    assert status == 2
    assert "chmod 600" in err
    secret.chmod(0o600)
    # Options before or after the verb.
    assert _run(
        capsys,
        "--db",
        url,
        "staff",
        "add",
        "cyril",
        "--role",
        "circulation",
        "--password-file",
        str(secret),
    )[:2] == (
        0,
        "staff account cyril added (circulation)\n",
    )
    status, out, _ = _run(capsys, "staff", "list", "--json", "--db", url)
    assert status == 0
    assert '"username": "cyril"' in out
    assert '"state": "active"' in out
    assert _run(capsys, "staff", "--db", url, "disable", "cyril")[0] == 0
    assert "state=disabled" in _run(capsys, "--db", url, "staff", "list")[1]
    secret.write_text("a new long password\n", encoding="utf-8")
    assert (
        _run(capsys, "--db", url, "staff", "password", "cyril", "--password-file", str(secret))[0]
        == 0
    )
    status, _, err = _run(capsys, "--db", url, "staff", "disable", "nobody")
    assert status == 2
    assert "no staff account is named 'nobody'" in err
    status, _, err = _run(
        capsys, "--db", url, "staff", "add", "x", "--role", "boss", "--password-file", str(secret)
    )
    assert status == 2
    assert "invalid choice" in err
    engine = database.connect(url)
    with Session(engine) as session:
        actors = set(session.scalars(select(AuditEntry.actor)))
        assert all(actor.startswith("terminal:") for actor in actors)
    engine.dispose()
    assert "a new long password" not in (tmp_path / "central.db").read_bytes().decode("latin-1")


def test_the_lights() -> None:
    kiosk = Kiosk(name="k", token_hash="h", created_at=NOW)
    assert light(kiosk, NOW).colour == "red"
    kiosk.last_seen, kiosk.scanners, kiosk.disk_free_mb = NOW, ["hid"], 5000
    assert light(kiosk, NOW).colour == "green"
    assert light(kiosk, NOW + timedelta(minutes=3)).colour == "amber"
    assert light(kiosk, NOW + timedelta(minutes=16)).colour == "red"
    kiosk.scanners = []
    assert light(kiosk, NOW).reasons == ("no scanner connected",)


AUDITED = [
    ("ada", "loan.checkout", "item A"),
    ("cyril", "loan.return", "item A"),
    ("cyril", "loans.export", "file"),  # another kind that starts the same
    ("cyril", "patron.bar", "patron P1"),
    ("ada", "loan", "item B"),
]


@pytest.mark.parametrize(
    ("case", "wanted", "expected"),
    [
        ("everything", AuditFilter(), [4, 3, 2, 1, 0]),
        ("one kind", AuditFilter(action="loan"), [4, 1, 0]),
        ("one action", AuditFilter(action="loan.return"), [1]),
        ("one person", AuditFilter(actor="ada"), [4, 0]),
        ("one thing changed", AuditFilter(target="item A"), [1, 0]),
        (
            "a day",
            AuditFilter(since=NOW + timedelta(days=1), until=NOW + timedelta(days=3)),
            [2, 1],
        ),
        ("after a page", AuditFilter(before_id=3), [1, 0]),
    ],
)
def test_the_audit_log_is_filtered_by_who_kind_target_day_and_page(
    db: Session, case: str, wanted: AuditFilter, expected: list[int]
) -> None:
    db.execute(delete(AuditEntry))
    ids = []
    for n, (actor, action, target) in enumerate(AUDITED):
        audit.record(
            db, NOW + timedelta(days=n), actor=actor, action=action, target=target, origin="test"
        )
        db.flush()
        ids.append(db.scalars(select(AuditEntry.id).order_by(AuditEntry.id.desc())).first())
    db.commit()
    if wanted.before_id is not None:
        wanted = AuditFilter(before_id=ids[2])
    found = [ids.index(entry.id) for entry in audit.entries(db, 50, wanted)]
    assert found == expected, case
    assert audit.kinds(db) == ["loan", "loans", "patron"]
    assert audit.actors(db) == ["ada", "cyril"]
