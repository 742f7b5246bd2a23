"""components/render/etcd_pki.py: the etcd PKI from the seed, checked with the real openssl and etcd.

The chain is verified with ``openssl verify`` (the Debian package), the contents are read back
with ``cryptography``, and a running 3-member TLS cluster built on these certificates takes the
next epoch's certificates without a restart (the rolling rotation docs/runbooks/secrets.md
describes).
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components.render.etcd import EtcdClientTls
from components.render.etcd_pki import (
    APISERVER_CLIENT_CN,
    HEALTHCHECK_CLIENT_CN,
    EtcdPki,
    Issued,
    MemberIdentity,
    PkiScope,
    build_etcd_pki,
    expiry_warning,
    leaf_expiry,
)
from tests.render.etcd_cluster import Cluster
from tests.render.tools import PKI_TEST_SEED, make_pki, tool

SEED = bytes(range(32))
EPOCH = date(2026, 1, 1)
MEMBERS = tuple(MemberIdentity(f"k8s-prod-etcd-{i}", f"10.20.0.{40 + i}") for i in (1, 2, 3))


def build(seed: bytes = SEED, epoch: date = EPOCH, members: tuple[MemberIdentity, ...] = MEMBERS) -> EtcdPki:
    return build_etcd_pki(seed, PkiScope("k8s-prod", epoch), members)


def leaves(pki: EtcdPki) -> dict[str, Issued]:
    out = {"apiserver": pki.apiserver_client, "healthcheck": pki.healthcheck_client}
    for name, certs in pki.members.items():
        out |= {f"{name}/server": certs.server, f"{name}/peer": certs.peer}
    return out


def cert(text: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(text.encode())


def openssl_verify(tmp_path: Path, ca: str, leaf: str, purpose: str) -> subprocess.CompletedProcess:
    (tmp_path / "ca.pem").write_text(ca)
    (tmp_path / "leaf.pem").write_text(leaf)
    return subprocess.run(
        [tool("openssl"), "verify", "-x509_strict", "-purpose", purpose, "-CAfile", "ca.pem", "leaf.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )


# --------------------------------------------------------------------------- contents


@pytest.mark.realtool
def test_every_leaf_verifies_against_the_ca_with_openssl(tmp_path):
    pki = build()
    for name, issued in leaves(pki).items():
        purpose = "sslclient" if name in ("apiserver", "healthcheck") else "sslserver"
        result = openssl_verify(tmp_path, pki.ca_cert, issued.cert, purpose)
        assert result.returncode == 0 and result.stdout.strip() == "leaf.pem: OK", (name, result.stderr)
        if purpose == "sslserver":  # peers also dial out with theirs
            assert openssl_verify(tmp_path, pki.ca_cert, issued.cert, "sslclient").returncode == 0, name
    # ...and a CA of another seed does not vouch for them.
    other = build(seed=bytes(32))
    assert openssl_verify(tmp_path, other.ca_cert, pki.healthcheck_client.cert, "sslclient").returncode != 0


def test_member_certificates_carry_every_address_and_name_clients_use():
    pki = build()
    for member in MEMBERS:
        for issued in (pki.members[member.name].server, pki.members[member.name].peer):
            sans = cert(issued.cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert sans.get_values_for_type(x509.DNSName) == [member.name, "localhost"]
            assert sans.get_values_for_type(x509.IPAddress) == [
                ipaddress.IPv4Address(member.address),
                ipaddress.IPv4Address("127.0.0.1"),
            ]
    for client in (pki.apiserver_client, pki.healthcheck_client):
        with pytest.raises(x509.ExtensionNotFound):
            cert(client.cert).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    # A member on loopback (the test cluster) lists 127.0.0.1 once.
    local = build(members=(MemberIdentity("etcd-0", "127.0.0.1"),)).members["etcd-0"].server
    ips = cert(local.cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ips.get_values_for_type(x509.IPAddress) == [ipaddress.IPv4Address("127.0.0.1")]


def test_key_usages_subjects_and_validity():
    pki = build()
    ca = cert(pki.ca_cert)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign and usage.value.digital_signature
    assert ca.subject.rfc4514_string() == "CN=etcd-ca,O=k8s-prod"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert (ca.not_valid_before_utc, ca.not_valid_after_utc) == (start, start + timedelta(days=3650))
    ca_key_id = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    for name, issued in leaves(pki).items():
        leaf = cert(issued.cert)
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
        assert not usage.value.key_cert_sign
        assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        extended = set(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        client_only = name in ("apiserver", "healthcheck")
        want = {ExtendedKeyUsageOID.CLIENT_AUTH} | (set() if client_only else {ExtendedKeyUsageOID.SERVER_AUTH})
        assert extended == want, name
        aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        assert aki == ca_key_id
        assert leaf.issuer == ca.subject
        assert (leaf.not_valid_before_utc, leaf.not_valid_after_utc) == (start, start + timedelta(days=730))
        assert leaf_expiry(EPOCH) == leaf.not_valid_after_utc
        # The key is P-256, unencrypted SEC 1 PEM, and the certificate's own.
        key = load_pem_private_key(issued.key.encode(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
        assert issued.key.startswith("-----BEGIN EC PRIVATE KEY-----")
        assert key.public_key() == leaf.public_key()
        assert "PRIVATE KEY" not in repr(issued) and issued.key not in repr(issued)  # keys never in a repr
    common_names = {n: cert(i.cert).subject.get_attributes_for_oid(NameOID.COMMON_NAME) for n, i in leaves(pki).items()}
    names = {n: attributes[0].value for n, attributes in common_names.items()}
    assert names["apiserver"] == APISERVER_CLIENT_CN and names["healthcheck"] == HEALTHCHECK_CLIENT_CN


def test_serials_are_unique_and_follow_the_content():
    pki = build()
    serials = [cert(pki.ca_cert).serial_number] + [cert(i.cert).serial_number for i in leaves(pki).values()]
    assert len(set(serials)) == len(serials)
    # A member with a new address: same key (same epoch and role), new certificate, new serial.
    moved = build(members=(MemberIdentity(MEMBERS[0].name, "10.20.0.99"), *MEMBERS[1:])).members[MEMBERS[0].name]
    before = pki.members[MEMBERS[0].name]
    assert moved.server.key == before.server.key
    assert cert(moved.server.cert).serial_number != cert(before.server.cert).serial_number


# --------------------------------------------------------------------------- determinism and rotation


def test_two_builds_are_byte_identical_and_pinned():
    assert build() == build()
    # Pinned bytes: a library upgrade that changed the encoding would rotate every stack; catch it here.
    assert hashlib.sha256(build().ca_cert.encode()).hexdigest() == (
        "192c9b9346393b75a51bf37f4891c1673663a17afbc2d36ee7a8f35ae7c662e9"
    )


def test_another_seed_gives_another_pki():
    one, other = build(), build(seed=bytes(31) + b"\x01")
    assert one.ca_cert != other.ca_cert
    for name, issued in leaves(one).items():
        assert (issued.cert, issued.key) != (leaves(other)[name].cert, leaves(other)[name].key)


@pytest.mark.realtool
def test_a_new_epoch_rotates_every_leaf_and_keeps_the_trust_anchor(tmp_path):
    old, new = build(epoch=date(2025, 1, 1)), build(epoch=EPOCH)
    assert cert(old.ca_cert).public_key() == cert(new.ca_cert).public_key(), "the CA key is the same"
    assert old.ca_cert != new.ca_cert, "the CA certificate is re-issued (new validity, new serial)"
    for name, issued in leaves(new).items():
        before = leaves(old)[name]
        assert issued.key != before.key and issued.cert != before.cert, name
        # During a rolling rotation either CA file vouches for either epoch's certificates.
        for ca in (old.ca_cert, new.ca_cert):
            for leaf in (issued.cert, before.cert):
                assert openssl_verify(tmp_path, ca, leaf, "any").returncode == 0, name


def test_expiry_warns_in_the_last_90_days_naming_the_key():
    expiry = leaf_expiry(EPOCH)
    assert expiry_warning(EPOCH, datetime(2026, 1, 1, tzinfo=UTC)) is None
    assert expiry_warning(EPOCH, expiry - timedelta(days=91)) is None
    soon = expiry_warning(EPOCH, expiry - timedelta(days=90))
    assert soon is not None and soon.startswith("k8s-platform:pkiEpoch: the etcd certificates of epoch 2026-01-01")
    assert "expire on 2028-01-01 (90 days left)" in soon and "set k8s-platform:pkiEpoch to today's date" in soon
    late = expiry_warning(EPOCH, expiry + timedelta(days=3))
    assert late is not None and "expired on 2028-01-01" in late


def test_bad_members_are_rejected():
    with pytest.raises(ValueError, match="repeat"):
        build(members=(MEMBERS[0], MEMBERS[0]))
    with pytest.raises(ValueError):
        MemberIdentity("etcd-1", "not-an-ip")
    with pytest.raises(ValueError, match="cluster_name"):
        PkiScope("", EPOCH)


# --------------------------------------------------------------------------- a real cluster


def served_serial(port: int, files: dict[str, Path]) -> int:
    """The serial of the certificate a member presents on a new connection (with a client
    certificate: the members require one)."""
    context = ssl.create_default_context(cafile=str(files["ca"]))
    context.load_cert_chain(str(files["client_cert"]), str(files["client_key"]))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


@pytest.mark.realtool
def test_a_running_cluster_takes_the_next_epochs_certificates_without_a_restart(cluster: Cluster, tmp_path):
    """The fixture cluster runs on make_pki's certificates (30 days old); write today's epoch over
    them, as the member steps of a `pulumi up` after a bump do, and use the cluster again."""
    names = tuple(m.member for m in cluster.members)
    pids = {name: (cluster.svc_dir / f"{name}.pid").read_text() for name in names}
    old = {}  # the fixture's client files, kept as a client that was not updated
    for key in ("ca", "client_cert", "client_key"):
        old[key] = tmp_path / f"old-{key}"
        old[key].write_bytes(cluster.pki[key].read_bytes())
    new = make_pki(tmp_path / "new", names, datetime.now(UTC).date(), PKI_TEST_SEED)
    for key, path in cluster.pki.items():
        path.write_bytes(new[key].read_bytes())
    # New connections get the new certificate, on the client and the peer port.
    for member in cluster.members:
        for port, role in ((member.peer.client_port, "server"), (member.peer.peer_port, "peer")):
            expected = cert(new[f"{member.member}/{role}_cert"].read_text()).serial_number
            assert served_serial(port, new) == expected, (member.member, role)
    assert cluster.etcdctl("put", "/k8s-platform-test/rotated", "yes").returncode == 0
    assert cluster.healthy(), "the members, now on the new certificates, still talk to each other"
    # A client still holding the old epoch's files (an apiserver not yet restarted) is still served.
    stale = EtcdClientTls(ca_file=str(old["ca"]), cert_file=str(old["client_cert"]), key_file=str(old["client_key"]))
    result = cluster.etcdctl("get", "/k8s-platform-test/rotated", "--print-value-only", tls=stale)
    assert result.returncode == 0 and result.stdout.strip() == "yes", result.stderr
    assert pids == {name: (cluster.svc_dir / f"{name}.pid").read_text() for name in names}, "nobody restarted"
