"""`sales serve --tls-cert --tls-key` (issue 20, PRD §8.4): HTTPS with TLS 1.3 only; a TLS 1.2 client is refused."""
from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SALES = str(Path(sys.executable).with_name("sales"))


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client_context(cert: Path, *, maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert))
    if maximum is not None:
        context.maximum_version = maximum
    return context


def _get_healthz(port: int, context: ssl.SSLContext) -> tuple[str, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := tls.recv(4096):
                answer += chunk
            return str(tls.version()), answer


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    cert, key = _self_signed(tmp_path)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    env["SALES_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'sales.db'}"
    process = subprocess.Popen([SALES, "serve", "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180  # a busy machine starts slowly
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"sales serve did not start: {process.stdout.read()!r}")  # type: ignore[union-attr]
                time.sleep(0.2)
        yield port, cert
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serves_tls_13_and_refuses_tls_12(served) -> None:  # type: ignore[no-untyped-def]
    port, cert = served
    version, answer = _get_healthz(port, _client_context(cert))
    assert version == "TLSv1.3"
    assert answer.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in answer
    with pytest.raises(ssl.SSLError):
        _get_healthz(port, _client_context(cert, maximum=ssl.TLSVersion.TLSv1_2))


def test_cert_without_key_is_refused(tmp_path: Path) -> None:
    cert, _ = _self_signed(tmp_path)
    result = subprocess.run([SALES, "serve", "--tls-cert", str(cert)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--tls-cert and --tls-key go together" in result.stderr
