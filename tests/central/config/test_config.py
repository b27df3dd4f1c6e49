"""central.toml: the shipped defaults under the site's file, every mistake at once with its
file, line, key and a "did you mean"; secret files refused when others may read them."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.central.config import (
    DEFAULTS_FILE,
    CentralConfig,
    CentralConfigError,
    CentralSection,
    EmailSection,
    LibrarySection,
    NoticesSection,
    Sip2Section,
    SmsSection,
    WebSection,
    check_config,
    database_override,
    load_config,
    mask,
    read_config,
    site_file,
    with_database,
)
from kiosk.central.config.model import BackupSection
from kiosk.central.errors import CentralError
from kiosk.common.secrets import MASK

ROOT = Path(__file__).parents[3]
KEY = "k" * 40


def secret(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def site(tmp_path: Path, text: str) -> Path:
    """A site's central.toml beside private secret files: ``key`` (the session key),
    ``mail-password`` and ``sms-credentials``."""
    secret(tmp_path / "key", KEY + "\n")
    secret(tmp_path / "mail-password", "mail s3cret\n")
    secret(tmp_path / "sms-credentials", "sms s3cret\n")
    path = tmp_path / "central.toml"
    path.write_text(text)
    return path


def certificate(folder: Path, name: str = "sip2") -> tuple[Path, Path]:
    """A self-signed certificate and its key (chmod 600), made by openssl."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt"),
            *("ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    return cert, key


def messages(problems: Sequence[object]) -> list[str]:
    return [str(problem) for problem in problems]


def test_the_repository_copy_is_the_shipped_defaults() -> None:
    assert (ROOT / "config" / "central.toml").read_text() == DEFAULTS_FILE.read_text()


def test_the_shipped_defaults_alone_are_valid_and_are_the_dataclass_defaults() -> None:
    assert read_config(None) == (CentralConfig(files=(DEFAULTS_FILE,)), [])
    assert str(DEFAULTS_FILE).endswith("kiosk/central/config/defaults.toml")


def test_the_repository_copy_read_as_a_site_file_is_valid() -> None:
    path = ROOT / "config" / "central.toml"
    assert load_config(path) == CentralConfig(files=(DEFAULTS_FILE, path))


def test_which_site_file(tmp_path: Path) -> None:
    given, named, system = tmp_path / "given.toml", tmp_path / "named.toml", tmp_path / "etc.toml"
    environ = {"KIOSK_CENTRAL_CONFIG": str(named)}
    assert site_file(given, environ, system) == given
    assert site_file(None, environ, system) == named  # named: used even when missing
    assert site_file(None, {}, system) is None  # the system's file only when it exists
    system.write_text("")
    assert site_file(None, {}, system) == system
    assert site_file(None, {"KIOSK_CENTRAL_CONFIG": ""}, system) == system


def test_a_named_file_that_is_missing_is_a_mistake(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(CentralConfigError) as refused:
        load_config(None, environ={"KIOSK_CENTRAL_CONFIG": str(missing)})
    assert str(refused.value).splitlines() == [
        f"{missing}: cannot read the config file: No such file or directory",
        "1 error; kiosk-central cannot start with this config",
    ]
    assert isinstance(refused.value, CentralError)


def test_every_setting_read_from_the_site_file(tmp_path: Path) -> None:
    certificate(tmp_path)
    path = site(
        tmp_path,
        """\
[central]
database = "postgresql://kiosk-central@db.example/library"
log_level = "WARNING"

[library]
name = "Springfield Public Library"
time_zone = "America/Chicago"
currency = "usd"

[web]
host = "0.0.0.0"
port = 8443
base_url = "https://library.example/central/"
session_idle_minutes = 20
session_lifetime_minutes = 480
secure_cookies = false
secret_key_file = "key"

[notices.email]
host = "smtp.example"
port = 465
security = "tls"
from = "Springfield Library <library@springfield.example>"
username = "library"
password_file = "mail-password"

[notices.sms]
url = "https://sms.example/send"
body = '{"to": "{phone}", "text": "{message}"}'
credentials_file = "sms-credentials"

[sip2]
host = "0.0.0.0"
port = 6002
tls_certificate_file = "sip2.pem"
tls_key_file = "sip2.key"
charset = "IBM850"
idle_timeout_seconds = 90.5
max_message_bytes = 2048
institution_id = "SPL"
hold_shelf_bin = "A"
shelf_bin = "B"
staff_bin = "Reject"
handler_threads = 4
""",
    )
    config = load_config(path)
    assert config == CentralConfig(
        central=CentralSection(
            database="postgresql://kiosk-central@db.example/library", log_level="warning"
        ),
        library=LibrarySection(
            name="Springfield Public Library", time_zone="America/Chicago", currency="USD"
        ),
        web=WebSection(
            host="0.0.0.0",
            port=8443,
            base_url="https://library.example/central",
            session_idle_minutes=20,
            session_lifetime_minutes=480,
            secure_cookies=False,
            secret_key_file=tmp_path / "key",
        ),
        notices=NoticesSection(
            email=EmailSection(
                host="smtp.example",
                port=465,
                security="tls",
                from_address="Springfield Library <library@springfield.example>",
                username="library",
                password_file=tmp_path / "mail-password",
            ),
            sms=SmsSection(
                url="https://sms.example/send",
                body='{"to": "{phone}", "text": "{message}"}',
                credentials_file=tmp_path / "sms-credentials",
            ),
        ),
        sip2=Sip2Section(
            host="0.0.0.0",
            port=6002,
            tls_certificate_file=tmp_path / "sip2.pem",
            tls_key_file=tmp_path / "sip2.key",
            charset="cp850",
            idle_timeout_seconds=90.5,
            max_message_bytes=2048,
            institution_id="SPL",
            hold_shelf_bin="A",
            shelf_bin="B",
            staff_bin="Reject",
            handler_threads=4,
        ),
        files=(DEFAULTS_FILE, path),
    )
    assert config.library.zone() == ZoneInfo("America/Chicago")
    assert LibrarySection().zone() is None  # the server's own
    assert "s3cret" not in repr(config)
    assert KEY not in repr(config)


def test_the_site_replaces_the_defaults_one_key_at_a_time(tmp_path: Path) -> None:
    path = site(tmp_path, "[web]\nport = 9000\n\n[notices.email]\nport = 2525\n")
    config = load_config(path)
    assert config.web == WebSection(port=9000)
    assert config.notices.email == EmailSection(port=2525)
    assert (config.central, config.library, config.sip2) == (
        CentralSection(),
        LibrarySection(),
        Sip2Section(),
    )


def test_the_backup_settings_read_from_the_site_file(tmp_path: Path) -> None:
    path = site(
        tmp_path,
        '[backup]\ndirectory = "backups"\nkeep = 3\noff_machine = true\n'
        'kiosks_forget = "Immediately"\n',
    )
    assert load_config(path).backup == BackupSection(
        directory=tmp_path / "backups", keep=3, off_machine=True, kiosks_forget="immediately"
    )
    # The folder is checked when a backup is taken, so a missing one is no mistake here;
    # "" leaves it unset (each backup then names its FILE).
    path.write_text('[backup]\ndirectory = ""\n')
    assert load_config(path).backup == BackupSection(directory=None)


# One mistake each: the site file's text (after GOOD's keys), then every message it gives,
# at its line. "{tmp}" is the folder of the site's file.
MISTAKES = [
    pytest.param(
        '[central]\ndatbase = "sqlite:///x.db"\n',
        [
            "2: central.datbase: unknown key (did you mean 'database'?); known keys: database, log_level"
        ],
        id="unknown key",
    ),
    pytest.param(
        "[libary]\nname = 'x'\n",
        [
            "1: libary: unknown table (did you mean 'library'?); known tables: central, library, web, registration, notices, sip2, backup, upstream, imports"
        ],
        id="unknown table",
    ),
    pytest.param(
        "[notices.emial]\nhost = 'smtp.example'\n",
        [
            "1: notices.emial: unknown key (did you mean 'email'?); known keys: templates, "
            "preferences_url, poll_seconds, digest_hour, attempts, retry_minutes, "
            "hold_expiry_days_before, membership_days_before, arrivals_weekday, email, sms"
        ],
        id="unknown nested table",
    ),
    pytest.param(
        '[library]\ntime_zone = "europe/londn"\n',
        [
            '2: library.time_zone: must be a time zone such as "Europe/London" or "" for the '
            "server's own, not 'europe/londn' (did you mean 'Europe/London'?)"
        ],
        id="bad time zone",
    ),
    pytest.param(
        '[library]\ntime_zone = "../../etc/passwd"\n',
        [
            '2: library.time_zone: must be a time zone such as "Europe/London" or "" for the '
            "server's own, not '../../etc/passwd'"
        ],
        id="a path for a time zone",
    ),
    pytest.param(
        '[library]\ncurrency = "€"\n',
        [
            '2: library.currency: must be a three-letter currency code such as "USD", "EUR" or '
            '"GBP", or "" for none, not \'€\''
        ],
        id="bad currency",
    ),
    pytest.param(
        '[library]\ncurrency = "EURO"\n',
        [
            '2: library.currency: must be a three-letter currency code such as "USD", "EUR" or '
            '"GBP", or "" for none, not \'EURO\''
        ],
        id="four-letter currency",
    ),
    pytest.param(
        '[web]\nport = "8080"\nsecure_cookies = "yes"\nsession_idle_minutes = 0\n',
        [
            "2: web.port: must be a port number from 1 to 65535, not '8080'",
            "3: web.secure_cookies: must be true or false, not 'yes'",
            "4: web.session_idle_minutes: must be a whole number of minutes above 0, not 0",
        ],
        id="wrong types",
    ),
    pytest.param(
        "[library]\nname = 5\n[sip2]\nport = 70000\nhost = ''\n",
        [
            "2: library.name: must be text, not 5",
            '5: sip2.host: missing: the address to listen on, "127.0.0.1" for this machine '
            'alone or "0.0.0.0" for every network',
            "4: sip2.port: must be a port number from 1 to 65535, not 70000",
        ],
        id="more wrong values",
    ),
    pytest.param(
        "[web]\nsession_idle_minutes = 60\nsession_lifetime_minutes = 45\n",
        ["2: web.session_idle_minutes: must be at most session_lifetime_minutes (45), not 60"],
        id="idle longer than the lifetime",
    ),
    pytest.param(
        '[web]\nbase_url = "library.example/central"\n',
        [
            "2: web.base_url: must be the address people reach the console at, starting with "
            'https:// or http://, such as "https://library.example/central", not '
            "'library.example/central'"
        ],
        id="base url without a scheme",
    ),
    pytest.param(
        '[central]\nlog_level = "verbose"\n',
        ["2: central.log_level: must be one of debug, info, warning, error, not 'verbose'"],
        id="log level",
    ),
    pytest.param(
        '[central]\ndatabase = "central.db"\n',
        [
            "2: central.database: must be a database URL such as "
            '"sqlite:////var/lib/kiosk-central/central.db" or '
            '"postgresql://kiosk-central@db.library.example/library"'
        ],
        id="database not a url",
    ),
    pytest.param(
        '[central]\ndatabase = "mysql://db/library"\n',
        [
            "2: central.database: must be a SQLite or PostgreSQL database, not 'mysql', e.g. "
            '"sqlite:////var/lib/kiosk-central/central.db" or '
            '"postgresql://kiosk-central@db.library.example/library"'
        ],
        id="database not sqlite or postgresql",
    ),
    pytest.param(
        '[central]\ndatabase = "postgresql://kc:hunter2@db/library"\n',
        [
            "2: central.database: holds a password: keep it out of central.toml, in the "
            "kiosk-central user's ~/.pgpass (chmod 600), and leave it out of the URL"
        ],
        id="a password in the database url",
    ),
    pytest.param(
        '[web]\nsecret_key_file = "open-key"\n',
        [
            "2: web.secret_key_file: {tmp}/open-key: readable by other users (mode 644); "
            "run: chmod 600 {tmp}/open-key"
        ],
        id="secret file readable by others",
    ),
    pytest.param(
        '[notices.email]\nusername = "x"\npassword_file = "no-such-file"\n',
        [
            "3: notices.email.password_file: {tmp}/no-such-file: cannot read the password "
            "file: No such file or directory"
        ],
        id="secret file missing",
    ),
    pytest.param(
        '[sip2]\npassword_file = "sip2-password"\n',
        [
            "2: sip2.password_file: no longer used: each device logs in with an account of "
            "its own, made with `kiosk-central sip2 account add NAME --password-file FILE`; "
            "remove this line"
        ],
        id="sip2: the shared password of before accounts",
    ),
    pytest.param(
        '[sip2]\ncharset = "cp580"\nidle_timeout_seconds = 0\nmax_message_bytes = 100\n',
        [
            '2: sip2.charset: must be a character set such as "utf-8", "cp850" (IBM850, '
            "SIP2's own) or \"latin-1\", not 'cp580' (did you mean 'cp850'?)",
            "3: sip2.idle_timeout_seconds: must be a number of seconds above 0, up to 3600, not 0",
            "4: sip2.max_message_bytes: must be from 256 to 1048576 bytes (a SIP2 request is "
            "rarely over 300), not 100",
        ],
        id="sip2: charset, timeout, message length",
    ),
    pytest.param(
        '[sip2]\ncharset = "utf-16"\n',
        [
            '2: sip2.charset: must keep ASCII as it is, as SIP2 needs ("utf-8", "cp850", '
            "\"latin-1\"), not 'utf-16'"
        ],
        id="sip2: a charset that is not ASCII's",
    ),
    pytest.param(
        '[sip2]\nshelf_bin = "2|3"\nstaff_bin = ""\ninstitution_id = 5\nsort_bin = "1"\n',
        [
            "2: sip2.shelf_bin: cannot hold a '|' or a control character (SIP2 could not send "
            "it): '2|3'",
            '3: sip2.staff_bin: missing: the sort bin a sorter is told, such as "1"',
            "4: sip2.institution_id: must be text, not 5",
            "5: sip2.sort_bin: unknown key (did you mean 'staff_bin'?); known keys: host, port, "
            "tls_certificate_file, tls_key_file, charset, idle_timeout_seconds, "
            "max_message_bytes, institution_id, hold_shelf_bin, shelf_bin, staff_bin, "
            "processes, handler_threads",
        ],
        id="sip2: bins and the institution",
    ),
    pytest.param(
        "[sip2]\nprocesses = 0\n",
        ["2: sip2.processes: must be a whole number of processes from 1 to 64, not 0"],
        id="sip2: no process",
    ),
    pytest.param(
        "[sip2]\nprocesses = 65\n",
        ["2: sip2.processes: must be a whole number of processes from 1 to 64, not 65"],
        id="sip2: a process for each of too many cores",
    ),
    pytest.param(
        '[sip2]\nprocesses = "two"\n',
        ["2: sip2.processes: must be a whole number of processes from 1 to 64, not 'two'"],
        id="sip2: processes in words",
    ),
    pytest.param(
        "[sip2]\nhandler_threads = 0\n",
        ["2: sip2.handler_threads: must be a whole number of threads from 1 to 64, not 0"],
        id="sip2: no thread to answer",
    ),
    pytest.param(
        "[sip2]\nhandler_threads = 65\n",
        ["2: sip2.handler_threads: must be a whole number of threads from 1 to 64, not 65"],
        id="sip2: too many threads",
    ),
    pytest.param(
        '[sip2]\ntls_certificate_file = "no-such.pem"\n',
        [
            "2: sip2.tls_certificate_file: {tmp}/no-such.pem does not exist",
            "2: sip2.tls_certificate_file: needs tls_key_file too: the file holding the "
            "certificate's private key",
        ],
        id="sip2: a certificate without its key",
    ),
    pytest.param(
        '[sip2]\ntls_key_file = "key"\n',
        [
            "2: sip2.tls_key_file: needs tls_certificate_file too: the file holding the "
            "certificate (PEM)"
        ],
        id="sip2: a key without its certificate",
    ),
    pytest.param(
        '[notices.sms]\nurl = "https://sms.example"\nbody = "x"\ncredentials_file = "empty"\n',
        [
            "4: notices.sms.credentials_file: {tmp}/empty: is empty; put the SMS gateway's "
            "credentials in it"
        ],
        id="secret file empty",
    ),
    pytest.param(
        '[web]\nsecret_key_file = "short-key"\n',
        [
            "2: web.secret_key_file: {tmp}/short-key: holds 5 characters; a key needs at least "
            "32; make one: python3 -c 'import secrets; print(secrets.token_urlsafe(48))' > FILE"
        ],
        id="secret key too short",
    ),
    pytest.param(
        '[notices.email]\nhost = "smtp.example"\n',
        [
            "1: notices.email.from: missing: the address notices come from, e.g. "
            '"library@springfield.example"'
        ],
        id="email without a sender",
    ),
    pytest.param(
        '[notices.email]\nfrom = "the library"\nusername = "library"\nsecurity = "startls"\n',
        [
            '2: notices.email.from: must be an email address such as "Springfield Library '
            "<library@springfield.example>\", not 'the library'",
            "4: notices.email.security: must be one of starttls, tls, none, not 'startls' "
            "(did you mean 'starttls'?)",
            "1: notices.email.password_file: missing: the file holding the mail server's "
            "password for 'library'",
        ],
        id="email: bad sender, a username without a password, a misspelt security",
    ),
    pytest.param(
        '[notices.email]\nsecurity = "none"\npassword_file = "mail-password"\n',
        [
            "1: notices.email.username: missing: the account password_file is for",
            '2: notices.email.security: must be "starttls" or "tls" with a password: "none" '
            "would send it in clear",
        ],
        id="email: a password in clear, for no account",
    ),
    pytest.param(
        '[notices.sms]\nurl = "sms.example"\n',
        [
            "2: notices.sms.url: must be the gateway's address, starting with https:// or "
            "http://, not 'sms.example'"
        ],
        id="sms url",
    ),
    pytest.param(
        '[notices.sms]\nurl = "https://sms.example/send"\n',
        ["1: notices.sms.body: missing: the request to send to the gateway's url"],
        id="sms without a body",
    ),
    pytest.param(
        "[notices]\nemail = 5\n",
        ["2: notices.email: must be a table, not 5"],
        id="a value for a table",
    ),
    pytest.param(
        "[backup]\ndirectory = 5\n",
        ["2: backup.directory: must be a path in quotes, not 5"],
        id="backup: a folder not in quotes",
    ),
    pytest.param(
        "[backup]\nkeep = 0\n",
        ["2: backup.keep: must be a whole number of backups above 0, not 0"],
        id="backup: keep none",
    ),
    pytest.param(
        '[backup]\nkeep = "14"\n',
        ["2: backup.keep: must be a whole number of backups above 0, not '14'"],
        id="backup: keep in quotes",
    ),
    pytest.param(
        '[backup]\nkiosks_forget = "after_backup"\n',
        [
            "2: backup.kiosks_forget: must be one of after-backup, immediately, not "
            "'after_backup' (did you mean 'after-backup'?)"
        ],
        id="backup: kiosks_forget misspelt",
    ),
    pytest.param(
        '[backup]\nkiosks_forget = "never"\n',
        ["2: backup.kiosks_forget: must be one of after-backup, immediately, not 'never'"],
        id="backup: kiosks_forget never",
    ),
    pytest.param(
        "[backup]\nkepp = 3\n",
        [
            "2: backup.kepp: unknown key (did you mean 'keep'?); known keys: directory, keep, "
            "off_machine, kiosks_forget"
        ],
        id="backup: an unknown key",
    ),
    pytest.param(
        "[backups]\nkeep = 3\n",
        [
            "1: backups: unknown table (did you mean 'backup'?); known tables: central, "
            "library, web, registration, notices, sip2, backup, upstream, imports"
        ],
        id="backup: the table misspelt",
    ),
    pytest.param(
        "[web]\nport = = 8080\n",
        ["2: not valid TOML: Invalid value (column 8)"],
        id="not toml",
    ),
]


@pytest.mark.parametrize(("text", "expected"), MISTAKES)
def test_each_mistake_with_its_line_key_and_what_was_meant(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    secret(tmp_path / "open-key", KEY, 0o644)
    secret(tmp_path / "short-key", "short\n")
    secret(tmp_path / "empty", "\n")
    path = site(tmp_path, text)
    found = messages(check_config(path))
    # the table's lines are in file order but for problems placed at a table's header
    assert sorted(found) == sorted(
        f"{path}:{line.replace('{tmp}', str(tmp_path))}" for line in expected
    )
    with pytest.raises(CentralConfigError) as refused:
        load_config(path)
    assert messages(refused.value.problems) == found
    assert "hunter2" not in str(refused.value)
    assert KEY not in str(refused.value)


def test_every_mistake_at_once_in_file_order(tmp_path: Path) -> None:
    secret(tmp_path / "open", "pw\n", 0o640)
    path = site(
        tmp_path,
        """\
[central]
log_levle = "debug"

[library]
time_zone = "Europe/Pari"
currency = "$"

[web]
port = 0
secret_key_file = "open"

[notices.email]
host = "smtp.example"
from = "library@springfield.example"
pasword_file = "mail-password"

[sip]
port = 6001
""",
    )
    open_file = tmp_path / "open"
    assert messages(check_config(path)) == [
        f"{path}:2: central.log_levle: unknown key (did you mean 'log_level'?); known keys: "
        "database, log_level",
        f'{path}:5: library.time_zone: must be a time zone such as "Europe/London" or "" for '
        "the server's own, not 'Europe/Pari' (did you mean 'Europe/Paris'?)",
        f'{path}:6: library.currency: must be a three-letter currency code such as "USD", '
        '"EUR" or "GBP", or "" for none, not \'$\'',
        f"{path}:9: web.port: must be a port number from 1 to 65535, not 0",
        f"{path}:10: web.secret_key_file: {open_file}: readable by other users (mode 640); "
        f"run: chmod 600 {open_file}",
        f"{path}:15: notices.email.pasword_file: unknown key (did you mean 'password_file'?); "
        "known keys: host, port, security, from, username, password_file",
        f"{path}:17: sip: unknown table (did you mean 'sip2'?); known tables: central, "
        "library, web, registration, notices, sip2, backup, upstream, imports",
    ]


def test_the_database_in_force_is_db_else_the_environment_else_the_file(tmp_path: Path) -> None:
    path = site(tmp_path, '[central]\ndatabase = "sqlite:////var/lib/central.db"\n')
    config = load_config(path)
    assert config.central.database == "sqlite:////var/lib/central.db"
    environ = {"KIOSK_CENTRAL_DB": "sqlite:///env.db"}
    assert database_override("sqlite:///option.db", environ) == ("sqlite:///option.db", "--db")
    assert database_override(None, environ) == ("sqlite:///env.db", "$KIOSK_CENTRAL_DB")
    assert database_override(None, {}) is None
    assert with_database(config, "sqlite:///option.db", environ).central.database == (
        "sqlite:///option.db"
    )
    assert with_database(config, None, environ).central.database == "sqlite:///env.db"
    assert with_database(config, None, {}) is config


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        (
            "central.database",
            "postgresql://kc:hunter2@db/library",
            f"postgresql://kc:{MASK}@db/library",
        ),
        (
            "central.database",
            "postgresql://kc:p@ss/word@db/x?a=b",
            f"postgresql://kc:{MASK}@db/x?a=b",
        ),
        ("central.database", "postgresql://kc@db/library", "postgresql://kc@db/library"),
        ("central.database", "sqlite:///central.db", "sqlite:///central.db"),
        ("central.database", "not a url", "not a url"),
        ("notices.email.password", "hunter2", MASK),
        ("web.secret_key", "k" * 40, MASK),
        ("notices.sms.api_token", "t", MASK),
        ("notices.sms.credentials", "c", MASK),
        ("notices.email.password_file", "/etc/kiosk-central/mail", "/etc/kiosk-central/mail"),
        ("notices.email.username", "library", "library"),
        ("web.port", 8080, 8080),
        ("notices.email.password", "", ""),
    ],
)
def test_config_show_masks_every_secret(key: str, value: object, shown: object) -> None:
    assert mask(key, value) == shown


def test_sip2_tls_a_key_that_is_not_the_certificates_or_open_to_others(tmp_path: Path) -> None:
    certificate(tmp_path, "one")
    certificate(tmp_path, "two")
    path = site(tmp_path, '[sip2]\ntls_certificate_file = "one.pem"\ntls_key_file = "two.key"\n')
    (problem,) = messages(check_config(path))
    assert problem.startswith(
        f"{path}:3: sip2.tls_key_file: {tmp_path}/two.key and {tmp_path}/one.pem cannot be "
        "used as a certificate and its key (PEM, the key unencrypted, the key the "
        "certificate's): "
    )
    (tmp_path / "one.key").chmod(0o644)
    path.write_text('[sip2]\ntls_certificate_file = "one.pem"\ntls_key_file = "one.key"\n')
    assert messages(check_config(path)) == [
        f"{path}:3: sip2.tls_key_file: {tmp_path}/one.key: readable by other users (mode 644); "
        f"run: chmod 600 {tmp_path}/one.key"
    ]
    (tmp_path / "one.key").chmod(0o600)
    config = load_config(path)
    assert (config.sip2.tls_certificate_file, config.sip2.tls_key_file) == (
        tmp_path / "one.pem",
        tmp_path / "one.key",
    )


@pytest.mark.parametrize(
    ("written", "codec"),
    [("utf-8", "utf-8"), ("UTF8", "utf-8"), ("cp850", "cp850"), ("latin-1", "iso8859-1")],
)
def test_sip2_charsets_by_their_codecs_name(tmp_path: Path, written: str, codec: str) -> None:
    path = site(tmp_path, f'[sip2]\ncharset = "{written}"\n')
    assert load_config(path).sip2.charset == codec
