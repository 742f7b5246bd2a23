"""The platform's own pods and requests, as rows of the capacity plan (planning/capacity.py):
kubeadm's (``KUBEADM_PODS``) and the add-on layer's.

One function per add-on group returns its rows for a stack (an add-on that is off returns none);
``platform_pods`` joins them. A row's ``per`` says where its pods run, which decides where the plan
counts their requests: ``node`` and ``ingress-node`` rows are DaemonSets whose requests come off
every (ingress) node's allocatable; ``cluster`` rows are Deployments counted in the demand of the
platform pool (``capacity.platform_pool``). Requests are the ones the program sets in the values
(config/values_network.py) or the chart's defaults; a component that states no request counts 0
CPU and memory but still takes its pod slot. Part 2 of issue 12 adds ``_data_pods``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from config.spec import KUBERNETES_ROLES, CniPlugin, Role, StackSpec


@dataclass(frozen=True)
class PlatformPods:
    """Pods the platform itself runs (not the workload inventory), per unit of ``per``."""

    name: str
    per: str
    """node (a DaemonSet: every Kubernetes node), ingress-node (a DaemonSet on the ingress pools),
    master (static pods), stacked-etcd-master (kubeadm's etcd static pod, only where etcd is
    stacked) or cluster (a Deployment's replicas, on the platform pool)."""
    pods: int
    """Pods per unit."""
    containers: int
    """Containers per pod."""
    cpu: str = "0"
    """CPU request per pod (Kubernetes quantity); 0 where the component states none."""
    memory: str = "0"
    """Memory request per pod; 0 where the component states none."""


KUBEADM_PODS = (
    PlatformPods("kube-proxy (kubeadm DaemonSet)", "node", pods=1, containers=1),
    PlatformPods("kube-apiserver, kube-controller-manager, kube-scheduler (static pods)", "master", 3, 1),
    PlatformPods("etcd (kubeadm static pod, stacked topology)", "stacked-etcd-master", 1, 1),
)
"""What kubeadm runs on every cluster of this platform besides CoreDNS (``_kubeadm_pods``)."""

KUBE_EVENTER_CPU, KUBE_EVENTER_MEMORY = "50m", "100Mi"
"""kube-eventer's requests (components/addons/events.py sets them; the project ships none)."""
COREDNS_CPU, COREDNS_MEMORY = "100m", "70Mi"
"""kubeadm's CoreDNS Deployment requests (its manifest in cmd/kubeadm/app/phases/addons/dns)."""


def typha_replicas(nodes: int) -> int:
    """The Tigera operator's Typha count for ``nodes`` (tigera/operator pkg/common GetExpectedTyphaScale):
    1 up to 2 nodes, 2 up to 4, then one per 200 nodes plus one spare, at least 3."""
    if nodes <= 2:
        return 1
    if nodes <= 4:
        return 2
    return max(3, nodes // 200 + 2)


def coredns_replicas(spec: StackSpec) -> int:
    """CoreDNS replicas: kubeadm's 2, or the autoscaler's linear count when it runs
    (max(cores / coresPerReplica, nodes / nodesPerReplica) rounded up, within [min, max])."""
    if not spec.addons.is_enabled("dnsAutoscaler", spec.environment):
        return 2
    dns = spec.addons.dns_autoscaler
    pools = spec.pools(*KUBERNETES_ROLES)
    cores = sum(p.count * p.vcpu for _, p in pools)
    nodes = sum(p.count for _, p in pools)
    replicas = max(math.ceil(cores / dns.cores_per_replica), math.ceil(nodes / dns.nodes_per_replica), dns.min_replicas)
    return min(replicas, dns.max_replicas) if dns.max_replicas else replicas


def _kubeadm_pods(spec: StackSpec) -> list[PlatformPods]:
    replicas = coredns_replicas(spec)
    return [
        *KUBEADM_PODS,
        PlatformPods("CoreDNS (kubeadm Deployment)", "cluster", replicas, 1, COREDNS_CPU, COREDNS_MEMORY),
    ]


def _network_pods(spec: StackSpec) -> list[PlatformPods]:
    on = spec.addons.is_enabled
    env = spec.environment
    rows: list[PlatformPods] = []
    if on("cni", env) and spec.cni.plugin == CniPlugin.CALICO:
        nodes = spec.count(*KUBERNETES_ROLES)
        rows += [
            PlatformPods("tigera-operator (Deployment)", "cluster", 1, 1),
            PlatformPods("calico-node (DaemonSet)", "node", 1, 1),
            PlatformPods("calico-typha (Deployment, the operator's count)", "cluster", typha_replicas(nodes), 1),
            PlatformPods("calico-kube-controllers (Deployment)", "cluster", 1, 1),
            PlatformPods("calico-apiserver (Deployment, controlPlaneReplicas 2)", "cluster", 2, 1),
        ]  # no csi-node-driver: the values disable Calico's CSI driver (kubeletVolumePluginPath None)
    elif on("cni", env):
        # flannel and kube-network-policies in one DaemonSet pod; the chart's 100m/50Mi for flannel.
        rows.append(PlatformPods("kube-flannel (DaemonSet)", "node", 1, 2, cpu="100m", memory="50Mi"))
    if on("dnsAutoscaler", env):
        rows.append(PlatformPods("cluster-proportional-autoscaler (Deployment)", "cluster", 1, 1, "20m", "32Mi"))
    if on("metricsServer", env):
        replicas = spec.addons.metrics_server.replicas
        rows.append(PlatformPods("metrics-server (Deployment)", "cluster", replicas, 1, "100m", "200Mi"))
    if on("ingress", env) and spec.pools(Role.INGRESS):
        rows.append(PlatformPods("ingress-nginx controller (DaemonSet)", "ingress-node", 1, 1, "100m", "90Mi"))
    if on("events", env):
        rows.append(PlatformPods("kube-eventer (Deployment)", "cluster", 1, 1, KUBE_EVENTER_CPU, KUBE_EVENTER_MEMORY))
    return rows


def platform_pods(spec: StackSpec) -> tuple[PlatformPods, ...]:
    """kubeadm's rows and every enabled add-on's."""
    return (*_kubeadm_pods(spec), *_network_pods(spec))
