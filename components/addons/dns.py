"""DnsAutoscaler: cluster-proportional-autoscaler scaling kubeadm's CoreDNS Deployment by the
cluster's nodes and cores (the blueprint's best practice: CoreDNS scaled out with the cluster).

Linear mode (https://github.com/kubernetes-sigs/cluster-proportional-autoscaler#linear-mode):
replicas = max(ceil(cores / coresPerReplica), ceil(nodes / nodesPerReplica)), at least ``min``
(2: one CoreDNS is a single point of failure for every lookup) and at most ``max`` (0: none).
planning/platform_pods.py counts the same replicas in the capacity plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.addons.chart import ChartComponent
from config.chart_values import Values
from config.charts import DNS_AUTOSCALER
from config.values_network import AutoscalerConfig, DnsAutoscalerValues, Linear

TYPE = "k8splatform:addons:DnsAutoscaler"


@dataclass(frozen=True)
class DnsAutoscalerArgs:
    cores_per_replica: int
    """Cluster cores per CoreDNS replica (``addons.dnsAutoscaler.coresPerReplica``, >= 1)."""
    nodes_per_replica: int
    """Cluster nodes per CoreDNS replica (``nodesPerReplica``, >= 1)."""
    min_replicas: int
    """Fewest CoreDNS replicas (``minReplicas``, >= 2)."""
    max_replicas: int = 0
    """Most CoreDNS replicas (``maxReplicas``); 0: no upper bound. Default 0."""
    values: dict[str, Any] = field(default_factory=dict)
    """The stack's override of the chart values (``addons.dnsAutoscaler.values``), type-checked."""

    def __post_init__(self) -> None:
        if self.min_replicas < 2:
            raise ValueError("DnsAutoscalerArgs.min_replicas: at least 2 (HA)")


def dns_autoscaler_values(args: DnsAutoscalerArgs) -> DnsAutoscalerValues:
    linear = Linear(
        cores_per_replica=args.cores_per_replica,
        nodes_per_replica=args.nodes_per_replica,
        min=args.min_replicas,
        max=args.max_replicas,
    )
    return DnsAutoscalerValues(config=AutoscalerConfig(linear=linear))


class DnsAutoscaler(ChartComponent):
    """The autoscaler's Helm release (kube-system)."""

    TYPE = TYPE
    PIN = DNS_AUTOSCALER

    def values(self, args: DnsAutoscalerArgs) -> Values:
        return dns_autoscaler_values(args)
