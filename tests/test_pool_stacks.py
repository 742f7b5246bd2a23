"""Pool stacks (issue 14, docs/scaling.md): worker pools as their own stacks against a platform stack.

Under the mocks: the platform stack exports what its pool stacks read (plain ``pool_stack``, secret
``worker_join``, the budgets), a pool stack registers three resources per worker and a Node step per
pool on the platform's first master, and the cross-stack rules refuse before any resource: a count
over the budget, a platform that does not list the stack, another environment, a pool name another
stack uses, platform keys in a pool stack; and on the platform, budgets over the cluster's limits
and dropping a pool stack that still runs nodes. The real engine's preview of a pool stack is
tests/engine/test_pool_stack_preview.py's.
"""

from __future__ import annotations

from collections import Counter

import pulumi
import pytest

from components.control_plane.worker_scripts import render_pool_removal_command
from planning.capacity import plan
from tests.control_plane.kubeadm_mocks import run_bootstrap
from tests.harness import NAMESPACE, ProgramRun, Secret, run_program, stack_config

BUDGET = 40
POOL_STACK = "prod-pool-a"


def budget(nodes: int = BUDGET, *pools: str) -> dict:
    """A ``poolStacks`` entry: the node budget and the pool names (default: ``batch``)."""
    return {"nodes": nodes, "pools": list(pools or ("batch",))}


def pool_config(count: int = 20, **extra) -> dict:
    """A pool stack of prod: one worker pool ``batch`` shaped like prod's workers."""
    worker = stack_config("prod")[f"{NAMESPACE}:nodePools"]["worker"]
    config = {
        f"{NAMESPACE}:environment": "prod",
        f"{NAMESPACE}:platformStack": "prod",
        f"{NAMESPACE}:nodePools": {"batch": dict(worker, count=count)},
    }
    return config | {f"{NAMESPACE}:{k}": v for k, v in extra.items()}


@pytest.fixture(scope="module")
def platform() -> ProgramRun:
    """prod after an up with a budget for ``prod-pool-a`` (its recorded outputs)."""
    return run_bootstrap("prod", {"poolStacks": {POOL_STACK: budget()}}, preview=False)


def run_pool(platform: ProgramRun, config: dict, preview: bool = False, stacks: dict | None = None) -> ProgramRun:
    return run_program(POOL_STACK, config=config, stacks={"prod": platform.outputs, **(stacks or {})}, preview=preview)


def rejected(run_it) -> str:
    into = ProgramRun(POOL_STACK)
    with pytest.raises(pulumi.RunError) as error:
        run_it(into)
    assert into.resources == [], "a rejected config registers nothing"
    return str(error.value)


def test_the_platform_exports_what_its_pool_stacks_read(platform):
    outputs = platform.outputs
    assert outputs["pool_stacks"] == {POOL_STACK: budget()}
    contract = outputs["pool_stack"]
    assert contract["cluster_name"] == "k8s-prod" and contract["key_pair"] == "k8s-prod-admin"
    assert contract["network_id"] == outputs["network_id"] and contract["first_master"].startswith("10.20.")
    assert contract["first_master_host_key"].startswith("ssh-ed25519 ")
    assert "maxPods: 100" in contract["kubelet_configuration"]
    assert set(outputs["worker_join"]) == {"prep_script", "ca_cert", "ca_cert_hash", "issuer_token"}
    # The join issuer's token is only in the secret output.
    assert outputs["worker_join"]["issuer_token"] not in repr(contract)


def test_a_platform_without_pool_stacks_exports_only_the_empty_budgets():
    outputs = run_bootstrap("test", preview=False).outputs
    assert outputs["pool_stacks"] == {} and "pool_stack" not in outputs and "worker_join" not in outputs


def test_a_pool_stack_registers_three_resources_per_worker_and_a_pool_step(platform):
    run = run_pool(platform, pool_config(20))
    counts = Counter(r.type for r in run.resources)
    assert counts == {
        "k8splatform:index:PoolStack": 1,
        "k8splatform:iaas:NodePool": 1,
        "openstack:compute/serverGroup:ServerGroup": 1,
        "openstack:networking/port:Port": 20,
        "openstack:compute/instance:Instance": 20,
        "command:remote:Command": 21,
    }
    names = {r.name for r in run.resources}
    assert {"pools-k8s-prod-batch-1-join", "pools-pool-batch-nodes", "pools-pool-batch-1"} <= names
    contract = platform.outputs["pool_stack"]
    port = run.named("pools-pool-batch-1-port").inputs
    assert port["networkId"] == contract["network_id"] and port["securityGroupIds"] == contract["security_group_ids"]
    instance = run.named("pools-pool-batch-1").inputs
    assert instance["name"] == "k8s-prod-batch-1" and instance["keyPair"] == "k8s-prod-admin"
    # The Node step runs on the platform's first master; the join on the worker, through the bastion.
    connection = run.named("pools-pool-batch-nodes").inputs["connection"]
    connection = connection.value if isinstance(connection, Secret) else connection
    assert connection["host"] == contract["first_master"]
    assert connection["hostKey"] == contract["first_master_host_key"]
    assert connection["proxy"]["host"] == contract["bastion_host"]
    # Destroying the stack (or dropping the pool) drains the pool first: the step's delete, and its
    # input holds every member's instance ID, so the engine deletes it before any machine.
    nodes_step = run.named("pools-pool-batch-nodes")
    assert nodes_step.inputs["delete"] == render_pool_removal_command("k8s-prod", "batch", "10m")
    instances = {r.id for r in run.of_type("openstack:compute/instance:Instance")}
    assert all(i in nodes_step.inputs["stdin"] for i in instances) and len(instances) == 20
    join = run.named("pools-k8s-prod-batch-1-join").inputs
    assert isinstance(join["stdin"], Secret), "the join script holds the issuer's token"
    script = join["stdin"].value
    assert platform.outputs["worker_join"]["issuer_token"] in script
    assert f"https://{platform.outputs['api_endpoint_host']}:6443/" in script
    assert run.outputs["nodes"][0]["name"] == "k8s-prod-batch-1" and run.outputs["platform_stack"] == "prod"


