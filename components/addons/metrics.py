"""MetricsServer: the resource metrics API (``metrics.k8s.io``) that HorizontalPodAutoscalers and
``kubectl top`` read (the blueprint's HPA for pods).

Two replicas with a PodDisruptionBudget by default, so HPA keeps its metrics while a node drains
(one replica gets no budget: it would block every drain). metrics-server reads each kubelet on
10250, which the node group's ``kubelet`` rule opens (components/iaas/rules_table.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.addons.chart import ChartComponent
from config.chart_values import Values
from config.charts import METRICS_SERVER
from config.values_network import MetricsServerValues, PodDisruptionBudget

TYPE = "k8splatform:addons:MetricsServer"


@dataclass(frozen=True)
class MetricsServerArgs:
    replicas: int = 2
    """Replicas (``addons.metricsServer.replicas``, >= 1); default 2."""
    values: dict[str, Any] = field(default_factory=dict)
    """The stack's override of the chart values (``addons.metricsServer.values``), type-checked."""


def metrics_server_values(args: MetricsServerArgs) -> MetricsServerValues:
    budget = PodDisruptionBudget(enabled=args.replicas > 1, min_available=1 if args.replicas > 1 else None)
    return MetricsServerValues(replicas=args.replicas, pod_disruption_budget=budget)


class MetricsServer(ChartComponent):
    """metrics-server's Helm release (kube-system)."""

    TYPE = TYPE
    PIN = METRICS_SERVER

    def values(self, args: MetricsServerArgs) -> Values:
        return metrics_server_values(args)
