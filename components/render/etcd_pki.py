"""etcd's own PKI, built from the stack's seed with ``cryptography`` (pure: no Pulumi import).

Layout as in etcd's security guide (https://etcd.io/docs/v3.5/op-guide/security/) and kubeadm's
external-etcd certificates (https://kubernetes.io/docs/setup/best-practices/certificates/):

- one cluster CA (``etcd-ca``), trusted for client and peer traffic; nothing else signs with it;
- per member a serving certificate and a peer certificate, each with its own key. Both carry
  ``serverAuth`` and ``clientAuth`` (peers are both) and the SANs clients use: the member's IP,
  127.0.0.1 (the local backup timer), its name and ``localhost``. The blueprint's troubleshooting
  section: certificate SANs must list every etcd IP;
- ``kube-apiserver-etcd-client`` for the apiservers (kubeadm's name) and
  ``etcd-healthcheck-client`` for etcdctl on the members (health checks, backups, member removal).

Keys are ECDSA P-256: one of kubeadm's ``encryptionAlgorithm`` choices (its default is RSA-2048),
RSA-3072-class strength with much smaller keys and faster handshakes; etcd (Go's TLS) accepts it.
Key usages: CA ``keyCertSign, cRLSign, digitalSignature`` (path length 0: it signs leaves only);
leaves ``digitalSignature, keyEncipherment`` with the extended usages above.

**Deterministic.** Nothing here is random: private keys are HKDF scalars of the seed
(render/seed.py), serials are HKDF of the certificate's epoch, role and content, signatures are
RFC 6979 deterministic ECDSA, and validity starts at ``pkiEpoch`` (00:00 UTC). The same seed,
epoch and members give byte-identical PEM, so a re-run changes no input and previews no change;
nothing of the PKI is kept in the state besides the step inputs that carry it (keys encrypted).

**Rotation: bump ``pkiEpoch``.** Leaf keys and serials include the epoch, so a new epoch issues new
leaf keys and certificates. The CA's *key* does not include the epoch: a new epoch re-issues the
CA certificate (same subject, same key, new serial and validity) but keeps the trust anchor. So
during a rolling ``pulumi up`` a member or apiserver still holding the old epoch's certificates and
one already holding the new ones verify each other either way, and etcd, which loads its trusted
CA only at start but re-reads its own certificate on every new connection, needs no restart. The
cost: a leaf key that leaked stays trusted until it expires (2 years; there is no CRL). Replacing
the CA key means a new seed (docs/runbooks/secrets.md, "rotating the seed"), a planned change with
the two CAs trusted side by side. The CA key itself is never written anywhere: it exists only in
the program's memory while it signs.

Validity: the CA 10 years, leaves 2 years from the epoch; ``expiry_warning`` says when the leaves
are within 90 days of expiry (the old pulumi-tls ``early_renewal_hours``, now an operator's bump).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components.render.seed import LABELS, etcd_leaf_key_label, etcd_serial_label, p256_scalar, serial_number

EPOCH_KEY = "pkiEpoch"
"""Config key (``k8s-platform:pkiEpoch``) of the issue date."""
CA_VALIDITY = timedelta(days=3650)
"""The cluster CA: 10 years from the epoch."""
LEAF_VALIDITY = timedelta(days=730)
"""Member and client certificates: 2 years from the epoch."""
RENEW_WARNING = timedelta(days=90)
"""Warn once a leaf certificate has less than this left."""
CA_CN = "etcd-ca"
APISERVER_CLIENT_CN = "kube-apiserver-etcd-client"
HEALTHCHECK_CLIENT_CN = "etcd-healthcheck-client"
MONITORING_CLIENT_CN = "prometheus-etcd-client"
"""Prometheus's client certificate for the members' ``/metrics`` (the monitoring add-on)."""
_SERVER_AND_CLIENT = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)
_CLIENT_ONLY = (ExtendedKeyUsageOID.CLIENT_AUTH,)


@dataclass(frozen=True)
class PkiScope:
    """What every certificate of one cluster's PKI shares."""

    cluster_name: str
    """Organisation of every subject (``k8s-<stack>``), so certificates name their cluster."""
    epoch: date
    """Issue date (spec ``pkiEpoch``): start of validity, part of every leaf key's and serial's label."""

    def __post_init__(self) -> None:
        if not self.cluster_name:
            raise ValueError("PkiScope.cluster_name: empty")


@dataclass(frozen=True)
class MemberIdentity:
    """A member as its certificates name it."""

    name: str
    """Member name (``--name``), the machine's hostname; a DNS SAN."""
    address: str
    """The member's private IPv4 address; an IP SAN."""

    def __post_init__(self) -> None:
        ipaddress.IPv4Address(self.address)  # ValueError names the bad address


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, PEM."""

    cert: str
    """Certificate (PEM); public."""
    key: str = field(repr=False)
    """Private key (PEM, SEC 1 ``EC PRIVATE KEY``, unencrypted as etcd requires); a secret."""


@dataclass(frozen=True)
class MemberCerts:
    """What one member presents."""

    server: Issued
    """Serving certificate for clients on 2379."""
    peer: Issued
    """Peer certificate on 2380 (server and client)."""


@dataclass(frozen=True)
class CertificateAuthority:
    """The cluster CA of one epoch: its certificate and the key that signs the leaves."""

    cert: str
    """CA certificate (PEM): trust anchor of members and clients."""
    key: ec.EllipticCurvePrivateKey = field(repr=False)
    """The signing key (the same for every epoch of one seed)."""
    subject: x509.Name
    """Issuer name of every leaf."""


@dataclass(frozen=True)
class EtcdPki:
    """A whole cluster's certificates."""

    ca_cert: str
    members: dict[str, MemberCerts]
    """Member name -> its serving and peer certificates."""
    apiserver_client: Issued
    healthcheck_client: Issued


