"""A pool stack previewed by the real engine (issue 14): against a deployed platform stack in the
same backend (prod, with a budget for it, deployed by the fixture of tests/engine/deployed.py).

The preview reads the platform's outputs (its ``pool_stack`` output with the config, its secret
``worker_join`` through a StackReference), plans three resources per worker and the pool's Node
step, runs the policy pack on the cluster's plan, and keeps the join issuer's token out of every
event. Over its budget, the real CLI stops before any resource, naming the key.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.engine.deployed import deployed_workspace
from tests.engine.project import Workspace
from tests.harness import NAMESPACE, SEED_KEY, TEST_SEED, stack_config
from tests.test_pool_stacks import BUDGET, POOL_STACK, budget, pool_config

pytestmark = pytest.mark.engine

WORKERS = 12
POOL_SEED = "9001" * 16
"""The pool stack's own seed (its machines' host keys), not the platform's."""


@pytest.fixture(scope="module")
def platform(tmp_path_factory, toolchain) -> Workspace:
    """prod after a fictive ``up`` with a budget for ``prod-pool-a``."""
    workspace = Workspace(tmp_path_factory.mktemp("pool-stacks"))
    return deployed_workspace(workspace, "prod", {"poolStacks": {POOL_STACK: budget()}})


def pool_preview(workspace: Workspace, count: int):
    workspace.write_stack(POOL_STACK, config=pool_config(count))
    seed = workspace.pulumi(POOL_STACK, "config", "set", "--secret", f"{NAMESPACE}:{SEED_KEY}", stdin=POOL_SEED)
    assert seed.ok, seed.stderr
    return workspace.preview(POOL_STACK)


def test_a_pool_stack_previews_against_its_deployed_platform(platform):
    run = pool_preview(platform, WORKERS)
    assert run.ok, run.stderr[-3000:] + run.stdout[-3000:]
    assert run.diagnostics("error") == []
    assert run.type_counts("create") == {
        "k8splatform:index:PoolStack": 1,
        "k8splatform:iaas:NodePool": 1,
        "openstack:compute/serverGroup:ServerGroup": 1,
        "openstack:networking/port:Port": WORKERS,
        "openstack:compute/instance:Instance": WORKERS,
        "command:remote:Command": WORKERS + 1,
    }
    # The platform's outputs are read, not changed: the StackReference is a read step.
    reads = [s for s in run.steps() if s["type"] == "pulumi:pulumi:StackReference"]
    assert [s["op"] for s in reads] == ["read"]
    # The policy pack judged the pool stack and the cluster's plan it carries.
    assert "k8s-platform-gates" in run.policies_run(), run.policies_run()
    assert not run.policy_violations()
    # Its machines join prod's cluster: prod's names, network and key pair.
    instances = {s["new"]["inputs"]["name"] for s in run.program_steps() if s["type"].endswith("instance:Instance")}
    assert instances == {f"k8s-prod-batch-{i}" for i in range(1, WORKERS + 1)}


def test_the_join_issuers_token_stays_secret_in_the_pool_stack(platform):
    run = pool_preview(platform, 2)
    assert run.ok, run.stderr[-3000:]
    exported = platform.pulumi("prod", "stack", "output", "worker_join", "--show-secrets", "--json")
    assert exported.ok, exported.stderr
    token = json.loads(exported.stdout)["issuer_token"]
    events = "\n".join(json.dumps(e) for e in run.events)
    assert token not in events and token not in run.stdout + run.stderr
    assert TEST_SEED not in events


def test_a_pool_stack_over_its_budget_fails_before_any_resource(platform):
    run = pool_preview(platform, BUDGET + 1)
    assert not run.ok
    text = run.stdout + run.stderr
    expected = f"{NAMESPACE}:nodePools: {BUDGET + 1} machines exceed this stack's node budget of {BUDGET}"
    assert expected in text, text[-3000:]
    assert "Traceback" not in text
    assert run.type_counts() == {}


