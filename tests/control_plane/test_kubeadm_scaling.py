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

    def comparable(r: Registration) -> tuple:
        return (repr_inputs(r.inputs), sorted(r.dependencies))

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


@pytest.mark.parametrize(("pool", "count", "volumes"), [("worker", 31, ()), ("storage", 3, ("osd0", "osd1"))])
def test_removing_a_worker_removes_its_machine_and_steps_and_changes_nothing_else(pool, count, volumes):
    removed, added, changed = diff(bootstrap("prod"), bootstrap("prod", -1, pool))
    name = f"k8s-prod-{pool}-{count}"
    steps = {f"{COMPONENT}-{name}-{s}" for s in ("prep", "secrets", "join", "node")}
    assert removed == machine(pool, count, volumes) | steps
    # The Platform component's capacityPlan input counts the nodes (what the policy pack judges);
    # a component has no provider, so that changes nothing in the cloud.
    assert added == set() and changed == {"platform"}
    # The one drain: from the first master, that node only.
    drain = bootstrap("prod").named(f"{COMPONENT}-{name}-node").inputs["delete"]
    assert f"drain {name} --ignore-daemonsets --delete-emptydir-data --timeout=10m" in drain
    assert f"delete node {name} --ignore-not-found" in drain
    assert set(re.findall(r"k8s-prod-[a-z]+-[0-9]+", drain)) == {name}


def test_adding_a_worker_adds_only_its_machine_and_steps():
    removed, added, changed = diff(bootstrap("prod"), bootstrap("prod", +1))
    steps = {f"{COMPONENT}-k8s-prod-worker-32-{s}" for s in ("prep", "secrets", "join", "node")}
    assert added == machine("worker", 32) | steps
    assert removed == set() and changed == {"platform"}  # its capacityPlan input, as above
