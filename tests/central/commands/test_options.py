"""``kiosk-central``'s options where staff type them, and its commands registered from
outside ``kiosk/central`` through the entry-point group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from kiosk.central import cli
from kiosk.central.commands import ENTRY_POINTS
from kiosk.central.errors import CentralError
from kiosk.common import KioskError
from kiosk.demo import central_command


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``kiosk-central`` in this process, on a real database: status, stdout, stderr."""
    try:
        status = cli.main(list(argv))
    except SystemExit as exit_:  # argparse refuses the command line
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'central.db'}"


@pytest.mark.parametrize(
    "argv",
    [
        ("--db", "{url}", "init"),
        ("init", "--db", "{url}"),
    ],
)
def test_db_is_taken_before_or_after_the_command(
    capsys: pytest.CaptureFixture[str], url: str, argv: tuple[str, ...]
) -> None:
    status, out, _ = run(capsys, *(arg.format(url=url) for arg in argv))
    assert (status, out) == (0, f"{url}: schema up to date\n")


@pytest.mark.parametrize(
    "argv",
    [
        ("--db", "{url}", "kiosk", "add", "{name}", "--json"),
        ("--db", "{url}", "--json", "kiosk", "add", "{name}"),
        ("kiosk", "--json", "add", "{name}", "--db", "{url}"),
        ("kiosk", "--db", "{url}", "add", "--json", "{name}"),
        ("--json", "kiosk", "add", "{name}", "--db", "{url}"),
    ],
)
def test_json_and_db_are_taken_before_or_after_each_verb(
    capsys: pytest.CaptureFixture[str], url: str, argv: tuple[str, ...]
) -> None:
    assert run(capsys, "--db", url, "init")[0] == 0
    status, out, err = run(capsys, *(arg.format(url=url, name="branch-1") for arg in argv))
    assert status == 0, err
    assert json.loads(out)["name"] == "branch-1"
    for listing in (
        ("--db", url, "kiosk", "list", "--json"),
        ("--json", "--db", url, "kiosk", "list"),
        ("kiosk", "list", "--db", url, "--json"),
    ):
        status, out, err = run(capsys, *listing)
        assert status == 0, err
        assert [kiosk["name"] for kiosk in json.loads(out)] == ["branch-1"]


def test_an_option_after_its_verb_wins_over_the_same_option_before_it(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    elsewhere = f"sqlite:///{tmp_path / 'other.db'}"
    assert run(capsys, "init", "--db", url)[0] == 0
    status, _, err = run(capsys, "--db", elsewhere, "kiosk", "add", "branch-1", "--db", url)
    assert status == 0, err
    status, out, _ = run(capsys, "--db", url, "transactions", "--json")
    assert (status, out) == (0, "[]\n")
    assert not (tmp_path / "other.db").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ("--json", "init"),
        ("init", "--json"),
        ("--json", "holds", "place", "--card", "1", "--item", "2"),
    ],
)
def test_json_is_refused_where_a_command_prints_none(
    capsys: pytest.CaptureFixture[str], url: str, argv: tuple[str, ...]
) -> None:
    status, out, err = run(capsys, "--db", url, *argv)
    assert status == 2
    assert out == ""
    assert "--json" in err.splitlines()[-1]


def test_the_demo_command_comes_through_the_entry_point_group() -> None:
    points = {point.name: point for point in entry_points(group=ENTRY_POINTS)}
    assert points["demo-data"].load() is central_command.COMMAND
    assert cli.registry()["demo-data"] is central_command.COMMAND
    assert "demo-data" not in {command.name for command in cli.BUILT_IN}


def test_a_broken_plug_in_leaves_the_other_commands_working(tmp_path: Path) -> None:
    # A real distribution on the path, offering a command whose module does not exist.
    info = tmp_path / "site" / "broken_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINTS}]\nbroken = no_such_module_here:COMMAND\n"
    )
    database = f"sqlite:///{tmp_path / 'central.db'}"
    environment = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    done = [
        subprocess.run(
            [sys.executable, "-m", "kiosk.central.cli", "--db", database, *argv],
            capture_output=True,
            text=True,
            env=environment,
            timeout=120,
            check=False,
        )
        for argv in (["init"], ["kiosk", "list", "--json"])
    ]
    assert [run.returncode for run in done] == [0, 0], done[-1].stderr
    assert json.loads(done[-1].stdout) == []
    assert "kiosk-central: command broken (no_such_module_here:COMMAND): " in done[-1].stderr


def test_central_errors_are_the_projects_errors() -> None:
    assert issubclass(CentralError, KioskError)
