"""The one table of the Helm charts the add-on layer installs: chart, repository, pinned version,
namespace, and the sha256 of the chart's ``.tgz`` where it is known; and the chart cache's check.

Versions are the newest releases of each chart in the upstream repositories as read for issue 12
(their git tags and ``Chart.yaml``), chosen to run on the Kubernetes minor the stacks pin
(config/versions.py KUBERNETES, 1.37); each row's note says why. A bump is one row.

Digests. No Helm repository is reachable where this program is developed and tested, so no
``.tgz`` digest could be measured here, and a digest is never written down unmeasured: ``sha256``
is None in every row until someone records the digest of a file they pulled and reviewed. With
``addons.chartSource: cache`` the operator records it in ``addons.chartSha256.<name>`` (or here, in
a reviewed change); a chart without a recorded digest, or whose file differs from it, is refused
before any resource is registered (``cached_chart``). docs/addons-network.md, "Chart cache".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ChartPin:
    """One pinned chart."""

    chart: str
    """Chart name in its repository, also the table name (the key of ``addons.chartSha256``) and the
    release name."""
    repository: str
    """Helm repository URL (chartSource repository)."""
    version: str
    """Exact chart version, as the repository's index spells it (some carry a leading ``v``)."""
    namespace: str
    """Namespace the release goes into (created with the release when missing)."""
    note: str
    """What the chart installs by default and why this version."""
    sha256: str | None = None
    """sha256 of ``<chart>-<version>.tgz``; None: not recorded (see the module docstring)."""

    @property
    def name(self) -> str:
        return self.chart

    @property
    def filename(self) -> str:
        """The file ``helm pull <repo>/<chart> --version <version>`` writes."""
        return f"{self.chart}-{self.version}.tgz"


# Why each version (read upstream: each project's git tags and Chart.yaml at that tag).
_CALICO = (
    "Calico v3.32.1 with Tigera operator v1.42.3, the newest Calico release (projectcalico/calico tag "
    "v3.32.1); its chart renders the v1 MutatingAdmissionPolicy API that Kubernetes 1.36+ serves."
)
_FLANNEL = "flannel v0.28.9, the newest flannel release (flannel-io/flannel tag v0.28.9, chart/kube-flannel)."
_CPA = (
    "The newest chart of kubernetes-sigs/cluster-proportional-autoscaler (1.1.0, image 1.8.6); it only "
    "counts nodes and cores and scales one Deployment, through APIs stable across minors."
)
_METRICS = "metrics-server v0.8.1, the newest chart release (tag metrics-server-helm-chart-3.13.1)."
_INGRESS = (
    "Controller v1.15.1, the last release (tag helm-chart-4.15.1, March 2026): Kubernetes retired "
    "ingress-nginx in March 2026 (no further releases or security fixes). Kept because the blueprint "
    "and issue 12 name it; docs/addons-network.md says what replacing it takes."
)
TIGERA_OPERATOR = ChartPin(
    "tigera-operator", "https://docs.tigera.io/calico/charts", "v3.32.1", "tigera-operator", _CALICO
)
FLANNEL = ChartPin("flannel", "https://flannel-io.github.io/flannel", "v0.28.9", "kube-flannel", _FLANNEL)
DNS_AUTOSCALER = ChartPin(
    "cluster-proportional-autoscaler", "https://kubernetes-sigs.github.io/cluster-proportional-autoscaler", "1.1.0",
    "kube-system", _CPA,
)  # fmt: skip
METRICS_SERVER = ChartPin(
    "metrics-server", "https://kubernetes-sigs.github.io/metrics-server", "3.13.1", "kube-system", _METRICS
)
INGRESS_NGINX = ChartPin(
    "ingress-nginx", "https://kubernetes.github.io/ingress-nginx", "4.15.1", "ingress-nginx", _INGRESS
)

