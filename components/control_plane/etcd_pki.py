"""The etcd PKI as Outputs: components/render/etcd_pki.py's certificates, computed in the program.

No resources: the certificates derive from the stack's seed and ``pkiEpoch`` (render/etcd_pki.py
explains the layout, the determinism and the rotation), so there is nothing for a provider to
create or keep. Only the SSH steps' inputs carry them. What crosses into those inputs follows
principle 9: private keys only as secret Outputs, certificates as plain Outputs (they are public;
``Output.unsecret`` because they are computed from the secret seed).

Member certificates wait for their member's address only; the CA and the client certificates need
the seed alone, so they are known in a preview even before any machine exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pulumi

from components.render.etcd_pki import (
    APISERVER_CLIENT_CN,
    HEALTHCHECK_CLIENT_CN,
    MONITORING_CLIENT_CN,
    CertificateAuthority,
    Issued,
    MemberIdentity,
    PkiScope,
    certificate_authority,
    client_cert,
    expiry_warning,
    member_certs,
)


@dataclass(frozen=True)
class EtcdIdentity:
    """A member as its certificates name it."""

    name: str
    """Member name (``--name``), the machine's hostname; a DNS SAN."""
    address: pulumi.Input[str]
    """The member's private IPv4 address; an IP SAN."""


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its key (PEM)."""

    cert: pulumi.Output[str]
    """Certificate, PEM; not secret."""
    key: pulumi.Output[str]
    """Private key, PEM; a secret Output."""


@dataclass(frozen=True)
class MemberCerts:
    """What one member presents."""

    server: KeyPair
    """Serving certificate for clients on 2379."""
    peer: KeyPair
    """Peer certificate on 2380 (server and client)."""


@dataclass(frozen=True)
class EtcdPkiArgs:
    cluster_name: str
    """Organisation of every subject (``k8s-<stack>``), so certificates name their cluster."""
    epoch: date
    """Issue date of the certificates (spec ``pkiEpoch``); a later one rotates them."""
    members: Sequence[EtcdIdentity]
    """Every member, in a stable order; names unique."""


@dataclass(frozen=True)
class EtcdPki:
    """Cluster CA, member certificates, apiserver and healthcheck client certificates."""

    ca_cert: pulumi.Output[str]
    """The cluster CA certificate (PEM): trust anchor of members and clients."""
    members: dict[str, MemberCerts]
    """Member name -> its serving and peer certificates."""
    apiserver_client: KeyPair
    """``kube-apiserver-etcd-client``: the apiservers' etcd client certificate."""
    healthcheck_client: KeyPair
    """``etcd-healthcheck-client``: etcdctl on the members (health, backup, member removal)."""
    monitoring_client: KeyPair
    """``prometheus-etcd-client``: Prometheus scraping the members (the monitoring add-on)."""


def _pair(issued: pulumi.Output[Issued]) -> KeyPair:
    return KeyPair(
        cert=pulumi.Output.unsecret(issued.apply(lambda i: i.cert)),
        key=pulumi.Output.secret(issued.apply(lambda i: i.key)),
    )


def etcd_pki(args: EtcdPkiArgs, seed: pulumi.Output[bytes], warn_on: pulumi.Resource | None = None) -> EtcdPki:
    """The cluster's certificates from ``seed`` (a secret Output); warns on ``warn_on`` when the
    leaf certificates are within 90 days of expiry."""
    names = [m.name for m in args.members]
    if len(set(names)) != len(names):
        raise ValueError(f"EtcdPkiArgs.members: names repeat: {names}")
    warning = expiry_warning(args.epoch, datetime.now(UTC))
    if warning:
        pulumi.log.warn(warning, warn_on)
    scope = PkiScope(cluster_name=args.cluster_name, epoch=args.epoch)
    # Secret like the seed it comes from: it holds the CA's private key.
    ca: pulumi.Output[CertificateAuthority] = pulumi.Output.secret(
        seed.apply(lambda s: certificate_authority(s, scope))
    )

    def member(identity: EtcdIdentity) -> MemberCerts:
        issued = pulumi.Output.all(seed, ca, identity.address).apply(
            lambda v: member_certs(v[0], v[1], scope, MemberIdentity(identity.name, v[2]))
        )
        return MemberCerts(server=_pair(issued.apply(lambda c: c.server)), peer=_pair(issued.apply(lambda c: c.peer)))

    def client(common_name: str) -> KeyPair:
        return _pair(pulumi.Output.all(seed, ca).apply(lambda v: client_cert(v[0], v[1], scope, common_name)))

    return EtcdPki(
        ca_cert=pulumi.Output.unsecret(ca.apply(lambda c: c.cert)),
        members={m.name: member(m) for m in args.members},
        apiserver_client=client(APISERVER_CLIENT_CN),
        healthcheck_client=client(HEALTHCHECK_CLIENT_CN),
        monitoring_client=client(MONITORING_CLIENT_CN),
    )
