"""Gateway mode's scheduled imports (issue 19, item 4): ``kiosk-central import waiting``
takes the other system's exports from ``[imports] directory``, each once, in order;
real processes and a real folder on both databases."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.policy import import_policy
from kiosk.central.inbox import LOCK, InboxError, Outcome, import_waiting
from kiosk.central.models import Item, Patron, Record

ROOT = Path(__file__).parents[3]
POLICY = ROOT / "kiosk" / "demo" / "policy.example.toml"

CATALOGUE = (
    "brn,title,author,isbn,publication_type\n"
    "1,The Hobbit,J. R. R. Tolkien,,FICTION\n"
    "2,Middlemarch,George Eliot,,FICTION\n"
)
ITEMS = (
    "barcode,brn,price,status,home_location\n"
    "30000000000038,1,12.99,available,MAIN\n"
    "30000000000046,2,9.50,available,MAIN\n"
)
PATRONS = (
    "patron_id,card,first_name,surname,member_type,expires,barred,pin\n"
    "P1,20000000000014,Ada,Okafor,ADULT,2027-06-30,no,2468\n"
)
AN_HOUR_AGO = time.time() - 3600
NOW = datetime(2026, 12, 3, 9, 0)


def central(url: str, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.central.cli", "--db", url, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def drop(inbox: Path, name: str, text: str) -> Path:
    """An export copied in with ``cp -p``'s times (an hour old): written elsewhere, then
    renamed, as advised."""
    path = inbox / name
    partial = inbox / f".{name}.part"
    partial.write_text(text, encoding="utf-8")
    os.utime(partial, (AN_HOUR_AGO, AN_HOUR_AGO))
    partial.rename(path)
    return path


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "imports"
    folder.mkdir()
    return folder


@pytest.fixture
def config(tmp_path: Path, inbox: Path) -> Path:
    path = tmp_path / "central.toml"
    path.write_text(f'[imports]\ndirectory = "{inbox}"\nkeep = 2\n', encoding="utf-8")
    return path


@pytest.fixture
def library(database_url: str) -> str:
    engine = database.connect(database_url)
    database.upgrade(engine)
    with Session(engine) as session:
        import_policy(session, POLICY, NOW)
    engine.dispose()
    return database_url


def take(
    url: str, inbox: Path, now: datetime = NOW, *, settle: float = 0, later: float = 0
) -> list[Outcome]:
    """What the timer's run does, in this process, ``later`` seconds from now."""
    engine = database.connect(url)
    try:
        return import_waiting(
            engine,
            inbox,
            now,
            actor="terminal:test",
            origin="test",
            keep=2,
            settle_seconds=settle,
            wall=lambda: time.time() + later,
        )
    finally:
        engine.dispose()


def counts(url: str) -> tuple[int, int, int]:
    engine = database.connect(url)
    try:
        with engine.connect() as connection:
            return tuple(  # type: ignore[return-value]
                connection.scalar(select(func.count()).select_from(model))
                for model in (Record, Item, Patron)
            )
    finally:
        engine.dispose()


def test_the_three_exports_are_imported_in_order_once_and_moved_to_done(
    library: str, config: Path, inbox: Path
) -> None:
    # Copied in the "wrong" order: the patrons first. The import keeps its own.
    drop(inbox, "patrons.csv", PATRONS)
    drop(inbox, "items.csv", ITEMS)
    drop(inbox, "catalogue.csv", CATALOGUE)
    run = central(library, config, "import", "waiting", "--settle", "0", "--json")
    assert run.returncode == 0, run.stderr
    outcomes = json.loads(run.stdout)
    assert [(o["kind"], o["rows"], o["problems"]) for o in outcomes] == [
        ("catalogue", 2, []),
        ("items", 2, []),
        ("patrons", 1, []),
    ]
    assert counts(library) == (2, 2, 1)
    assert sorted(path.name for path in inbox.glob("*.csv")) == []
    done = sorted(path.name for path in (inbox / "done").iterdir())
    assert [name.split("-")[0] for name in done] == ["catalogue", "items", "patrons"]
    assert all(Path(o["moved_to"]).parent == inbox / "done" for o in outcomes)
    assert (inbox / "done").stat().st_mode & 0o777 == 0o700
    # The next hour finds nothing: each export is imported once.
    again = central(library, config, "import", "waiting", "--settle", "0")
    assert (again.returncode, again.stdout) == (0, f"{inbox}: nothing waiting\n")
    assert counts(library) == (2, 2, 1)


