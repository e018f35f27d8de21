"""https with the connection pinned to the checked address: SNI and certificate checks must
still use the host name from the URL."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from omnivideo.contract import OmniError
from omnivideo.media.fetch import FetchPolicy, fetch_input

x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402


def _issue(tmp: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for ``name``: (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "omnivideo test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = (tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem")
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(cert.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


class _Echo(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        sni = getattr(self.server, "last_sni", None)
        body = f"{self.headers.get('Host')} {sni}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """An https server on 127.0.0.1 whose certificate names ``media.test``."""
    ca, cert, key = _issue(tmp_path, "media.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    httpd.daemon_threads = True

    def remember_sni(sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: object) -> None:
        httpd.last_sni = name  # type: ignore[attr-defined]

    context.sni_callback = remember_sni
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], ca
    finally:
        httpd.shutdown()
        httpd.server_close()


def _policy(ca: Path, name: str) -> FetchPolicy:
    return FetchPolicy(
        allow_hosts=frozenset({name}),
        resolver=lambda host, port: ["127.0.0.1"],
        ssl_context=ssl.create_default_context(cafile=str(ca)),
    )


def test_https_to_a_pinned_address_checks_the_real_name(
    tls_server: tuple[int, Path], tmp_path: Path
) -> None:
    port, ca = tls_server
    url = f"https://media.test:{port}/x"
    out = fetch_input(url, tmp_path / "a", max_bytes=1000, policy=_policy(ca, "media.test"))
    # The request reached 127.0.0.1, yet Host and SNI both say media.test.
    assert out.read_bytes() == f"media.test:{port} media.test".encode()


def test_https_certificate_for_another_name_is_refused(
    tls_server: tuple[int, Path], tmp_path: Path
) -> None:
    port, ca = tls_server
    url = f"https://other.test:{port}/x"
    with pytest.raises(OmniError) as info:
        fetch_input(
            url, tmp_path / "a", max_bytes=1000, policy=_policy(ca, "other.test"), label="x"
        )
    assert info.value.message == f"x: could not fetch {url}: could not connect to other.test"
