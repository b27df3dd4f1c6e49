"""The notices' templates: every shipped one good in every language, the library's own
over them, a broken one reported with its file and line while the shipped one stands
in, each patron's language, and ``kiosk-central notices preview`` and ``check``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kiosk.central.cli import main
from kiosk.central.notices.preferences import KINDS, REQUESTED
from kiosk.central.notices.runner import Runner
from kiosk.central.notices.templates import DIGEST, LANGUAGES, SAMPLE_COMMON, SAMPLES, Templates
from kiosk.common.clock import FixedClock
from tests.central.notices.conftest import PATRONS, SmtpServer, body, notices_config


def test_every_shipped_template_is_good_in_every_language() -> None:
    templates = Templates()
    assert templates.problems == []
    for kind in (*KINDS, *REQUESTED, DIGEST):
        for language in LANGUAGES:
            assert templates.path(kind, language).parent.name == language
            composed = templates.compose(kind, language, {**SAMPLE_COMMON, **SAMPLES[kind]})
            assert composed.subject
            assert composed.text
            assert composed.html
            assert composed.sms
            assert "\n" not in composed.subject
            assert len(composed.sms) <= 240


@pytest.mark.parametrize(
    ("language", "named", "unnamed"),
    [
        ("en", "on the hold shelf at Main Library until", "on the hold shelf until"),
        ("es", "estante de reservas de Main Library hasta", "estante de reservas hasta"),
        ("fr", "réservations à Main Library jusqu'au", "réservations jusqu'au"),
    ],
)
def test_a_hold_notice_names_its_pickup_branch_and_one_queued_without_it_still_reads(
    language: str, named: str, unnamed: str
) -> None:
    templates = Templates()
    facts = {**SAMPLE_COMMON, **SAMPLES["hold_expiring"]}
    composed = templates.compose("hold_expiring", language, facts)
    for form in (composed.text, composed.html, composed.sms, composed.digest):
        assert "Main Library" in form
    assert named in composed.text
    for before in ({k: v for k, v in facts.items() if k != "pickup"}, {**facts, "pickup": ""}):
        composed = templates.compose("hold_expiring", language, before)
        assert unnamed in composed.text
        assert "Main Library" not in composed.text + composed.html + composed.sms
        assert composed.digest


def test_the_librarys_own_template_replaces_the_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "hold_ready.txt").write_text(
        "{% block subject %}Come and get {{ title }}{% endblock %}\n"
        "{% block text %}{{ title }} by {{ pickup_by|day(language) }}{% endblock %}\n"
        "{% block html %}<b>{{ title }}</b>{% endblock %}\n"
        "{% block sms %}{{ title }}{% endblock %}\n"
        "{% block digest %}{{ title }}{% endblock %}\n"
    )
    templates = Templates(tmp_path)
    assert templates.problems == []
    values = {**SAMPLE_COMMON, "title": "<Dune>", "pickup_by": "2026-12-01"}
    composed = templates.compose("hold_ready", "en", values)
    assert composed.subject == "Come and get <Dune>"
    assert composed.html == "<b>&lt;Dune&gt;</b>"  # HTML escaped, text as it is
    assert templates.path("hold_ready", "en") == tmp_path / "en" / "hold_ready.txt"
    # Spanish has no file of the library's: the shipped Spanish one.
    assert templates.path("hold_ready", "es").is_relative_to(Path(__file__).parents[3])


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        (
            "{% block subject %}Hi{% endblock %}\n\n{% block text %}{{ title }{% endblock %}\n",
            3,
            "syntax error",
        ),
        (
            "{% block subject %}{{ title }}{% endblock %}\n{% block text %}\n{{ card_number }}\n"
            "{% endblock %}{% block html %}{% endblock %}{% block sms %}{% endblock %}"
            "{% block digest %}{% endblock %}",
            3,
            "unknown variable 'card_number'",
        ),
        (
            "{% block subject %}{{ title.nope.deeper }}{% endblock %}{% block text %}{% endblock %}"
            "{% block html %}{% endblock %}{% block sms %}{% endblock %}{% block digest %}"
            "{% endblock %}",
            1,
            "cannot be rendered",
        ),
        ("{% block subject %}{{ title }}{% endblock %}", None, "has no {% block text %}"),
    ],
    ids=["syntax", "unknown variable", "rendering", "missing block"],
)
def test_a_broken_template_is_reported_at_its_line_and_the_shipped_one_stands_in(
    tmp_path: Path, source: str, line: int | None, words: str
) -> None:
    broken = tmp_path / "fr" / "hold_ready.txt"
    broken.parent.mkdir()
    broken.write_text(source)
    templates = Templates(tmp_path)
    assert templates.problems, source
    problem = templates.problems[0]
    assert (problem.file, problem.line) == (broken, line)
    assert words in problem.message
    assert str(problem).startswith(f"{broken}:{line}:" if line else f"{broken}:")
    assert templates.path("hold_ready", "fr").parent.name == "fr"
    assert templates.path("hold_ready", "fr") != broken
    composed = templates.compose(
        "hold_ready", "fr", {**SAMPLE_COMMON, "title": "Dune", "pickup_by": "2026-12-01"}
    )
    assert "vous attend" in composed.text


def test_each_patron_reads_their_own_language(
    library: Engine, smtp: SmtpServer, clock: FixedClock
) -> None:
    Runner(library, notices_config(smtp.port), clock.now).run_once()
    (spanish,) = [
        m for m in smtp.mail.to("eva@example.org") if m["X-Library-Notice"] == "hold_ready"
    ]
    (french,) = [
        m for m in smtp.mail.to("fleur@example.org") if m["X-Library-Notice"] == "hold_ready"
    ]
    assert spanish["Subject"] == "Le espera en Riverside Library: Dune"
    assert "30 de noviembre de 2026" in body(spanish)
    assert french["Subject"] == "Disponible pour vous à Riverside Library : Dune"
    assert "30 novembre 2026" in body(french)
    (overdue,) = [
        m for m in smtp.mail.to("fleur@example.org") if m["X-Library-Notice"] == "overdue"
    ]
    assert "0,20\xa0£" in body(overdue)


def _central(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``kiosk-central`` run in this process (a child's start costs seconds): its exit
    status and what it printed."""
    status = main(list(args))
    printed = capsys.readouterr()
    return status, printed.out + printed.err


