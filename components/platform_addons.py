"""The Platform's helper for the add-on layer: the spec's ``addons`` section onto each add-on's own
args, one provider and one ClusterAccess for all of them, the CNI first.

The Platform calls ``addon_layer`` once KubeadmCluster exists; each add-on is its own component in
components/addons/ that receives only ``ClusterAccess``, ``ChartSourceArgs`` and its typed args.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi

from components.addons.chart import ChartSourceArgs
from components.addons.cluster import ClusterAccess, cluster_provider
from components.addons.cni import Cni, CniArgs
from components.addons.dns import DnsAutoscaler, DnsAutoscalerArgs
from components.addons.events import Events, EventsArgs
from components.addons.governance import Governance, GovernanceArgs
from components.addons.ingress import Ingress, IngressArgs
from components.addons.metrics import MetricsServer, MetricsServerArgs
from components.control_plane.kubeadm_cluster import KubeadmCluster
from config.spec import Role, StackSpec
from config.spec_addons import Addons
from config.versions import KUBE_EVENTER


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
    layer = AddonLayer(cluster, chart_source_args(spec.addons))
    child = pulumi.ResourceOptions(parent=parent)
    after_cni = cluster
    if spec.addons.is_enabled("cni", spec.environment):
        cni = Cni(f"{name}-cni", cni_args(spec), cluster, layer.charts, opts=child)
        layer.components["cni"] = cni
        after_cni = cluster.after(cni.release)  # no pod starts before the pod network exists
    for key, build in ADDONS.items():
        if spec.addons.is_enabled(key, spec.environment):
            layer.components[key] = build(f"{name}-{key.lower()}", spec, after_cni, layer.charts, child)
    return layer


# ------------------------------------------------------------------- the spec onto each add-on's args


def cni_args(spec: StackSpec) -> CniArgs:
    net = spec.network
    return CniArgs(
        plugin=spec.cni.plugin,
        encapsulation=spec.cni.encapsulation,
        pod_cidr=str(net.pod_cidr),
        block_size=net.pod_cidr_node_prefix,
        values=spec.addons.cni.values,
    )


def ingress_args(spec: StackSpec) -> IngressArgs:
    ingress = spec.addons.ingress
    pool = spec.node_pools[ingress.pool or spec.pools(Role.INGRESS)[0][0]]
    return IngressArgs(
        node_labels=pool.labels,
        taints=pool.taints,
        exposure=ingress.exposure,
        http_node_port=ingress.http_node_port,
        https_node_port=ingress.https_node_port,
        values=ingress.values,
    )


def _dns(name: str, spec: StackSpec, cluster: ClusterAccess, charts: ChartSourceArgs, child) -> DnsAutoscaler:
    dns = spec.addons.dns_autoscaler
    args = DnsAutoscalerArgs(
        dns.cores_per_replica, dns.nodes_per_replica, dns.min_replicas, dns.max_replicas, dns.values
    )
    return DnsAutoscaler(name, args, cluster, charts, opts=child)


def _metrics(name: str, spec: StackSpec, cluster: ClusterAccess, charts: ChartSourceArgs, child) -> MetricsServer:
    metrics = spec.addons.metrics_server
    return MetricsServer(name, MetricsServerArgs(metrics.replicas, metrics.values), cluster, charts, opts=child)


def _ingress(name: str, spec: StackSpec, cluster: ClusterAccess, charts: ChartSourceArgs, child) -> Ingress:
    return Ingress(name, ingress_args(spec), cluster, charts, opts=child)


def _events(name: str, spec: StackSpec, cluster: ClusterAccess, _charts: ChartSourceArgs, child) -> Events:
    events = spec.addons.events
    assert events.webhook_url is not None  # config/rules_addons.py: required when enabled
    args = EventsArgs(events.webhook_url, events.level, events.image or KUBE_EVENTER.source)
    return Events(name, args, cluster, opts=child)


def _governance(name: str, spec: StackSpec, cluster: ClusterAccess, _charts: ChartSourceArgs, child) -> Governance:
    args = GovernanceArgs(
        tenants=spec.addons.governance.tenants,
        allow_ingress_controller=spec.addons.is_enabled("ingress", spec.environment),
    )
    return Governance(name, args, cluster, opts=child)


ADDONS: dict[str, Callable[..., pulumi.ComponentResource]] = {
    "dnsAutoscaler": _dns,
    "metricsServer": _metrics,
    "ingress": _ingress,
    "events": _events,
    "governance": _governance,
}
"""Every add-on after the CNI, by config key: (name, spec, access, charts, options) -> its component.
Part 2 of issue 12 adds storage, registry, monitoring and logging here."""
