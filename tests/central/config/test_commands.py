"""``kiosk-central check-config``, ``config show`` and ``--config`` as staff type them:
exit codes, masks, origins, the database in force, options before or after the verb."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import requests

from kiosk.central import cli
from kiosk.central.config import DEFAULTS_FILE
from kiosk.central.process import free_port
from kiosk.common.secrets import MASK

GOOD = """\
[library]
name = "Springfield Public Library"
time_zone = "Europe/London"

[web]
secret_key_file = "key"
"""
BAD = """\
[library]
time_zone = "Europe/Londn"

[web]
prot = 8080
"""
KEY = "a-session-key-of-more-than-thirty-two-characters"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``kiosk-central`` in this process: status, stdout, stderr."""
    try:
        status = cli.main(list(argv))
    except SystemExit as exit_:  # argparse refuses the command line
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(autouse=True)
def no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what each test gives: no database or config file named by the environment."""
    monkeypatch.delenv("KIOSK_CENTRAL_DB", raising=False)
    monkeypatch.delenv("KIOSK_CENTRAL_CONFIG", raising=False)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    key = tmp_path / "key"
    key.write_text(KEY + "\n")
    key.chmod(0o600)
    path = tmp_path / "central.toml"
    path.write_text(GOOD + f'[central]\ndatabase = "sqlite:///{tmp_path / "site.db"}"\n')
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    return path


def test_check_config_exit_status_and_every_mistake(
    capsys: pytest.CaptureFixture[str],
    good: Path,
    bad: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    assert run(capsys, "check-config", str(good)) == (0, f"{good}: valid\n", "")
    assert run(capsys, "check-config", str(bad)) == (
        2,
        "",
        f'{bad}:2: library.time_zone: must be a time zone such as "Europe/London" or "" for '
        "the server's own, not 'Europe/Londn' (did you mean 'Europe/London'?)\n"
        f"{bad}:5: web.prot: unknown key (did you mean 'port'?); known keys: host, port, "
        "base_url, session_idle_minutes, session_lifetime_minutes, secure_cookies, "
        "secret_key_file\n"
        "2 errors; kiosk-central cannot start with this config\n",
    )
    missing = tmp_path / "missing.toml"
    assert run(capsys, "check-config", str(missing)) == (
        2,
        "",
        f"{missing}: cannot read the config file: No such file or directory\n"
        "1 error; kiosk-central cannot start with this config\n",
    )
    # The file from --config (before or after the verb), else from the environment.
    assert run(capsys, "--config", str(bad), "check-config")[0] == 2
    assert run(capsys, "check-config", "--config", str(good))[0] == 0
    assert run(capsys, "--config", str(bad), "check-config", str(good))[0] == 0  # FILE wins
    monkeypatch.setenv("KIOSK_CENTRAL_CONFIG", str(good))
    assert run(capsys, "check-config") == (0, f"{good}: valid\n", "")
    monkeypatch.delenv("KIOSK_CENTRAL_CONFIG")
    if not Path("/etc/kiosk-central/central.toml").exists():
        assert run(capsys, "check-config") == (
            0,
            f"{DEFAULTS_FILE}: valid (no site file: the shipped defaults apply)\n",
            "",
        )


def test_check_config_reports_each_bad_backup_setting(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """[backup]: each of directory, keep and kiosks_forget wrong at once, each at its file,
    line and key, with what was meant where a near value or key exists."""
    path = tmp_path / "central.toml"
    path.write_text(
        '[backup]\ndirectory = 5\nkeep = -1\nkiosks_forget = "immediatly"\nrotate = 3\n'
    )
    assert run(capsys, "check-config", str(path)) == (
        2,
        "",
        f"{path}:2: backup.directory: must be a path in quotes, not 5\n"
        f"{path}:3: backup.keep: must be a whole number of backups above 0, not -1\n"
        f"{path}:4: backup.kiosks_forget: must be one of after-backup, immediately, not "
        "'immediatly' (did you mean 'immediately'?)\n"
        f"{path}:5: backup.rotate: unknown key; known keys: directory, keep, off_machine, "
        "kiosks_forget\n"
        "4 errors; kiosk-central cannot start with this config\n",
    )
    path.write_text('[backup]\ndirectory = "backups"\nkeep = 3\nkiosks_forget = "immediately"\n')
    assert run(capsys, "check-config", str(path)) == (0, f"{path}: valid\n", "")


def test_the_config_commands_need_no_database(
    capsys: pytest.CaptureFixture[str], bad: Path, tmp_path: Path
) -> None:
    """They run before any database is opened: a broken file, or one naming a database
    that cannot be opened, is still checked and shown."""
    unusable = tmp_path / "unusable.toml"
    unusable.write_text('[central]\ndatabase = "sqlite:////nonexistent/folder/central.db"\n')
    assert run(capsys, "check-config", str(unusable))[0] == 0
    assert run(capsys, "config", "show", str(unusable))[0] == 0
    assert run(capsys, "config", "show", str(bad))[0] == 2
    assert list(tmp_path.glob("*.db")) == []


def test_config_show_prints_the_settings_in_force_with_origins_and_masks(
    capsys: pytest.CaptureFixture[str], good: Path, tmp_path: Path
) -> None:
    good.write_text(
        good.read_text()
        + '\n[notices.email]\nhost = "smtp.example"\nfrom = "library@springfield.example"\n'
        + 'username = "library"\npassword_file = "key"\n'
    )
    status, out, err = run(capsys, "config", "show", str(good))
    assert (status, err) == (0, "")
    assert out.startswith(f"# defaults: {DEFAULTS_FILE}\n# site: {good}\n")
    assert f'name = "Springfield Public Library"  # {good}:2\n' in out
    assert f'time_zone = "Europe/London"  # {good}:3\n' in out
    assert 'currency = ""\n' in out  # a default: no comment
    assert f'database = "sqlite:///{tmp_path / "site.db"}"  # {good}:8\n' in out
    assert f'password_file = "key"  # {good}:14\n' in out  # the file is named, never read out
    assert KEY not in out
    shown = tomllib.loads(out)
    defaults = tomllib.loads(DEFAULTS_FILE.read_text())
    assert shown["sip2"] == defaults["sip2"]
    assert shown["notices"]["sms"] == defaults["notices"]["sms"]
    assert shown["notices"]["email"]["from"] == "library@springfield.example"


def test_config_show_masks_a_database_password_and_says_where_the_database_came_from(
    capsys: pytest.CaptureFixture[str],
    good: Path,
    bad: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgresql://kiosk:hunter2@db.example/library"
    status, out, _ = run(capsys, "--db", url, "config", "show", str(good))
    assert status == 0
    assert f'database = "postgresql://kiosk:{MASK}@db.example/library"  # --db\n' in out
    assert "hunter2" not in out
    monkeypatch.setenv("KIOSK_CENTRAL_DB", url)
    status, out, _ = run(capsys, "config", "show", "--config", str(good))
    assert status == 0
    assert (
        f'database = "postgresql://kiosk:{MASK}@db.example/library"  # $KIOSK_CENTRAL_DB\n' in out
    )
    # A password written in the file itself is refused, and masked all the same; so is
    # a secret under a key the file should not have.
    bad.write_text(f'[central]\ndatabase = "{url}"\n[sip2]\npassword = "s3cret"\n')
    monkeypatch.delenv("KIOSK_CENTRAL_DB")
    status, out, err = run(capsys, "config", "show", str(bad))
    assert status == 2
    assert "hunter2" not in out + err
    assert "s3cret" not in out + err
    assert f'password = "{MASK}"  # {bad}:4\n' in out
    assert err.splitlines()[-1] == "2 errors; kiosk-central cannot start with this config"


@pytest.mark.parametrize(
    "argv",
    [
        ("--config", "{config}", "init"),
        ("init", "--config", "{config}"),
    ],
)
def test_the_database_comes_from_the_config_unless_db_is_given(
    capsys: pytest.CaptureFixture[str], good: Path, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    site_db = tmp_path / "site.db"
    status, out, err = run(capsys, *(arg.format(config=good) for arg in argv))
    assert (status, out, err) == (0, f"sqlite:///{site_db}: schema up to date\n", "")
    assert site_db.exists()
    given = tmp_path / "given.db"
    status, out, _ = run(
        capsys, *(arg.format(config=good) for arg in argv), "--db", f"sqlite:///{given}"
    )
    assert (status, out) == (0, f"sqlite:///{given}: schema up to date\n")
    # the database the command used is the one --db named: kiosks added there, not in the site's
    assert (
        run(capsys, "--config", str(good), "--db", f"sqlite:///{given}", "kiosk", "add", "b-1")[0]
        == 0
    )
    _, listed, _ = run(capsys, "kiosk", "list", "--json", "--config", str(good))
    assert json.loads(listed) == []
    _, listed, _ = run(capsys, "kiosk", "--db", f"sqlite:///{given}", "list", "--json")
    assert [kiosk["name"] for kiosk in json.loads(listed)] == ["b-1"]


def test_the_environment_database_is_over_the_file_and_under_db(
    capsys: pytest.CaptureFixture[str], good: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_db, given = tmp_path / "env.db", tmp_path / "given.db"
    monkeypatch.setenv("KIOSK_CENTRAL_DB", f"sqlite:///{env_db}")
    assert (
        run(capsys, "--config", str(good), "init")[1] == f"sqlite:///{env_db}: schema up to date\n"
    )
    assert run(capsys, "--config", str(good), "init", "--db", f"sqlite:///{given}")[1] == (
        f"sqlite:///{given}: schema up to date\n"
    )
    assert not (tmp_path / "site.db").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ("--config", "{bad}", "init"),
        ("init", "--config", "{bad}"),
        ("kiosk", "--config", "{bad}", "list"),
        ("kiosk", "list", "--config", "{bad}"),
        ("--config", "{good}", "kiosk", "list", "--config", "{bad}"),  # after the verb wins
    ],
)
def test_a_config_with_a_mistake_stops_every_database_command_before_the_database(
    capsys: pytest.CaptureFixture[str], good: Path, bad: Path, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    database = tmp_path / "untouched.db"
    status, out, err = run(
        capsys,
        *(arg.format(bad=bad, good=good) for arg in argv),
        "--db",
        f"sqlite:///{database}",
    )
    assert (status, out) == (2, "")
    assert err.splitlines() == [
        f'{bad}:2: library.time_zone: must be a time zone such as "Europe/London" or "" for '
        "the server's own, not 'Europe/Londn' (did you mean 'Europe/London'?)",
        f"{bad}:5: web.prot: unknown key (did you mean 'port'?); known keys: host, port, "
        "base_url, session_idle_minutes, session_lifetime_minutes, secure_cookies, "
        "secret_key_file",
        "2 errors; kiosk-central cannot start with this config",
    ]
    assert not database.exists()


def test_a_config_file_named_by_the_environment_that_is_missing_stops_the_commands(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing.toml"
    monkeypatch.setenv("KIOSK_CENTRAL_CONFIG", str(missing))
    status, _, err = run(capsys, "--db", f"sqlite:///{tmp_path / 'x.db'}", "init")
    assert status == 2
    assert (
        err.splitlines()[0] == f"{missing}: cannot read the config file: No such file or directory"
    )


def test_serve_listens_where_the_config_says(tmp_path: Path) -> None:
    """The config reaches the commands: serve takes its port and log level from it."""
    port = free_port()
    database = f"sqlite:///{tmp_path / 'central.db'}"
    config = tmp_path / "central.toml"
    config.write_text(
        f'[central]\ndatabase = "{database}"\nlog_level = "warning"\n[web]\nport = {port}\n'
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_CENTRAL")}
    central = [sys.executable, "-m", "kiosk.central.cli", "--config", str(config)]
    assert (
        subprocess.run([*central, "init"], env=environment, check=False, timeout=120).returncode
        == 0
    )
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([*central, "serve"], env=environment, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).ok:
                    break
            except requests.RequestException:
                assert time.monotonic() < deadline, "the server did not answer on [web] port"
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    # [central] log_level = "warning": not even uvicorn's "INFO: Started server process"
    assert "INFO" not in (tmp_path / "serve.log").read_text()
