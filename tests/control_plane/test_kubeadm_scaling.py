"""KubeadmCluster under mocks: adding or removing a worker touches that worker's machine and steps only."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.control_plane.test_kubeadm_cluster import COMPONENT, bootstrap
from tests.harness import ProgramRun, Registration, Secret


def diff(before: ProgramRun, after: ProgramRun) -> tuple[set[str], set[str], set[str]]:
    """(removed names, added names, names whose inputs or dependencies changed)."""
    old = {r.name: r for r in before.resources}
    new = {r.name: r for r in after.resources}
    # A dependency on a resource only one run has (the removed or added node's steps, which every
    # add-on waits for) is not a change of the dependent: Pulumi diffs inputs, not dependencies.
    both = {r.urn for r in before.resources} & {r.urn for r in after.resources}

    def comparable(r: Registration) -> tuple:
        return (repr_inputs(r.inputs), sorted(d for d in r.dependencies if d in both))

    changed = {n for n in old.keys() & new.keys() if comparable(old[n]) != comparable(new[n])}
    return old.keys() - new.keys(), new.keys() - old.keys(), changed


def repr_inputs(value: Any) -> Any:
    if isinstance(value, Secret):
        return ("secret", repr_inputs(value.value))
    if isinstance(value, dict):
        return {k: repr_inputs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [repr_inputs(v) for v in value]
    return value


def machine(pool: str, index: int, volumes: tuple[str, ...] = ()) -> set[str]:
    prefix = f"platform-iaas-pool-{pool}-{index}"
    return {prefix, f"{prefix}-port", *(f"{prefix}-{v}" for v in volumes), *(f"{prefix}-{v}-attach" for v in volumes)}


@pytest.mark.parametrize(
    ("pool", "count", "volumes", "also"),
    [
        ("worker", 32, (), set()),
        # A storage node's OSDs leave the Ceph cluster's device list too (the Rook cluster release);
        # prod's 3 storage nodes are the minimum for 3 replicas, so a 4th one is removed.
        ("storage", 4, ("osd0", "osd1"), {"platform-addons-storage-cluster"}),
    ],
)
def test_removing_a_worker_removes_its_machine_and_steps_and_changes_nothing_else(pool, count, volumes, also):
    before = bootstrap("prod", +1, pool) if pool == "storage" else bootstrap("prod")
    after = bootstrap("prod") if pool == "storage" else bootstrap("prod", -1, pool)
    removed, added, changed = diff(before, after)
    name = f"k8s-prod-{pool}-{count}"
    steps = {f"{COMPONENT}-{name}-{s}" for s in ("prep", "secrets", "join", "node")}
    assert removed == machine(pool, count, volumes) | steps
    # The Platform component's capacityPlan input counts the nodes (what the policy pack judges);
    # a component has no provider, so that changes nothing in the cloud.
    assert added == set() and changed == {"platform"} | also
    # The one drain: from the first master, that node only.
    drain = before.named(f"{COMPONENT}-{name}-node").inputs["delete"]
    assert f"drain {name} --ignore-daemonsets --delete-emptydir-data --timeout=10m" in drain
    assert f"delete node {name} --ignore-not-found" in drain
    assert set(re.findall(r"k8s-prod-[a-z]+-[0-9]+", drain)) == {name}


def test_adding_a_worker_adds_only_its_machine_and_steps():
    removed, added, changed = diff(bootstrap("prod"), bootstrap("prod", +1))
    steps = {f"{COMPONENT}-k8s-prod-worker-33-{s}" for s in ("prep", "secrets", "join", "node")}
    assert added == machine("worker", 33) | steps
    assert removed == set() and changed == {"platform"}  # its capacityPlan input, as above
