"""components/render/registry_pki.py: Harbor's CA and serving certificate from the seed, checked
with the real openssl and a real TLS handshake (Python's ssl, OpenSSL underneath)."""

from __future__ import annotations

import socket
import ssl
import threading
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from components.render.etcd_pki import PkiScope, build_etcd_pki
from components.render.registry_pki import registry_ca_cert, registry_tls
from tests.render.test_etcd_pki import openssl_verify

SEED = bytes(range(32))
SCOPE = PkiScope("k8s-prod", date(2026, 1, 1))
HOSTS = ("harbor.prod.example.internal", "registry.prod.example.internal")


def cert(text: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(text.encode())


def test_the_server_certificate_verifies_against_the_ca_for_ssl_server_only(tmp_path: Path) -> None:
    tls = registry_tls(SEED, SCOPE, HOSTS)
    assert openssl_verify(tmp_path, tls.ca_cert, tls.server.cert, "sslserver").returncode == 0
    assert openssl_verify(tmp_path, tls.ca_cert, tls.server.cert, "sslclient").returncode != 0
    server = cert(tls.server.cert)
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == list(HOSTS)
    usages = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_deterministic_and_independent_of_the_etcd_pki() -> None:
    assert registry_tls(SEED, SCOPE, HOSTS) == registry_tls(SEED, SCOPE, HOSTS)
    assert registry_ca_cert(SEED, SCOPE) == registry_tls(SEED, SCOPE, HOSTS).ca_cert
    etcd = build_etcd_pki(SEED, SCOPE, ())
    ours = cert(registry_ca_cert(SEED, SCOPE))
    assert ours.public_key() != cert(etcd.ca_cert).public_key(), "a key of its own, not etcd's CA"
    other_seed = registry_ca_cert(bytes(32), SCOPE)
    assert cert(other_seed).public_key() != ours.public_key()


def test_a_new_epoch_keeps_the_ca_key_so_old_trust_verifies_new_certificates(tmp_path: Path) -> None:
    old = registry_tls(SEED, SCOPE, HOSTS)
    new = registry_tls(SEED, PkiScope("k8s-prod", date(2026, 6, 1)), HOSTS)
    assert new.server.cert != old.server.cert and new.server.key != old.server.key
    assert openssl_verify(tmp_path, old.ca_cert, new.server.cert, "sslserver").returncode == 0


def test_a_client_trusting_only_the_ca_completes_a_handshake(tmp_path: Path) -> None:
    tls = registry_tls(SEED, SCOPE, HOSTS)
    (tmp_path / "cert.pem").write_text(tls.server.cert)
    (tmp_path / "key.pem").write_text(tls.server.key)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    client_ctx = ssl.create_default_context(cadata=tls.ca_cert)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls_conn:
                tls_conn.recv(1)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            client_ctx.wrap_socket(raw, server_hostname=HOSTS[1]) as conn,
        ):
            assert conn.version() in ("TLSv1.2", "TLSv1.3")
            conn.send(b"x")
        thread.join(5)


@pytest.mark.parametrize("host", ["Harbor.example.com", "harbor", "harbor.example.com:8443", ""])
def test_bad_host_names_are_refused(host: str) -> None:
    with pytest.raises(ValueError, match="registry_tls"):
        registry_tls(SEED, SCOPE, (host,))
