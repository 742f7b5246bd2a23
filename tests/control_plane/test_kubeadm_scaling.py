"""KubeadmCluster under mocks: adding or removing a worker touches that worker's machine and join step,
and its pool's Node step (which labels a new member and drains a removed one), nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.control_plane.test_kubeadm_cluster import COMPONENT, bootstrap
from tests.control_plane.test_kubeadm_scripts import inline_script
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
    # The add-on layer waits for every worker's join, so a worker added or removed changes the
    # dependency lists of its resources only, which the engine plans as no change
    # (tests/engine/test_change_previews.py): for them only a change of inputs counts.
    waiting = {n for n in changed if n.startswith("platform-addons-")}
    changed -= {n for n in waiting if repr_inputs(old[n].inputs) == repr_inputs(new[n].inputs)}
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
    assert removed == machine(pool, count, volumes) | {f"{COMPONENT}-{name}-join"}
    # The Platform component's capacityPlan input counts the nodes (what the policy pack judges);
    # a component has no provider, so that changes nothing in the cloud. The pool's Node step loses
    # the member: its update drains that node, before Pulumi deletes the removed resources.
    registration = f"{COMPONENT}-pool-{pool}-nodes"
    assert added == set() and changed == {"platform", registration} | also
    after = after.named(registration)
    assert [line.split()[0] for line in after.inputs["stdin"].splitlines()] == [
        f"k8s-prod-{pool}-{i}" for i in range(1, count)
    ]
    assert after.inputs["create"] == before.named(registration).inputs["create"]
    drain = inline_script(after.inputs["create"])
    assert 'drain "$1" --ignore-daemonsets --delete-emptydir-data --timeout=10m' in drain
    assert 'grep -q "^$node " <<<"$members" || remove_node "$node"' in drain
    assert f"PATTERN='^k8s-prod-{pool}-[0-9]+$'" in drain


def test_adding_a_worker_adds_only_its_machine_and_step():
    removed, added, changed = diff(bootstrap("prod"), bootstrap("prod", +1))
    assert added == machine("worker", 33) | {f"{COMPONENT}-k8s-prod-worker-33-join"}
    # The pool's Node step gets the new member (annotate, label, taint it); nothing else changes.
    assert removed == set() and changed == {"platform", f"{COMPONENT}-pool-worker-nodes"}
