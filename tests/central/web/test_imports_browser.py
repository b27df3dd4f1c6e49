"""The *Imports* and *Policy* pages walked in Debian's chromium as staff would, every page
and state scanned by axe-core: an administrator sees every problem of a bad policy and
puts a good one in force (the matrix shows it, the version changes, the kiosks' change
log carries it); imports a catalogue, its items and patrons (the counts shown, the rows
in the database); uploads a file with several bad lines (every line reported as the
command reports it, nothing imported); a viewer reads the matrix but is offered no
upload; circulation is refused the upload routes; each change is audited with its
actor; a file over the limit gets a clear answer and is never kept."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from markupsafe import escape
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.central import database
from kiosk.central.circulation.policy import put_policy
from kiosk.central.models import AuditEntry, Item, Patron, PolicyVersion, Record
from kiosk.rules.parsing import read_policy

from .conftest import XSS, Console, csrf_token, in_process, register, serve
from .test_browser import accessible, shot, sign_in, watch

ROOT = Path(__file__).parents[3]
EXAMPLE_POLICY = ROOT / "kiosk" / "demo" / "policy.example.toml"
MB = 1024 * 1024

BAD_POLICY = """\
[member_types.ADULT]
name = "Adult"
quota = "twelve"

[publication_types.FICTION]
name = "Fiction"
max_fine = "2.505"

[[privileges]]
member_type = "ADULT"
publication_type = "FICTON"
days = -1

[calendar]
closed_weekdays = ["sunday", "funday"]
"""
BAD_POLICY_PROBLEMS = [
    "lending.toml: member_types.ADULT.quota: must be a whole number, got 'twelve'",
    "lending.toml: publication_types.FICTION.max_fine: must have at most two decimal places, "
    "got '2.505'",
    "lending.toml: privileges[0].publication_type: unknown publication type 'FICTON'; "
    "did you mean 'FICTION'?",
    "lending.toml: privileges[0].days: must be >= 0, got -1",
    "lending.toml: calendar.closed_weekdays[1]: must be a weekday, 0 (Monday) to 6 (Sunday) "
    "or a name such as 'sunday', got 'funday'; did you mean 'sunday'?",
    "lending.toml: privileges: no privileges are defined; nobody could borrow",
]
# The example policy with Adults' fiction for 28 days and a publication type nobody
# may borrow yet (an advisory, not an error).
CHANGED_POLICY = (
    EXAMPLE_POLICY.read_text(encoding="utf-8").replace(
        'member_type = "ADULT"\npublication_type = "FICTION"\ndays = 21',
        'member_type = "ADULT"\npublication_type = "FICTION"\ndays = 28',
    )
    + '\n[publication_types.MAGAZINE]\nname = "Magazine"\n'
)

CATALOGUE = """\
brn,title,author,isbn,publication_type
101,The Hobbit,J. R. R. Tolkien,978-0-261-10334-4,FICTION
102,A Brief History of Time,Stephen Hawking,,NONFICTION
103,Spirited Away,Hayao Miyazaki,,DVD
"""
ITEMS = """\
barcode,brn,price,status,home_location
31000000000011,101,12.99,available,Main
31000000000029,101,12.99,available,Annex
31000000000037,102,0,available,Main
31000000000045,103,19.50,available,Main
"""
PATRONS = """\
patron_id,card,first_name,surname,member_type,expires,barred,pin
P101,21000000000013,Ada,Okafor,ADULT,2027-06-30,no,2468
P102,21000000000021,Ben,Silva,STUDENT,,no,
P103,21000000000039,Cal,Moreau,CHILD,2028-01-31,yes,9753
"""
# Every line but the second is bad, some more than once; one PIN is bad and must not
# be echoed, and one member type is markup that must be shown as text.
BAD_PATRONS = f"""\
patron_id,card,first_name,surname,member_type,expires,barred,pin
P201,21000000000104,Dot,Novak,ADULT,,no,
P202,21000000000112,Eve,Quist,STUDNET,30/06/2027,maybe,12
P201,21000000000120,Fay,Ruiz,ADULT,,no,
P203,21000000000104,Gus,Sato,{XSS},,no,
P204,21000000000013,Hal,Toft,ADULT,2027-02-30,no,
"""
BAD_PATRON_PROBLEMS = [
    "patrons-week-48.csv:3: expires: must be a date as YYYY-MM-DD, got '30/06/2027'",
    "patrons-week-48.csv:3: barred: must be yes or no, got 'maybe'",
    "patrons-week-48.csv:3: pin: must be 4 to 8 digits",
    "patrons-week-48.csv:3: member_type: unknown member type 'STUDNET'; did you mean 'STUDENT'?",
    "patrons-week-48.csv:4: patron_id: 'P201' appears again (first on line 2)",
    f"patrons-week-48.csv:5: member_type: unknown member type '{XSS}'",
    "patrons-week-48.csv:5: card: the same card as line 2",
    "patrons-week-48.csv:6: expires: must be a date as YYYY-MM-DD, got '2027-02-30'",
    "patrons-week-48.csv:6: card: is the card of another patron, 'P101'",
]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    yield from serve(tmp_path_factory.mktemp("imports"))


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def counts(console: Console) -> dict[str, int]:
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        found = {
            name: db.scalar(select(func.count()).select_from(model)) or 0
            for name, model in (("records", Record), ("items", Item), ("patrons", Patron))
        }
    engine.dispose()
    return found


def version_in_force(console: Console) -> str | None:
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        row = db.get(PolicyVersion, 1)
        version = row.version if row else None
    engine.dispose()
    return version


def ensure_policy(console: Console) -> None:
    """The example policy in force, if the policy test has not put one (run alone)."""
    if version_in_force(console) is None:
        engine = database.connect(console.database_url)
        with Session(engine) as db:
            document = tomllib.loads(EXAMPLE_POLICY.read_text(), parse_float=Decimal)
            put_policy(db, document, datetime.now().replace(microsecond=0))
        engine.dispose()


def audit(console: Console, action: str) -> list[tuple[str, str, str, str]]:
    engine = database.connect(console.database_url)
    with Session(engine) as db:
        rows = db.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()
        found = [(row.actor, row.target, row.origin, row.detail) for row in rows]
    engine.dispose()
    return found


def refusals(problems: list[str], *statuses: int) -> list[str]:
    """``watch``'s problems less the refusals a test expects: an answer with one of
    ``statuses``, and chromium's console line about it."""
    return [
        problem
        for problem in problems
        if not any(
            problem.startswith(f"{status}: ") or f"with a status of {status} " in problem
            for status in statuses
        )
    ]


