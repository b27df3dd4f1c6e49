"""kiosk-central's settings as plain frozen values: what ``load_config`` returns.

The defaults written here are those of the shipped ``defaults.toml`` (a test keeps the
two the same); the loader always starts from that file. Secrets stay in their files:
the settings hold each file's path, checked when the config is read (present, not
empty, readable by its owner alone); whoever needs the secret reads it then with
:func:`kiosk.common.secrets.read_secret` and the kind named here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from kiosk.central.errors import CentralError
from kiosk.common.layered import ConfigProblem, counted
from kiosk.common.secrets import SecretFile

LogLevel = Literal["debug", "info", "warning", "error"]
KiosksForget = Literal["after-backup", "immediately"]
Security = Literal["starttls", "tls", "none"]

LOG_LEVELS: tuple[str, ...] = get_args(LogLevel)
SECURITIES: tuple[str, ...] = get_args(Security)
KIOSKS_FORGET: tuple[str, ...] = get_args(KiosksForget)

# The secret files central.toml names, as messages about them name them.
MAKE_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))' > FILE"
SECRET_KEY = SecretFile("secret key file", f"put a key of at least 32 characters in it: {MAKE_KEY}")
MAIL_PASSWORD = SecretFile("password file", "put the mail server's password in it")
SMS_CREDENTIALS = SecretFile("credentials file", "put the SMS gateway's credentials in it")
TLS_KEY = SecretFile("TLS key file", "put the certificate's private key (PEM) in it")
UPSTREAM_PASSWORD = SecretFile(
    "password file", "put the password of the SIP2 login the library's system gave you in it"
)


class CentralConfigError(CentralError):
    """central.toml cannot be used; ``problems`` holds every mistake found. The message
    lists each with its file, line and key."""

    def __init__(self, problems: tuple[ConfigProblem, ...] | list[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        lines = [str(problem) for problem in self.problems]
        lines.append(refusal(len(self.problems)))
        super().__init__("\n".join(lines))


def refusal(count: int) -> str:
    """The line under a list of ``count`` mistakes."""
    return f"{counted(count, 'error')}; kiosk-central cannot start with this config"


@dataclass(frozen=True, slots=True)
class CentralSection:
    # A SQLAlchemy URL: sqlite:///PATH or postgresql://USER@HOST/DB. --db and
    # $KIOSK_CENTRAL_DB override it; the loaded config holds the one in force.
    database: str = "sqlite:///central.db"
    log_level: LogLevel = "info"


@dataclass(frozen=True, slots=True)
class LibrarySection:
    name: str = "The Library"
    time_zone: str = ""  # an IANA name; "" is the server's own
    currency: str = ""  # ISO 4217, e.g. "USD"; "" = amounts as bare numbers
    hold_shelf_days: int = 7  # how long a ready hold waits on the shelf
    # How long after a loan ends a patron who keeps no loan history stays linked to it.
    forget_loans_after_days: int = 30

    def zone(self) -> ZoneInfo | None:
        """The library's time zone; None for the server's own (checked when read)."""
        return ZoneInfo(self.time_zone) if self.time_zone else None


@dataclass(frozen=True, slots=True)
class WebSection:
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str = ""  # "" = from each request; else without a trailing "/"
    session_idle_minutes: int = 30
    session_lifetime_minutes: int = 720
    secure_cookies: bool = True
    secret_key_file: Path | None = None  # None: a new key at each start (SECRET_KEY)


@dataclass(frozen=True, slots=True)
class EmailSection:
    host: str = ""  # "" = no email
    port: int = 587
    security: Security = "starttls"
    from_address: str = ""  # the file's ``from``
    username: str = ""
    password_file: Path | None = None  # MAIL_PASSWORD


@dataclass(frozen=True, slots=True)
class SmsSection:
    url: str = ""  # "" = no SMS
    body: str = ""
    credentials_file: Path | None = None  # SMS_CREDENTIALS


@dataclass(frozen=True, slots=True)
class NoticesSection:
    """``kiosk-central notices`` (issue 16): how often it looks, when digests go, how a
    failed send is tried again, and the channels."""

    templates: Path | None = None  # the site's folder, over the shipped templates
    preferences_url: str = ""  # "" = [web] base_url + "/my/preferences"
    poll_seconds: float = 20
    digest_hour: int = 8
    attempts: int = 5  # tries of one message before it is recorded as failed
    retry_minutes: int = 5  # the first wait; each later one is twice the one before
    hold_expiry_days_before: int = 1
    membership_days_before: int = 30
    arrivals_weekday: int = 0  # Monday
    email: EmailSection = field(default_factory=EmailSection)
    sms: SmsSection = field(default_factory=SmsSection)


@dataclass(frozen=True, slots=True)
class Sip2Section:
    """``kiosk-central sip2 serve`` (issue 18). Devices log in with accounts of their own
    (``kiosk-central sip2 account add``), kept in the database, not here."""

    host: str = "127.0.0.1"
    port: int = 6001
    tls_certificate_file: Path | None = None  # both or neither: TLS when set
    tls_key_file: Path | None = None  # TLS_KEY
    charset: str = "utf-8"  # the codec's name for it: "utf-8", "cp850", "iso8859-1"
    idle_timeout_seconds: float = 600
    max_message_bytes: int = 4096
    institution_id: str = ""  # "" answers with the institution id the device sends
    hold_shelf_bin: str = "1"
    shelf_bin: str = "2"
    staff_bin: str = "3"
    # Server processes sharing the port: each has an interpreter of its own, so that
    # many devices at once are not all waiting for one (kiosk/central/sip2/processes.py).
    processes: int = 1
    # The threads in each process that answer requests (the database work): more than
    # two on two cores only wait for each other's Python (benchmarks/sip2.py).
    handler_threads: int = 2


@dataclass(frozen=True, slots=True)
class BackupSection:
    """``kiosk-central backup`` and restore (docs/operations.md)."""

    directory: Path | None = Path("/var/lib/kiosk-central/backups")  # None: FILE required
    keep: int = 14  # the newest backups kept in ``directory``
    # The folder is another machine's, or copied off this one: a SQLite backup on the
    # database's own disk then counts for the kiosks all the same (docs/operations.md).
    off_machine: bool = False
    # "after-backup": kiosks keep each transaction until a backup covers it (or their
    # limit passes); "immediately": every commit is already kept on another machine.
    kiosks_forget: KiosksForget = "after-backup"


@dataclass(frozen=True, slots=True)
class UpstreamSection:
    """Gateway mode (issue 19): the library's own system, reached over SIP2, to which
    ``kiosk-central relay`` sends every transaction decided here."""

    enabled: bool = False
    host: str = ""
    port: int = 6001
    tls: bool = False
    tls_ca_file: Path | None = None  # None: this machine's own authorities
    user: str = ""
    password_file: Path | None = None  # UPSTREAM_PASSWORD
    institution_id: str = ""
    location: str = ""
    charset: str = "utf-8"  # the codec's name for it, as [sip2] charset
    no_block: bool = False
    patron_check_seconds: float = 1.5
    answer_timeout_seconds: float = 30
    retry_seconds: float = 2
    retry_max_seconds: float = 300
    connections: int = 1  # side by side: transactions with no item or patron in common


@dataclass(frozen=True, slots=True)
class ImportsSection:
    """``kiosk-central import waiting``: the other system's exports, on a schedule."""

    directory: Path | None = Path("/var/lib/kiosk-central/imports")  # None: not used
    keep: int = 14  # of each kind, imported and refused alike


