"""etcd members as systemd units: the blueprint's binary ("二进制部署集群") variant.

Why systemd units and not kubeadm static pods: production runs etcd on a dedicated pool
(spec ``etcd.topology: external``) whose machines have no kubelet, so there is nothing to run a
static pod; a unit needs only the etcd binary, and the restore follows the blueprint's binary
procedure word for word (``systemctl stop etcd`` ... ``systemctl start etcd``). The lab's stacked
etcd runs the same unit on its master, so there is one variant, one runbook and one set of
scripts. kubeadm is pointed at it as "external etcd"
(https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/high-availability/).

Member flags follow etcd's clustering and security guides
(https://etcd.io/docs/v3.5/op-guide/clustering/, https://etcd.io/docs/v3.5/op-guide/security/):
TLS with client-certificate authentication on both the client (2379) and the peer (2380) port,
one cluster CA. The data directory is a *subdirectory* of the SSD data volume's mount point
(``/var/lib/etcd/default.etcd``, the blueprint's path), so the restore can move it aside with a
rename on the same filesystem; a mount point itself cannot be renamed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath

from components.render._common import check_ipv4, check_name, check_path, check_port, check_unique, render

PKI_DIR = "/etc/etcd/pki"
"""Where the member's certificates live (written by the etcd component, mode 0600 keys)."""
DATA_DIR = "/var/lib/etcd/default.etcd"
"""Default data directory: inside the data volume mounted at ``/var/lib/etcd``."""


class ClusterState(StrEnum):
    """``--initial-cluster-state``: bootstrap a new cluster or join an existing one."""

    NEW = "new"
    EXISTING = "existing"


@dataclass(frozen=True)
class EtcdPeer:
    """One member as the others and the clients see it."""

    name: str
    """Member name (``--name``), a DNS label unique in the cluster, e.g. ``etcd-1``."""
    host: str
    """IPv4 address the member is reached on; must be in its certificates' SANs."""
    client_port: int = 2379
    """Client port (default 2379, IANA)."""
    peer_port: int = 2380
    """Peer port (default 2380, IANA)."""

    def __post_init__(self) -> None:
        check_name(self.name, "EtcdPeer.name")
        check_ipv4(self.host, "EtcdPeer.host")
        check_port(self.client_port, "EtcdPeer.client_port")
        check_port(self.peer_port, "EtcdPeer.peer_port")

    @property
    def client_url(self) -> str:
        return f"https://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"https://{self.host}:{self.peer_port}"


def initial_cluster(cluster: tuple[EtcdPeer, ...]) -> str:
    """``--initial-cluster`` value: ``name=peer-url`` for every member, comma separated."""
    return ",".join(f"{p.name}={p.peer_url}" for p in cluster)


def check_cluster(cluster: tuple[EtcdPeer, ...], field_name: str) -> None:
    """Non-empty, unique names, unique peer and client endpoints."""
    if not cluster:
        raise ValueError(f"{field_name}: at least one member is required")
    check_unique([p.name for p in cluster], f"{field_name}[].name")
    endpoints = [(p.host, p.peer_port) for p in cluster] + [(p.host, p.client_port) for p in cluster]
    check_unique(endpoints, f"{field_name}[] host:port")


@dataclass(frozen=True)
class EtcdServerTls:
    """Certificate files of a member (PEM). Peer certificates need both serverAuth and clientAuth."""

    ca_file: str = f"{PKI_DIR}/ca.crt"
    """Cluster CA: trusted for client and peer certificates (``--trusted-ca-file``/``--peer-...``)."""
    cert_file: str = f"{PKI_DIR}/server.crt"
    """Serving certificate for clients (SANs: the member's IP, 127.0.0.1, localhost)."""
    key_file: str = f"{PKI_DIR}/server.key"
    """Key of the serving certificate."""
    peer_cert_file: str = f"{PKI_DIR}/peer.crt"
    """Peer certificate (SAN: the member's IP)."""
    peer_key_file: str = f"{PKI_DIR}/peer.key"
    """Key of the peer certificate."""

    def __post_init__(self) -> None:
        for name in ("ca_file", "cert_file", "key_file", "peer_cert_file", "peer_key_file"):
            check_path(getattr(self, name), f"EtcdServerTls.{name}")


@dataclass(frozen=True)
class EtcdClientTls:
    """Client certificate files etcdctl uses on a member (backup, restore health checks)."""

    ca_file: str = f"{PKI_DIR}/ca.crt"
    """Cluster CA (``--cacert``)."""
    cert_file: str = f"{PKI_DIR}/etcdctl.crt"
    """Client certificate (``--cert``), clientAuth usage."""
    key_file: str = f"{PKI_DIR}/etcdctl.key"
    """Its key (``--key``)."""

    def __post_init__(self) -> None:
        for name in ("ca_file", "cert_file", "key_file"):
            check_path(getattr(self, name), f"EtcdClientTls.{name}")


