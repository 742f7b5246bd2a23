"""Every pool has the nodes the capacity plan says it needs (blueprint: demand x 1.2 + reservations, plus
the platform's own pods, planning/platform_pods.py).

The plan is the program's own (planning/ in the program, exposed as the Platform's ``capacityPlan``
input): the pack judges it and never recomputes the formula, so there is one implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def capacity_violations(plan: Mapping[str, Any]) -> list[str]:
    """A message per pool that has fewer nodes than its workloads need."""
    out = []
    for pool in plan.get("pools") or []:
        need, have = int(pool["required_nodes"]), int(pool["configured_nodes"])
        if have < need:
            # Numbers reach the pack as protobuf doubles: shown as the integers the plan holds.
            demand = {key: int(value) for key, value in pool["demand"].items()}
            out.append(
                f"pool {pool['pool']}: {have} nodes, the capacity plan needs {need} (bound by {pool['bound_by']}: "
                f"{demand['cpu_millicores']}m CPU, {demand['memory_mib']} MiB, {demand['pods']} pods: the workloads "
                "with 20 % headroom and the platform's own, after the kubelet reservations and DaemonSets)"
            )
    return out
