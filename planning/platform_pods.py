"""The platform's own pods and requests, as rows of the capacity plan (planning/capacity.py):
kubeadm's (``KUBEADM_PODS``) and the add-on layer's.

One function per add-on group returns its rows for a stack (an add-on that is off returns none);
``platform_pods`` joins them. A row's ``per`` says where its pods run, which decides where the plan
counts their requests: ``node`` and ``ingress-node`` rows are DaemonSets whose requests come off
every (ingress) node's allocatable; ``cluster`` rows are Deployments counted in the demand of the
platform pool (``capacity.platform_pool``). Requests are the ones the program sets in the values
(config/values_network.py) or the chart's defaults; a component that states no request counts 0
CPU and memory but still takes its pod slot. ``_data_pods`` holds the data add-ons' rows (issue 12
part 2): Ceph's daemons on the storage pool (OSDs per data volume), the rest on the platform pool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from config.rules_addons_data import storage_pool
from config.spec import KUBERNETES_ROLES, CniPlugin, LoggingPipeline, Role, StackSpec


@dataclass(frozen=True)
class PlatformPods:
    """Pods the platform itself runs (not the workload inventory), per unit of ``per``."""

    name: str
    per: str
    """node (a DaemonSet: every Kubernetes node), ingress-node (a DaemonSet on the ingress pools),
    master (static pods), stacked-etcd-master (kubeadm's etcd static pod, only where etcd is
    stacked), cluster (a Deployment's replicas, on the platform pool or ``pool``) or pool-node
    (pods on every node of ``pool``)."""
    pods: int
    """Pods per unit."""
    containers: int
    """Containers per pod."""
    cpu: str = "0"
    """CPU request per pod (Kubernetes quantity); 0 where the component states none."""
    memory: str = "0"
    """Memory request per pod; 0 where the component states none."""
    pool: str | None = None
    """The pool a row is placed on, for ``cluster`` rows pinned to one (Ceph's mons on the storage
    pool: counted in that pool's demand, not the platform pool's) and ``pool-node`` rows (daemons on
    every node of that pool, e.g. Ceph's crash collector). None: where ``per`` says."""


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


CEPH_DAEMON_REQUESTS: tuple[tuple[str, str, str], ...] = (
    ("osd", "1", "4Gi"),
    ("mon", "1", "1Gi"),
    ("mgr", "500m", "512Mi"),
    ("crashcollector", "100m", "60Mi"),
    ("exporter", "50m", "50Mi"),
    ("rgw", "500m", "1Gi"),
    ("mds", "500m", "2Gi"),
)
"""(daemon, CPU, memory) requests of each Ceph daemon, which components/addons/storage.py sets in
the CephCluster (memory limit = request): the rook-ceph-cluster chart's defaults for osd, mon, mgr,
crash collector and exporter (Rook's ``osd_memory_target`` follows the OSD's limit, 4Gi its
recommended floor); RGW and MDS halved from the chart's 1 CPU/4Gi for a platform's registry, logs and
backups rather than a storage product."""


def _ceph(daemon: str) -> tuple[str, str]:
    return next((cpu, memory) for d, cpu, memory in CEPH_DAEMON_REQUESTS if d == daemon)


def _storage_pods(spec: StackSpec) -> list[PlatformPods]:
    found = storage_pool(spec)
    if not spec.addons.is_enabled("storage", spec.environment) or found is None:
        return []
    name, pool = found
    s = spec.addons.storage
    return [
        PlatformPods("rook-ceph-operator (Deployment)", "cluster", 1, 1, "200m", "128Mi"),
        PlatformPods("ceph-csi-operator (Deployment)", "cluster", 1, 1),
        PlatformPods("ceph-csi rbd and cephfs node plugins (DaemonSets)", "node", 2, 3),
        PlatformPods("ceph-csi rbd and cephfs provisioners (Deployments, 2 each)", "cluster", 4, 5),
        PlatformPods("rook-ceph-tools (Deployment)", "cluster", 1, 1, "100m", "128Mi"),
        PlatformPods(
            "ceph-osd (one per data volume)", "pool-node", len(pool.data_volumes), 1, *_ceph("osd"), pool=name
        ),
        PlatformPods("ceph-crashcollector (per storage node)", "pool-node", 1, 1, *_ceph("crashcollector"), pool=name),
        PlatformPods("ceph-exporter (per storage node)", "pool-node", 1, 1, *_ceph("exporter"), pool=name),
        PlatformPods("ceph-mon (one per storage node)", "cluster", s.mons, 1, *_ceph("mon"), pool=name),
        PlatformPods("ceph-mgr (active + standby)", "cluster", min(2, pool.count), 2, *_ceph("mgr"), pool=name),
        PlatformPods("ceph-rgw (object store gateways)", "cluster", s.rgw_instances, 1, *_ceph("rgw"), pool=name),
        PlatformPods("ceph-mds (active + standby)", "cluster", 2, 1, *_ceph("mds"), pool=name),
    ]


def _data_pods(spec: StackSpec) -> list[PlatformPods]:
    on = spec.addons.is_enabled
    env = spec.environment
    rows = _storage_pods(spec)
    if on("registry", env):
        # core, jobservice, portal, registry (+registryctl), database, redis, trivy; the chart states no requests.
        rows.append(PlatformPods("harbor (7 Deployments/StatefulSets)", "cluster", 7, 1))
    if on("monitoring", env):
        m = spec.addons.monitoring
        rows += [
            PlatformPods("prometheus-operator, kube-state-metrics (Deployments)", "cluster", 2, 1),
            PlatformPods("prometheus (+config-reloader)", "cluster", m.prometheus_replicas, 2, "500m", "2Gi"),
            PlatformPods("alertmanager (+config-reloader)", "cluster", m.alertmanager_replicas, 2, "50m", "128Mi"),
            PlatformPods("grafana (+2 sidecars)", "cluster", 1, 3, "100m", "256Mi"),
            PlatformPods("node-exporter (DaemonSet)", "node", 1, 1),
        ]
    if on("logging", env):
        g = spec.addons.logging
        rows += [
            PlatformPods("elastic-operator (StatefulSet)", "cluster", 1, 1, "100m", "150Mi"),
            PlatformPods(
                "elasticsearch", "cluster", g.elasticsearch_nodes, 1, g.elasticsearch_cpu, g.elasticsearch_memory
            ),
            PlatformPods("kibana", "cluster", 1, 1, "200m", "1Gi"),
            PlatformPods("filebeat (DaemonSet)", "node", 1, 1, "100m", "200Mi"),
        ]
        if spec.logging == LoggingPipeline.KAFKA:
            rows += [
                PlatformPods("strimzi-cluster-operator (Deployment)", "cluster", 1, 1, "200m", "384Mi"),
                PlatformPods("kafka (KRaft broker + controller)", "cluster", g.kafka_brokers, 1, "500m", "2Gi"),
                PlatformPods("kafka entity operator (topic operator)", "cluster", 1, 1),
                PlatformPods("logstash", "cluster", g.logstash_replicas, 1, "500m", "2Gi"),
            ]
    return rows


def platform_pods(spec: StackSpec) -> tuple[PlatformPods, ...]:
    """kubeadm's rows and every enabled add-on's."""
    return (*_kubeadm_pods(spec), *_network_pods(spec), *_data_pods(spec))
