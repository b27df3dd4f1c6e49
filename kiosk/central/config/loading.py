"""Reading ``central.toml``: the shipped defaults, the site's file over them, every mistake.

The site's file is the one given (``--config FILE``), else the one named in
``$KIOSK_CENTRAL_CONFIG``, else ``/etc/kiosk-central/central.toml`` when it exists;
with none, the shipped defaults alone apply. A file that is named but cannot be read is
a mistake. Every value is checked; each mistake is reported with the file and line it
came from, its key and, for a misspelt key or value, what was probably meant. Any
mistake makes :func:`load_config` raise :class:`CentralConfigError` listing them all.

The layering, the lines and the locating are :mod:`kiosk.common.layered`'s, shared
with the kiosk's ``kiosk.toml``.
"""

from __future__ import annotations

import codecs
import re
import ssl
from collections.abc import Mapping
from dataclasses import replace
from email.utils import parseaddr
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from kiosk.central.config.model import (
    CONTACTS,
    KIOSKS_FORGET,
    LOG_LEVELS,
    MAIL_PASSWORD,
    MAKE_KEY,
    SECRET_KEY,
    SECURITIES,
    SMS_CREDENTIALS,
    TLS_KEY,
    UPSTREAM_PASSWORD,
    BackupSection,
    CentralConfig,
    CentralConfigError,
    CentralSection,
    Contact,
    EmailSection,
    ImportsSection,
    KiosksForget,
    LibrarySection,
    LogLevel,
    NoticesSection,
    RegistrationSection,
    Security,
    Sip2Section,
    SmsSection,
    UpstreamSection,
    WebSection,
)
from kiosk.common import layered
from kiosk.common.layered import ConfigProblem, LayeredReader, Layers, named_file
from kiosk.common.secrets import MASK
from kiosk.common.settings import as_flag, as_positive_int, as_positive_seconds, as_text
from kiosk.common.suggest import did_you_mean

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")
SITE_FILE = Path("/etc/kiosk-central/central.toml")
CONFIG_ENV = "KIOSK_CENTRAL_CONFIG"
DB_ENV = "KIOSK_CENTRAL_DB"