@dataclass(frozen=True)
class EtcdMemberArgs:
    """Everything ``render_etcd_unit`` needs for one member; the restore script reuses it."""

    member: str
    """Name of this member; one of ``cluster``."""
    cluster: tuple[EtcdPeer, ...]
    """All members (3 or 5 in production) in a stable order."""
    cluster_token: str
    """``--initial-cluster-token``: unique per cluster so two clusters never merge by mistake."""
    initial_cluster_state: ClusterState = ClusterState.NEW
    """``new`` when bootstrapping, ``existing`` for a member added with ``etcdctl member add``."""
    data_dir: str = DATA_DIR
    """``--data-dir``: a subdirectory of the data volume's mount point (see module docstring)."""
    tls: EtcdServerTls = field(default_factory=EtcdServerTls)
    """Certificates of this member."""
    binary: str = "/usr/local/bin/etcd"
    """The etcd binary (upstream release tarball, see ``config/versions.py``)."""
    user: str | None = "etcd"
    """System user the unit runs as (owner of the data dir and keys); None: the unit's default."""
    metrics_port: int | None = 2381
    """Plain-HTTP ``/metrics`` and ``/health`` on 127.0.0.1 (kubeadm does the same); None: off."""
    quota_backend_bytes: int = 8 * 1024**3
    """``--quota-backend-bytes``: 8 GiB, etcd's suggested maximum (default is 2 GiB)."""
    snapshot_count: int = 10000
    """``--snapshot-count``: raft entries between snapshots (kubeadm's 10000; bounds WAL replay)."""
    heartbeat_interval_ms: int = 100
    """``--heartbeat-interval`` in ms (etcd default 100; ~ the round-trip time between members)."""
    election_timeout_ms: int = 1000
    """``--election-timeout`` in ms (etcd default 1000; ≥ 5 × heartbeat, etcd refuses less)."""

    def __post_init__(self) -> None:
        check_cluster(self.cluster, "EtcdMemberArgs.cluster")
        if self.member not in {p.name for p in self.cluster}:
            raise ValueError(f"EtcdMemberArgs.member: {self.member!r} is not in cluster")
        check_name(self.cluster_token, "EtcdMemberArgs.cluster_token")
        check_path(self.data_dir, "EtcdMemberArgs.data_dir")
        if len(PurePosixPath(self.data_dir).parts) < 3:
            raise ValueError("EtcdMemberArgs.data_dir: must be a subdirectory of the data volume's mount point")
        check_path(self.binary, "EtcdMemberArgs.binary")
        if self.user is not None:
            check_name(self.user, "EtcdMemberArgs.user")
        if self.metrics_port is not None:
            check_port(self.metrics_port, "EtcdMemberArgs.metrics_port")
        if self.election_timeout_ms < 5 * self.heartbeat_interval_ms:
            raise ValueError("EtcdMemberArgs.election_timeout_ms: must be at least 5 x heartbeat_interval_ms")
        if not 0 < self.quota_backend_bytes <= 8 * 1024**3:
            raise ValueError("EtcdMemberArgs.quota_backend_bytes: 1 byte .. 8 GiB (etcd's suggested maximum)")

    @property
    def peer(self) -> EtcdPeer:
        return next(p for p in self.cluster if p.name == self.member)

    def flags(self) -> tuple[tuple[str, str], ...]:
        """The member's command-line flags as (name, value) data, in a stable order."""
        me = self.peer
        client_urls = [me.client_url]
        if not ipaddress.IPv4Address(me.host).is_loopback:
            # Local tools (backup timer, etcdctl) talk to 127.0.0.1 and survive an address change.
            client_urls.append(f"https://127.0.0.1:{me.client_port}")
        flags = [
            ("name", me.name),
            ("data-dir", self.data_dir),
            ("listen-client-urls", ",".join(client_urls)),
            ("advertise-client-urls", me.client_url),
            ("listen-peer-urls", me.peer_url),
            ("initial-advertise-peer-urls", me.peer_url),
            ("initial-cluster", initial_cluster(self.cluster)),
            ("initial-cluster-token", self.cluster_token),
            ("initial-cluster-state", str(self.initial_cluster_state)),
            ("client-cert-auth", "true"),
            ("trusted-ca-file", self.tls.ca_file),
            ("cert-file", self.tls.cert_file),
            ("key-file", self.tls.key_file),
            ("peer-client-cert-auth", "true"),
            ("peer-trusted-ca-file", self.tls.ca_file),
            ("peer-cert-file", self.tls.peer_cert_file),
            ("peer-key-file", self.tls.peer_key_file),
            ("quota-backend-bytes", str(self.quota_backend_bytes)),
            ("snapshot-count", str(self.snapshot_count)),
            ("heartbeat-interval", str(self.heartbeat_interval_ms)),
            ("election-timeout", str(self.election_timeout_ms)),
            # zap is the only logger left in 3.5+; 3.4 defaults to the deprecated capnslog.
            ("logger", "zap"),
        ]
        if self.metrics_port is not None:
            flags.append(("listen-metrics-urls", f"http://127.0.0.1:{self.metrics_port}"))
        return tuple(flags)


def render_etcd_unit(args: EtcdMemberArgs) -> str:
    """``/etc/systemd/system/etcd.service`` for one member."""
    return render("etcd.service.j2", "components/render/etcd.py", a=args, flags=args.flags())
