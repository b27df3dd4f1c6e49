"""Mail over TLS, as a library's mail server takes it: from the first byte (``security =
"tls"``, port 465) or after STARTTLS (``"starttls"``, 587, the default), through a real
SMTP server on loopback with a certificate of a test authority the machine is made to
trust (OpenSSL's ``SSL_CERT_FILE``, read by the default context the channel uses). A
server whose certificate no trusted authority signed gets no mail, and no notice is
lost: they wait for a server that can be trusted. On SQLite and PostgreSQL."""

from __future__ import annotations

import ssl
from dataclasses import replace
from pathlib import Path

import pytest
import trustme
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kiosk.central.models import Notice
from kiosk.central.notices.runner import Runner
from kiosk.common.clock import FixedClock
from tests.central.notices.conftest import SmtpServer, notices_config
from tests.central.notices.test_sending import EVERY


@pytest.fixture
def authority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> trustme.CA:
    """A certificate authority this process trusts, and no other."""
    ca = trustme.CA()
    trusted = tmp_path / "trusted.pem"
    ca.cert_pem.write_to_path(str(trusted))
    monkeypatch.setenv("SSL_CERT_FILE", str(trusted))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return ca


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def _server(security: str, context: ssl.SSLContext, port: int | None = None) -> SmtpServer:
    if security == "tls":
        return SmtpServer(port, tls=context)
    return SmtpServer(port, starttls=context)


def _runner(library: Engine, clock: FixedClock, port: int, security: str) -> Runner:
    config = notices_config(port)
    email = replace(config.notices.email, security=security)  # type: ignore[arg-type]
    return Runner(library, replace(config, notices=replace(config.notices, email=email)), clock.now)


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_each_notice_goes_over_tls_to_a_server_the_machine_trusts(
    library: Engine, clock: FixedClock, authority: trustme.CA, security: str
) -> None:
    with _server(security, _server_context(authority)) as smtp:
        runner = _runner(library, clock, smtp.port, security)
        report = runner.run_once()
        runner.close()
    assert report.waiting_for_server == 0
    assert smtp.mail.kinds("ada@example.org") == EVERY


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_a_server_no_trusted_authority_vouches_for_gets_nothing_and_nothing_is_lost(
    library: Engine, clock: FixedClock, authority: trustme.CA, security: str
) -> None:
    impostor = _server_context(trustme.CA())  # a certificate of an authority not trusted
    with _server(security, impostor) as smtp:
        runner = _runner(library, clock, smtp.port, security)
        report = runner.run_once()
        runner.close()
        assert smtp.mail.messages == []
    assert report.sent == 0
    assert report.waiting_for_server >= 1
    with Session(library) as db:
        mail = db.scalars(select(Notice).where(Notice.channel == "email")).all()
    assert mail
    assert {notice.status for notice in mail} == {"waiting"}
    assert all(notice.attempts == 0 for notice in mail)
    # Once the server shows a certificate the machine trusts, they all go, once.
    with _server(security, _server_context(authority), smtp.port) as trusted:
        clock.advance(minutes=2)
        runner = _runner(library, clock, trusted.port, security)
        runner.run_once()
        runner.run_once()
        runner.close()
    assert trusted.mail.kinds("ada@example.org") == EVERY