Contact = Literal["email", "phone", "email_or_phone"]
CONTACTS: tuple[str, ...] = get_args(Contact)


@dataclass(frozen=True, slots=True)
class RegistrationSection:
    """The portal's online registration (``/my/register``) and what a registration
    may do before staff approve it."""

    open: bool = False  # False: the form says registration is done at the library
    contact: Contact = "email"  # what the form requires to reach the patron
    date_of_birth: bool = False  # asked only where a member type depends on it
    # The member type a registration has until staff choose one (a code of the policy,
    # needed for pending_loans above 0); "" only with pending_loans = 0.
    member_type: str = ""
    pending_loans: int = 0  # the most loans before approval; 0: none
    card_prefix: str = "T"  # temporary cards: this and 9 digits
    per_address_per_hour: int = 3  # registrations one address may send in an hour
    expire_after_days: int = 30  # a registration staff have not decided on is deleted then


@dataclass(frozen=True, slots=True)
class CentralConfig:
    central: CentralSection = field(default_factory=CentralSection)
    library: LibrarySection = field(default_factory=LibrarySection)
    web: WebSection = field(default_factory=WebSection)
    notices: NoticesSection = field(default_factory=NoticesSection)
    sip2: Sip2Section = field(default_factory=Sip2Section)
    backup: BackupSection = field(default_factory=BackupSection)
    registration: RegistrationSection = field(default_factory=RegistrationSection)
    upstream: UpstreamSection = field(default_factory=UpstreamSection)
    imports: ImportsSection = field(default_factory=ImportsSection)
    # The files read, defaults first.
    files: tuple[Path, ...] = ()
