"""EtcdPki: the etcd cluster's own CA and every certificate its members and clients present.

Layout as in etcd's security guide (https://etcd.io/docs/v3.5/op-guide/security/) and kubeadm's
external-etcd certificates (https://kubernetes.io/docs/setup/best-practices/certificates/):

- one cluster CA (``etcd-ca``), trusted for client and peer traffic; nothing else signs with it;
- per member a serving certificate and a peer certificate, each with its own key. Both carry
  ``server_auth`` and ``client_auth`` (peers are both) and the SANs clients use: the member's IP,
  127.0.0.1 (the local backup timer), its name and ``localhost``. The blueprint's troubleshooting
  section: certificate SANs must list every etcd IP;
- ``kube-apiserver-etcd-client`` for the apiservers (kubeadm's name) and
  ``etcd-healthcheck-client`` for etcdctl on the members (health checks, backups, member removal).

Keys are ECDSA P-256: one of kubeadm's ``encryptionAlgorithm`` choices (its default is RSA-2048),
RSA-3072-class strength with much smaller keys and faster handshakes; etcd (Go's TLS) accepts it. pulumi-tls keeps each
key in the state, encrypted: the provider marks ``private_key_pem`` secret
(``additional_secret_outputs``); the attributes here wrap it in ``Output.secret`` as well, so it
stays secret under mocks and wherever it flows.

Validity: the CA 10 years, leaf certificates 2 years, renewed by any ``pulumi up`` in their last
90 days (``early_renewal_hours``); etcd re-reads certificates on every new TLS connection, so a
renewed certificate needs no restart. The CA is not renewed automatically: replacing it means
re-issuing every certificate in one change, a planned operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

CA_VALIDITY_HOURS = 10 * 365 * 24
"""The cluster CA: 10 years."""
LEAF_VALIDITY_HOURS = 2 * 365 * 24
"""Member and client certificates: 2 years."""
EARLY_RENEWAL_HOURS = 90 * 24
"""A ``pulumi up`` in a certificate's last 90 days issues a new one."""
SERVER_USES = ("digital_signature", "key_encipherment", "server_auth", "client_auth")
CLIENT_USES = ("digital_signature", "key_encipherment", "client_auth")
APISERVER_CLIENT_CN = "kube-apiserver-etcd-client"
HEALTHCHECK_CLIENT_CN = "etcd-healthcheck-client"


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
    members: Sequence[EtcdIdentity]
    """Every member, in a stable order."""


class EtcdPki(pulumi.ComponentResource):
    """Cluster CA, member certificates, apiserver and healthcheck client certificates."""

    ca_cert: pulumi.Output[str]
    """The cluster CA certificate (PEM): trust anchor of members and clients."""
    members: dict[str, MemberCerts]
    """Member name -> its serving and peer certificates."""
    apiserver_client: KeyPair
    """``kube-apiserver-etcd-client``: the apiservers' etcd client certificate."""
    healthcheck_client: KeyPair
    """``etcd-healthcheck-client``: etcdctl on the members (health, backup, member removal)."""

    def __init__(self, name: str, args: EtcdPkiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8splatform:control_plane:EtcdPki", name, None, opts)
        self._name, self._org = name, args.cluster_name
        ca_key = self._key(f"{name}-ca")
        ca = tls.SelfSignedCert(
            f"{name}-ca-cert",
            private_key_pem=ca_key,
            subject=tls.SelfSignedCertSubjectArgs(common_name="etcd-ca", organization=args.cluster_name),
            is_ca_certificate=True,
            validity_period_hours=CA_VALIDITY_HOURS,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ca_cert = ca.cert_pem
        self._ca_key = ca_key
        self.members = {
            m.name: MemberCerts(
                server=self._issue(f"{m.name}-server", m.name, m, SERVER_USES),
                peer=self._issue(f"{m.name}-peer", m.name, m, SERVER_USES),
            )
            for m in args.members
        }
        self.apiserver_client = self._issue("apiserver-client", APISERVER_CLIENT_CN, None, CLIENT_USES)
        self.healthcheck_client = self._issue("healthcheck-client", HEALTHCHECK_CLIENT_CN, None, CLIENT_USES)
        self.register_outputs(
            {
                "ca_cert": self.ca_cert,
                "members": {n: {"server": c.server.cert, "peer": c.peer.cert} for n, c in self.members.items()},
                "apiserver_client": self.apiserver_client.cert,
                "healthcheck_client": self.healthcheck_client.cert,
            }
        )

    def _key(self, prefix: str) -> pulumi.Output[str]:
        key = tls.PrivateKey(
            f"{prefix}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=pulumi.ResourceOptions(parent=self)
        )
        return pulumi.Output.secret(key.private_key_pem)

    def _issue(self, role: str, common_name: str, member: EtcdIdentity | None, uses: tuple[str, ...]) -> KeyPair:
        prefix = f"{self._name}-{role}"
        key = self._key(prefix)
        request = tls.CertRequest(
            f"{prefix}-csr",
            private_key_pem=key,
            subject=tls.CertRequestSubjectArgs(common_name=common_name, organization=self._org),
            dns_names=[member.name, "localhost"] if member else None,
            ip_addresses=[member.address, "127.0.0.1"] if member else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        cert = tls.LocallySignedCert(
            f"{prefix}-cert",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=self._ca_key,
            ca_cert_pem=self.ca_cert,
            validity_period_hours=LEAF_VALIDITY_HOURS,
            early_renewal_hours=EARLY_RENEWAL_HOURS,
            allowed_uses=list(uses),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return KeyPair(cert=cert.cert_pem, key=key)
