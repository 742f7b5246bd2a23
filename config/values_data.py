"""Values models of the data add-ons' charts (config/charts.py rows): the keys the program sets and
a stack's ``addons.<addon>.values`` may override, typed (config/chart_values.py).

Each model follows its chart's ``values.yaml`` at the pinned version (read upstream, cited per
model); the components in components/addons/ fill them, the Ceph cluster's from
components/render/ceph_cluster.py. Secrets never appear here: a value that would hold one names
the Kubernetes Secret the component creates instead (``existingSecret`` keys).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.chart_values import Resources, Toleration, Values
from config.spec_sections import Quantity

# ----------------------------------------- rook-ceph v1.20.6 (deploy/charts/rook-ceph/values.yaml)


class Toggle(Values):
    enabled: bool


class RookCsi(Values):
    install_csi_operator: bool = True
    """Rook 1.20 manages the CSI drivers through the ceph-csi-operator (its breaking change)."""


class RookOperatorValues(Values):
    crds: Toggle = Toggle(enabled=True)
    """The chart installs and upgrades the Ceph CRDs."""
    monitoring: Toggle = Toggle(enabled=False)
    """ServiceMonitors for the operator; on with the monitoring add-on (its CRDs must exist)."""
    enable_discovery_daemon: bool = False
    """No disk discovery DaemonSet: the OSD devices are listed per node."""
    csi: RookCsi = RookCsi()
    resources: Resources = Resources.model_validate({"requests": {"cpu": "200m", "memory": "128Mi"}})


# ------------------------ rook-ceph-cluster v1.20.6 (deploy/charts/rook-ceph-cluster/values.yaml)


class MatchExpression(Values):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: tuple[str, ...] = ()


class NodeSelectorTerm(Values):
    match_expressions: tuple[MatchExpression, ...]


class RequiredNodeAffinity(Values):
    node_selector_terms: tuple[NodeSelectorTerm, ...]


class NodeAffinity(Values):
    required_during_scheduling_ignored_during_execution: RequiredNodeAffinity


class PlacementSpec(Values):
    node_affinity: NodeAffinity
    tolerations: tuple[Toleration, ...] = ()


class Placement(Values):
    all_: PlacementSpec = Field(alias="all")
    """Every Ceph daemon: the storage pool's nodes."""


class CephVersion(Values):
    image: str
    allow_unsupported: bool = False


class DaemonCount(Values):
    count: int = Field(ge=1)
    allow_multiple_per_node: bool = False


class Device(Values):
    name: str = Field(pattern=r"^/dev/disk/by-id/\S+$")
    """A stable device path (render/ceph_cluster.py osd_device)."""


class StorageNode(Values):
    name: str
    devices: tuple[Device, ...] = Field(min_length=1)


class CephStorage(Values):
    use_all_nodes: Literal[False] = False
    """Never every node: only the listed storage nodes."""
    use_all_devices: Literal[False] = False
    """Never every device: only the listed data volumes (a boot or etcd disk is never formatted)."""
    nodes: tuple[StorageNode, ...] = Field(min_length=1)


class Dashboard(Values):
    enabled: bool = True
    ssl: bool = True


class PriorityClassNames(Values):
    mon: str = "system-node-critical"
    osd: str = "system-node-critical"
    mgr: str = "system-cluster-critical"


class DisruptionManagement(Values):
    manage_pod_budgets: bool = True


class CephClusterSpec(Values):
    """The CephCluster ``spec`` (Documentation/CRDs/Cluster/ceph-cluster-crd.md)."""

    ceph_version: CephVersion
    data_dir_host_path: str = "/var/lib/rook"
    mon: DaemonCount
    mgr: DaemonCount
    dashboard: Dashboard = Dashboard()
    placement: Placement
    storage: CephStorage
    priority_class_names: PriorityClassNames = PriorityClassNames()
    disruption_management: DisruptionManagement = DisruptionManagement()
    resources: dict[str, Resources] = Field(default_factory=dict)


class Replicated(Values):
    size: int = Field(ge=1)


class PoolSpec(Values):
    failure_domain: Literal["host", "osd", "rack", "zone"] = "host"
    replicated: Replicated


class NamedPool(PoolSpec):
    name: str


class StorageClassValues(Values):
    enabled: bool = True
    name: str
    is_default: bool = False
    reclaim_policy: Literal["Retain", "Delete"] = "Retain"
    allow_volume_expansion: bool | None = None
    volume_binding_mode: Literal["Immediate", "WaitForFirstConsumer"] = "Immediate"
    pool: str | None = None
    parameters: dict[str, str] = Field(default_factory=dict)


class BlockPool(Values):
    name: str
    spec: PoolSpec
    storage_class: StorageClassValues


