"""A command's options are taken before or after its verb, as staff type them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.commands import build_parser

KIOSK = [sys.executable, "-m", "kiosk"]


@pytest.mark.parametrize(
    "argv",
    [
        ["circ", "--data", "d", "--json", "checkout", "--card", "1", "--item", "2"],
        ["circ", "checkout", "--data", "d", "--json", "--card", "1", "--item", "2"],
        ["circ", "--data", "d", "checkout", "--card", "1", "--item", "2", "--json"],
        [
            "--log-level",
            "debug",
            "circ",
            "checkout",
            "--data",
            "d",
            "--json",
            "--card",
            "1",
            "--item",
            "2",
        ],
    ],
)
def test_circ_options_before_or_after_the_verb_mean_the_same(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.data, args.json, args.card, args.item) == (Path("d"), True, "1", ["2"])


def test_an_option_given_before_the_verb_is_not_undone_after_it() -> None:
    args = build_parser().parse_args(["circ", "--json", "return", "--item", "2", "--data", "d"])
    assert args.json is True
    args = build_parser().parse_args(["circ", "--data", "d", "return", "--item", "2"])
    assert (args.data, args.json) == (Path("d"), False)


@pytest.mark.parametrize("position", ["first", "last"])
def test_the_log_level_is_taken_anywhere(position: str) -> None:
    argv = ["status", "--data", "d"]
    argv = (
        ["--log-level", "warning", *argv]
        if position == "first"
        else [*argv, "--log-level", "warning"]
    )
    assert build_parser().parse_args(argv).log_level == "warning"


def test_a_missing_data_directory_is_named_wherever_options_go() -> None:
    run = subprocess.run(
        [*KIOSK, "circ", "return", "--item", "2"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 2
    assert "the following arguments are required: --data" in run.stderr


def test_kiosk_circ_answers_with_json_given_after_the_verb(tmp_path: Path) -> None:
    data = tmp_path / "data"
    subprocess.run(
        [
            *KIOSK,
            "demo-data",
            "--out",
            str(data),
            "--items",
            "60",
            "--patrons",
            "10",
            "--loans",
            "0",
        ],
        check=True,
        capture_output=True,
    )
    cards = json.loads((data / "demo-cards.json").read_text())
    item = next(code for kind in cards["items"].values() for code in kind.get("available", []))
    run = subprocess.run(
        [*KIOSK, "circ", "return", "--item", item, "--json", "--data", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    answer = json.loads(run.stdout)
    assert answer["status"] == "not_on_loan"
    assert run.returncode == 1
