"""``[registration]`` in central.toml (the portal's online registration, issue 15): every
setting read, closed by default, and each mistake at its line with what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.central.config import check_config, load_config
from kiosk.central.config.model import RegistrationSection


def site(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "central.toml"
    path.write_text(text)
    return path


def test_closed_by_default_and_every_setting_read(tmp_path: Path) -> None:
    assert load_config(site(tmp_path, "")).registration == RegistrationSection()
    assert not RegistrationSection().open
    path = site(
        tmp_path,
        """\
[registration]
open = true
contact = "Email_or_phone"
date_of_birth = true
member_type = "ADULT"
pending_loans = 2
card_prefix = "tr"
per_address_per_hour = 5
expire_after_days = 60
""",
    )
    assert load_config(path).registration == RegistrationSection(
        open=True,
        contact="email_or_phone",
        date_of_birth=True,
        member_type="ADULT",
        pending_loans=2,
        card_prefix="TR",
        per_address_per_hour=5,
        expire_after_days=60,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'contact = "post"',
            "registration.contact: must be one of email, phone, email_or_phone, not 'post'",
        ),
        ("pending_loans = -1", "registration.pending_loans: must be 0 or more items, not -1"),
        (
            "pending_loans = 2",
            "registration.member_type: missing: name the lending policy's member type",
        ),
        ('card_prefix = "2100"', "registration.card_prefix: must be 1 to 4 letters"),
        ("per_address_per_hour = 0", "registration.per_address_per_hour: must be"),
        ("expire_after_days = 0", "registration.expire_after_days: must be"),
        ('expire_after_days = "soon"', "registration.expire_after_days: must be"),
        ("opne = true", "registration.opne: unknown key (did you mean 'open'?)"),
    ],
)
def test_each_mistake_at_its_line(tmp_path: Path, text: str, expected: str) -> None:
    path = site(tmp_path, f"[registration]\n{text}\n")
    problems = [str(problem) for problem in check_config(path)]
    assert len(problems) == 1, problems
    # A missing key is said at its table's line; any other at its own.
    line = 1 if "missing" in expected else 2
    assert problems[0].startswith(f"{path}:{line}: {expected}"), problems
