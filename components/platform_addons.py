"""The Platform's helper for the add-on layer: the spec's ``addons`` section onto each add-on's own
args, one provider and one ClusterAccess for all of them, the CNI first.

The Platform calls ``addon_layer`` once KubeadmCluster exists; each add-on is its own component in
components/addons/ that receives only ``ClusterAccess``, ``ChartSourceArgs`` and its typed args.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.addons.chart import ChartSourceArgs
from components.addons.cluster import ClusterAccess, cluster_provider
from components.control_plane.kubeadm_cluster import KubeadmCluster
from config.spec import StackSpec
from config.spec_addons import Addons


def chart_source_args(addons: Addons) -> ChartSourceArgs:
    """``addons.chartSource``, ``chartCache`` and ``chartSha256`` as the release helper's args."""
    return ChartSourceArgs(source=addons.chart_source, cache_dir=addons.chart_cache, digests=dict(addons.chart_sha256))


@dataclass
class AddonLayer:
    """What the add-on layer registered."""

    cluster: ClusterAccess
    """The provider and the dependencies every add-on waits for."""
    charts: ChartSourceArgs
    """Where the charts come from."""
    components: dict[str, pulumi.ComponentResource] = field(default_factory=dict)
    """Each enabled add-on's component by its config key (``cni``, ``ingress``, ...)."""


def addon_layer(
    name: str,
    parent: pulumi.Resource,
    spec: StackSpec,
    kubeadm: KubeadmCluster,
    *,
    api_floating_ip: pulumi.Input[str] | None,
    api_port: int,
) -> AddonLayer:
    """The provider from the admin kubeconfig and every enabled add-on, children of ``parent``."""
    provider = cluster_provider(
        f"{name}-k8s", kubeadm.kubeconfig, api_floating_ip=api_floating_ip, api_port=api_port, parent=parent
    )
    cluster = ClusterAccess(provider, (*kubeadm.ready, *kubeadm.workers_ready))
    return AddonLayer(cluster, chart_source_args(spec.addons))
