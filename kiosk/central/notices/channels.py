"""The ways a notice leaves: email through the library's SMTP server, a text message
through an HTTP gateway.

A send either goes, or raises one of three failures, which the runner treats apart:
:class:`Unreachable` (the server cannot be reached or broke off before taking the
message: nothing went, the outbox waits and counts no try), :class:`Refused` with
``permanent`` (this message will never go: recorded as failed at once) or not (tried
again later, up to ``[notices] attempts``). An error's words never hold the patron's
address or number: servers often repeat them, so they are taken out.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any, Protocol

import requests
from jinja2 import Environment, StrictUndefined, TemplateError

from kiosk.central.config import MAIL_PASSWORD, SMS_CREDENTIALS, EmailSection, SmsSection
from kiosk.central.notices.templates import Composed
from kiosk.common.secrets import read_secret

TIMEOUT_SECONDS = 30
MAX_ERROR = 300


class Unreachable(Exception):
    """Nothing was sent: the server could not be reached, or broke off first."""


class Refused(Exception):
    """The server refused this message; ``permanent`` when it always will."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    def send(self, address: str, message: Composed, message_id: str, kind: str) -> None: ...

    def close(self) -> None: ...


def scrubbed(text: str, address: str) -> str:
    """An error's words without the patron's address (in any case) and bounded."""
    words = text.replace(address, "the recipient") if address else text
    if address:
        lowered = words.lower()
        at = lowered.find(address.lower())
        while at >= 0:
            words = words[:at] + "the recipient" + words[at + len(address) :]
            lowered = words.lower()
            at = lowered.find(address.lower())
    return words[:MAX_ERROR]


def message_id(key: str, sender: str) -> str:
    """The same Message-ID for a notice however often it is composed: a receiving
    server that keeps them can tell a copy."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "kiosk-central.invalid"
    return f"<notice-{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


@dataclass
class Email:
    """SMTP, one connection kept open across a run's messages."""

    settings: EmailSection

    def __post_init__(self) -> None:
        self._connection: smtplib.SMTP | None = None
        self._password = (
            read_secret(self.settings.password_file, MAIL_PASSWORD)
            if self.settings.password_file is not None
            else None
        )

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        try:
            if settings.security == "tls":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    timeout=TIMEOUT_SECONDS,
                    context=ssl.create_default_context(),
                )
            else:
                connection = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS)
                if settings.security == "starttls":
                    connection.starttls(context=ssl.create_default_context())
            if settings.username and self._password is not None:
                connection.login(settings.username, self._password)
        except smtplib.SMTPAuthenticationError as error:
            raise Unreachable(f"the mail server refused the account: {error.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise Unreachable(f"cannot reach the mail server: {error}") from None
        return connection

    def send(self, address: str, message: Composed, message_id: str, kind: str) -> None:
        email = EmailMessage()
        email["From"] = self.settings.from_address
        email["To"] = address
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=True)
        email["Message-ID"] = message_id
        email["X-Library-Notice"] = kind  # for the patron's own mail filters
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        if self._connection is None:
            self._connection = self._connect()
        try:
            refused = self._connection.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            code, words = next(iter(error.recipients.values()))
            raise _refusal(code, words, address) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            raise _refusal(error.smtp_code, error.smtp_error, address) from None
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            self._connection = None
            raise Unreachable(f"the mail server broke off: {error}") from None
        except smtplib.SMTPException as error:
            self._drop()
            raise Refused(scrubbed(str(error), address), permanent=False) from None
        if refused:
            code, words = next(iter(refused.values()))
            raise _refusal(code, words, address)

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()

    def close(self) -> None:
        self._drop()


def _refusal(code: int, words: bytes | str, address: str) -> Refused:
    text = words.decode(errors="replace") if isinstance(words, bytes) else str(words)
    return Refused(f"{code} {scrubbed(text, address)}", permanent=500 <= code < 600)


@dataclass
class Sms:
    """An HTTP gateway: ``[notices.sms] body`` filled in and POSTed to its ``url``."""

    settings: SmsSection

    def __post_init__(self) -> None:
        self._credentials = (
            read_secret(self.settings.credentials_file, SMS_CREDENTIALS)
            if self.settings.credentials_file is not None
            else ""
        )
        environment = Environment(autoescape=False, undefined=StrictUndefined)
        self._body = environment.from_string(self.settings.body)
        self._session = requests.Session()

    def request(self, number: str, text: str) -> dict[str, Any]:
        """What is sent for one message: the body, its type, the authentication."""
        try:
            body = self._body.render(to=number, message=text, credentials=self._credentials)
        except TemplateError as error:
            raise Refused(f"[notices.sms] body: {error}", permanent=True) from None
        json_body = body.lstrip().startswith("{")
        headers = {
            "Content-Type": "application/json" if json_body else "application/x-www-form-urlencoded"
        }
        auth: tuple[str, str] | None = None
        if ":" in self._credentials:
            user, _, password = self._credentials.partition(":")
            auth = (user, password)
        elif self._credentials:
            headers["Authorization"] = f"Bearer {self._credentials}"
        return {"data": body.encode(), "headers": headers, "auth": auth}

    def send(self, address: str, message: Composed, message_id: str, kind: str) -> None:
        del kind  # a text message has no headers of its own
        request = self.request(address, message.sms)
        request["headers"]["Idempotency-Key"] = message_id.strip("<>")
        try:
            answer = self._session.post(self.settings.url, timeout=TIMEOUT_SECONDS, **request)
        except (OSError, requests.ConnectionError, requests.Timeout) as error:
            raise Unreachable(f"cannot reach the SMS gateway: {type(error).__name__}") from None
        if answer.status_code < 300:
            return
        words = f"the SMS gateway answered {answer.status_code}: {answer.text[:200]}"
        temporary = answer.status_code in (408, 425, 429) or answer.status_code >= 500
        raise Refused(scrubbed(words, address), permanent=not temporary)

    def close(self) -> None:
        self._session.close()
