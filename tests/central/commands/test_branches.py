"""Branches as data (issue 21): ``kiosk-central branch``, kiosks in a branch, and items'
home branches checked on import; real processes on both databases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.central.circulation.branches import Homeless

ROOT = Path(__file__).parents[3]
POLICY = ROOT / "kiosk" / "demo" / "policy.example.toml"


def central(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.central.cli", "--db", url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(url: str, *args: str) -> str:
    run = central(url, *args)
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture
def library(database_url: str, tmp_path: Path) -> str:
    ok(database_url, "init")
    ok(database_url, "import", "policy", str(POLICY))
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text(
        "brn,title,author,isbn,publication_type\n1,The Hobbit,J. R. R. Tolkien,,FICTION\n",
        encoding="utf-8",
    )
    ok(database_url, "import", "catalogue", str(catalogue))
    return database_url


def test_a_library_of_three_branches_with_a_kiosk_in_each(library: str) -> None:
    for code, name in (("MAIN", "Central Library"), ("NORTH", "Northside"), ("EAST", "East End")):
        assert ok(library, "branch", "add", code, name) == f"branch {code} added\n"
    listed = json.loads(ok(library, "branch", "list", "--json"))
    assert listed == [
        {"code": "EAST", "name": "East End"},
        {"code": "MAIN", "name": "Central Library"},
        {"code": "NORTH", "name": "Northside"},
    ]
    added = json.loads(ok(library, "kiosk", "add", "north-1", "--branch", "NORTH", "--json"))
    assert added["branch"] == "NORTH"
    assert len(added["token"]) > 30
    ok(library, "kiosk", "add", "anywhere")  # a kiosk with no branch, as before branches
    kiosks = {
        row["name"]: row["branch"] for row in json.loads(ok(library, "kiosk", "list", "--json"))
    }
    assert kiosks == {"north-1": "NORTH", "anywhere": None}
    # A kiosk from before branches is put in one, and taken out again.
    placed = ok(library, "kiosk", "branch", "anywhere", "EAST")
    assert placed == "kiosk anywhere is in branch EAST from its next sync\n"
    kiosks = {
        row["name"]: row["branch"] for row in json.loads(ok(library, "kiosk", "list", "--json"))
    }
    assert kiosks == {"north-1": "NORTH", "anywhere": "EAST"}
    ok(library, "kiosk", "branch", "anywhere", "none")
    missing = central(library, "kiosk", "branch", "nowhere", "EAST")
    assert (missing.returncode, missing.stderr) == (2, "kiosk-central: no kiosk named 'nowhere'\n")


def test_a_mistyped_branch_is_refused_with_the_nearest(library: str) -> None:
    ok(library, "branch", "add", "NORTH", "Northside")
    run = central(library, "kiosk", "add", "north-1", "--branch", "NROTH")
    assert run.returncode == 2
    assert "no branch 'NROTH'; did you mean 'NORTH'? (branches: NORTH)" in run.stderr
    assert json.loads(ok(library, "kiosk", "list", "--json")) == []
    again = central(library, "branch", "add", "NORTH", "Another")
    assert again.returncode == 2
    assert "a branch 'NORTH' exists already" in again.stderr
    spaced = central(library, "branch", "add", "North side", "Northside")
    assert spaced.returncode == 2
    assert "branch code 'North side' must be" in spaced.stderr


def test_a_name_with_a_control_character_is_refused_in_words(library: str) -> None:
    """A branch's name is one line patrons read: a tab or a line break (pasted from a
    spreadsheet) is refused, saying where; French typography is kept as written."""
    for name, said in (
        ("North\tside", "it has a tab at character 6"),
        ("North\nside", "it has a line break at character 6"),
        ("North\x07", "it has a control character (U+0007) at character 6"),
    ):
        run = central(library, "branch", "add", "NORTH", name)
        assert run.returncode == 2, name
        assert (
            "a branch's name must be one line of text without control characters: " + said
        ) in run.stderr
    assert json.loads(ok(library, "branch", "list", "--json")) == []
    ok(library, "branch", "add", "NORD", "M\u00e9dia\u00adth\u00e8que\u00a0: Nord")
    assert json.loads(ok(library, "branch", "list", "--json")) == [
        {"code": "NORD", "name": "M\u00e9dia\u00adth\u00e8que\u00a0: Nord"}
    ]


def test_items_home_branches_are_checked_once_there_are_branches(
    library: str, tmp_path: Path
) -> None:
    items = tmp_path / "items.csv"
    items.write_text(
        "barcode,brn,price,status,home_location\n"
        "30000000000038,1,12.99,available,MAIN\n"
        "30000000000046,1,12.99,available,Nrth\n",
        encoding="utf-8",
    )
    # No branches yet: one undivided library, any home location as before.
    assert ok(library, "import", "items", str(items)).endswith("2 rows imported\n")
    ok(library, "branch", "add", "MAIN", "Central Library")
    ok(library, "branch", "add", "NORTH", "Northside")
    run = central(library, "import", "items", str(items))
    assert run.returncode == 2
    assert run.stderr.splitlines()[0] == (
        "items.csv:3: home_location: no branch 'Nrth'; did you mean 'NORTH'? "
        "(branches: MAIN, NORTH)"
    )
    assert "nothing was imported" in run.stderr
    items.write_text(
        "barcode,brn,price,status,home_location\n"
        "30000000000038,1,12.99,available,MAIN\n"
        "30000000000046,1,12.99,available,NORTH\n",
        encoding="utf-8",
    )
    assert ok(library, "import", "items", str(items)).endswith("2 rows imported\n")


def test_branch_add_and_list_name_the_home_locations_that_are_no_branch(
    library: str, tmp_path: Path
) -> None:
    items = tmp_path / "items.csv"
    items.write_text(
        "barcode,brn,price,status,home_location\n"
        "30000000000012,1,12.99,available,Stacks\n"
        "30000000000020,1,12.99,available,Stacks\n"
        "30000000000038,1,12.99,available,Stacks\n"
        "30000000000046,1,12.99,available,Main\n"
        "30000000000053,1,12.99,available,NORTH\n",
        encoding="utf-8",
    )
    # Items from before branches: any home location, nothing said of them yet.
    ok(library, "import", "items", str(items))
    assert ok(library, "branch", "list") == ""
    assert ok(library, "branch", "add", "NORTH", "Northside") == (
        "branch NORTH added\n"
        "4 items have a home_location that names no branch, so a return sends them to no "
        "branch (back on the shelf where returned): 'Stacks' (3), 'Main' (1). Re-import "
        "them with a branch's code as home_location, or add the branch "
        "(kiosk-central branch add CODE NAME)\n"
    )
    ok(library, "branch", "add", "Main", "Central Library")
    told = (
        "3 items have a home_location that names no branch, so a return sends them to no "
        "branch (back on the shelf where returned): 'Stacks' (3). Re-import them with a "
        "branch's code as home_location, or add the branch (kiosk-central branch add CODE "
        "NAME)\n"
    )
    assert ok(library, "branch", "list") == "code=Main  name=Central Library\n" + (
        "code=NORTH  name=Northside\n" + told
    )
    as_json = central(library, "branch", "list", "--json")
    assert as_json.returncode == 0
    assert [row["code"] for row in json.loads(as_json.stdout)] == ["Main", "NORTH"]
    assert as_json.stderr == told  # beside the JSON, which stays one value
    assert ok(library, "branch", "add", "Stacks", "The Stacks") == "branch Stacks added\n"
    assert ok(library, "branch", "list").count("\n") == 3  # every item's home is a branch


def test_the_message_for_one_item_and_for_many_values() -> None:
    one = Homeless(1, 1, [("Stacks", 1)]).message()
    assert one is not None
    assert one.startswith("1 item has a home_location that names no branch, so a return sends it")
    many = Homeless(9, 7, [(f"L{n}", 1) for n in range(5)]).message()
    assert many is not None
    assert "'L0' (1), 'L1' (1), 'L2' (1), 'L3' (1), 'L4' (1) and 2 other value(s)." in many
    assert Homeless(0, 0, []).message() is None