def error_items(page: Page) -> list[str]:
    return [
        text.strip() for text in page.locator(".govuk-error-summary__list li").all_inner_texts()
    ]


def test_a_viewer_sees_no_policy_yet_and_no_upload(page: Page, console: Console) -> None:
    problems = watch(page)
    sign_in(page, console, "vera")
    navigation = page.get_by_role("navigation")
    expect(navigation.get_by_role("link", name="Imports")).to_have_count(0)
    navigation.get_by_role("link", name="Policy").click()
    expect(page).to_have_url(f"{console.url}/staff/policy")
    expect(page.locator("#no-policy")).to_contain_text("No policy yet")
    expect(page.get_by_role("link", name="Upload a new policy")).to_have_count(0)
    accessible(page)
    for path in ("/staff/imports", "/staff/policy/upload"):
        answer = page.goto(console.url + path)
        assert answer is not None
        assert answer.status == 403
        expect(page.get_by_role("heading", name="Your role cannot open this page")).to_be_visible()
    assert refusals(problems, 403) == []


def test_an_admin_sees_every_problem_of_a_policy_then_puts_one_in_force(
    page: Page, console: Console, tmp_path: Path
) -> None:
    problems = watch(page)
    register(console, "lobby")
    sign_in(page, console, "ada")
    page.get_by_role("navigation").get_by_role("link", name="Policy").click()
    expect(page.locator("#no-policy")).to_be_visible()
    page.get_by_role("link", name="Upload a new policy").click()
    expect(page.get_by_role("heading", name="Upload a new policy")).to_be_visible()
    accessible(page)

    # A policy with six problems: each listed at its key path, and nothing put.
    page.get_by_label("Policy file").set_input_files(write(tmp_path, "lending.toml", BAD_POLICY))
    with page.expect_navigation():
        page.get_by_role("button", name="Put this policy in force").click()
    expect(page.locator("#problems")).to_contain_text("lending.toml has 6 problems")
    assert error_items(page) == BAD_POLICY_PROBLEMS
    expect(page.locator("#file-error")).to_contain_text("the policy was not changed")
    assert version_in_force(console) is None
    accessible(page)
    shot(page, "policy-errors")

    # Not TOML at all, and no file: each said plainly.
    page.get_by_label("Policy file").set_input_files(
        write(tmp_path, "broken.toml", "[member_types\n")
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Put this policy in force").click()
    assert len(error_items(page)) == 1
    assert error_items(page)[0].startswith("broken.toml: not valid TOML:")
    accessible(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Put this policy in force").click()
    assert error_items(page) == ["Select a policy file"]
    accessible(page)

    # The example policy: in force, and its matrix shown.
    page.get_by_label("Policy file").set_input_files(EXAMPLE_POLICY)
    with page.expect_navigation():
        page.get_by_role("button", name="Put this policy in force").click()
    first = version_in_force(console)
    assert first is not None
    expect(page.locator("#put")).to_contain_text(f"Policy version {first} is now in force")
    expect(page.locator("#version")).to_contain_text(first)
    matrix = page.locator("#privileges")
    expect(matrix.locator("thead th")).to_have_count(6)  # the member type, five types
    expect(matrix.locator("tbody tr")).to_have_count(5)
    adult_dvd = matrix.locator('td[data-pair="ADULT x DVD"]')
    for line in ("Loan: 7 days", "At once: up to 3", "Fine: 8.00 per 7 days", "Renewals: 1"):
        expect(adult_dvd).to_contain_text(line)
    reference = matrix.locator('td[data-pair="STUDENT x REFERENCE"]')
    expect(reference).to_contain_text("Loan: 4 hours")
    expect(reference).to_contain_text("Renewals: none")
    expect(matrix.locator('td[data-pair="CHILD x DVD"]')).to_have_text("May not borrow")
    expect(page.locator("#member-types")).to_contain_text("never refused")  # STAFF
    expect(page.locator("#publication-types")).to_contain_text("2027-06-30")  # TEXTBOOK
    expect(page.locator("#fault-charges")).to_contain_text("Missing disc or insert")
    expect(page.locator("#calendar")).to_contain_text("Sunday")
    expect(page.locator("#calendar")).to_contain_text("2026-12-25, 2026-12-26")
    accessible(page)

    # A second policy: a new version, its advisory, the matrix changed, and the change
    # in the log every kiosk reads.
    page.get_by_role("link", name="Upload a new policy").click()
    expect(page.locator(".govuk-caption-l")).to_contain_text(f"version {first} in force")
    page.get_by_label("Policy file").set_input_files(
        write(tmp_path, "policy-2027.toml", CHANGED_POLICY)
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Put this policy in force").click()
    second = version_in_force(console)
    assert second not in (None, first)
    expect(page.locator("#put")).to_contain_text(f"Policy version {second} is now in force")
    expect(page.locator("#advisories")).to_contain_text(
        "publication type MAGAZINE has no privileges: nobody can borrow it"
    )
    expect(matrix.locator('td[data-pair="ADULT x FICTION"]')).to_contain_text("Loan: 28 days")
    expect(matrix.locator("thead th")).to_have_count(7)
    accessible(page)
    page.goto(f"{console.url}/staff/policy")  # the banner is the POST's answer alone
    expect(page.locator("#put")).to_have_count(0)
    expect(page.locator("#version")).to_contain_text(second)
    accessible(page)
    shot(page, "policy")

    pulled = requests.get(
        f"{console.url}/v1/changes",
        params={"since": 0},
        headers={"Authorization": f"Bearer {console.tokens['lobby']}"},
        timeout=10,
    )
    assert pulled.status_code == 200
    policies = [change for change in pulled.json()["changes"] if change["entity"] == "policy"]
    assert policies[-1]["data"]["version"] == second
    privilege = read_policy(policies[-1]["data"]["document"]).privilege("ADULT", "FICTION")
    assert privilege is not None
    assert privilege.days == 28
    assert refusals(problems, 422) == []


def test_an_admin_imports_a_catalogue_its_items_and_patrons(
    page: Page, console: Console, tmp_path: Path
) -> None:
    ensure_policy(console)
    problems = watch(page)
    before = counts(console)
    sign_in(page, console, "ada")
    page.get_by_role("navigation").get_by_role("link", name="Imports").click()
    expect(page).to_have_url(f"{console.url}/staff/imports")
    # Each kind says the columns it needs, from the importer itself.
    expect(
        page.get_by_text(
            "Columns: brn, title, author, isbn (may be empty), publication_type, "
            "subjects (may be empty)."
        )
    ).to_be_visible()
    expect(page.get_by_text("Columns: patron_id, card, first_name, surname")).to_be_visible()
    accessible(page)
    shot(page, "imports")

    for label, name, text, heading in (
        ("Catalogue records", "catalogue.csv", CATALOGUE, "3 catalogue records imported"),
        ("Stock items", "items.csv", ITEMS, "4 items imported"),
        ("Patrons", "patrons.csv", PATRONS, "3 patrons imported"),
    ):
        page.get_by_label(label).check()
        page.get_by_label("CSV file").set_input_files(write(tmp_path, name, text))
        with page.expect_navigation():
            page.get_by_role("button", name="Import").click()
        expect(page.locator("#imported")).to_contain_text(heading)
        expect(page.locator("#imported")).to_contain_text(f"from {name}")
        accessible(page)
        if name == "patrons.csv":
            shot(page, "import-done")
            for secret in ("2468", "9753", "21000000000013", "Okafor"):
                assert secret not in page.content()
        page.get_by_role("link", name="Import another file").click()
    assert counts(console) == {
        "records": before["records"] + 3,
        "items": before["items"] + 4,
        "patrons": before["patrons"] + 3,
    }
    assert problems == []


def test_a_file_with_bad_lines_lists_every_one_and_imports_nothing(
    page: Page, console: Console, tmp_path: Path
) -> None:
    ensure_policy(console)
    problems = watch(page)
    sign_in(page, console, "ada")
    page.goto(f"{console.url}/staff/imports")
    before = counts(console)
    page.get_by_label("Patrons").check()
    page.get_by_label("CSV file").set_input_files(
        write(tmp_path, "patrons-week-48.csv", BAD_PATRONS)
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Import").click()
    expect(page.locator("#problems")).to_contain_text(
        "patrons-week-48.csv has 9 problems: nothing was imported"
    )
    assert error_items(page) == BAD_PATRON_PROBLEMS
    expect(page.get_by_label("Patrons")).to_be_checked()  # kept for the next try
    assert counts(console) == before
    content = page.content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content  # shown as text, never run
    for secret in ("21000000000104", "21000000000112", "21000000000013", "Quist"):
        assert secret not in content  # no card number or name is echoed
    assert ",12\n" not in content
    assert page.url == f"{console.url}/staff/imports"
    accessible(page)
    shot(page, "imports-errors")

    # Neither kind nor file: both named, each linked to its field.
    page.goto(f"{console.url}/staff/imports")
    with page.expect_navigation():
        page.get_by_role("button", name="Import").click()
    assert error_items(page) == ["Select what the file holds", "Select a CSV file"]
    page.get_by_role("link", name="Select what the file holds").click()
    expect(page.get_by_label("Catalogue records")).to_be_focused()
    accessible(page)

    # An Excel export in Windows-1252 rather than UTF-8: said so, nothing imported.
    page.get_by_label("Patrons").check()
    page.get_by_label("CSV file").set_input_files(
        {
            "name": "excel.csv",
            "mimeType": "text/csv",
            "buffer": "patron_id,card,first_name,surname,member_type,expires,barred,pin\n"
            "P301,21000000000203,Zoë,Øster,ADULT,,no,\n".encode("cp1252"),
        }
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Import").click()
    assert error_items(page) == [
        'excel.csv: is not UTF-8 text: save it as "CSV UTF-8" and try again'
    ]
    assert counts(console) == before
    assert refusals(problems, 422) == []
    log = console.log.read_text(encoding="utf-8")
    for secret in ("21000000000104", "21000000000203", "Quist", "2468"):
        assert secret not in log


def test_a_viewer_reads_the_matrix_but_is_offered_no_upload(page: Page, console: Console) -> None:
    ensure_policy(console)
    problems = watch(page)
    sign_in(page, console, "vera")
    page.get_by_role("navigation").get_by_role("link", name="Policy").click()
    expect(page.locator("#privileges")).to_be_visible()
    expect(page.locator("#version")).to_contain_text(version_in_force(console) or "?")
    expect(page.get_by_role("link", name="Upload a new policy")).to_have_count(0)
    expect(page.locator('input[type="file"]')).to_have_count(0)
    expect(page.locator("form[enctype]")).to_have_count(0)
    accessible(page)
    assert problems == []


def test_circulation_and_viewers_are_refused_the_upload_routes(console: Console) -> None:
    ensure_policy(console)
    before = (counts(console), version_in_force(console))
    for username in ("cyril", "vera"):
        signed_in = console.login(username)
        assert signed_in.get(f"{console.url}/staff/policy", timeout=10).status_code == 200
        token = csrf_token(signed_in, console.url, "/staff/policy")
        for path, files, data in (
            ("/staff/imports", {"file": ("c.csv", CATALOGUE)}, {"kind": "catalogue"}),
            ("/staff/policy/upload", {"file": ("p.toml", CHANGED_POLICY)}, {}),
        ):
            assert signed_in.get(console.url + path, timeout=10).status_code == 403
            answer = signed_in.post(
                console.url + path,
                data={**data, "csrf_token": token},
                files=files,
                timeout=10,
            )
            assert answer.status_code == 403, (username, path)
            assert "Your role cannot open this page" in answer.text
    # No session: 401, whatever the token.
    anonymous = requests.Session()
    token = csrf_token(anonymous, console.url)
    for path in ("/staff/imports", "/staff/policy/upload"):
        answer = anonymous.post(
            console.url + path,
            data={"kind": "catalogue", "csrf_token": token},
            files={"file": ("c.csv", CATALOGUE)},
            timeout=10,
        )
        assert answer.status_code == 401
    # An administrator's multipart form without its token, or with another's: 403.
    ada = console.login("ada")
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": token}):
        for path in ("/staff/imports", "/staff/policy/upload"):
            answer = ada.post(
                console.url + path,
                data={"kind": "catalogue", **data},
                files={"file": ("c.csv", CATALOGUE)},
                timeout=10,
            )
            assert answer.status_code == 403, (path, data)
            assert "could not be accepted" in answer.text
    assert (counts(console), version_in_force(console)) == before


def test_each_import_and_policy_is_audited_with_who_did_it(console: Console) -> None:
    # After the walks above: the administrator's changes, each with its count or version.
    puts = audit(console, "policy.put")
    assert [(actor, origin) for actor, _, origin, _ in puts] == [("ada", "127.0.0.1")] * 2
    first, second = (target.removeprefix("policy ") for _, target, _, _ in puts)
    assert puts[0][3] == "from policy.example.toml"
    assert puts[1][3] == f"from policy-2027.toml, replacing {first}"
    assert second == version_in_force(console)
    assert audit(console, "import.catalogue") == [
        ("ada", "catalogue", "127.0.0.1", "3 rows imported")
    ]
    assert audit(console, "import.items") == [("ada", "items", "127.0.0.1", "4 rows imported")]
    assert audit(console, "import.patrons") == [
        ("ada", "patrons", "127.0.0.1", "3 rows imported")
    ]  # the rejected files are not there: nothing was imported
    ada = console.login("ada")
    page = ada.get(f"{console.url}/staff/audit", timeout=10).text
    for action in ("policy.put", "import.catalogue", "import.items", "import.patrons"):
        assert action in page


def test_a_file_over_the_limit_is_refused_with_a_clear_answer(
    browser: Browser, console: Console, tmp_path: Path
) -> None:
    ensure_policy(console)
    before = counts(console)
    big = tmp_path / "everyone.csv"
    with big.open("wb") as handle:
        handle.write(PATRONS.encode())
        handle.truncate(50 * MB + 1)  # the rest is a hole: no disk spent
    context = browser.new_context()
    page = context.new_page()
    try:
        problems = watch(page)
        sign_in(page, console, "ada")
        page.goto(f"{console.url}/staff/imports")
        page.get_by_label("Patrons").check()
        page.get_by_label("CSV file").set_input_files(big)
        with page.expect_navigation():
            page.get_by_role("button", name="Import").click()
        assert error_items(page) == ["The selected file must be smaller than 50 MB"]
        expect(page.locator("#file-error")).to_contain_text("smaller than 50 MB")
        expect(page.get_by_label("Patrons")).to_be_checked()
        accessible(page)
        assert refusals(problems, 413) == []
    finally:
        context.close()
    assert counts(console) == before

    ada = console.login("ada")
    token = csrf_token(ada, console.url, "/staff/imports")
    # Over the limit by a byte, without the slack a body has for its other fields.
    exact = ada.post(
        f"{console.url}/staff/imports",
        data={"kind": "patrons", "csrf_token": token},
        files={"file": ("exact.csv", b"x" * (50 * MB + 1))},
        timeout=60,
    )
    assert exact.status_code == 413
    assert "The selected file must be smaller than 50 MB" in exact.text
    # A policy file has a limit of its own.
    policy = ada.post(
        f"{console.url}/staff/policy/upload",
        data={"csrf_token": token},
        files={"file": ("huge.toml", b"#" * (2 * MB))},
        timeout=60,
    )
    assert policy.status_code == 413
    assert "The selected file must be smaller than 1 MB" in policy.text

    # A body with no declared length (chunked) is refused unread.
    def chunks() -> Iterator[bytes]:
        yield b"--x\r\n"
        yield b'Content-Disposition: form-data; name="kind"\r\n\r\npatrons\r\n--x--\r\n'

    chunked = ada.post(
        f"{console.url}/staff/imports",
        data=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        timeout=10,
    )
    assert chunked.status_code == 411
    assert "could not be read" in chunked.text
    assert counts(console) == before


def test_imports_and_policy_work_without_javascript(
    browser: Browser, console: Console, tmp_path: Path
) -> None:
    ensure_policy(console)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, console, "ada")
        page.goto(f"{console.url}/staff/imports")
        page.get_by_label("Catalogue records").check()
        page.get_by_label("CSV file").set_input_files(
            write(
                tmp_path,
                "more.csv",
                "brn,title,author,isbn,publication_type\n104,Dune,Frank Herbert,,FICTION\n",
            )
        )
        page.get_by_role("button", name="Import").click()
        expect(page.locator("#imported")).to_contain_text("1 catalogue record imported")
        page.goto(f"{console.url}/staff/policy/upload")
        page.get_by_label("Policy file").set_input_files(EXAMPLE_POLICY)
        page.get_by_role("button", name="Put this policy in force").click()
        expect(page.locator("#put")).to_contain_text("is now in force")
        expect(page.locator("#privileges")).to_be_visible()
        assert re.search(r"/staff/policy/upload$", page.url)
    finally:
        context.close()


def test_imports_and_a_policy_over_http_on_both_databases(database_url: str) -> None:
    """The same routes on SQLite and PostgreSQL: a rejected file leaves every table as it
    was and audits nothing; the good ones import, each audited with its actor."""
    with in_process(database_url) as live:
        ada = live.login("ada")
        token = csrf_token(ada, live.url, "/staff/imports")

        def post(path: str, name: str, text: str, **data: str) -> requests.Response:
            return ada.post(
                live.url + path,
                data={**data, "csrf_token": token},
                files={"file": (name, text.encode())},
                timeout=30,
            )

        refused = post("/staff/imports", "catalogue.csv", CATALOGUE, kind="catalogue")
        assert refused.status_code == 422
        assert "import a policy first" in refused.text
        assert post("/staff/policy/upload", "lending.toml", BAD_POLICY).status_code == 422
        assert version_in_force(live) is None
        put = post("/staff/policy/upload", "policy.toml", EXAMPLE_POLICY.read_text())
        assert put.status_code == 200
        assert f"Policy version {version_in_force(live)} is now in force" in put.text
        for kind, name, text in (
            ("catalogue", "catalogue.csv", CATALOGUE),
            ("items", "items.csv", ITEMS),
            ("patrons", "patrons.csv", PATRONS),
        ):
            assert post("/staff/imports", name, text, kind=kind).status_code == 200
        before = counts(live)
        bad = post("/staff/imports", "patrons-week-48.csv", BAD_PATRONS, kind="patrons")
        assert bad.status_code == 422
        assert all(escape(problem) in bad.text for problem in BAD_PATRON_PROBLEMS)
        assert counts(live) == before == {"records": 3, "items": 4, "patrons": 3}
        assert [entry[0] for entry in audit(live, "policy.put")] == ["ada"]
        for kind, rows in (("catalogue", 3), ("items", 4), ("patrons", 3)):
            assert audit(live, f"import.{kind}") == [
                ("ada", kind, "127.0.0.1", f"{rows} rows imported")
            ]
