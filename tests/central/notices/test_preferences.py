"""Patrons' messaging preferences and the notices' settings: set by the patron CSV
import (every bad value reported with its line, an address never echoed, a column left
out leaving what the patron has), the policy's overdue days, central.toml's [notices]."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kiosk.central.circulation.importers import import_file
from kiosk.central.config import load_config
from kiosk.central.config.loading import check_config
from kiosk.central.errors import ImportRejected
from kiosk.central.models import Patron
from kiosk.rules.errors import InvalidPolicy
from kiosk.rules.parsing import read_policy
from tests.central.notices.conftest import NOW, POLICY

HEADER = "patron_id,card,first_name,surname,member_type,expires,barred,pin"


def test_the_patron_import_sets_contact_and_preferences(library: Engine, tmp_path: Path) -> None:
    good = tmp_path / "patrons.csv"
    good.write_text(
        f"{HEADER},email,phone,language,notify_by,notices,due_soon_days,digest,arrivals\n"
        "p-new,22000001,Gil,Gray,ADULT,,no,,gil@example.org,+44 7700 900123,fr,sms,"
        "due_soon;hold_ready,3,yes,FICTION;DVD\n",
        encoding="utf-8",
    )
    with Session(library) as db:
        assert import_file(db, "patrons", good, now=NOW) == 1
        gil = db.get(Patron, "p-new")
        assert gil is not None
        assert (gil.email, gil.phone, gil.language) == ("gil@example.org", "+44 7700 900123", "fr")
        assert (gil.notify_by, gil.notices, gil.due_soon_days, gil.digest, gil.arrivals) == (
            "sms",
            "due_soon,hold_ready",
            3,
            True,
            "DVD,FICTION",
        )
    # A file without the columns leaves them; the defaults for a new patron.
    plain = tmp_path / "plain.csv"
    plain.write_text(
        f"{HEADER}\np-new,22000001,Gil,Gray,ADULT,,no,\np-two,22000002,Hal,Hay,ADULT,,no,\n"
    )
    with Session(library) as db:
        import_file(db, "patrons", plain, now=NOW)
        gil, hal = db.get(Patron, "p-new"), db.get(Patron, "p-two")
        assert gil is not None
        assert hal is not None
        assert (gil.notify_by, gil.email, gil.digest) == ("sms", "gil@example.org", True)
        assert (hal.notify_by, hal.notices, hal.due_soon_days, hal.digest) == (
            "email",
            "due_soon,overdue,hold_ready,hold_expiring,membership_expiring",
            2,
            False,
        )


def test_every_bad_preference_is_reported_with_its_line_and_no_address(
    library: Engine, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"{HEADER},email,notify_by,notices,due_soon_days,digest,arrivals\n"
        "p-x,22000009,Ivy,Ives,ADULT,,no,,ivy@@example,fax,due_son,30,often,POETRY\n",
        encoding="utf-8",
    )
    with Session(library) as db, pytest.raises(ImportRejected) as rejected:
        import_file(db, "patrons", bad, now=NOW)
    problems = "\n".join(rejected.value.problems)
    assert "bad.csv:2: email: is not one" in problems
    assert "ivy@@example" not in problems
    assert "bad.csv:2: notify_by: must be email, sms or none" in problems
    assert "notices: unknown kind of notice 'due_son' (did you mean 'due_soon'?)" in problems
    assert "due_soon_days: must be a number of days from 1 to 14" in problems
    assert "digest: must be yes or no" in problems
    assert "arrivals: unknown publication type 'POETRY'" in problems


def test_the_policy_sets_the_overdue_days() -> None:
    assert read_policy(POLICY).overdue_notice_days == (1, 7, 14)
    assert read_policy({**POLICY, "notices": {"overdue_days": [3, 10]}}).overdue_notice_days == (
        3,
        10,
    )
    without = {key: value for key, value in POLICY.items() if key != "notices"}
    assert read_policy(without).overdue_notice_days == (1, 7, 14)
    with pytest.raises(InvalidPolicy) as refused:
        read_policy({**POLICY, "notices": {"overdue_days": [7, 3, 0], "overdue_dayz": 1}})
    words = str(refused.value)
    assert "notices.overdue_days[2]" in words
    assert "overdue_dayz" in words


def test_notices_settings_are_checked_with_their_lines(tmp_path: Path) -> None:
    secret = tmp_path / "mail.password"
    secret.write_text("hunter2-hunter2\n")
    secret.chmod(0o644)
    site = tmp_path / "central.toml"
    site.write_text(
        "[notices]\n"
        "digest_hour = 25\n"
        'arrivals_weekday = "mondey"\n'
        'templates = "nowhere"\n'
        "[notices.email]\n"
        'host = "smtp.example.org"\n'
        'from = "library@example.org"\n'
        'username = "library"\n'
        f'password_file = "{secret}"\n'
    )
    problems = [str(problem) for problem in check_config(site)]
    assert any(":2: notices.digest_hour: must be from 0 to 23" in p for p in problems)
    assert any(":3: notices.arrivals_weekday" in p and "'monday'" in p for p in problems)
    assert any(":4: notices.templates" in p and "does not exist" in p for p in problems)
    assert any("notices.email.password_file" in p for p in problems)  # readable by others
    secret.chmod(0o600)
    site.write_text(
        "[notices]\ndigest_hour = 7\n[notices.email]\n"
        'host = "smtp.example.org"\nfrom = "library@example.org"\n'
        f'username = "library"\npassword_file = "{secret}"\n'
    )
    config = load_config(site)
    assert config.notices.digest_hour == 7
    assert config.notices.email.password_file == secret
