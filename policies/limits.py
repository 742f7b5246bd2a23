"""Kubernetes' scalability limits, as the blueprint states them (v1.18; defaults of the pack's config).

A cluster of this platform must stay within 5000 nodes, 150000 pods, 300000 containers and 100 pods
per node (seed: 不超过5000个节点, 不超过150000个pod, 不超过300000个容器, 每个节点不超过100个pod).
Pods and containers are counted from the capacity plan the program exposes (components: the
Platform's ``capacityPlan`` input): what the workload inventory plans plus the platform's own pods.
The pack reads that plan; it never computes one itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

PLATFORM = "k8splatform:index:Platform"
"""The component whose inputs carry the capacity plan (``capacityPlan``) and per-pool kubelet configs."""
POOL_STACK = "k8splatform:index:PoolStack"
"""A pool stack's component (docs/scaling.md): its inputs carry its platform stack's plan, which counts
every pool stack's node budget, and its own pools' kubelet configs. The limits are the cluster's, so
a pool stack is judged on the plan of the whole cluster, not on its own share."""
PLAN_CARRIERS = (PLATFORM, POOL_STACK)
DEFAULTS = {"maxNodes": 5000, "maxPods": 150000, "maxContainers": 300000, "maxPodsPerNode": 100}


def plan_total(plan: Mapping[str, Any], what: str) -> int:
    """``what`` (pods or containers) the plan counts: the workloads' and the platform's own."""
    return int(plan.get(f"total_{what}") or 0)


def count_violations(what: str, planned: int, limit: int, beside: str = "") -> list[str]:
    """One message when ``planned`` exceeds ``limit``: the value, the limit and what it counts."""
    if planned <= limit:
        return []
    return [f"the stack plans {planned} {what}, over the limit of {limit}{beside}"]


def nodes_violations(plan: Mapping[str, Any], limit: int) -> list[str]:
    """The cluster's planned nodes: this stack's and the pool stacks' budgets (``total_nodes``)."""
    nodes = int(plan.get("total_nodes") or 0)
    if nodes <= limit:
        return []
    return [f"the cluster plans {nodes} Kubernetes nodes (with its pool stacks' budgets), over the limit of {limit}"]


def budget_violations(nodes: int, budget: Any) -> list[str]:
    """A pool stack's Kubernetes nodes against its budget from the platform stack (``nodeBudget``)."""
    if budget is None or nodes <= int(budget):
        return []
    return [f"the pool stack has {nodes} Kubernetes nodes, over its budget of {int(budget)} from its platform stack"]


def pods_violations(plan: Mapping[str, Any], limit: int) -> list[str]:
    pods = plan_total(plan, "pods")
    beside = f" (the nodes could hold {int(plan.get('pod_capacity') or 0)}: Kubernetes nodes x kubelet maxPods)"
    return count_violations("pods (workloads and the platform's own)", pods, limit, beside)


def containers_violations(plan: Mapping[str, Any], limit: int) -> list[str]:
    return count_violations("containers (workloads and the platform's own)", plan_total(plan, "containers"), limit)


def kubelet_max_pods(kubelet_configuration: str) -> int | None:
    """``maxPods`` of a rendered KubeletConfiguration (one document of a kubeadm config stream)."""
    for document in yaml.safe_load_all(kubelet_configuration):
        if isinstance(document, dict) and document.get("kind") == "KubeletConfiguration":
            value = document.get("maxPods")
            return None if value is None else int(value)
    return None


def max_pods_violations(pool: str, kubelet_configuration: str, limit: int) -> list[str]:
    """The pool's kubelet may not accept more pods per node than ``limit``."""
    max_pods = kubelet_max_pods(kubelet_configuration)
    if max_pods is None:
        return [f"pool {pool}: its KubeletConfiguration sets no maxPods (kubelet's default is 110 > {limit})"]
    if max_pods > limit:
        return [f"pool {pool}: kubelet maxPods is {max_pods}, over the limit of {limit} pods per node"]
    return []