def test_a_refused_export_goes_to_failed_with_its_reasons_and_holds_back_the_rest(
    library: str, config: Path, inbox: Path
) -> None:
    drop(inbox, "catalogue.csv", CATALOGUE)
    drop(inbox, "items.csv", ITEMS.replace(",2,9.50,", ",7,9.50,"))  # no record 7
    drop(inbox, "patrons.csv", PATRONS)
    run = central(library, config, "import", "waiting", "--settle", "0")
    # A refusal fails the run: systemd shows the timer's service failed.
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0].startswith("catalogue.csv: 2 rows imported; moved to ")
    assert lines[1].startswith("items.csv: refused, nothing imported; moved to ")
    assert lines[2].startswith("  items.csv:3: brn: ")
    assert lines[3] == (
        "patrons.csv: left for the next run: items.csv was refused; fix it and send it again first"
    )
    assert counts(library) == (2, 0, 0)
    failed = list((inbox / "failed").glob("items-*.csv"))
    assert len(failed) == 1
    reasons = failed[0].with_suffix(".problems.txt")
    assert reasons.read_text(encoding="utf-8").startswith("items.csv:3: brn: ")
    assert reasons.stat().st_mode & 0o777 == 0o600
    assert (inbox / "patrons.csv").is_file()
    # Staff send the items again, corrected: both they and the patrons go in.
    drop(inbox, "items.csv", ITEMS)
    fixed = central(library, config, "import", "waiting", "--settle", "0", "--json")
    assert fixed.returncode == 0, fixed.stderr
    assert [(o["kind"], o["rows"]) for o in json.loads(fixed.stdout)] == [
        ("items", 2),
        ("patrons", 1),
    ]
    assert counts(library) == (2, 2, 1)


def test_an_export_still_being_copied_waits_and_so_do_those_after_it(
    library: str, inbox: Path
) -> None:
    # Its modification time an hour old (cp -p, rsync -a), but copied in just now.
    drop(inbox, "catalogue.csv", CATALOGUE)
    drop(inbox, "items.csv", ITEMS)
    outcomes = take(library, inbox, settle=60)
    assert [(o.kind, o.rows, o.moved_to) for o in outcomes] == [
        ("catalogue", None, None),
        ("items", None, None),
    ]
    assert "may still be being copied" in outcomes[0].waiting_because
    assert outcomes[1].waiting_because == outcomes[0].waiting_because
    assert counts(library) == (0, 0, 0)
    # A minute later it has settled.
    later = take(library, inbox, settle=60, later=61)
    assert [(o.kind, o.rows) for o in later] == [("catalogue", 2), ("items", 2)]


def test_a_file_an_interrupted_run_was_importing_goes_to_failed_not_in_again(
    library: str, inbox: Path
) -> None:
    (inbox / "importing").mkdir()
    drop(inbox / "importing", "catalogue.csv", CATALOGUE)  # the machine stopped mid-import
    drop(inbox, "items.csv", ITEMS)
    outcomes = take(library, inbox)
    assert [(o.kind, o.rows, o.refused) for o in outcomes] == [
        ("catalogue", None, True),
        ("items", None, False),
    ]
    assert "may or may not have been imported" in outcomes[0].problems[0]
    assert "import.catalogue" in outcomes[0].problems[0]
    assert outcomes[0].moved_to is not None
    assert outcomes[0].moved_to.parent == inbox / "failed"
    assert outcomes[1].waiting_because == (
        "catalogue.csv was refused; fix it and send it again first"
    )
    assert list((inbox / "importing").iterdir()) == []
    assert counts(library) == (0, 0, 0)


def test_only_the_newest_exports_of_each_kind_are_kept(library: str, inbox: Path) -> None:
    for hour in range(4):
        drop(inbox, "catalogue.csv", CATALOGUE)
        assert [o.rows for o in take(library, inbox, datetime(2026, 12, 3, 9 + hour))] == [2]
    kept = sorted(path.name for path in (inbox / "done").iterdir())
    # They hold every patron's record: older ones go.
    assert kept == ["catalogue-20261203-110000.csv", "catalogue-20261203-120000.csv"]


def test_a_second_run_at_once_is_refused_and_imports_nothing(library: str, inbox: Path) -> None:
    drop(inbox, "catalogue.csv", CATALOGUE)
    descriptor = os.open(inbox / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)  # the timer's run, importing
    try:
        with pytest.raises(InboxError, match=r"another import of .* is running"):
            take(library, inbox)
    finally:
        os.close(descriptor)
    assert (inbox / "catalogue.csv").is_file()  # left for the run that holds the lock
    assert counts(library) == (0, 0, 0)


def test_a_missing_or_unset_folder_is_refused_in_words(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    engine = database.connect(url)
    database.upgrade(engine)
    engine.dispose()
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text(f'[imports]\ndirectory = "{tmp_path / "nowhere"}"\n', encoding="utf-8")
    run = central(url, elsewhere, "import", "waiting", "--settle", "0")
    assert run.returncode != 0
    assert f"the import folder {tmp_path / 'nowhere'} does not exist" in run.stderr
    assert "Traceback" not in run.stderr
    off = tmp_path / "off.toml"
    off.write_text('[imports]\ndirectory = ""\n', encoding="utf-8")
    refused = central(url, off, "import", "waiting", "--settle", "0")
    assert refused.returncode != 0
    assert "[imports] directory is empty" in refused.stderr
