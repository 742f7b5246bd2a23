"""The stack config's add-on layer (``k8s-platform:addons``): what runs on the cluster once kubeadm
has built it, each add-on on or off with the blueprint's default per environment, where the charts
come from, and per add-on settings and an optional typed values override.

One sub-model per add-on. Issue 12 part 1 (network and core): ``cni``, ``dnsAutoscaler``,
``metricsServer``, ``ingress``, ``events``, ``governance``. Part 2 (data) adds ``storage``,
``registry``, ``monitoring``, ``logging`` below the marked line, a row each in ``ADDON_DEFAULTS``,
and its values models in ``VALUES_MODELS`` (config/values_*.py).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from config.sizing import Environment
from config.spec_sections import _DNS_LABEL, Quantity, _Model


class ChartSource(StrEnum):
    REPOSITORY = "repository"
    """Helm pulls each pinned chart from its repository (config/charts.py) at preview and up."""
    CACHE = "cache"
    """Local ``.tgz`` files the operator ``helm pull``-ed into ``addons.chartCache``, each checked
    against its sha256 before the program registers anything (air-gapped sites, offline previews)."""


class Addon(_Model):
    """What every add-on has: on or off."""

    enabled: bool | None = None
    """On or off. Default: the blueprint's default for the stack's environment (``ADDON_DEFAULTS``)."""


class ChartAddon(Addon):
    """An add-on installed from a Helm chart."""

    values: dict[str, Any] = Field(default_factory=dict)
    """Chart values merged over the ones the program builds (maps merge key by key, anything else
    replaces). Only keys the add-on's values model declares (config/values_*.py), with their types;
    a wrong key or type fails before any resource, naming it. Default: none."""


class CniAddon(ChartAddon):
    """The CNI (plugin and encapsulation: the ``cni`` section): Calico through the Tigera operator,
    or Flannel. Without it the nodes stay NotReady."""


class DnsAutoscaler(ChartAddon):
    """cluster-proportional-autoscaler scaling kubeadm's CoreDNS Deployment (blueprint best practice:
    scale CoreDNS by nodes and cores). Linear mode: replicas = max(ceil(cores / coresPerReplica),
    ceil(nodes / nodesPerReplica)), clamped to [minReplicas, maxReplicas]."""

    cores_per_replica: int = Field(default=256, ge=1)
    """Cluster cores per CoreDNS replica (default 256, the autoscaler's documented example)."""
    nodes_per_replica: int = Field(default=16, ge=1)
    """Cluster nodes per CoreDNS replica (default 16, the autoscaler's documented example)."""
    min_replicas: int = Field(default=2, ge=2)
    """Fewest CoreDNS replicas (at least 2: one replica is a single point of failure; default 2)."""
    max_replicas: int = Field(default=0, ge=0)
    """Most CoreDNS replicas; 0 (the default) means no upper bound."""


class MetricsServer(ChartAddon):
    """metrics-server: the resource metrics API that HPA and ``kubectl top`` read."""

    replicas: int = Field(default=2, ge=1)
    """Replicas (default 2, with a PodDisruptionBudget: HPA keeps working while a node drains)."""


class IngressExposure(StrEnum):
    HOST_PORT = "hostPort"
    """The controller DaemonSet binds 80/443 on each ingress node (what the ingress floating IPs and
    the ingress group's 80/443 rules reach)."""
    NODE_PORT = "nodePort"
    """A NodePort Service (``httpNodePort``/``httpsNodePort``, reachable from ``network.nodePortCidrs``),
    e.g. behind an external load balancer."""


class Ingress(ChartAddon):
    """ingress-nginx on the dedicated, tainted ingress pool (blueprint best practice)."""

    pool: str | None = None
    """The ingress pool (role ingress) the controller runs on; its labels select the nodes and its
    taints are tolerated. Default: the stack's first pool with role ingress."""
    exposure: IngressExposure = IngressExposure.HOST_PORT
    """hostPort (default; the ingress floating IPs) or nodePort."""
    http_node_port: int = Field(default=30080, ge=30000, le=32767)
    """nodePort exposure: the HTTP NodePort (default 30080)."""
    https_node_port: int = Field(default=30443, ge=30000, le=32767)
    """nodePort exposure: the HTTPS NodePort (default 30443)."""


class EventLevel(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


class Events(Addon):
    """kube-eventer: archives and alerts on Kubernetes events (which the apiserver keeps only for
    ``kubernetes.eventTtl``) by posting them to a webhook."""

    webhook_url: str | None = Field(default=None, pattern=r"^https?://[^\s?#]+(\?[^\s#]*)?$")
    """Where events are posted (an alerting or archive endpoint). Required when enabled."""
    level: EventLevel = EventLevel.WARNING
    """Lowest event type sent: Warning (default) or Normal (every event)."""
    image: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.:/_-]*(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$")
    """The kube-eventer image (a mirror on air-gapped sites). Default: config/versions.py KUBE_EVENTER."""


class TenantRole(StrEnum):
    ADMIN = "admin"
    EDIT = "edit"


class TenantQuota(_Model):
    cpu: Quantity = "8"
    """requests.cpu of the namespace (default 8 cores)."""
    memory: Quantity = "16Gi"
    """requests.memory (default 16Gi)."""
    pods: int = Field(default=50, ge=1)
    """Pods (default 50)."""


class TenantDefaults(_Model):
    """LimitRange defaults for containers that state no requests/limits."""

    cpu_request: Quantity = "100m"
    memory_request: Quantity = "128Mi"
    cpu_limit: Quantity = "500m"
    memory_limit: Quantity = "512Mi"


class Tenant(_Model):
    name: str
    """Namespace name (a DNS label)."""
    group: str = Field(min_length=1)
    """The identity-provider group bound to ``role`` in the namespace."""
    role: TenantRole = TenantRole.EDIT
    """ClusterRole bound: edit (default) or admin."""
    quota: TenantQuota = TenantQuota()
    limits: TenantDefaults = TenantDefaults()


class Governance(Addon):
    """Tenants: per namespace a ResourceQuota, a LimitRange, a RoleBinding, and default-deny
    NetworkPolicies with DNS and same-namespace traffic allowed (blueprint: namespaces, RBAC and
    NetworkPolicy for isolation)."""

    tenants: tuple[Tenant, ...] = ()
    """The tenant namespaces. Default: none."""


# ------------------------------------------------------- part 2 (issue 12): the data add-ons
# Sizes and counts default to what the blueprint's prod row can carry (8C/64G workers, three
# storage nodes with two 1 TB OSD volumes each).

_FQDN = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
"""A fully qualified DNS name, lower case, no port (length is checked by the certificate renderer)."""


class StorageAddon(ChartAddon):
    """Rook-Ceph: the operator (chart ``rook-ceph``) and a Ceph cluster on the storage pool's data
    volumes (chart ``rook-ceph-cluster``; ``values`` overrides that chart's values) with block,
    file and object storage classes (the blueprint's 对象存储, 文件存储, 块存储)."""

    operator_values: dict[str, Any] = Field(default_factory=dict)
    """Overrides of the operator chart's values (same rules as ``values``). Default: none."""
    pool: str | None = None
    """The node pool (role storage) whose data volumes become OSDs. Default: the first storage pool."""
    replicas: int = Field(default=3, ge=1, le=5)
    """Copies of every object, each on another storage node (failure domain host; default 3)."""
    mons: int = Field(default=3, ge=1, le=5)
    """Ceph monitors, odd, each on its own storage node (default 3)."""
    rgw_instances: int = Field(default=2, ge=1)
    """RGW (S3) gateway pods (default 2)."""
    block_class: str = Field(default="ceph-block", pattern=_DNS_LABEL.pattern)
    """RBD storage class, the cluster's default (default ``ceph-block``)."""
    file_class: str = Field(default="ceph-filesystem", pattern=_DNS_LABEL.pattern)
    """CephFS storage class, ReadWriteMany (default ``ceph-filesystem``)."""
    bucket_class: str = Field(default="ceph-bucket", pattern=_DNS_LABEL.pattern)
    """RGW bucket class for ObjectBucketClaims (default ``ceph-bucket``)."""


class ProxyCache(_Model):
    """A Harbor proxy-cache project in front of an upstream registry."""

    name: str = Field(pattern=_DNS_LABEL.pattern)
    """Project name (``<host>/<name>/...``)."""
    endpoint: str = Field(pattern=r"^https://[^\s/]+(/\S*)?$")
    """Upstream registry URL (``https://registry-1.docker.io``, ``https://registry.k8s.io``, a mirror)."""
    type: str = Field(default="docker-registry", pattern=r"^(docker-hub|docker-registry|harbor|quay|github-ghcr)$")
    """Harbor's adapter: docker-hub, docker-registry (default), harbor, quay or github-ghcr."""


class RegistryAddon(ChartAddon):
    """Harbor (the blueprint's registry: RBAC, audit logs) behind the ingress controller, its TLS
    from the registry CA the program derives (every node trusts it before its first pull)."""

    host: str | None = Field(default=None, pattern=_FQDN)
    """The registry's DNS name (images are ``<host>/<project>/<image>``), resolving to the ingress
    nodes. Required when enabled."""
    storage_size: Quantity = "200Gi"
    """Image storage: a volume of the block class (default 200Gi)."""
    database_size: Quantity = "10Gi"
    """Harbor's internal PostgreSQL volume (default 10Gi)."""
    proxy_cache: tuple[ProxyCache, ...] = ()
    """Proxy-cache projects (air-gapped sites pull ``<host>/<name>/library/nginx`` through Harbor).
    Default: none."""
    pull_secret: bool = True
    """An image pull secret (a read-only robot account) in every tenant namespace (default on)."""


class MonitoringAddon(ChartAddon):
    """kube-prometheus-stack: Prometheus, Alertmanager, Grafana, node-exporter and kube-state-metrics,
    plus the external etcd (client certificate) and the platform's alert rules."""

    retention: str = Field(default="15d", pattern=r"^[0-9]+(h|d|w)$")
    """How long Prometheus keeps samples (default 15d)."""
    prometheus_storage: Quantity = "50Gi"
    """Prometheus volume on the block class (default 50Gi; emptyDir without the storage add-on)."""
    prometheus_replicas: int = Field(default=2, ge=1)
    """Prometheus replicas (default 2: one keeps scraping while the other is rescheduled)."""
    alertmanager_replicas: int = Field(default=3, ge=1)
    """Alertmanager replicas (default 3: they form a gossip cluster; odd for its quorum)."""
    etcd_backup_max_age_hours: int = Field(default=13, ge=1)
    """Alert when an etcd member's newest verified snapshot is older than this (default 13 h: two
    missed 6-hourly runs plus jitter; shorten it with a shorter ``etcd.backup.schedule``)."""
    grafana_host: str | None = Field(default=None, pattern=_FQDN)
    """Grafana through the ingress controller at ``https://<grafanaHost>``. Default: none
    (``kubectl port-forward``, docs/addons-monitoring.md)."""


class LoggingAddon(ChartAddon):
    """The blueprint's log pipeline with the ECK operator (chart ``eck-operator``; ``values``) and,
    for ``logging: kafka``, the Strimzi operator (``strimziValues``): filebeat -> Kafka -> Logstash
    -> Elasticsearch -> Kibana, or filebeat -> Elasticsearch -> Kibana for ``direct``."""

    strimzi_values: dict[str, Any] = Field(default_factory=dict)
    """Overrides of the Strimzi chart's values (same rules as ``values``). Default: none."""
    retention_days: int = Field(default=14, ge=1)
    """Days a log line stays searchable (default 14)."""
    index_replicas: int = Field(default=1, ge=0)
    """Copies of each index shard on other Elasticsearch nodes (default 1)."""
    elasticsearch_nodes: int = Field(default=3, ge=1)
    """Elasticsearch nodes (default 3, a master quorum)."""
    elasticsearch_storage: Quantity = "200Gi"
    """Data volume per Elasticsearch node on the block class (default 200Gi)."""
    elasticsearch_memory: Quantity = "4Gi"
    """Memory per Elasticsearch node (its heap is half; default 4Gi)."""
    elasticsearch_cpu: Quantity = "1"
    """CPU request per Elasticsearch node (default 1)."""
    kafka_brokers: int = Field(default=3, ge=1)
    """kafka: KRaft nodes, each broker and controller (default 3)."""
    kafka_storage: Quantity = "50Gi"
    """kafka: volume per Kafka node (default 50Gi)."""
    kafka_retention_hours: int = Field(default=24, ge=1)
    """kafka: hours the buffer keeps lines, how long Elasticsearch may be down (default 24)."""
    logstash_replicas: int = Field(default=2, ge=1)
    """kafka: Logstash pods (default 2)."""
    kibana_host: str | None = Field(default=None, pattern=_FQDN)
    """Kibana through the ingress controller at ``https://<kibanaHost>``. Default: none (port-forward)."""


class Addons(_Model):
    chart_source: ChartSource = ChartSource.REPOSITORY
    """repository (default) or cache."""
    chart_cache: str | None = None
    """cache: the directory holding ``<chart>-<version>.tgz`` as ``helm pull`` writes them."""
    chart_sha256: dict[str, str] = Field(default_factory=dict)
    """cache: sha256 of a chart's ``.tgz`` by chart table name, for charts whose digest the table
    does not pin (config/charts.py). Record the digest of the file you pulled and reviewed."""
    cni: CniAddon = CniAddon()
    dns_autoscaler: DnsAutoscaler = DnsAutoscaler()
    metrics_server: MetricsServer = MetricsServer()
    ingress: Ingress = Ingress()
    events: Events = Events()
    governance: Governance = Governance()
    # ----------------------------------------------------------------- part 2 (addons-data) below
    storage: StorageAddon = StorageAddon()
    registry: RegistryAddon = RegistryAddon()
    monitoring: MonitoringAddon = MonitoringAddon()
    logging: LoggingAddon = LoggingAddon()

    def addon(self, key: str) -> Addon:
        """The sub-model of add-on ``key`` (its config key, e.g. ``dnsAutoscaler``)."""
        return getattr(self, _FIELDS[key])

    def is_enabled(self, key: str, environment: Environment) -> bool:
        """Whether add-on ``key`` runs in this stack: its ``enabled``, else the blueprint's default."""
        enabled = self.addon(key).enabled
        return ADDON_DEFAULTS[key][environment] if enabled is None else enabled


_FIELDS = {field.alias or name: name for name, field in Addons.model_fields.items()}

ON = dict.fromkeys(Environment, True)
ADDON_DEFAULTS: dict[str, dict[Environment, bool]] = {
    "cni": ON,
    # The lab's one 2C/2G node gives pods 524Mi after the kubelet's reservations: CoreDNS and the demo
    # apps take 448Mi of it. The autoscaler would only ever ask for its minimum of 2 on one node, and
    # metrics-server (200Mi) does not fit; both are on where there are workers.
    "dnsAutoscaler": {Environment.LAB: False, Environment.TEST: True, Environment.PROD: True},
    "metricsServer": {Environment.LAB: False, Environment.TEST: True, Environment.PROD: True},
    # The lab has no ingress pool (all-in-one); test and prod have the blueprint's tainted one.
    "ingress": {Environment.LAB: False, Environment.TEST: True, Environment.PROD: True},
    # Events need a webhook the lab does not have; test and prod state theirs.
    "events": {Environment.LAB: False, Environment.TEST: True, Environment.PROD: True},
    "governance": ON,
    # Ceph needs the storage pool (prod only); Harbor and logging keep their data on its block class.
    "storage": {Environment.LAB: False, Environment.TEST: False, Environment.PROD: True},
    "registry": {Environment.LAB: False, Environment.TEST: False, Environment.PROD: True},
    # Prometheus fits the test stack's workers (on emptyDir there); the lab's one 2C/2G node does not.
    "monitoring": {Environment.LAB: False, Environment.TEST: True, Environment.PROD: True},
    "logging": {Environment.LAB: False, Environment.TEST: False, Environment.PROD: True},
}
"""The blueprint's default per add-on and environment (an ``enabled`` key overrides it)."""


def tenant_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a tenant namespace, or None."""
    if not _DNS_LABEL.match(name):
        return f"{name!r} is not a DNS label (a-z, 0-9, '-', <= 32 chars)"
    if name.startswith("kube-") or name in ("default", "tigera-operator", "calico-system"):
        return f"{name!r} is a system namespace"
    return None
