"""Email to a mail server that demands STARTTLS and a login: a real aiosmtpd with TLS and auth."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from delayhub.config import SmtpConfig
from delayhub.dispatch.email import Email, send_emails
from delayhub.errors import PermanentDeliveryError, TemporaryDeliveryError
from delayhub.sinks import MaildirHandler, _free_port

USER, PASSWORD = "delayhub", "mail-secret"


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address(
                "127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def check_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode())
    # handled=False: the server answers 535 itself (handled=True would leave the client waiting)
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = _free_port("127.0.0.1")
    handler = MaildirHandler(tmp_path / "mail")
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=check_login, auth_required=True, auth_require_tls=True)
    controller.start()
    yield port, cert, tmp_path / "mail"
    controller.stop()


def mail() -> Email:
    return Email("n-tls-1", "somchai@example.co.th", "แจ้งเหตุแห่งความล่าช้า คำขอเลขที่ ทบ.2569/00001", "เรียน ผู้ยื่นคำขอ")


def test_starttls_and_login_deliver(tls_server) -> None:
    port, cert, folder = tls_server
    (result,) = send_emails([mail()], SmtpConfig(port=port, start_tls=True, ca_file=str(cert), username=USER,
                                                 password=PASSWORD))
    assert not isinstance(result, Exception), result
    assert [p.name for p in folder.glob("*.eml")] == ["n-tls-1.eml"]


def test_an_untrusted_certificate_is_refused(tls_server) -> None:
    port, _cert, folder = tls_server
    (result,) = send_emails([mail()], SmtpConfig(port=port, start_tls=True, username=USER, password=PASSWORD))
    assert isinstance(result, TemporaryDeliveryError) and "certificate" in str(result).lower()
    assert list(folder.glob("*.eml")) == []


def test_without_starttls_the_server_refuses_to_take_the_mail(tls_server) -> None:
    port, _cert, folder = tls_server
    (result,) = send_emails([mail()], SmtpConfig(port=port, start_tls=False, username=USER, password=PASSWORD))
    assert isinstance(result, Exception)
    assert list(folder.glob("*.eml")) == []


def test_a_wrong_password_is_our_problem_so_the_notice_waits_for_a_retry(tls_server) -> None:
    port, cert, folder = tls_server
    (result,) = send_emails([mail()], SmtpConfig(port=port, start_tls=True, ca_file=str(cert), username=USER,
                                                 password="not-the-password", timeout=10))
    assert isinstance(result, TemporaryDeliveryError) and not isinstance(result, PermanentDeliveryError)
    assert "refused our login" in str(result) and "not-the-password" not in str(result)
    assert list(folder.glob("*.eml")) == []