def test_the_pool_stack_component_carries_the_clusters_plan_for_the_policy_pack(platform):
    run = run_pool(platform, pool_config(5), preview=True)
    component = run.named("pools").inputs
    assert component["capacityPlan"]["total_nodes"] == platform.outputs["capacity_plan"]["total_nodes"]
    assert set(component["kubeletConfigurations"]) == {"batch"}


def test_a_count_over_the_budget_is_refused_before_any_resource(platform):
    message = rejected(lambda into: run_program(POOL_STACK, config=pool_config(BUDGET + 1),
                                                stacks={"prod": platform.outputs}, into=into))  # fmt: skip
    assert f"{NAMESPACE}:nodePools: {BUDGET + 1} machines exceed this stack's node budget of {BUDGET}" in message
    assert "poolStacks.prod-pool-a.nodes of the platform stack prod" in message


@pytest.mark.parametrize(
    ("config", "stacks", "expected"),
    [
        (pool_config(), {"prod": {}}, "platformStack: stack 'prod' has recorded no outputs: deploy it first"),
        (pool_config(environment="test"), None, "environment: test differs from the platform stack's 'prod'"),
        (pool_config(apiEndpoint="octavia"), None, "apiEndpoint: is the platform stack's (prod)"),
        (pool_config(workloads=[{"name": "x"}]), None, "workloads: is the platform stack's (prod)"),
    ],
)
def test_what_a_pool_stack_must_agree_on_with_its_platform(platform, config, stacks, expected):
    outputs = {"prod": platform.outputs, **(stacks or {})}
    message = rejected(lambda into: run_program(POOL_STACK, config=config, stacks=outputs, into=into))
    assert expected in message, message


def test_a_stack_the_platform_lists_no_budget_for_is_refused(platform):
    message = rejected(lambda into: run_program("prod-pool-b", config=pool_config(), stacks={"prod": platform.outputs},
                                                into=into))  # fmt: skip
    assert (
        "prod lists no budget for this stack: add `poolStacks: {prod-pool-b: {nodes: <n>, pools: [<names>]}}`"
        in message
    )


def test_a_pool_its_platform_does_not_list_for_it_is_refused(platform):
    """The platform owns the pool names: a pool stack may run only the pools listed for it."""
    worker = pool_config()[f"{NAMESPACE}:nodePools"]["batch"]
    taken = pool_config() | {f"{NAMESPACE}:nodePools": {"batch": worker, "worker": worker}}
    message = rejected(lambda into: run_program(POOL_STACK, config=taken, stacks={"prod": platform.outputs}, into=into))
    assert "nodePools.worker: is not a pool prod lists for this stack (poolStacks.prod-pool-a.pools: batch)" in message


def test_a_pool_stack_joins_a_platform_without_a_bastion_directly():
    """test has no bastion: the engine hands the contract's nulls over as missing keys."""
    platform = run_bootstrap("test", {"poolStacks": {"test-pool": budget(5)}}, preview=False)
    worker = stack_config("test")[f"{NAMESPACE}:nodePools"]["worker"]
    config = {
        f"{NAMESPACE}:environment": "test",
        f"{NAMESPACE}:platformStack": "test",
        f"{NAMESPACE}:nodePools": {"batch": dict(worker, count=2)},
    }
    run = run_program("test-pool", config=config, stacks={"test": platform.outputs}, preview=False)
    connection = run.named("pools-k8s-test-batch-1-join").inputs["connection"]
    connection = connection.value if isinstance(connection, Secret) else connection
    assert "proxy" not in connection and connection["hostKey"].startswith("ssh-ed25519 ")


def test_a_pool_stack_runs_worker_pools_only(platform):
    config = pool_config()
    config[f"{NAMESPACE}:nodePools"]["batch"]["role"] = "ingress"
    outputs = {"prod": platform.outputs}
    message = rejected(lambda into: run_program(POOL_STACK, config=config, stacks=outputs, into=into))
    assert "a pool stack runs worker pools only" in message


