"""``kiosk policy check | table | evaluate`` as staff run them: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "kiosk" / "demo" / "policy.example.toml"
SCENARIOS = ROOT / "tests" / "scenarios"


def kiosk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_accepts_the_example_with_a_one_line_summary() -> None:
    run = kiosk("policy", "check", str(EXAMPLE))
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("\n") == 1
    assert (
        "valid: 5 member types, 5 publication types, 17 privileges, 3 fault charges" in run.stdout
    )
    assert run.stderr == ""


def test_check_reports_every_error_and_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "policy.toml"
    text = EXAMPLE.read_text()
    text = text.replace("days_per_fine = 7", "days_per_fine = 0", 1)
    text = text.replace(
        '[member_types.CHILD]\nname = "Child"\nquota = 8',
        '[member_types.CHILD]\nname = "Child"\nqouta = 8',
    )
    broken.write_text(text)
    run = kiosk("policy", "check", str(broken))
    assert run.returncode == 2
    lines = run.stderr.splitlines()
    assert lines == [
        f"{broken}: member_types.CHILD.qouta: unknown key; did you mean 'quota'?",
        f"{broken}: privileges[2].days_per_fine: must be >= 1, got 0",
        f"{broken}: 2 errors; the policy was not accepted",
    ]
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "[member_types.A\n",
            "not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 16)",
        ),
        (None, "cannot read the policy file: No such file or directory"),
        (b"\xff\xfe", "is not UTF-8 text"),
    ],
)
def test_check_explains_a_file_it_cannot_read(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "policy.toml"
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    run = kiosk("policy", "check", str(path))
    assert run.returncode == 2
    assert f"{path}: {message}" in run.stderr
    assert "Traceback" not in run.stderr


def test_check_prints_advisories_but_accepts(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        '[member_types.A]\n[publication_types.B]\n[publication_types.C]\n[[privileges]]\nmember_type = "A"\npublication_type = "B"\ndays = 7\n'
    )
    run = kiosk("policy", "check", str(path))
    assert run.returncode == 0
    assert f"{path}: note: publication type C has no privileges: nobody can borrow it" in run.stderr


def test_table_shows_the_privilege_matrix() -> None:
    run = kiosk("policy", "table", str(EXAMPLE))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    header = next(line for line in lines if "Fiction" in line)
    for name in ("Fiction", "Non Fiction", "Text Book", "DVD", "Reference"):
        assert name in header
    grade8 = lines.index(next(line for line in lines if line.startswith("| Grade 8")))
    block = "\n".join(lines[grade8 : grade8 + 5])
    assert "up to 3" in block
    assert "14 days" in block
    assert "grace 3 d" in block
    assert "1.50 a day" in block
    assert "400 days" in block
    assert "8.00 per 7 days" in run.stdout
    assert "4 hours" in run.stdout
    assert "Closed every: Sunday" in run.stdout
    assert "TEXTBOOK   | no limit | 2027-06-30" in run.stdout
    widths = {len(line) for line in lines[1 : lines.index("")]}
    assert len(widths) == 1, "every row of the matrix is as wide as the others"


def test_table_of_a_broken_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[member_types]\nA = 3\n")
    run = kiosk("policy", "table", str(path))
    assert run.returncode == 2
    assert "member_types.A: must be a table of keys and values, got 3" in run.stderr


SCENARIO_FILES = sorted(
    p for p in SCENARIOS.glob("*.json") if not p.name.endswith(".expected.json")
)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_evaluate_prints_exactly_the_contract_answer(path: Path) -> None:
    run = kiosk("policy", "evaluate", str(path))
    assert run.returncode == 0, run.stderr
    assert run.stdout == path.with_suffix(".expected.json").read_text()


def test_evaluate_reads_standard_input() -> None:
    scenario = (SCENARIOS / "return-seed-grace.json").read_text()
    run = kiosk("policy", "evaluate", "-", stdin=scenario)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["chargeable_days"] == 7


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"action": "lend"},
            "action: must be one of checkout, return, renew, fault, membership_renewal, got 'lend'",
        ),
        (
            {"patron": {"id": "P1", "member_type": "STUDNET"}},
            "patron.member_type: unknown member type 'STUDNET'; did you mean 'STUDENT'?",
        ),
        (
            {"now": "yesterday"},
            "now: must be a local date and time as YYYY-MM-DDTHH:MM, got 'yesterday'",
        ),
    ],
)
def test_evaluate_rejects_an_invalid_scenario_in_one_line(
    change: dict[str, object], message: str
) -> None:
    scenario = json.loads((SCENARIOS / "checkout-allowed.json").read_text())
    scenario.update(change)
    run = kiosk("policy", "evaluate", "-", stdin=json.dumps(scenario))
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == f"kiosk policy evaluate: {message}\n"


@pytest.mark.parametrize(
    ("by_staff", "answer"),
    [
        (
            False,
            {
                "action": "membership_renewal",
                "allowed": False,
                "reasons": ["patron_barred", "renewal_not_open"],
                "expires": None,
            },
        ),
        (
            True,
            {
                "action": "membership_renewal",
                "allowed": True,
                "reasons": [],
                "expires": "2028-06-29",
            },
        ),
    ],
)
def test_evaluate_a_membership_renewal_by_the_patron_and_by_staff(
    by_staff: bool, answer: dict[str, object]
) -> None:
    # A barred student whose membership ends on 30 June 2027, far outside the 30-day window.
    scenario = json.loads((SCENARIOS / "membership-renewal-allowed.json").read_text())
    scenario["patron"].update(expires="2027-06-30", barred=True)
    scenario["by_staff"] = by_staff
    run = kiosk("policy", "evaluate", "-", stdin=json.dumps(scenario))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == answer


def test_evaluate_of_a_missing_file_exits_2() -> None:
    run = kiosk("policy", "evaluate", "/nonexistent/scenario.json")
    assert run.returncode == 2
    assert (
        run.stderr
        == "kiosk policy evaluate: /nonexistent/scenario.json: cannot read: No such file or directory\n"
    )


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "kiosk"
    run = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    assert run.returncode == 0
    assert run.stdout.startswith("kiosk ")