def test_a_pool_stack_of_a_platform_never_deployed_fails_naming_the_key(tmp_path, toolchain):
    """The backend has no such stack: the engine's read of its outputs fails, the rule says what to do."""
    workspace = Workspace(tmp_path)
    run = pool_preview(workspace, 3)
    assert not run.ok
    text = run.stdout + run.stderr
    assert f"{NAMESPACE}:platformStack: stack 'prod' has recorded no outputs: deploy it first" in text, text[-3000:]
    assert "Traceback" not in text
    assert run.type_counts() == {}


# ------------------------------------------------------------- moving a pool out of the platform


def test_a_pool_moved_from_the_platform_keeps_every_resource(tmp_path, toolchain):
    """docs/scaling.md section 4, step by step: prod's gpu pool moved into a pool stack.

    prod as deployed (no pool stacks yet); the pool stack with prod's seed (the machines' host
    keys); prod's config budgets it and drops the pool; ``pulumi state move``; prod's preview plans
    no delete; prod's ``up`` (the fixture's: its state rebuilt for the new config, as an ``up``
    would leave it); the pool stack's preview plans no change of any moved resource (its aliases).
    """
    stack, pool = "prod-gpu", "gpu"
    workspace = deployed_workspace(Workspace(tmp_path), "prod")
    gpu = stack_config("prod")[f"{NAMESPACE}:nodePools"][pool]
    workspace.write_stack(stack, config=pool_config(0) | {f"{NAMESPACE}:nodePools": {pool: gpu}})
    seed = workspace.pulumi(stack, "config", "set", "--secret", f"{NAMESPACE}:{SEED_KEY}", stdin=TEST_SEED)
    assert seed.ok, seed.stderr
    # Workloads are planned on the platform's own pools: the GPU inference leaves its inventory.
    workloads = [w for w in stack_config("prod")[f"{NAMESPACE}:workloads"] if w.get("pool") != pool]
    after = {"poolStacks": {stack: {"nodes": 3, "pools": [pool]}}, f"nodePools.{pool}": None, "workloads": workloads}
    workspace.write_stack("prod", overrides=after)

    exported = json.loads(workspace.pulumi("prod", "stack", "export").stdout)["deployment"]
    pattern = re.compile(
        rf"::(platform-iaas-pool-{pool}|platform-kubeadm-k8s-prod-{pool}-[0-9]+-join|platform-kubeadm-pool-{pool}-nodes)$"
    )
    urns = [r["urn"] for r in exported["resources"] if pattern.search(r["urn"])]
    assert len(urns) == 1 + 3 + 1, urns
    moved = workspace.pulumi("prod", "state", "move", "--source", "prod", "--dest", stack, "--yes", *urns)
    assert moved.ok, moved.stderr + moved.stdout

    run = workspace.preview("prod")
    assert run.ok, run.stderr[-3000:] + run.stdout[-3000:]
    assert "delete" not in run.ops() and "replace" not in run.ops(), run.changed()
    # prod's up: the state it would leave, built for the new config on a fresh stack, imported.
    fresh = deployed_workspace(Workspace(tmp_path / "after"), "prod", after)
    state = fresh.pulumi("prod", "stack", "export", "--show-secrets")
    assert state.ok, state.stderr
    (tmp_path / "prod-after-up.json").write_text(state.stdout)
    imported = workspace.pulumi("prod", "stack", "import", "--file", str(tmp_path / "prod-after-up.json"))
    assert imported.ok, imported.stderr

    run = workspace.preview(stack)
    assert run.ok, run.stderr[-3000:] + run.stdout[-3000:]
    ops = {s["urn"].rsplit("::", 1)[1]: s["op"] for s in run.program_steps()}
    changed = {name: op for name, op in ops.items() if op != "same"}
    # Only the new component and the read of the platform's outputs: every moved resource is the same.
    assert changed == {"pools": "create", "pools-platform": "read"}, changed
    assert len([op for op in ops.values() if op == "same"]) == 2 + 3 * 3 + 1, ops
