"""SMTP submission against a real server (aiosmtpd) on loopback: STARTTLS, AUTH, and what each answer means."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infrastructure.notifications.smtp import PermanentFailureError, SmtpServer, TemporaryFailureError, submit
from tests.support.processes import free_port
from tests.support.smtp_sink import SmtpSink, _Handler


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _message(to: str = "bob@customer.test") -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "help@desk.test", to, "Hello"
    message["Message-ID"] = "<ld-1@desk.test>"
    message.set_content("Hi")
    return message


@pytest.fixture
def tls_sink(tmp_path: Path) -> Iterator[tuple[SmtpSink, ssl.SSLContext]]:
    cert, key = _certificate(tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    sink = SmtpSink(user="desk", password="pw")
    controller = Controller(
        _Handler(sink),
        hostname="127.0.0.1",
        port=sink.port,
        tls_context=server_side,
        require_starttls=True,
        auth_required=True,
        authenticator=sink._authenticate,
    )
    controller.start()
    client_side = ssl.create_default_context(cafile=str(cert))
    yield sink, client_side
    controller.stop()


def test_starttls_then_auth_then_the_message(tls_sink: tuple[SmtpSink, ssl.SSLContext]) -> None:
    sink, client_side = tls_sink
    server = SmtpServer.parse(f"smtp://desk:pw@127.0.0.1:{sink.port}?starttls=true")
    submit(server, _message(), timeout=5, tls=client_side)
    assert sink.ids() == ["<ld-1@desk.test>"]


def test_without_starttls_a_server_requiring_it_refuses(tls_sink: tuple[SmtpSink, ssl.SSLContext]) -> None:
    sink, client_side = tls_sink
    with pytest.raises(PermanentFailureError, match="does not support"):  # AUTH is offered only after STARTTLS
        submit(SmtpServer("127.0.0.1", sink.port, user="desk", password="pw"), _message(), timeout=5, tls=client_side)
    assert sink.ids() == []


def test_wrong_credentials_are_refused_for_good(tls_sink: tuple[SmtpSink, ssl.SSLContext]) -> None:
    sink, client_side = tls_sink
    server = SmtpServer("127.0.0.1", sink.port, starttls=True, user="desk", password="wrong")
    with pytest.raises(PermanentFailureError, match="535"):
        submit(server, _message(), timeout=5, tls=client_side)


def test_no_server_is_a_temporary_failure_and_a_4xx_too() -> None:
    with pytest.raises(TemporaryFailureError):
        submit(SmtpServer("127.0.0.1", free_port()), _message(), timeout=2)
    sink = SmtpSink(refuse={"busy@customer.test": "451 4.3.0 try again later"}).start()
    try:
        with pytest.raises(TemporaryFailureError, match="451"):
            submit(SmtpServer("127.0.0.1", sink.port), _message("busy@customer.test"), timeout=2)
    finally:
        sink.stop()