@pytest.mark.usefixtures("library")
def test_preview_prints_what_a_patron_would_get_and_check_finds_mistakes(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, shown = _central(
        capsys,
        "--db",
        database_url,
        "notices",
        "preview",
        "overdue",
        "--patron",
        "21000001",
        "--as-of",
        "2026-11-23",
    )
    assert status == 0, shown
    assert "Subject: 1 overdue item from The Library" in shown
    assert "Emma, due November 22, 2026" in shown
    assert "21000001" not in shown
    status, _ = _central(
        capsys, "--db", database_url, "notices", "preview", "overdue", "--patron", "nobody"
    )
    assert status == 2
    (tmp_path / "site" / "en").mkdir(parents=True)
    (tmp_path / "site" / "en" / "receipt.txt").write_text("{% block subject %}{{ oops }")
    config = tmp_path / "central.toml"
    config.write_text(f'[notices]\ntemplates = "{tmp_path / "site"}"\n')
    status, checked = _central(
        capsys, "--config", str(config), "--db", database_url, "notices", "check"
    )
    assert status == 2
    assert f"{tmp_path / 'site' / 'en' / 'receipt.txt'}:1: syntax error" in checked
    # The printed list: with no mail server or gateway set up (no central.toml here),
    # every patron who chose any notice is on it once a pass has found theirs.
    status, listed = _central(capsys, "--db", database_url, "notices", "print", "--json")
    assert (status, listed.strip()) == (0, "[]")
    # A dry run says what tomorrow would bring and leaves the outbox as it is.
    dry = ("notices", "run", "--dry-run", "--as-of", "2026-11-24")
    status, counted = _central(capsys, "--db", database_url, *dry)
    assert status == 0
    assert "kind=due_soon  by=print  notices=6" in counted
    assert "nothing sent" in counted
    status, listed = _central(capsys, "--db", database_url, "notices", "print", "--json")
    assert listed.strip() == "[]"
    assert _central(capsys, "--db", database_url, "notices", "run", "--as-of", "2026-11-23")[0] == 0
    status, listed = _central(capsys, "--db", database_url, "notices", "print", "--json")
    rows = json.loads(listed)
    assert {row["patron"] for row in rows} == set(PATRONS) - {"p-nothing"}
    assert "Di SurnameDi" in {row["name"] for row in rows}
