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


def instance_sizing_violations(props: Mapping[str, Any], flavors: Mapping[str, Any] | None = None) -> list[str]:
    """What is wrong with one instance's size; empty when it meets its row.

    Without a flavor table the declared numbers (the instance's metadata) are judged. With one
    (``flavors``: name -> {vcpu, ramGib}, the cloud's real flavors, from the pack's config), the
    flavor the instance actually uses is looked up there and its vCPU/RAM are judged, and the disk
    is the boot volume's size; a flavor missing from the table, or declared numbers that disagree
    with it, are violations too.
    """
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
    if not flavors:
        return _below_row(f"{role} in {environment} declares", declared, row)
    flavor = props.get("flavorName")
    if flavor not in flavors:
        return [f"{role} in {environment} uses flavor {flavor!r}, which the flavor table does not list"]
    actual = (int(flavors[flavor]["vcpu"]), int(flavors[flavor]["ramGib"]), boot_volume_gib(props) or declared[2])
    problems = _below_row(f"{role} in {environment} on flavor {flavor} has", actual, row)
    if actual[:2] != declared[:2]:
        problems.append(
            f"{role} in {environment} declares {declared[0]} vCPU/{declared[1]} GiB but flavor {flavor} has "
            f"{actual[0]} vCPU/{actual[1]} GiB (fix vcpu/ramGib of its pool)"
        )
    return problems


def _below_row(what: str, size: tuple[int, int, int], row: tuple[int, int, int]) -> list[str]:
    return [
        f"{what} {have} {unit}, the sizing table asks at least {need}"
        for unit, have, need in zip(("vCPU", "GiB RAM", "GiB disk"), size, row, strict=True)
        if have < need
    ]


def boot_volume_gib(props: Mapping[str, Any]) -> int | None:
    """The size of the volume the instance boots from (boot-from-volume), if it has one."""
    for device in props.get("blockDevices") or []:
        if int(device.get("bootIndex", -1)) == 0 and device.get("volumeSize") is not None:
            return int(device["volumeSize"])
    return None


def kubernetes_nodes(instances: list[Mapping[str, Any]]) -> int:
    """Instances whose role joins Kubernetes (their metadata's ``k8s-platform.role``)."""
    return sum(1 for p in instances if (p.get("metadata") or {}).get(PREFIX + "role") in KUBERNETES_ROLES)


def node_count_violations(instances: list[Mapping[str, Any]], limit: int = MAX_NODES) -> list[str]:
    """The cluster may not grow past the Kubernetes node limit (5000, blueprint; the pack's config)."""
    nodes = kubernetes_nodes(instances)
    return [f"the stack has {nodes} Kubernetes nodes, over the limit of {limit}"] if nodes > limit else []
