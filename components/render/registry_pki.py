"""The registry's (Harbor's) TLS: a CA and a serving certificate derived from the stack's seed
(pure: no Pulumi import), built the way render/etcd_pki.py builds etcd's.

Why derived, not issued by a cert-manager in the cluster: every node must trust the registry's CA
*before* its first image pull, and the nodes are prepared (render/node_prep.py: containerd's
``hosts.toml`` and the system store) before the cluster, let alone Harbor, exists. A CA computed
from the seed is known to the program from the start, so the node preparation of the very first
``pulumi up`` already carries it (the blueprint's troubleshooting: Harbor's self-signed CA on every
node). The CA is its own trust anchor, not etcd's: a registry certificate must never be able to
act as an etcd client or member.

The same rules as the etcd PKI: ECDSA P-256 keys from HKDF labels of their own
(``registry-pki/...``, render/seed.py), serials from the epoch, role and content, RFC 6979
signatures, validity from ``pkiEpoch`` (CA 10 years, server 2 years); a new epoch re-issues both
with the CA's key kept (nodes that trust the old CA certificate still verify the new server
certificate, whose issuer name and key are the same).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from components.render.etcd_pki import (
    LEAF_VALIDITY,
    CertificateAuthority,
    Issued,
    PkiScope,
    _key,
    _key_pem,
    _key_usage,
    _name,
    _sign,
    certificate_authority,
)
from components.render.seed import LABELS, registry_leaf_key_label, registry_serial_label

CA_CN = "registry-ca"
"""Common name of the registry CA (organisation: the cluster's name, as etcd's)."""
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_host(host: str, field: str) -> None:
    """A fully qualified DNS name (lower case, no port): what images and certificates name."""
    if not _HOST.match(host):
        raise ValueError(f"{field}: {host!r} is not a fully qualified DNS name (lower case, no port)")


@dataclass(frozen=True)
class RegistryTls:
    """The registry's CA and serving certificate."""

    ca_cert: str
    """CA certificate (PEM): what every node and client trusts. Public."""
    server: Issued
    """The serving certificate (SAN: the registry's host names) and its key (a secret)."""


def registry_ca(seed: bytes, scope: PkiScope) -> CertificateAuthority:
    """The registry CA of ``scope.epoch``; its key depends on the seed only."""
    return certificate_authority(
        seed, scope, key_label=LABELS["registry_ca_key"], common_name=CA_CN, serial_label=registry_serial_label
    )


def registry_ca_cert(seed: bytes, scope: PkiScope) -> str:
    """Only the CA certificate (PEM), for the nodes' trust (public)."""
    return registry_ca(seed, scope).cert


def registry_tls(seed: bytes, scope: PkiScope, hosts: tuple[str, ...]) -> RegistryTls:
    """The CA and a ``serverAuth`` certificate for ``hosts`` (the first is its common name)."""
    if not hosts:
        raise ValueError("registry_tls: no host name")
    for host in hosts:
        check_host(host, "registry_tls.hosts")
    ca = registry_ca(seed, scope)
    role = f"server/{hosts[0]}"
    key = _key(seed, registry_leaf_key_label(scope.epoch.isoformat(), role))
    public = key.public_key()
    ca_key_id = x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(scope, hosts[0]))
        .issuer_name(ca.subject)
        .public_key(public)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in dict.fromkeys(hosts)]), critical=False)
    )
    cert = _sign(builder, seed, scope, role, LEAF_VALIDITY, ca.key, registry_serial_label)
    server = Issued(cert=cert.public_bytes(serialization.Encoding.PEM).decode(), key=_key_pem(key))
    return RegistryTls(ca_cert=ca.cert, server=server)
