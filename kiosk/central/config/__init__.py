"""``central.toml``, kiosk-central's settings: loaded and checked as ``kiosk.toml`` is.

The shipped ``defaults.toml`` lists every setting; the site's file (``--config FILE``,
else ``$KIOSK_CENTRAL_CONFIG``, else ``/etc/kiosk-central/central.toml`` when it
exists) holds what differs. ``load_config()`` gives a :class:`CentralConfig` or raises
:class:`CentralConfigError` with every mistake at its file, line and key, with a "did
you mean" for a misspelt key or value. The machinery is :mod:`kiosk.common.layered`'s,
shared with the kiosk; the tables, their types and their checks are here:

- ``[central]``: the database URL (``--db`` and ``$KIOSK_CENTRAL_DB`` override it) and
  the log level;
- ``[library]``: the name, the time zone (an IANA name, checked with ``zoneinfo``) and
  the currency (ISO 4217);
- ``[web]``: the staff console's listen address, public base URL, session idle timeout
  and absolute lifetime, secure cookies and the file of the key that signs sessions;
- ``[notices.email]`` and ``[notices.sms]``: read now, used by the notices (issue 16);
- ``[sip2]``: the SIP2 server's listen address, TLS certificate and key, character set,
  idle timeout, longest message, institution id and sort bins (issue 18);
- ``[upstream]``: gateway mode's other system over SIP2 (address, TLS, login, institution,
  location, character set, no block, the patron check's time budget; issue 19).

``kiosk-central`` loads the config before any command that uses the database and hands
it to the command as ``args.config``, with the database in force.
"""

from kiosk.central.config.loading import (
    CONFIG_ENV,
    DB_ENV,
    DEFAULTS_FILE,
    SITE_FILE,
    TABLES,
    check_config,
    database_override,
    load_config,
    mask,
    read_config,
    read_layers,
    read_merged,
    site_file,
    with_database,
)
from kiosk.central.config.model import (
    MAIL_PASSWORD,
    SECRET_KEY,
    SMS_CREDENTIALS,
    TLS_KEY,
    UPSTREAM_PASSWORD,
    CentralConfig,
    CentralConfigError,
    CentralSection,
    EmailSection,
    LibrarySection,
    NoticesSection,
    Sip2Section,
    SmsSection,
    UpstreamSection,
    WebSection,
    refusal,
)

__all__ = [
    "CONFIG_ENV",
    "DB_ENV",
    "DEFAULTS_FILE",
    "MAIL_PASSWORD",
    "SECRET_KEY",
    "SITE_FILE",
    "SMS_CREDENTIALS",
    "TABLES",
    "TLS_KEY",
    "UPSTREAM_PASSWORD",
    "CentralConfig",
    "CentralConfigError",
    "CentralSection",
    "EmailSection",
    "LibrarySection",
    "NoticesSection",
    "Sip2Section",
    "SmsSection",
    "UpstreamSection",
    "WebSection",
    "check_config",
    "database_override",
    "load_config",
    "mask",
    "read_config",
    "read_layers",
    "read_merged",
    "refusal",
    "site_file",
    "with_database",
]
