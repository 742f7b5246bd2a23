"""Instances must meet the blueprint's sizing table and the Kubernetes node limit.

The program records each instance's environment, role and declared vCPU/RAM/disk in its Nova
metadata (``k8s-platform.*`` keys). The rows are repeated here on purpose: the pack is an
independent gate, so a change to the program's own table still has to pass this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INSTANCE = "openstack:compute/instance:Instance"
PREFIX = "k8s-platform."

# (environment, node kind) -> (vCPU, RAM GiB, disk GiB): seed section 服务器配置.
SIZING = {
    ("lab", "master"): (2, 2, 40),
    ("lab", "node"): (2, 2, 40),
    ("test", "master"): (2, 4, 40),
    ("test", "node"): (4, 8, 40),
    ("prod", "master"): (4, 8, 100),
    ("prod", "node"): (8, 64, 500),
}
# Dedicated etcd members are sized like masters; lb and bastion run no pods and are not sized.
ROLE_KIND = {"master": "master", "etcd": "master", "worker": "node", "ingress": "node", "storage": "node"}
KUBERNETES_ROLES = {"master", "worker", "ingress", "storage"}
MAX_NODES = 5000


def instance_sizing_violations(props: Mapping[str, Any]) -> list[str]:
    """What is wrong with one instance's declared size; empty when it meets its row."""
    metadata = props.get("metadata") or {}
    missing = [k for k in ("environment", "role", "vcpu", "ram-gib", "disk-gib") if PREFIX + k not in metadata]
    if missing:
        return [f"metadata lacks {', '.join(PREFIX + k for k in missing)}; sizing cannot be checked"]
    role = metadata[PREFIX + "role"]
    kind = ROLE_KIND.get(role)
    if kind is None:
        return []
    environment = metadata[PREFIX + "environment"]
    row = SIZING.get((environment, kind))
    if row is None:
        return [f"unknown environment {environment!r}"]
    declared = (int(metadata[PREFIX + "vcpu"]), int(metadata[PREFIX + "ram-gib"]), int(metadata[PREFIX + "disk-gib"]))
    return [
        f"{role} in {environment} declares {have} {unit}, the sizing table asks at least {need}"
        for unit, have, need in zip(("vCPU", "GiB RAM", "GiB disk"), declared, row, strict=True)
        if have < need
    ]


def node_count_violations(instances: list[Mapping[str, Any]]) -> list[str]:
    """The cluster may not grow past the Kubernetes node limit (5000, blueprint)."""
    nodes = sum(1 for p in instances if (p.get("metadata") or {}).get(PREFIX + "role") in KUBERNETES_ROLES)
    return [f"{nodes} Kubernetes nodes exceed the limit of {MAX_NODES}"] if nodes > MAX_NODES else []
