"""Pinned versions of what the platform installs on its machines, as data.

One place to bump; every renderer and component reads its version from here. Each pin says where
the artifact comes from and why this version.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pin:
    """One pinned artifact."""

    name: str
    """What is installed."""
    version: str
    """Exact version, without a leading ``v``."""
    source: str
    """Where the machines get it."""
    note: str
    """Why this version, and what depends on it."""


ETCD = Pin(
    name="etcd",
    version="3.5.21",
    source="https://github.com/etcd-io/etcd/releases/download/v3.5.21/etcd-v3.5.21-linux-amd64.tar.gz",
    note=(
        "The etcd 3.5 line that Kubernetes 1.31-1.33 is tested against. Installed from the upstream "
        "tarball (etcd, etcdctl, etcdutl in /usr/local/bin) because Ubuntu 22.04 ships 3.3. From 3.5 "
        "the offline snapshot commands live in etcdutl (etcdctl's are deprecated, removed in 3.6); the "
        "backup and restore scripts use etcdutl when it is installed and etcdctl otherwise. The tests "
        "run Debian 12's etcd 3.4.23 (etcd-server/etcd-client, no etcdutl), so they exercise the "
        "etcdctl path; snapshot files and restore flags are the same in both."
    ),
)
"""etcd on the dedicated etcd pool (and on the lab's master)."""

HAPROXY = Pin(
    name="haproxy",
    version="2.4",
    source="Ubuntu 22.04 archive (package haproxy, 2.4.x LTS)",
    note="The rendered config uses only 2.4-era syntax; tests run Debian 12's 2.6.",
)
"""haproxy on the API load balancers (distribution package; minor line pinned by the image)."""

KEEPALIVED = Pin(
    name="keepalived",
    version="2.2",
    source="Ubuntu 22.04 archive (package keepalived, 2.2.x)",
    note="Unicast VRRP and script security exist since 1.3; tests run Debian 12's 2.2.7.",
)
"""keepalived on the API load balancers (distribution package)."""

RCLONE = Pin(
    name="rclone",
    version="1.53",
    source="Ubuntu 22.04 archive (package rclone)",
    note="Uploads etcd snapshots to Ceph RGW; env-var remotes and delete --min-age exist since 1.3x.",
)
"""rclone on the etcd members, only when ``etcd.backup.s3`` is set."""

PINS: tuple[Pin, ...] = (ETCD, HAPROXY, KEEPALIVED, RCLONE)
"""Every pin, for reports and policy checks."""