class MetadataServer(Values):
    active_count: int = Field(default=1, ge=1)
    active_standby: bool = True
    placement: PlacementSpec | None = None
    resources: Resources | None = None


class MetadataPool(Values):
    replicated: Replicated


class FsSpec(Values):
    metadata_pool: MetadataPool
    data_pools: tuple[NamedPool, ...]
    metadata_server: MetadataServer = MetadataServer()


class FileSystem(Values):
    name: str
    spec: FsSpec
    storage_class: StorageClassValues


class Gateway(Values):
    port: int = 80
    instances: int = Field(ge=1)
    placement: PlacementSpec | None = None
    resources: Resources | None = None


class ObjectStoreSpec(Values):
    metadata_pool: PoolSpec
    data_pool: PoolSpec
    preserve_pools_on_delete: bool = True
    gateway: Gateway


class ObjectStore(Values):
    name: str
    spec: ObjectStoreSpec
    storage_class: StorageClassValues


class RookClusterValues(Values):
    operator_namespace: str
    toolbox: Toggle = Toggle(enabled=True)
    """The ``ceph`` CLI pod (``kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph status``)."""
    monitoring: Toggle = Toggle(enabled=False)
    """Ceph's exporter ServiceMonitor and PrometheusRules; on with the monitoring add-on."""
    ceph_cluster_spec: CephClusterSpec
    ceph_block_pools: tuple[BlockPool, ...]
    ceph_file_systems: tuple[FileSystem, ...]
    ceph_object_stores: tuple[ObjectStore, ...]


# -------------------------------------------------------------- harbor 1.19.1 (goharbor/harbor-helm values.yaml)


class TlsSecret(Values):
    secret_name: str


class ExposeTls(Values):
    enabled: bool = True
    cert_source: Literal["auto", "secret", "none"] = "secret"
    """secret: the serving certificate the program derives (render/registry_pki.py)."""
    secret: TlsSecret


class IngressHosts(Values):
    core: str


class ExposeIngress(Values):
    hosts: IngressHosts
    class_name: str = "nginx"
    annotations: dict[str, str] = Field(
        default_factory=lambda: {
            "nginx.ingress.kubernetes.io/ssl-redirect": "true",
            "nginx.ingress.kubernetes.io/proxy-body-size": "0",  # image layers are unbounded
        }
    )


class Expose(Values):
    type: Literal["ingress"] = "ingress"
    tls: ExposeTls
    ingress: ExposeIngress


class Pvc(Values):
    storage_class: str
    size: Quantity
    access_mode: Literal["ReadWriteOnce", "ReadWriteMany"] = "ReadWriteOnce"


class JobserviceClaims(Values):
    job_log: Pvc


class HarborClaims(Values):
    registry: Pvc
    database: Pvc
    redis: Pvc
    trivy: Pvc
    jobservice: JobserviceClaims


class ImageChartStorage(Values):
    type: Literal["filesystem"] = "filesystem"
    """Images on the registry's RBD volume (``persistence.persistentVolumeClaim.registry``)."""


class HarborPersistence(Values):
    enabled: bool = True
    resource_policy: Literal["keep"] = "keep"
    """``helm uninstall`` keeps the volumes (the images and the database are data)."""
    persistent_volume_claim: HarborClaims
    image_chart_storage: ImageChartStorage = ImageChartStorage()


class HarborValues(Values):
    expose: Expose
    external_url: str = Field(alias="externalURL", pattern=r"^https://\S+$")
    persistence: HarborPersistence
    existing_secret_admin_password: str
    """Secret with ``HARBOR_ADMIN_PASSWORD`` (derived from the seed, components/addons/registry.py)."""
    existing_secret_secret_key: str
    """Secret with ``secretKey`` (16 characters, derived), Harbor's key for stored credentials."""
    ca_secret_name: str
    """Secret with ``ca.crt``: the portal offers the registry CA for download."""
    update_strategy: dict[str, str] = Field(default_factory=lambda: {"type": "Recreate"})
    """Recreate: the registry's ReadWriteOnce volume cannot be mounted by two pods during a rollout."""


# ----------------------------------- kube-prometheus-stack 88.5.3 (charts/kube-prometheus-stack/values.yaml)


class EtcdService(Values):
    enabled: bool = True
    port: int = 2379
    target_port: int = 2379


class EtcdServiceMonitor(Values):
    scheme: Literal["https"] = "https"
    insecure_skip_verify: Literal[False] = False
    ca_file: str
    cert_file: str
    key_file: str


class KubeEtcd(Values):
    enabled: bool = True
    endpoints: tuple[str, ...]
    """The etcd members' addresses (the chart makes a selector-less Service and Endpoints)."""
    service: EtcdService = EtcdService()
    service_monitor: EtcdServiceMonitor