# ------------------------------------------------------------------------------- the platform side


def test_the_budgets_count_towards_the_clusters_limits_and_plan():
    from config.load import parse

    config = stack_config("prod", {"poolStacks": {POOL_STACK: budget(100), "prod-pool-b": budget(100, "batch-b")}})
    spec = parse(config)
    result = plan(spec)
    base = plan(parse(stack_config("prod")))
    assert result.total_nodes == base.total_nodes + 200
    assert result.pod_capacity == base.pod_capacity + 200 * spec.kubelet.max_pods
    assert result.platform_pods > base.platform_pods, "the pool stacks' nodes run the DaemonSets too"


@pytest.mark.parametrize(
    ("budgets", "expected"),
    [
        (
            {POOL_STACK: budget(4960)},
            "poolStacks: 47 nodes here and 4960 budgeted to pool stacks exceed the Kubernetes",
        ),
        (
            {POOL_STACK: budget(1000)},
            "allocationPool: 987 addresses in the allocation pool for 1053 machines (with the",
        ),
        (
            {POOL_STACK: budget(210)},
            "network.podCidr: 10.244.0.0/16 holds 256 node ranges of /24, but the cluster has 257",
        ),
        # The platform owns the pool names: each in one place.
        ({POOL_STACK: budget(5, "gpu")}, "poolStacks.prod-pool-a.pools: 'gpu' is also in this stack's nodePools"),
        (
            {POOL_STACK: budget(5, "x"), "prod-pool-b": budget(5, "x")},
            "poolStacks.prod-pool-b.pools: 'x' is also in poolStacks.prod-pool-a.pools: a pool has one stack",
        ),
        ({"prod": budget(5)}, "poolStacks.prod: is this stack itself"),
    ],
)
def test_budgets_beyond_the_cluster_are_refused_on_the_platform(budgets, expected):
    into = ProgramRun("prod")
    with pytest.raises(pulumi.RunError) as error:
        run_program("prod", {"poolStacks": budgets}, into=into)
    assert into.resources == [] and expected in str(error.value), str(error.value)


def test_the_platform_refuses_dropping_a_pool_stack_that_runs_nodes(platform):
    running = {POOL_STACK: {"nodes": [{"name": f"k8s-prod-batch-{i}", "pool": "batch"} for i in (1, 2, 3)]}}
    recorded = {"pool_stacks": {POOL_STACK: budget()}}
    into = ProgramRun("prod")
    with pytest.raises(pulumi.RunError) as error:
        run_program("prod", recorded=recorded, stacks=running, into=into)
    assert into.resources == []
    assert f"poolStacks: drops pool stack {POOL_STACK}, which runs 3 nodes: destroy it first" in str(error.value)
    with pytest.raises(pulumi.RunError) as error:
        run_program("prod", {"poolStacks": {POOL_STACK: budget(2)}}, recorded=recorded, stacks=running)
    assert f"poolStacks.{POOL_STACK}.nodes: 2 is below the 3 nodes pool stack {POOL_STACK} runs" in str(error.value)
    with pytest.raises(pulumi.RunError) as error:
        run_program("prod", {"poolStacks": {POOL_STACK: budget(40, "other")}}, recorded=recorded, stacks=running)
    assert f"poolStacks.{POOL_STACK}.pools: pool stack {POOL_STACK} still runs batch" in str(error.value)
    # Destroyed (no nodes recorded any more): the budget may go.
    assert run_program("prod", recorded=recorded, stacks={POOL_STACK: {}}).resources


def test_a_platform_with_pool_stacks_keeps_a_worker_pool_of_its_own():
    into = ProgramRun("test")
    with pytest.raises(pulumi.RunError) as error:
        run_program("test", {"poolStacks": {"test-pool": budget(5)}, "nodePools.worker": None}, into=into)
    assert into.resources == [] and "poolStacks: needs a worker pool in this stack" in str(error.value)


# ------------------------------------------------------------------------------- the capacity CLI


def test_the_capacity_cli_names_the_platform_that_plans_a_pool_stack(tmp_path, capsys):
    import yaml

    from planning.capacity import EXIT_REJECTED, EXIT_SUFFICIENT, main

    path = tmp_path / f"Pulumi.{POOL_STACK}.yaml"
    path.write_text(yaml.safe_dump({"config": pool_config(12)}))
    assert main([str(path)]) == EXIT_SUFFICIENT
    out = capsys.readouterr().out
    assert "Pool stack of the platform stack prod: 12 workers (batch 12)." in out
    assert "Pulumi.prod.yaml, whose poolStacks budgets its nodes" in out
    path.write_text(yaml.safe_dump({"config": pool_config(12, etcd={"members": 3})}))
    assert main([str(path)]) == EXIT_REJECTED
    assert "k8s-platform:etcd: is the platform stack's (prod)" in capsys.readouterr().err