def _start(epoch: date) -> datetime:
    return datetime(epoch.year, epoch.month, epoch.day, tzinfo=UTC)


def leaf_expiry(epoch: date) -> datetime:
    """When the leaf certificates of ``epoch`` expire."""
    return _start(epoch) + LEAF_VALIDITY


def expiry_warning(epoch: date, now: datetime) -> str | None:
    """A warning when the leaves of ``epoch`` expire within ``RENEW_WARNING`` of ``now`` (or did), else None."""
    expiry = leaf_expiry(epoch)
    if now < expiry - RENEW_WARNING:
        return None
    left = (expiry - now).days
    when = f"expired on {expiry.date()}" if left < 0 else f"expire on {expiry.date()} ({left} days left)"
    return (
        f"k8s-platform:{EPOCH_KEY}: the etcd certificates of epoch {epoch} {when}: set k8s-platform:{EPOCH_KEY} "
        "to today's date and run `pulumi up` to re-issue them (docs/runbooks/secrets.md, rotating the etcd PKI)"
    )


def _name(scope: PkiScope, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, scope.cluster_name),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key(seed: bytes, label: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(p256_scalar(seed, label), ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


def _sign(
    builder: x509.CertificateBuilder,
    seed: bytes,
    scope: PkiScope,
    role: str,
    validity: timedelta,
    signer: ec.EllipticCurvePrivateKey,
    serial_label: Callable[[str, str, str], str] = etcd_serial_label,
) -> x509.Certificate:
    """Validity, a serial from the seed and what the certificate says, a deterministic signature.
    ``serial_label(epoch, role, content)`` is the PKI's serial label (another PKI passes its own)."""
    start = _start(scope.epoch)
    builder = builder.not_valid_before(start).not_valid_after(start + validity)
    # The serial's label holds a digest of the certificate's content, so re-issuing different
    # content (a member's new address) never reuses a serial (RFC 5280: unique per issuer).
    unsigned = builder.serial_number(1).sign(signer, hashes.SHA256(), ecdsa_deterministic=True)
    content = hashlib.sha256(unsigned.tbs_certificate_bytes).hexdigest()[:32]
    serial = serial_number(seed, serial_label(scope.epoch.isoformat(), role, content))
    return builder.serial_number(serial).sign(signer, hashes.SHA256(), ecdsa_deterministic=True)


def certificate_authority(
    seed: bytes,
    scope: PkiScope,
    *,
    key_label: str = LABELS["etcd_ca_key"],
    common_name: str = CA_CN,
    serial_label: Callable[[str, str, str], str] = etcd_serial_label,
) -> CertificateAuthority:
    """The cluster CA of ``scope.epoch``; its key depends on the seed only. The defaults are etcd's
    CA; another PKI of the platform (render/registry_pki.py) passes its own labels and name."""
    key = _key(seed, key_label)
    subject = _name(scope, common_name)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    cert = _sign(builder, seed, scope, "ca", CA_VALIDITY, key, serial_label)
    return CertificateAuthority(cert=cert.public_bytes(serialization.Encoding.PEM).decode(), key=key, subject=subject)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf(
    seed: bytes,
    ca: CertificateAuthority,
    scope: PkiScope,
    role: str,
    common_name: str,
    usages: tuple[x509.ObjectIdentifier, ...],
    member: MemberIdentity | None = None,
) -> Issued:
    key = _key(seed, etcd_leaf_key_label(scope.epoch.isoformat(), role))
    public = key.public_key()
    ca_key_id = x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(scope, common_name))
        .issuer_name(ca.subject)
        .public_key(public)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id), critical=False)
    )
    if member is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(_member_sans(member)), critical=False)
    cert = _sign(builder, seed, scope, role, LEAF_VALIDITY, ca.key)
    return Issued(cert=cert.public_bytes(serialization.Encoding.PEM).decode(), key=_key_pem(key))


def _member_sans(member: MemberIdentity) -> list[x509.GeneralName]:
    names = dict.fromkeys([member.name, "localhost"])  # ordered, without duplicates
    addresses = dict.fromkeys([member.address, "127.0.0.1"])
    return [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.IPv4Address(a)) for a in addresses]


def member_certs(seed: bytes, ca: CertificateAuthority, scope: PkiScope, member: MemberIdentity) -> MemberCerts:
    """The serving and peer certificates of ``member``."""
    return MemberCerts(
        server=_leaf(seed, ca, scope, f"member/{member.name}/server", member.name, _SERVER_AND_CLIENT, member),
        peer=_leaf(seed, ca, scope, f"member/{member.name}/peer", member.name, _SERVER_AND_CLIENT, member),
    )


def client_cert(seed: bytes, ca: CertificateAuthority, scope: PkiScope, common_name: str) -> Issued:
    """A client certificate (``clientAuth`` only, no SANs) named ``common_name``."""
    return _leaf(seed, ca, scope, f"client/{common_name}", common_name, _CLIENT_ONLY)


def build_etcd_pki(seed: bytes, scope: PkiScope, members: tuple[MemberIdentity, ...]) -> EtcdPki:
    """The whole PKI of a cluster (members in a stable order; names unique)."""
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise ValueError(f"build_etcd_pki: member names repeat: {names}")
    ca = certificate_authority(seed, scope)
    return EtcdPki(
        ca_cert=ca.cert,
        members={m.name: member_certs(seed, ca, scope, m) for m in members},
        apiserver_client=client_cert(seed, ca, scope, APISERVER_CLIENT_CN),
        healthcheck_client=client_cert(seed, ca, scope, HEALTHCHECK_CLIENT_CN),
    )
