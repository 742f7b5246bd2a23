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
    version="3.6.16",
    source="https://github.com/etcd-io/etcd/releases/download/v3.6.16/etcd-v3.6.16-linux-amd64.tar.gz",
    note=(
        "Newest patch of the 3.6 line (go.etcd.io/etcd/server/v3 v3.6.16 on the module proxy); kubeadm "
        "1.37 refuses external etcd older than 3.5.24 (MinExternalEtcdVersion) and Kubernetes 1.37 is "
        "tested against 3.6 (3.7 is kubeadm's stacked default; 3.6 is the more mature line for a "
        "dedicated cluster). Installed from the upstream "
        "tarball (etcd, etcdctl, etcdutl in /usr/local/bin) because Ubuntu 22.04 ships 3.3. From 3.5 "
        "the offline snapshot commands live in etcdutl (etcdctl's are deprecated, removed in 3.6); the "
        "backup and restore scripts use etcdutl when it is installed and etcdctl otherwise. The tests "
        "run Debian 12's etcd 3.4.23 (etcd-server/etcd-client, no etcdutl), so they exercise the "
        "etcdctl path; snapshot files and restore flags are the same in both. The same tests pass "
        "against a 3.6.16 build (K8S_PLATFORM_ETCD_BIN, see tests/render/etcd_cluster.py)."
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

# --------------------------------------------------------------------------- Kubernetes nodes
# Pins of the kubeadm bootstrap (node preparation and kubeadm configuration renderers).

KUBERNETES = Pin(
    name="kubernetes",
    version="1.37.2",
    source="https://pkgs.k8s.io/core:/stable:/v1.37/deb/ (kubeadm, kubelet, kubectl; deb version 1.37.2-1.1)",
    note=(
        "Newest patch of the newest minor the Go module proxy serves (k8s.io/kubernetes v1.37.2, "
        "built by scripts/build-kubeadm with Go 1.26 to validate the rendered kubeadm configs). Its "
        "kubeadm reads kubeadm.k8s.io/v1beta4 (still the preferred version; v1 is registered but "
        "unreleased). kubeadm 1.37 requires external etcd >= 3.5.24 (MinExternalEtcdVersion) and "
        "defaults to etcd 3.7.0 for stacked etcd. Upgrades go one minor at a time "
        "(docs/runbooks/upgrade.md); the pkgs.k8s.io repository is per minor, so bumping the minor "
        "also changes the repository path the node preparation script writes."
    ),
)
"""kubeadm, kubelet and kubectl on every Kubernetes node; also ``kubernetesVersion`` in kubeadm."""

CONTAINERD = Pin(
    name="containerd",
    version="2.3.7",
    source=("https://github.com/containerd/containerd/releases/download/v2.3.7/containerd-2.3.7-linux-amd64.tar.gz"),
    note=(
        "containerd 2.3 is an LTS line (to April 2028) and, with 2.4, the line containerd's RELEASES.md "
        "recommends for Kubernetes 1.37 (1.36: 2.3/2.2), so it also covers the previous minor during "
        "an upgrade. Kubernetes 1.38 drops runtimes without the CRI RuntimeConfig call (containerd 1.x; "
        "kubelet metric cri_losing_support), and Ubuntu 22.04's archive ships 1.7, hence the upstream "
        "tarball in /usr/local (config version 3)."
    ),
)
"""containerd on every Kubernetes node (upstream release tarball)."""

RUNC = Pin(
    name="runc",
    version="1.5.3",
    source="https://github.com/opencontainers/runc/releases/download/v1.5.3/runc.amd64",
    note="containerd 2.3.7 is tested with runc 1.5.2 (script/setup/runc-version); 1.5.3 is that line's newest patch.",
)
"""runc, the OCI runtime containerd starts containers with."""

CNI_PLUGINS = Pin(
    name="cni-plugins",
    version="1.9.1",
    source=(
        "https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz"
    ),
    note=(
        "The reference plugins in /opt/cni/bin (loopback, bridge, host-local, portmap): Flannel delegates "
        "to bridge/host-local and containerd needs loopback; Calico installs its own binaries next to "
        "them. 1.9.1 is the version containerd 2.3.7's go.mod carries."
    ),
)
"""CNI reference plugins on every Kubernetes node."""

PAUSE = Pin(
    name="pause",
    version="3.10.2",
    source="registry.k8s.io/pause:3.10.2 (or the same path on the Harbor mirror)",
    note="kubeadm 1.37's constants.PauseVersion and containerd 2.3's default sandbox image agree on 3.10.2.",
)
"""The pod sandbox image, pinned in containerd's config so kubelet and containerd agree."""

# --------------------------------------------------------------------------- add-on images
# Images the add-on layer names itself (the charts pin their own; config/charts.py pins the charts).

KUBE_EVENTER = Pin(
    name="kube-eventer",
    version="v1.2.7-ca03be0-aliyun",
    source="registry.aliyuncs.com/acs/kube-eventer:v1.2.7-ca03be0-aliyun",
    note=(
        "The image AliyunContainerService/kube-eventer's README and deploy/deploy.yaml name (the project "
        "has no chart and publishes no image tag per later git tag, e.g. 1.2.14); air-gapped sites mirror "
        "it and set addons.events.image."
    ),
)
"""kube-eventer, the add-on layer's event archiver (components/addons/events.py)."""

CURL_IMAGE = Pin(
    name="curl image",
    version="docker.io/library/buildpack-deps:bookworm-curl",
    source="Docker official image buildpack-deps, tag bookworm-curl (Debian 12 with curl and CA certificates)",
    note=(
        "Runs the one-shot setup jobs that talk to an API no chart or CRD covers: Harbor's projects "
        "and robot account (render/harbor_setup.py) and Elasticsearch's retention policy "
        "(render/logging_stack.py); only curl and a POSIX shell are used. Debian, not the smaller "
        "Alpine-based curl image: the blueprint's best practice keeps Alpine (musl's resolver) out of "
        "production. The tag follows Debian 12's updates; no digest is recorded because none could be "
        "measured here (a site pins its own, or pulls through a Harbor proxy-cache project)."
    ),
)
"""The image of the add-ons' setup jobs."""

KUBERNETES_PINS: tuple[Pin, ...] = (KUBERNETES, CONTAINERD, RUNC, CNI_PLUGINS, PAUSE)
"""The Kubernetes node pins, part of ``PINS``."""

PINS: tuple[Pin, ...] = (ETCD, HAPROXY, KEEPALIVED, RCLONE, *KUBERNETES_PINS, KUBE_EVENTER, CURL_IMAGE)
"""Every pin, for reports and policy checks."""
