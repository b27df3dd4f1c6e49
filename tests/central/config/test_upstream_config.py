"""``[upstream]`` in central.toml (gateway mode, issue 19): every setting read, every
mistake at its line with what was meant, the password kept in its file and never shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.central.config import UpstreamSection, check_config, load_config

PASSWORD = "upstream s3cret"


def site(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    password = tmp_path / "upstream-password"
    password.write_text(PASSWORD + "\n")
    password.chmod(mode)
    (tmp_path / "ca.pem").write_text("not read here\n")
    path = tmp_path / "central.toml"
    path.write_text(text)
    return path


def test_every_upstream_setting_read_from_the_site_file(tmp_path: Path) -> None:
    path = site(
        tmp_path,
        """\
[upstream]
enabled = true
host = "koha.library.example"
port = 6002
tls = true
tls_ca_file = "ca.pem"
user = "kiosk-gateway"
password_file = "upstream-password"
institution_id = "SPRING"
location = "MAIN"
charset = "cp850"
no_block = true
patron_check_seconds = 0.8
answer_timeout_seconds = 10
retry_seconds = 1
retry_max_seconds = 60
connections = 4
""",
    )
    assert load_config(path).upstream == UpstreamSection(
        enabled=True,
        host="koha.library.example",
        port=6002,
        tls=True,
        tls_ca_file=tmp_path / "ca.pem",
        user="kiosk-gateway",
        password_file=tmp_path / "upstream-password",
        institution_id="SPRING",
        location="MAIN",
        charset="cp850",
        no_block=True,
        patron_check_seconds=0.8,
        answer_timeout_seconds=10,
        retry_seconds=1,
        retry_max_seconds=60,
        connections=4,
    )


def test_off_by_default_with_no_block_off_and_a_budget_of_a_second_and_a_half() -> None:
    section = load_config(None, environ={}).upstream
    assert (section.enabled, section.no_block, section.patron_check_seconds) == (
        False,
        False,
        1.5,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "[upstream]\nenabled = true\n",
            [
                "1: upstream.host: missing: the address of the library system's SIP2 server",
                "1: upstream.user: missing: the SIP2 login the library system gave you",
            ],
            id="enabled with no address or login",
        ),
        pytest.param(
            '[upstream]\nuser = "gw"\n',
            [
                "1: upstream.password_file: missing: the file holding the SIP2 password for 'gw' "
                "(chmod 600)"
            ],
            id="a login without its password",
        ),
        pytest.param(
            '[upstream]\nuser = "gw"\npassword_file = "upstream-password"\n',
            [
                "3: upstream.password_file: {tmp}/upstream-password: readable by other users "
                "(mode 644); run: chmod 600 {tmp}/upstream-password"
            ],
            id="a password others may read",
        ),
        pytest.param(
            '[upstream]\ntls_ca_file = "ca.pem"\nhots = "x"\n',
            [
                "2: upstream.tls_ca_file: is for TLS: set tls = true too, or leave it out",
                "3: upstream.hots: unknown key (did you mean 'host'?); known keys: enabled, "
                "host, port, tls, tls_ca_file, user, password_file, institution_id, location, "
                "charset, no_block, patron_check_seconds, answer_timeout_seconds, "
                "retry_seconds, retry_max_seconds, connections",
            ],
            id="a CA without TLS, a misspelt key",
        ),
        pytest.param(
            '[upstream]\ncharset = "cp580"\npatron_check_seconds = 20\nno_block = "yes"\n'
            'institution_id = "A|B"\nconnections = 0\n',
            [
                '2: upstream.charset: must be a character set such as "utf-8", "cp850" '
                "(IBM850, SIP2's own) or \"latin-1\", not 'cp580' (did you mean 'cp850'?)",
                "3: upstream.patron_check_seconds: must be at most 10 seconds (a patron is "
                "waiting), not 20",
                "4: upstream.no_block: must be true or false, not 'yes'",
                "5: upstream.institution_id: cannot hold a '|' or a control character (SIP2 "
                "could not send it): 'A|B'",
                "6: upstream.connections: must be a whole number of connections from 1 to 16, "
                "not 0",
            ],
            id="charset, budget, flag, a SIP2 field",
        ),
        pytest.param(
            "[upstrem]\nenabled = true\n",
            [
                "1: upstrem: unknown table (did you mean 'upstream'?); known tables: central, "
                "library, web, notices, sip2, backup, upstream"
            ],
            id="the table misspelt",
        ),
    ],
)
def test_each_upstream_mistake_with_its_line(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = site(tmp_path, text, 0o644 if "mode 644" in str(expected) else 0o600)
    found = sorted(str(problem) for problem in check_config(path))
    wanted = sorted(f"{path}:{line.replace('{tmp}', str(tmp_path))}" for line in expected)
    if "known tables" in wanted[0]:  # other tables come and go: the one meant is what counts
        assert found[0].split("; known tables")[0] == wanted[0].split("; known tables")[0]
        return
    assert found == wanted


def test_config_show_names_the_password_file_and_never_reads_it_out(tmp_path: Path) -> None:
    path = site(
        tmp_path,
        '[upstream]\nenabled = true\nhost = "127.0.0.1"\nuser = "gw"\n'
        'password_file = "upstream-password"\n',
    )
    shown = subprocess.run(
        [sys.executable, "-m", "kiosk.central.cli", "config", "show", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert 'password_file = "upstream-password"' in shown
    assert PASSWORD not in shown