# central.toml's tables, in the order of the shipped defaults.
TABLES = (
    "central",
    "library",
    "web",
    "registration",
    "notices",
    "sip2",
    "backup",
    "upstream",
    "imports",
)
NOTICES_KEYS = (
    "templates",
    "preferences_url",
    "poll_seconds",
    "digest_hour",
    "attempts",
    "retry_minutes",
    "hold_expiry_days_before",
    "membership_days_before",
    "arrivals_weekday",
    "email",
    "sms",
)
REGISTRATION_KEYS = (
    "open",
    "contact",
    "date_of_birth",
    "member_type",
    "pending_loans",
    "card_prefix",
    "per_address_per_hour",
    "expire_after_days",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EMAIL_KEYS = ("host", "port", "security", "from", "username", "password_file")
SMS_KEYS = ("url", "body", "credentials_file")
SIP2_KEYS = (
    "host",
    "port",
    "tls_certificate_file",
    "tls_key_file",
    "charset",
    "idle_timeout_seconds",
    "max_message_bytes",
    "institution_id",
    "hold_shelf_bin",
    "shelf_bin",
    "staff_bin",
    "processes",
    "handler_threads",
)
UPSTREAM_KEYS = (
    "enabled",
    "host",
    "port",
    "tls",
    "tls_ca_file",
    "user",
    "password_file",
    "institution_id",
    "location",
    "charset",
    "no_block",
    "patron_check_seconds",
    "answer_timeout_seconds",
    "retry_seconds",
    "retry_max_seconds",
    "connections",
)
UPSTREAM_CONNECTIONS = (1, 16)
PATRON_CHECK_SECONDS = 10.0  # the most a patron may be kept waiting for the other system
# The character sets SIP2 devices are set to, for "did you mean" (any other that keeps
# ASCII as it is, such as "cp1252", is taken too).
CHARSETS = ("utf-8", "cp850", "latin-1", "ibm850", "iso-8859-1", "cp1252", "ascii")
SIP2_MESSAGE_BYTES = (256, 1 << 20)
SIP2_PROCESSES = (1, 64)
SIP2_HANDLER_THREADS = (1, 64)
MAX_SIP2_TEXT = 64
# Keys whose values ``config show`` never prints: any whose name says it holds a secret
# (a *_file key names a file, and is shown), and the password in a database URL.
SECRET_WORDS = ("password", "secret", "token", "credential")
SECRET_KEY_LENGTH = 32
DATABASES = ("sqlite", "postgresql", "postgres")
DATABASE_EXAMPLES = (
    '"sqlite:////var/lib/kiosk-central/central.db" or '
    '"postgresql://kiosk-central@db.library.example/library"'
)


def site_file(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    default: Path = SITE_FILE,
) -> Path | None:
    """The site's file: ``path`` if given, else $KIOSK_CENTRAL_CONFIG, else ``default``
    (/etc/kiosk-central/central.toml) when it exists; None when there is none."""
    named = named_file(path, environ, CONFIG_ENV)
    if named is not None:
        return named
    return default if default.exists() else None


def read_layers(site: Path | None) -> Layers | ConfigProblem:
    """The defaults with the site's file over them, or why a file cannot be read."""
    return layered.read_layers(DEFAULTS_FILE, site)


def read_config(site: Path | None) -> tuple[CentralConfig | None, list[ConfigProblem]]:
    """The config (None when a file cannot be read at all) and every problem found."""
    layers = read_layers(site)
    if isinstance(layers, ConfigProblem):
        return None, [layers]
    return read_merged(layers)


def read_merged(layers: Layers) -> tuple[CentralConfig, list[ConfigProblem]]:
    """The config the merged ``layers`` give, and every problem in them."""
    checker = _Checker(layers)
    config = checker.config()
    return config, checker.located()


def load_config(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> CentralConfig:
    """kiosk-central's settings: the defaults, with the site's file (see
    :func:`site_file`) over them. Raises :class:`CentralConfigError` with every mistake."""
    config, problems = read_config(site_file(path, environ))
    if config is None or problems:
        raise CentralConfigError(problems)
    return config


def check_config(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> list[ConfigProblem]:
    """Every mistake in the site's file and under it (``kiosk-central check-config``)."""
    return read_config(site_file(path, environ))[1]


def database_override(option: str | None, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The database given outside central.toml, and where: ``--db``, else
    ``$KIOSK_CENTRAL_DB``; None when neither is."""
    if option:
        return option, "--db"
    named = environ.get(DB_ENV, "")
    return (named, f"${DB_ENV}") if named else None


def with_database(
    config: CentralConfig, option: str | None, environ: Mapping[str, str]
) -> CentralConfig:
    """``config`` with the database in force: ``--db``, else $KIOSK_CENTRAL_DB, else
    ``[central] database``."""
    override = database_override(option, environ)
    if override is None:
        return config
    return replace(config, central=replace(config.central, database=override[0]))


def mask(key: str, value: Any) -> Any:
    """A value as ``config show`` prints it: secrets as ``********``."""
    if not isinstance(value, str) or not value:
        return value
    if key == "central.database":
        return masked_url(value)
    leaf = key.rsplit(".", 1)[-1].lower()
    if not leaf.endswith("_file") and any(word in leaf for word in SECRET_WORDS):
        return MASK
    return value


def masked_url(url: str) -> str:
    """``scheme://user:********@host/...``: the URL with its password, if any, masked.
    The password runs to the last ``@``: one typed with a raw ``/`` or ``@`` in it is
    masked whole (at worst with some of what follows it)."""
    scheme, separator, rest = url.partition("://")
    if not separator or "@" not in rest:
        return url
    user_info, host = rest.rsplit("@", 1)
    if ":" not in user_info:
        return url
    return f"{scheme}://{user_info.split(':', 1)[0]}:{MASK}@{host}"


# --- checking -----------------------------------------------------------------------------


def _port(value: object) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
    return cast(int, value) if ok else None


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _web_address(url: str) -> bool:
    return re.fullmatch(r"https?://[^/\s?#@]+(/[^\s?#]*)?", url) is not None


class _Checker(LayeredReader):
    """Reads every table of the merged config; problems are kept, never raised."""

    def __init__(self, layers: Layers) -> None:
        super().__init__(layers, TABLES)

    def config(self) -> CentralConfig:
        self.unknown_tables()
        return CentralConfig(
            central=self.central(),
            library=self.library(),
            web=self.web(),
            registration=self.registration(),
            notices=self.notices(),
            sip2=self.sip2(),
            backup=self.backup(),
            upstream=self.upstream(),
            imports=self.imports(),
            files=tuple(
                source.path for source in (self.layers.defaults, self.layers.site) if source
            ),
        )

    def text(self, table: Mapping[str, Any], section: str, key: str, default: str) -> str:
        return self.get(table, section, key, default, as_text, "text").strip()

    def port(self, table: Mapping[str, Any], section: str, default: int) -> int:
        return self.get(table, section, "port", default, _port, "a port number from 1 to 65535")

    def host(self, table: Mapping[str, Any], section: str, default: str) -> str:
        host = self.text(table, section, "host", default)
        if not host:
            self.problem(
                f"{section}.host",
                'missing: the address to listen on, "127.0.0.1" for this machine alone '
                'or "0.0.0.0" for every network',
            )
            return default
        return host

    def central(self) -> CentralSection:
        table = self.section("central", ("database", "log_level"))
        defaults = CentralSection()
        return CentralSection(
            database=self.database(table, defaults.database),
            log_level=cast(
                LogLevel,
                self.choice(table, "central", "log_level", defaults.log_level, LOG_LEVELS),
            ),
        )

    def database(self, table: Mapping[str, Any], default: str) -> str:
        """A SQLite or PostgreSQL URL, without a password. Messages never repeat the URL:
        it may hold one."""
        url = self.text(table, "central", "database", default)
        key = "central.database"
        try:
            parsed = make_url(url)
        except ArgumentError:
            self.problem(key, f"must be a database URL such as {DATABASE_EXAMPLES}")
            return default
        if parsed.get_backend_name() not in DATABASES:
            self.problem(
                key,
                f"must be a SQLite or PostgreSQL database, not {parsed.get_backend_name()!r}, "
                f"e.g. {DATABASE_EXAMPLES}",
            )
            return default
        if parsed.password is not None:
            self.problem(
                key,
                "holds a password: keep it out of central.toml, in the kiosk-central "
                "user's ~/.pgpass (chmod 600), and leave it out of the URL",
            )
            return default
        return url

    def library(self) -> LibrarySection:
        table = self.section(
            "library",
            ("name", "time_zone", "currency", "hold_shelf_days", "forget_loans_after_days"),
        )
        defaults = LibrarySection()
        return LibrarySection(
            name=self.get(table, "library", "name", defaults.name, as_text, "text"),
            time_zone=self.time_zone(table),
            currency=self.currency(table, "library", "currency"),
            hold_shelf_days=self.get(
                table,
                "library",
                "hold_shelf_days",
                defaults.hold_shelf_days,
                as_positive_int,
                "a whole number of days above 0",
            ),
            forget_loans_after_days=self.get(
                table,
                "library",
                "forget_loans_after_days",
                defaults.forget_loans_after_days,
                as_positive_int,
                "a whole number of days above 0",
            ),
        )

    def time_zone(self, table: Mapping[str, Any]) -> str:
        name = self.text(table, "library", "time_zone", "")
        if not name:
            return ""
        try:
            ZoneInfo(name)
        except (KeyError, ValueError, OSError):  # unknown, malformed, or not a zone file
            self.problem(
                "library.time_zone",
                f'must be a time zone such as "Europe/London" or "" for the server\'s own, '
                f"not {name!r}{did_you_mean(name, available_timezones(), bracketed=True)}",
            )
            return ""
        return name

    def web(self) -> WebSection:
        known = (
            "host",
            "port",
            "base_url",
            "session_idle_minutes",
            "session_lifetime_minutes",
            "secure_cookies",
            "secret_key_file",
        )
        table = self.section("web", known)
        defaults = WebSection()
        base_url = self.text(table, "web", "base_url", "")
        if base_url and not _web_address(base_url):
            self.problem(
                "web.base_url",
                "must be the address people reach the console at, starting with https:// "
                f'or http://, such as "https://library.example/central", not {base_url!r}',
            )
            base_url = ""

        def minutes(key: str, default: int) -> int:
            return self.get(
                table, "web", key, default, as_positive_int, "a whole number of minutes above 0"
            )

        idle = minutes("session_idle_minutes", defaults.session_idle_minutes)
        lifetime = minutes("session_lifetime_minutes", defaults.session_lifetime_minutes)
        if idle > lifetime:
            self.problem(
                "web.session_idle_minutes",
                f"must be at most session_lifetime_minutes ({lifetime}), not {idle}",
            )
        key_file, key = self.secret_file(table, "web", "secret_key_file", SECRET_KEY)
        if key is not None and len(key) < SECRET_KEY_LENGTH:
            self.problem(
                "web.secret_key_file",
                f"{key_file}: holds {len(key)} characters; a key needs at least "
                f"{SECRET_KEY_LENGTH}; make one: {MAKE_KEY}",
            )
        return WebSection(
            host=self.host(table, "web", defaults.host),
            port=self.port(table, "web", defaults.port),
            base_url=base_url.rstrip("/"),
            session_idle_minutes=idle,
            session_lifetime_minutes=lifetime,
            secure_cookies=self.get(
                table, "web", "secure_cookies", defaults.secure_cookies, as_flag, "true or false"
            ),
            secret_key_file=key_file,
        )

    def registration(self) -> RegistrationSection:
        table = self.section("registration", REGISTRATION_KEYS)
        defaults = RegistrationSection()
        member_type = self.text(table, "registration", "member_type", defaults.member_type)
        pending_loans = self.get(
            table,
            "registration",
            "pending_loans",
            defaults.pending_loans,
            _whole,
            "a whole number of items, 0 for none",
        )
        if pending_loans < 0:
            self.problem(
                "registration.pending_loans", f"must be 0 or more items, not {pending_loans}"
            )
            pending_loans = defaults.pending_loans
        if pending_loans > 0 and not member_type:
            self.problem(
                "registration.member_type",
                "missing: name the lending policy's member type a pending registration "
                f"borrows as (pending_loans is {pending_loans}), or set pending_loans = 0",
            )
        prefix = self.text(table, "registration", "card_prefix", defaults.card_prefix)
        if not re.fullmatch(r"[A-Za-z]{1,4}", prefix):
            self.problem(
                "registration.card_prefix",
                f'must be 1 to 4 letters, such as "T", not {prefix!r}: a temporary card '
                "must never look like a library card",
            )
            prefix = defaults.card_prefix
        return RegistrationSection(
            open=self.get(table, "registration", "open", defaults.open, as_flag, "true or false"),
            contact=cast(
                Contact,
                self.choice(table, "registration", "contact", defaults.contact, CONTACTS),
            ),
            date_of_birth=self.get(
                table,
                "registration",
                "date_of_birth",
                defaults.date_of_birth,
                as_flag,
                "true or false",
            ),
            member_type=member_type,
            pending_loans=pending_loans,
            card_prefix=prefix.upper(),
            per_address_per_hour=self.get(
                table,
                "registration",
                "per_address_per_hour",
                defaults.per_address_per_hour,
                as_positive_int,
                "a whole number of registrations above 0",
            ),
            expire_after_days=self.get(
                table,
                "registration",
                "expire_after_days",
                defaults.expire_after_days,
                as_positive_int,
                "a whole number of days above 0",
            ),
        )

    def notices(self) -> NoticesSection:
        notices = self.section("notices", NOTICES_KEYS)
        defaults = NoticesSection()
        templates = self.path(notices, "notices", "templates")
        self.existing(templates, "notices.templates", folder=True)
        preferences_url = self.text(notices, "notices", "preferences_url", "")
        if preferences_url and not _web_address(preferences_url):
            self.problem(
                "notices.preferences_url",
                "must be the address where patrons change their notices, starting with "
                f"https:// or http://, not {preferences_url!r}",
            )
            preferences_url = ""

        def count(key: str, default: int, low: int, high: int, unit: str) -> int:
            number = self.get(notices, "notices", key, default, _whole, f"a whole number of {unit}")
            if not low <= number <= high:
                self.problem(f"notices.{key}", f"must be from {low} to {high} {unit}, not {number}")
                return default
            return number

        weekday = self.choice(
            notices, "notices", "arrivals_weekday", WEEKDAYS[defaults.arrivals_weekday], WEEKDAYS
        )
        return NoticesSection(
            templates=templates,
            preferences_url=preferences_url.rstrip("/"),
            poll_seconds=self.get(
                notices,
                "notices",
                "poll_seconds",
                defaults.poll_seconds,
                as_positive_seconds,
                "a number of seconds above 0, up to 3600",
            ),
            digest_hour=count("digest_hour", defaults.digest_hour, 0, 23, "o'clock"),
            attempts=count("attempts", defaults.attempts, 1, 20, "tries"),
            retry_minutes=count("retry_minutes", defaults.retry_minutes, 1, 1440, "minutes"),
            hold_expiry_days_before=count(
                "hold_expiry_days_before", defaults.hold_expiry_days_before, 0, 30, "days"
            ),
            membership_days_before=count(
                "membership_days_before", defaults.membership_days_before, 0, 365, "days"
            ),
            arrivals_weekday=WEEKDAYS.index(weekday),
            email=self.email(self.table(notices.get("email", {}), "notices.email", EMAIL_KEYS)),
            sms=self.sms(self.table(notices.get("sms", {}), "notices.sms", SMS_KEYS)),
        )

    def email(self, table: Mapping[str, Any]) -> EmailSection:
        path = "notices.email"
        defaults = EmailSection()
        host = self.text(table, path, "host", "")
        sender = self.text(table, path, "from", "")
        if sender and "@" not in parseaddr(sender)[1]:
            self.problem(
                f"{path}.from",
                'must be an email address such as "Springfield Library '
                f'<library@springfield.example>", not {sender!r}',
            )
        elif host and not sender:
            self.problem(
                f"{path}.from",
                'missing: the address notices come from, e.g. "library@springfield.example"',
            )
        security = cast(
            Security, self.choice(table, path, "security", defaults.security, SECURITIES)
        )
        username = self.text(table, path, "username", "")
        password_file, _ = self.secret_file(table, path, "password_file", MAIL_PASSWORD)
        if username and password_file is None:
            self.problem(
                f"{path}.password_file",
                f"missing: the file holding the mail server's password for {username!r}",
            )
        elif password_file is not None and not username:
            self.problem(f"{path}.username", "missing: the account password_file is for")
        if password_file is not None and security == "none":
            self.problem(
                f"{path}.security",
                'must be "starttls" or "tls" with a password: "none" would send it in clear',
            )
        return EmailSection(
            host=host,
            port=self.port(table, path, defaults.port),
            security=security,
            from_address=sender,
            username=username,
            password_file=password_file,
        )

    def sms(self, table: Mapping[str, Any]) -> SmsSection:
        path = "notices.sms"
        url = self.text(table, path, "url", "")
        if url and not _web_address(url):
            self.problem(
                f"{path}.url",
                f"must be the gateway's address, starting with https:// or http://, not {url!r}",
            )
            url = ""
        body = self.get(table, path, "body", "", as_text, "text")
        if url and not body.strip():
            self.problem(f"{path}.body", "missing: the request to send to the gateway's url")
        credentials, _ = self.secret_file(table, path, "credentials_file", SMS_CREDENTIALS)
        return SmsSection(url=url, body=body, credentials_file=credentials)

    def sip2(self) -> Sip2Section:
        raw = self.layers.merged.get("sip2", {})
        if isinstance(raw, Mapping) and "password_file" in raw:
            self.problem(
                "sip2.password_file",
                "no longer used: each device logs in with an account of its own, made with "
                "`kiosk-central sip2 account add NAME --password-file FILE`; remove this line",
            )
            raw = {key: value for key, value in raw.items() if key != "password_file"}
        table = self.table(raw, "sip2", SIP2_KEYS)
        defaults = Sip2Section()
        certificate, key = self.tls(table)
        size = self.get(
            table,
            "sip2",
            "max_message_bytes",
            defaults.max_message_bytes,
            as_positive_int,
            "a whole number of bytes",
        )
        low, high = SIP2_MESSAGE_BYTES
        if not low <= size <= high:
            self.problem(
                "sip2.max_message_bytes",
                f"must be from {low} to {high} bytes (a SIP2 request is rarely over 300), "
                f"not {size}",
            )
            size = defaults.max_message_bytes
        processes = self._counted(
            table, "processes", defaults.processes, SIP2_PROCESSES, "processes"
        )
        threads = self._counted(
            table, "handler_threads", defaults.handler_threads, SIP2_HANDLER_THREADS, "threads"
        )
        return Sip2Section(
            host=self.host(table, "sip2", defaults.host),
            port=self.port(table, "sip2", defaults.port),
            tls_certificate_file=certificate,
            tls_key_file=key,
            charset=self.charset(table, defaults.charset),
            idle_timeout_seconds=self.get(
                table,
                "sip2",
                "idle_timeout_seconds",
                defaults.idle_timeout_seconds,
                as_positive_seconds,
                "a number of seconds above 0, up to 3600",
            ),
            max_message_bytes=size,
            institution_id=self.sip2_text(table, "institution_id", defaults.institution_id),
            hold_shelf_bin=self.sip2_text(table, "hold_shelf_bin", defaults.hold_shelf_bin),
            shelf_bin=self.sip2_text(table, "shelf_bin", defaults.shelf_bin),
            staff_bin=self.sip2_text(table, "staff_bin", defaults.staff_bin),
            processes=processes,
            handler_threads=threads,
        )

    def _counted(
        self, table: Mapping[str, Any], key: str, default: int, bounds: tuple[int, int], unit: str
    ) -> int:
        """A [sip2] count of ``unit`` within ``bounds``, else its default (reported)."""
        low, high = bounds
        between = f"a whole number of {unit} from {low} to {high}"
        count = self.get(table, "sip2", key, default, as_positive_int, between)
        if not low <= count <= high:
            self.problem(f"sip2.{key}", f"must be {between}, not {count}")
            return default
        return count

    def backup(self) -> BackupSection:
        """Where backups go and how many stay; the folder is checked when a backup is
        taken, not here, so that every other command works on a machine without it."""
        table = self.section("backup", ("directory", "keep", "off_machine", "kiosks_forget"))
        defaults = BackupSection()
        return BackupSection(
            directory=self.path(table, "backup", "directory"),
            keep=self.get(
                table,
                "backup",
                "keep",
                defaults.keep,
                as_positive_int,
                "a whole number of backups above 0",
            ),
            off_machine=self.get(
                table, "backup", "off_machine", defaults.off_machine, as_flag, "true or false"
            ),
            kiosks_forget=cast(
                KiosksForget,
                self.choice(
                    table, "backup", "kiosks_forget", defaults.kiosks_forget, KIOSKS_FORGET
                ),
            ),
        )

    def imports(self) -> ImportsSection:
        """The inbox of the other system's exports; checked when imported from, not here,
        as the backup folder is."""
        table = self.section("imports", ("directory", "keep"))
        return ImportsSection(
            directory=self.path(table, "imports", "directory"),
            keep=self.get(
                table,
                "imports",
                "keep",
                ImportsSection().keep,
                as_positive_int,
                "a whole number of files above 0",
            ),
        )

    def tls(self, table: Mapping[str, Any]) -> tuple[Path | None, Path | None]:
        """The certificate and its key: both or neither, each readable, the key by its
        owner alone, and the two a pair."""
        certificate = self.path(table, "sip2", "tls_certificate_file")
        self.existing(certificate, "sip2.tls_certificate_file")
        key, secret = self.secret_file(table, "sip2", "tls_key_file", TLS_KEY)
        if certificate is None and key is None:
            return None, None
        if key is None:
            self.problem(
                "sip2.tls_certificate_file",
                "needs tls_key_file too: the file holding the certificate's private key",
            )
            return None, None
        if certificate is None:
            self.problem(
                "sip2.tls_key_file",
                "needs tls_certificate_file too: the file holding the certificate (PEM)",
            )
            return None, None
        if secret is not None and certificate.is_file():
            try:
                ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                    certificate, key
                )
            except (ssl.SSLError, OSError) as error:
                self.problem(
                    "sip2.tls_key_file",
                    f"{key} and {certificate} cannot be used as a certificate and its key "
                    f"(PEM, the key unencrypted, the key the certificate's): {error}",
                )
        return certificate, key

    def charset(self, table: Mapping[str, Any], default: str, section: str = "sip2") -> str:
        """A character set Python knows that keeps ASCII as it is, by its codec's name."""
        name = self.text(table, section, "charset", default)
        probe = "09AZ|\r az"
        try:
            codec = codecs.lookup(name).name
            ascii_compatible = probe.encode(codec) == probe.encode("ascii")
        except (LookupError, UnicodeError):
            codec, ascii_compatible = "", False
        if not codec:
            self.problem(
                f"{section}.charset",
                f'must be a character set such as "utf-8", "cp850" (IBM850, SIP2\'s own) or '
                f'"latin-1", not {name!r}{did_you_mean(name, CHARSETS, bracketed=True)}',
            )
            return default
        if not ascii_compatible:
            self.problem(
                f"{section}.charset",
                f'must keep ASCII as it is, as SIP2 needs ("utf-8", "cp850", '
                f'"latin-1"), not {name!r}',
            )
            return default
        return codec

    def sip2_text(
        self, table: Mapping[str, Any], key: str, default: str, section: str = "sip2"
    ) -> str:
        """A value sent in a SIP2 field: no ``|`` and no control character."""
        value = self.text(table, section, key, default)
        if "|" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            self.problem(
                f"{section}.{key}",
                f"cannot hold a '|' or a control character (SIP2 could not send it): {value!r}",
            )
            return default
        if len(value) > MAX_SIP2_TEXT:
            self.problem(f"{section}.{key}", f"must be at most {MAX_SIP2_TEXT} characters")
            return default
        if not value and key.endswith("_bin"):
            self.problem(f"sip2.{key}", 'missing: the sort bin a sorter is told, such as "1"')
            return default
        return value

    def upstream(self) -> UpstreamSection:
        """Gateway mode's other system. Its address and login are required only when
        relaying is on, so that a site can fill them in before turning it on."""
        path = "upstream"
        table = self.section(path, UPSTREAM_KEYS)
        defaults = UpstreamSection()

        def flag(key: str, default: bool) -> bool:
            return self.get(table, path, key, default, as_flag, "true or false")

        def seconds(key: str, default: float) -> float:
            return self.get(
                table,
                path,
                key,
                default,
                as_positive_seconds,
                "a number of seconds above 0, up to 3600",
            )

        enabled = flag("enabled", defaults.enabled)
        tls = flag("tls", defaults.tls)
        host = self.text(table, path, "host", defaults.host)
        ca_file = self.path(table, path, "tls_ca_file")
        self.existing(ca_file, f"{path}.tls_ca_file")
        if ca_file is not None and not tls:
            self.problem(f"{path}.tls_ca_file", "is for TLS: set tls = true too, or leave it out")
        user = self.sip2_text(table, "user", defaults.user, path)
        password_file, _ = self.secret_file(table, path, "password_file", UPSTREAM_PASSWORD)
        if user and password_file is None:
            self.problem(
                f"{path}.password_file",
                f"missing: the file holding the SIP2 password for {user!r} (chmod 600)",
            )
        elif password_file is not None and not user:
            self.problem(f"{path}.user", "missing: the SIP2 login password_file is for")
        if enabled and not host:
            self.problem(f"{path}.host", "missing: the address of the library system's SIP2 server")
        if enabled and not user:
            self.problem(f"{path}.user", "missing: the SIP2 login the library system gave you")
        budget = seconds("patron_check_seconds", defaults.patron_check_seconds)
        if budget > PATRON_CHECK_SECONDS:
            self.problem(
                f"{path}.patron_check_seconds",
                f"must be at most {PATRON_CHECK_SECONDS:g} seconds (a patron is waiting), "
                f"not {budget:g}",
            )
            budget = defaults.patron_check_seconds
        retry = seconds("retry_seconds", defaults.retry_seconds)
        retry_max = seconds("retry_max_seconds", defaults.retry_max_seconds)
        if retry > retry_max:
            self.problem(
                f"{path}.retry_seconds",
                f"must be at most retry_max_seconds ({retry_max:g}), not {retry:g}",
            )
        low, high = UPSTREAM_CONNECTIONS
        between = f"a whole number of connections from {low} to {high}"
        connections = self.get(
            table, path, "connections", defaults.connections, as_positive_int, between
        )
        if not low <= connections <= high:
            self.problem(f"{path}.connections", f"must be {between}, not {connections}")
            connections = defaults.connections
        return UpstreamSection(
            enabled=enabled,
            host=host,
            port=self.port(table, path, defaults.port),
            tls=tls,
            tls_ca_file=ca_file,
            user=user,
            password_file=password_file,
            institution_id=self.sip2_text(table, "institution_id", "", path),
            location=self.sip2_text(table, "location", "", path),
            charset=self.charset(table, defaults.charset, path),
            no_block=flag("no_block", defaults.no_block),
            patron_check_seconds=budget,
            answer_timeout_seconds=seconds(
                "answer_timeout_seconds", defaults.answer_timeout_seconds
            ),
            retry_seconds=retry,
            retry_max_seconds=retry_max,
            connections=connections,
        )
