"""What the console needs from ``central.toml``'s ``[web]``, resolved once per process."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from kiosk.central.config.model import SECRET_KEY, CentralConfig, RegistrationSection
from kiosk.central.gateway.patrons import PatronCheck, patron_check
from kiosk.central.web.sessions import Lifetimes
from kiosk.common.secrets import read_secret


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    secret_key: str  # signs the CSRF tokens
    secure_cookies: bool  # behind HTTPS: Secure, __Host- cookies
    lifetimes: Lifetimes
    library_name: str
    hold_shelf_days: int = 7
    forget_loans_after_days: int = 30  # the privacy page says it
    # Gateway mode: a patron signing in is confirmed by the library's own system first,
    # within [upstream] patron_check_seconds (None: not in gateway mode).
    patron_check: PatronCheck | None = None
    # The portal's online registration ([registration]).
    registration: RegistrationSection = field(default_factory=RegistrationSection)

    @property
    def session_cookie(self) -> str:
        # __Host-: sent only over HTTPS, for this host alone, on every path; no
        # subdomain or plain-HTTP page can set it.
        return "__Host-staff_session" if self.secure_cookies else "staff_session"

    @property
    def csrf_cookie(self) -> str:
        return "__Host-staff_csrf" if self.secure_cookies else "staff_csrf"


def console_settings(config: CentralConfig, fallback_key: str | None = None) -> ConsoleSettings:
    """The console's settings from ``config``: the key from ``[web] secret_key_file``, else
    ``fallback_key`` (one the serving command made for all its workers), else a new one."""
    web = config.web
    if web.secret_key_file is not None:
        key = read_secret(web.secret_key_file, SECRET_KEY)
    else:
        key = fallback_key or secrets.token_urlsafe(48)
    return ConsoleSettings(
        secret_key=key,
        secure_cookies=web.secure_cookies,
        lifetimes=Lifetimes(
            idle=timedelta(minutes=web.session_idle_minutes),
            absolute=timedelta(minutes=web.session_lifetime_minutes),
        ),
        library_name=config.library.name,
        hold_shelf_days=config.library.hold_shelf_days,
        forget_loans_after_days=config.library.forget_loans_after_days,
        patron_check=patron_check(config),
        registration=config.registration,
    )
