"""``kiosk-central`` as staff run it: real processes, a real database file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.central.process import CentralProcess
from kiosk.circulation.service import Circulation
from kiosk.circulation.views import Unavailable
from kiosk.common.clock import SystemClock
from kiosk.store.store import Store
from kiosk.sync.agent import SyncAgent

ROOT = Path(__file__).parents[3]


def central(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.central.cli", "--db", f"sqlite:///{db}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "central.db"
    assert central(path, "init").returncode == 0
    run = central(path, "import", "policy", str(ROOT / "kiosk" / "demo" / "policy.example.toml"))
    assert run.returncode == 0, run.stderr
    assert "policy version" in run.stdout
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_database_without_its_schema_is_refused_with_what_to_do(tmp_path: Path) -> None:
    run = central(tmp_path / "new.db", "kiosk", "list")
    assert run.returncode == 2
    assert "run `kiosk-central init`" in run.stderr


def test_imports_catalogue_items_and_patrons(database: Path, tmp_path: Path) -> None:
    catalogue = write(
        tmp_path / "catalogue.csv",
        "brn,title,author,isbn,publication_type\n"
        "1,The Hobbit,J. R. R. Tolkien,978-0-261-10334-4,FICTION\n"
        "2,A Brief History of Time,Stephen Hawking,,NONFICTION\n",
    )
    items = write(
        tmp_path / "items.csv",
        "barcode,brn,price,status,home_location\n"
        "30000000000038,1,12.99,available,Main\n"
        "30000000000046,2,0,available,Annex\n",
    )
    patrons = write(
        tmp_path / "patrons.csv",
        "patron_id,card,first_name,surname,member_type,expires,barred,pin\n"
        "P1,20000000000014,Ada,Okafor,ADULT,2027-06-30,no,2468\n"
        "P2,20000000000022,Ben,Silva,STUDENT,,yes,\n",
    )
    for kind, path, count in (
        ("catalogue", catalogue, 2),
        ("items", items, 2),
        ("patrons", patrons, 2),
    ):
        run = central(database, "import", kind, str(path))
        assert run.returncode == 0, run.stderr
        assert run.stdout == f"{path}: {count} rows imported\n"
    assert "2468" not in database.read_bytes().decode("latin-1")


def test_a_file_with_errors_reports_every_bad_row_and_imports_nothing(
    database: Path, tmp_path: Path
) -> None:
    patrons = write(
        tmp_path / "patrons.csv",
        "patron_id,card,first_name,surname,member_type,expires,barred,pin\n"
        "P1,20000000000014,Ada,Okafor,ADULT,2027-06-30,no,2468\n"
        "P2,20000000000022,Ben,Silva,STUDNET,30/06/2027,maybe,12\n"
        "P1,20000000000030,Cal,Moreau,ADULT,,no,\n",
    )
    run = central(database, "import", "patrons", str(patrons))
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "patrons.csv:3: expires: must be a date as YYYY-MM-DD, got '30/06/2027'",
        "patrons.csv:3: barred: must be yes or no, got 'maybe'",
        "patrons.csv:3: pin: must be 4 to 8 digits",
        "patrons.csv:3: member_type: unknown member type 'STUDNET'; did you mean 'STUDENT'?",
        "patrons.csv:4: patron_id: 'P1' appears again (first on line 2)",
        "kiosk-central: patrons.csv: 5 problem(s); nothing was imported",
    ]
    listing = central(database, "transactions", "--json")
    assert json.loads(listing.stdout) == []
    again = write(
        tmp_path / "ok.csv",
        "patron_id,card,first_name,surname,member_type,expires,barred,pin\nP9,20000000000048,Dot,Novak,ADULT,,no,\n",
    )
    assert central(database, "import", "patrons", str(again)).returncode == 0


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "barcode,brn,prize,status,home_location",
            "items.csv:1: unknown column 'prize'; did you mean 'price'?",
        ),
        ("barcode,brn,status,home_location", "items.csv:1: missing column 'price'"),
    ],
)
def test_a_wrong_header_is_named(database: Path, tmp_path: Path, header: str, message: str) -> None:
    items = write(tmp_path / "items.csv", header + "\n")
    run = central(database, "import", "items", str(items))
    assert run.returncode == 2
    assert message in run.stderr


def test_items_need_their_catalogue_record(database: Path, tmp_path: Path) -> None:
    items = write(
        tmp_path / "items.csv",
        "barcode,brn,price,status,home_location\n30000000000038,77,1.50,availabel,Main\n",
    )
    run = central(database, "import", "items", str(items))
    assert run.returncode == 2
    assert (
        "items.csv:2: status: unknown status 'availabel'; did you mean 'available'?" in run.stderr
    )
    assert "items.csv:2: brn: no catalogue record 77" in run.stderr


def test_kiosks_are_registered_with_a_token_shown_once(database: Path) -> None:
    added = central(database, "kiosk", "add", "branch-1", "--json")
    token = json.loads(added.stdout)["token"]
    assert len(token) >= 40
    assert token not in database.read_bytes().decode("latin-1")
    twice = central(database, "kiosk", "add", "branch-1")
    assert twice.returncode == 2
    assert "exists already" in twice.stderr
    listing = json.loads(central(database, "kiosk", "list", "--json").stdout)
    assert [kiosk["name"] for kiosk in listing] == ["branch-1"]


def test_a_staff_day_holds_exceptions_transactions_and_a_koha_export(tmp_path: Path) -> None:
    db = tmp_path / "central.db"
    assert central(db, "init").returncode == 0
    made = central(db, "demo-data", "--out", str(tmp_path), *("--items", "300", "--loans", "40"))
    assert made.returncode == 0, made.stderr
    made = central(db, "kiosk", "add", "branch-1", "--json")
    token = json.loads(made.stdout)["token"]
    demo = json.loads((tmp_path / "demo-cards.json").read_text())
    borrower = next(c for c in demo["cards"] if c["situation"] == "adult, nothing on loan")
    waiting = next(c for c in demo["cards"] if c["card"] != borrower["card"])
    book = demo["items"]["FICTION"]["available"][0]
    server = CentralProcess(f"sqlite:///{db}").start()
    try:
        clock = SystemClock()
        agent = SyncAgent(Store.open(tmp_path / "kiosk"), server.url, token, clock)
        agent.sync_once()
        # Offline, the book is lent; meanwhile staff put another member in its queue.
        circulation = Circulation(agent.store, clock)
        identified = circulation.identify(borrower["card"], borrower["pin"])
        assert not isinstance(identified, Unavailable)
        assert identified.session is not None
        circulation.checkout(identified.session, book)
        placed = central(db, "holds", "place", "--card", waiting["card"], "--item", book)
        assert placed.returncode == 0, placed.stderr
        assert "hold placed: position 1" in placed.stdout
        agent.sync_once()
    finally:
        server.stop()
    listed = json.loads(central(db, "exceptions", "--json").stdout)
    assert [row["reason"] for row in listed] == ["refused_now"]
    assert "lent offline" in listed[0]["detail"]
    resolved = central(db, "exceptions", "--resolve", str(listed[0]["number"]), "--note", "ok")
    assert resolved.returncode == 0
    assert f"exception {listed[0]['number']} resolved" in resolved.stdout
    assert json.loads(central(db, "exceptions", "--json").stdout) == []
    done = json.loads(central(db, "transactions", "--json").stdout)
    assert [(row["kind"], row["item"], row["outcome"]) for row in done] == [
        ("checkout", book, "exception")
    ]
    koc = tmp_path / "kiosk.koc"
    exported = central(db, "export", "koc", "--since", "2000-01-01", "--out", str(koc))
    assert exported.returncode == 0, exported.stderr
    assert "1 operations" in exported.stdout
    lines = koc.read_text().splitlines()
    assert lines[0].startswith("Version=")
    assert any("issue" in line and book in line and borrower["card"] in line for line in lines)