class ClaimResources(Values):
    requests: dict[str, Quantity]


class ClaimSpec(Values):
    storage_class_name: str
    access_modes: tuple[str, ...] = ("ReadWriteOnce",)
    resources: ClaimResources


class ClaimTemplate(Values):
    spec: ClaimSpec


class StorageSpec(Values):
    volume_claim_template: ClaimTemplate


class PrometheusSpec(Values):
    replicas: int = Field(ge=1)
    retention: str
    secrets: tuple[str, ...] = ()
    """Secrets mounted at /etc/prometheus/secrets/<name>/ (the etcd client certificate)."""
    storage_spec: StorageSpec | None = None
    additional_scrape_configs: tuple[dict[str, object], ...] = ()
    resources: Resources = Resources.model_validate({"requests": {"cpu": "500m", "memory": "2Gi"}})
    rule_selector_nil_uses_helm_values: bool = False
    service_monitor_selector_nil_uses_helm_values: bool = False
    """Both False: Prometheus picks up every PrometheusRule and ServiceMonitor (Rook's, ECK's)."""


class PrometheusValues(Values):
    prometheus_spec: PrometheusSpec


class AlertmanagerSpec(Values):
    replicas: int = Field(ge=1)
    resources: Resources = Resources.model_validate({"requests": {"cpu": "50m", "memory": "128Mi"}})


class AlertmanagerValues(Values):
    alertmanager_spec: AlertmanagerSpec


class GrafanaAdmin(Values):
    existing_secret: str
    user_key: str = "admin-user"
    password_key: str = "admin-password"


class GrafanaIngress(Values):
    enabled: bool = False
    ingress_class_name: str = "nginx"
    hosts: tuple[str, ...] = ()


class GrafanaValues(Values):
    admin: GrafanaAdmin
    ingress: GrafanaIngress = GrafanaIngress()
    resources: Resources = Resources.model_validate({"requests": {"cpu": "100m", "memory": "256Mi"}})


class HostMount(Values):
    name: str
    host_path: str
    mount_path: str
    read_only: bool = True
    type: Literal["DirectoryOrCreate", "Directory"] = "DirectoryOrCreate"
    """Created when missing: only etcd members' backups write into it."""


class NodeExporterValues(Values):
    extra_args: tuple[str, ...] = ()
    extra_host_volume_mounts: tuple[HostMount, ...] = ()
    tolerations: tuple[Toleration, ...] = (Toleration(operator="Exists"),)
    """Every node, masters, ingress and storage nodes included."""


class RuleGroups(Values):
    groups: tuple[dict[str, object], ...]


class KubePrometheusStackValues(Values):
    kube_etcd: KubeEtcd | None = None
    """External etcd with a client certificate; None where no etcd is reachable for scraping."""
    kube_controller_manager: Toggle = Toggle(enabled=False)
    """Off: kubeadm binds its metrics to 127.0.0.1 (the targets would be down forever)."""
    kube_scheduler: Toggle = Toggle(enabled=False)
    """Off, as the controller manager."""
    kube_proxy: Toggle = Toggle(enabled=False)
    """Off: kube-proxy's metrics listen on 127.0.0.1:10249 under kubeadm."""
    prometheus: PrometheusValues
    alertmanager: AlertmanagerValues
    grafana: GrafanaValues
    prometheus_node_exporter: NodeExporterValues = Field(default=NodeExporterValues(), alias="prometheus-node-exporter")
    additional_prometheus_rules_map: dict[str, RuleGroups] = Field(default_factory=dict)


# ---------------------------------------------------- eck-operator 3.5.0 (deploy/eck-operator/values.yaml)


class EckOperatorValues(Values):
    install_crds: bool = Field(default=True, alias="installCRDs")
    replica_count: int = Field(default=1, ge=1)
    resources: Resources = Resources.model_validate({"requests": {"cpu": "100m", "memory": "150Mi"}})


# ---------------------------------- strimzi-kafka-operator 1.2.0 (packaging/helm-charts/helm3/.../values.yaml)


class StrimziValues(Values):
    replicas: int = Field(default=1, ge=1)
    watch_namespaces: tuple[str, ...] = ()
    """Namespaces besides its own whose Kafka resources the operator manages (the logging one)."""
    resources: Resources = Resources.model_validate({"requests": {"cpu": "200m", "memory": "384Mi"}})


VALUES: dict[str, type[Values]] = {
    "rook-ceph": RookOperatorValues,
    "rook-ceph-cluster": RookClusterValues,
    "harbor": HarborValues,
    "kube-prometheus-stack": KubePrometheusStackValues,
    "eck-operator": EckOperatorValues,
    "strimzi-kafka-operator": StrimziValues,
}
"""Values model by chart table name (config/charts.py)."""
