"""Values models of the network and core add-ons' charts (config/charts.py rows): the keys the
program sets and a stack's ``addons.<addon>.values`` may override, typed (config/chart_values.py).

Each model follows its chart's ``values.yaml`` at the pinned version (read upstream, cited per
model); the components in components/addons/ fill them from their args.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.chart_values import Resources, Toleration, Values

Switch = Literal["Enabled", "Disabled"]


# ------------------------------------------------ tigera-operator v3.32.1 (charts/tigera-operator/values.yaml)


class IpPool(Values):
    """operator.tigera.io Installation ``calicoNetwork.ipPools[]``."""

    cidr: str
    """The pod CIDR (``network.podCidr``)."""
    encapsulation: Literal["IPIP", "VXLAN", "IPIPCrossSubnet", "VXLANCrossSubnet", "None"]
    nat_outgoing: Switch = "Enabled"
    node_selector: str = "all()"
    block_size: int = Field(default=26, ge=20, le=32)
    """IPAM block prefix; the program uses ``network.podCidrNodePrefix`` so a node's block matches the plan."""


class CalicoNetwork(Values):
    bgp: Switch
    """Enabled for IPIP and native routing (BGP 179 is open between nodes), Disabled for VXLAN."""
    ip_pools: tuple[IpPool, ...]
    linux_dataplane: Literal["Iptables", "BPF", "VPP", "Nftables"] = "Iptables"
    host_ports: Switch = "Enabled"
    """hostPort support (the ingress controller binds 80/443 with it)."""
    mtu: int | None = Field(default=None, ge=1000, le=9000)
    """Default: auto-detected from the node interface."""


class Installation(Values):
    enabled: bool = True
    kubernetes_provider: str = ""
    """Empty: the operator detects it (a kubeadm cluster is plain Kubernetes)."""
    calico_network: CalicoNetwork
    registry: str | None = None
    """Image registry (a Harbor proxy on air-gapped sites). Default: the operator's."""
    kubelet_volume_plugin_path: str = "None"
    """``None`` disables Calico's CSI driver (the chart's default)."""


class Toggle(Values):
    enabled: bool


class TigeraOperatorValues(Values):
    installation: Installation
    api_server: Toggle = Toggle(enabled=True)
    """The Calico API server (``projectcalico.org/v3`` via kubectl)."""
    goldmane: Toggle = Toggle(enabled=False)
    """Flow-log aggregation; off (no consumer on this platform, saves a Deployment)."""
    whisker: Toggle = Toggle(enabled=False)
    """Flow-log UI; off with goldmane."""
    tolerations: tuple[Toleration, ...] = (Toleration(operator="Exists"),)
    """The operator runs before any node is Ready (no CNI yet), so it tolerates every taint."""


# -------------------------------------------------------- flannel v0.28.9 (chart/kube-flannel/values.yaml)


class FlannelDaemon(Values):
    backend: Literal["vxlan"] = "vxlan"
    """The only backend the security groups open (UDP 8472)."""
    args: tuple[str, ...] = ("--ip-masq", "--kube-subnet-mgr")
    resources: Resources | None = None


class FlannelNetpol(Values):
    enabled: bool = True
    """kube-network-policies next to flannel: NetworkPolicy enforcement (flannel has none itself),
    which the tenants' default-deny policies need."""


class FlannelValues(Values):
    pod_cidr: str
    """The pod CIDR (``network.podCidr``), equal to kubeadm's podSubnet."""
    flannel: FlannelDaemon = FlannelDaemon()
    netpol: FlannelNetpol = FlannelNetpol()


# ------------------------- cluster-proportional-autoscaler 1.1.0 (charts/cluster-proportional-autoscaler/values.yaml)


class Linear(Values):
    """The autoscaler's linear mode parameters (its ``--default-params``/ConfigMap ``linear``)."""

    cores_per_replica: int = Field(ge=1)
    nodes_per_replica: int = Field(ge=1)
    min: int = Field(ge=1)
    max: int = Field(default=0, ge=0)
    prevent_single_point_failure: bool = True
    include_unschedulable_nodes: bool = False


class AutoscalerConfig(Values):
    linear: Linear


class AutoscalerOptions(Values):
    target: str = "deployment/coredns"
    """kubeadm's CoreDNS Deployment."""
    namespace: str = "kube-system"
    log_to_std_err: bool = True


class DnsAutoscalerValues(Values):
    config: AutoscalerConfig
    options: AutoscalerOptions = AutoscalerOptions()
    replica_count: int = Field(default=1, ge=1)
    resources: Resources = Resources.model_validate({"requests": {"cpu": "20m", "memory": "32Mi"}})
    priority_class_name: str = "system-cluster-critical"


# ----------------------------------------------- metrics-server 3.13.1 (charts/metrics-server/values.yaml)


class PodDisruptionBudget(Values):
    enabled: bool = True
    min_available: int | None = Field(default=1, ge=0)


class MetricsServerValues(Values):
    replicas: int = Field(default=2, ge=1)
    args: tuple[str, ...] = ("--kubelet-insecure-tls",)
    """kubeadm's kubelets serve self-signed certificates (no ``serverTLSBootstrap``), so metrics-server
    cannot verify them; docs/addons-network.md says how to switch to verified kubelet certificates."""
    pod_disruption_budget: PodDisruptionBudget = PodDisruptionBudget()
    resources: Resources = Resources.model_validate({"requests": {"cpu": "100m", "memory": "200Mi"}})


# ------------------------------------------------- ingress-nginx 4.15.1 (charts/ingress-nginx/values.yaml)


class HostPorts(Values):
    http: int = 80
    https: int = 443


class HostPort(Values):
    enabled: bool
    ports: HostPorts = HostPorts()


class NodePorts(Values):
    http: int | None = Field(default=None, ge=30000, le=32767)
    https: int | None = Field(default=None, ge=30000, le=32767)


class ControllerService(Values):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"]
    node_ports: NodePorts = NodePorts()


class IngressClassResource(Values):
    default: bool = True
    """The cluster's default IngressClass."""


class Controller(Values):
    kind: Literal["DaemonSet", "Deployment"] = "DaemonSet"
    """One controller per ingress node (DaemonSet), the nodes the floating IPs point at."""
    host_port: HostPort
    service: ControllerService
    node_selector: dict[str, str]
    tolerations: tuple[Toleration, ...]
    ingress_class_resource: IngressClassResource = IngressClassResource()
    resources: Resources = Resources.model_validate({"requests": {"cpu": "100m", "memory": "90Mi"}})


class IngressNginxValues(Values):
    controller: Controller


VALUES: dict[str, type[Values]] = {
    "tigera-operator": TigeraOperatorValues,
    "flannel": FlannelValues,
    "cluster-proportional-autoscaler": DnsAutoscalerValues,
    "metrics-server": MetricsServerValues,
    "ingress-nginx": IngressNginxValues,
}
"""Values model by chart table name (config/charts.py)."""