# Part 2 of issue 12: storage, registry, monitoring, logging (docs/addons-storage.md and the others).
_ROOK = (
    "Rook v1.20.6 (Ceph v20.2.4 Tentacle, ceph-csi v3.17.0 through the ceph-csi-operator), the newest "
    "release (rook/rook tag v1.20.6). Its notes name Kubernetes 1.31-1.36 as tested; 1.37 uses no API "
    "it needs removed. Operator and cluster charts come from the same tag and move together."
)
_HARBOR = "Harbor v2.15.1, the newest chart release (goharbor/harbor-helm tag v1.19.1)."
_KPS = (
    "prometheus-operator v0.93.1 with Prometheus, Alertmanager, Grafana 12 (chart 12.11.1), node-exporter "
    "(4.56.1) and kube-state-metrics (8.4.0): the newest release (prometheus-community/helm-charts tag "
    "kube-prometheus-stack-88.5.3; kubeVersion >=1.25)."
)
_ECK = (
    "ECK 3.5.0, the newest release (elastic/cloud-on-k8s tag v3.5.0); its samples run Elastic Stack "
    "9.4.3, the version the logging add-on runs."
)
_STRIMZI = (
    "Strimzi 1.2.0, the newest release (strimzi/strimzi-kafka-operator tag 1.2.0): kafka.strimzi.io/v1 "
    "only, KRaft only, Kafka 4.3.1 by default."
)
ROOK_CEPH = ChartPin("rook-ceph", "https://charts.rook.io/release", "v1.20.6", "rook-ceph", _ROOK)
ROOK_CEPH_CLUSTER = ChartPin("rook-ceph-cluster", "https://charts.rook.io/release", "v1.20.6", "rook-ceph", _ROOK)
HARBOR = ChartPin("harbor", "https://helm.goharbor.io", "1.19.1", "harbor", _HARBOR)
KUBE_PROMETHEUS_STACK = ChartPin(
    "kube-prometheus-stack", "https://prometheus-community.github.io/helm-charts", "88.5.3", "monitoring", _KPS
)
ECK_OPERATOR = ChartPin("eck-operator", "https://helm.elastic.co", "3.5.0", "elastic-system", _ECK)
STRIMZI = ChartPin("strimzi-kafka-operator", "https://strimzi.io/charts/", "1.2.0", "strimzi", _STRIMZI)

CHARTS: dict[str, ChartPin] = {
    pin.name: pin
    for pin in (
        TIGERA_OPERATOR,
        FLANNEL,
        DNS_AUTOSCALER,
        METRICS_SERVER,
        INGRESS_NGINX,
        ROOK_CEPH,
        ROOK_CEPH_CLUSTER,
        HARBOR,
        KUBE_PROMETHEUS_STACK,
        ECK_OPERATOR,
        STRIMZI,
    )
}
"""Every chart by table name."""


class ChartCacheError(ValueError):
    """A cached chart is missing, has no recorded digest, or differs from it."""


def recorded_digest(pin: ChartPin, recorded: dict[str, str]) -> str | None:
    """The digest the table or the stack config (``addons.chartSha256``) records for ``pin``."""
    return pin.sha256 or recorded.get(pin.name)


def cached_chart(pin: ChartPin, cache_dir: str | Path, recorded: dict[str, str]) -> Path:
    """The verified path of ``pin``'s ``.tgz`` in ``cache_dir``; raises ChartCacheError saying why not."""
    digest = recorded_digest(pin, recorded)
    if digest is None:
        raise ChartCacheError(
            f"{pin.filename}: no sha256 recorded; record the digest of the file you pulled and reviewed "
            f"(`sha256sum {pin.filename}`) as addons.chartSha256.{pin.name}"
        )
    if pin.sha256 and recorded.get(pin.name) not in (None, pin.sha256):
        raise ChartCacheError(f"{pin.name}: addons.chartSha256 differs from the digest config/charts.py pins")
    path = Path(cache_dir) / pin.filename
    if not path.is_file():
        raise ChartCacheError(
            f"{path} does not exist: `helm pull {pin.chart} --repo {pin.repository} --version {pin.version}` into it"
        )
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != digest:
        raise ChartCacheError(f"{path}: sha256 {actual} differs from the recorded {digest}; refusing it")
    return path
